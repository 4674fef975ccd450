"""Media links: relations between media (franchises), manga, and anime categories.

A media relationship is one directed row, as in kitsu-server's ``media_relationships`` table
(app/models/media_relationship.rb): ``source`` -(``role``)-> ``destination``, each a Media
(``Anime`` or ``Manga``). Kitsu stores both directions of a pair as two rows (a sequel row on
the first season, a prequel row on the second), so :meth:`MediaData.add_relation` adds one row
and :meth:`MediaData.link` adds a pair.

Categories are Kitsu's (``app/resources/category_resource.rb``); the first fourteen of
:data:`CATEGORIES` are the ones recorded on Cowboy Bebop (tests/fixtures/kitsu/recorded/
anime-1_include-categories_kitsulib.json), ids, titles and slugs as recorded; the rest are
common Kitsu category titles with made-up ids (9001 on), so filters have more to choose from.
"""

from __future__ import annotations

import itertools
import random
import threading
from typing import Any

from animerec_tui.fakekitsu.records import Record, iso, slugify
from animerec_tui.fakekitsu.schema import ROLES

MEDIA_TYPES = ("Anime", "Manga")
"""``source_type``/``destination_type`` values (Rails class names, as ``filter[source_type]``
compares them: ``where(source_type: values)`` is case-sensitive)."""

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("155", "Science Fiction"),
    ("51", "Space"),
    ("184", "Drama"),
    ("150", "Action"),
    ("60", "Space Travel"),
    ("197", "Post Apocalypse"),
    ("77", "Other Planet"),
    ("50", "Future"),
    ("78", "Shipboard"),
    ("201", "Detective"),
    ("21", "Bounty Hunter"),
    ("44", "Gunfights"),
    ("157", "Adventure"),
    ("160", "Comedy"),
    ("9001", "Romance"),
    ("9002", "Fantasy"),
    ("9003", "Slice of Life"),
    ("9004", "Mystery"),
    ("9005", "Horror"),
    ("9006", "Sports"),
    ("9007", "Music"),
    ("9008", "Mecha"),
)
_CREATED = 1_496_212_762.0  # 2017-05-31, when the recorded categories were created


def category_record(category_id: str, title: str) -> Record:
    """A category with the attributes category_resource.rb serialises (and ``image``, recorded)."""
    stamp = iso(_CREATED + int(category_id) % 1000)
    return {
        "id": category_id,
        "createdAt": stamp,
        "updatedAt": stamp,
        "title": title,
        "description": f"Stories about {title.lower()}.",
        "totalMediaCount": 0,
        "slug": slugify(title),
        "nsfw": False,
        "childCount": 0,
        "image": None,
    }


def demo_category_ids(anime_id: str) -> list[str]:
    """Two to five categories for an anime, from its id alone (own RNG: nothing else moves)."""
    rng = random.Random(f"categories:{anime_id}")
    picks = rng.sample(range(len(CATEGORIES)), rng.randint(2, 5))
    return [CATEGORIES[i][0] for i in picks]


class MediaData:
    """The relations, manga and categories of a :class:`~animerec_tui.fakekitsu.store.Dataset`.

    ``relations``: ``{id: {"id", "createdAt", "updatedAt", "role", "sourceType", "sourceId",
    "destinationType", "destinationId"}}``; ``manga``: ``{id: record}``; ``categories``:
    ``{id: record}`` (an anime's own are its ``categoryIds``).
    """

    anime: dict[str, Record]
    lock: threading.RLock

    def __init__(self) -> None:
        self.relations: dict[str, Record] = {}
        self.manga: dict[str, Record] = {}
        self.categories: dict[str, Record] = {
            cid: category_record(cid, title) for cid, title in CATEGORIES
        }
        self._relation_ids = itertools.count(100_000)

    def add_relation(
        self,
        source: str,
        destination: str,
        role: str,
        source_type: str = "Anime",
        destination_type: str = "Anime",
    ) -> Record:
        """One media relationship row ``source -(role)-> destination``; ids are of records in
        the dataset (``anime`` or ``manga`` by type). Raises ValueError for a role or type
        Kitsu does not have (the model's enum and ``polymorphism: { type: Media }``)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; Kitsu's: {', '.join(ROLES)}")
        with self.lock:
            for kind, media_id in ((source_type, source), (destination_type, destination)):
                if kind not in MEDIA_TYPES:
                    raise ValueError(f"unknown media type {kind!r}; one of {MEDIA_TYPES}")
                if media_id not in (self.anime if kind == "Anime" else self.manga):
                    raise KeyError(f"no {kind.lower()} {media_id} in the dataset")
            rid = str(next(self._relation_ids))
            stamp = iso(1_485_907_200.0 + int(rid) % 10_000_000)  # after the 2017 migration
            row: Record = {
                "id": rid,
                "createdAt": stamp,
                "updatedAt": stamp,
                "role": role,
                "sourceType": source_type,
                "sourceId": str(source),
                "destinationType": destination_type,
                "destinationId": str(destination),
            }
            self.relations[rid] = row
            return row

    def link(self, first: str, second: str, role: str = "sequel", inverse: str = "prequel") -> None:
        """Two anime related both ways, as Kitsu stores a pair: ``first -(role)-> second`` (the
        destination is the source's ``role``: ``second`` is the sequel of ``first``) and
        ``second -(inverse)-> first`` (sequel/prequel, side_story/parent_story, summary/
        full_story, alternative_version both ways...)."""
        self.add_relation(first, second, role)
        self.add_relation(second, first, inverse)

    def add_manga(self, id: str, title: str, **attrs: Any) -> Record:
        """A manga (kitsu-server app/resources/manga_resource.rb attributes), e.g. an
        adaptation's source, so relation destinations are not all anime."""
        manga_id = str(id)
        stamp = iso(1_380_000_000.0 + int(manga_id) % 100_000 if manga_id.isdigit() else 0.0)
        record: Record = {
            "id": manga_id,
            "createdAt": stamp,
            "updatedAt": stamp,
            "slug": slugify(title),
            "synopsis": "",
            "description": "",
            "titles": {"en": title, "en_jp": title},
            "canonicalTitle": title,
            "abbreviatedTitles": [],
            "averageRating": None,
            "userCount": 100,
            "favoritesCount": 0,
            "startDate": "2005-01-01",
            "endDate": None,
            "popularityRank": None,
            "ratingRank": None,
            "ageRating": None,
            "subtype": "manga",
            "status": "finished",
            "posterImage": None,
            "coverImage": None,
            "chapterCount": None,
            "volumeCount": 0,
            "serialization": None,
            "mangaType": "manga",
            **attrs,
        }
        with self.lock:
            self.manga[manga_id] = record
        return record

    def relations_from(
        self, source_type: list[str] | None, source_ids: list[str] | None
    ) -> list[Record]:
        """Rows whose source matches both filters (None: any), in id order."""
        rows = list(self.relations.values())
        if source_type is not None:
            rows = [r for r in rows if r["sourceType"] in source_type]
        if source_ids is not None:
            wanted = set(source_ids)
            rows = [r for r in rows if r["sourceId"] in wanted]
        return sorted(rows, key=lambda r: int(r["id"]))

    def media(self, media_type: str, media_id: str) -> Record | None:
        """An anime or manga record by its Rails type name, or None."""
        return (self.anime if media_type == "Anime" else self.manga).get(media_id)
