"""Record storage: the fake Kitsu's anime, users, library entries and favourites, with the
indexes and visibility rules the endpoints query, and the changes tests make while serving.

The data layout is described in :mod:`animerec_tui.fakekitsu.dataset` (the public face).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Iterable
from typing import Any

from animerec_tui.fakekitsu.generate import (
    EPOCH_2013,
    EPOCH_2024,
    generate_anime,
    generate_entry,
    generate_user,
)
from animerec_tui.fakekitsu.media import MediaData
from animerec_tui.fakekitsu.population import add_favorites, choose_anime, populate
from animerec_tui.fakekitsu.records import Record, is_visible_anime, iso, slugify


class Dataset(MediaData):
    """A deterministic fake Kitsu population; see the module docstring for the data layout.

    Mutating methods take :attr:`lock`, and the server reads under it, so tests may change
    the data while a :class:`FakeKitsu` is serving it.
    """

    def __init__(self, seed: int = 0, clock_offset: float = 0.0) -> None:
        self.seed = seed
        self.clock_offset = clock_offset
        """Seconds Kitsu's clock runs ahead of this machine's (negative: behind). It stamps
        changed entries (``updatedAt``, what ``filter[since]`` compares) and the ``Date``
        header, as Kitsu's own servers do."""
        self.withheld_linkage = "null"
        """How an entry of an anime the policy hides is linked: ``"null"``
        (``relationships.anime.data: null``, the preloaded path: kitsu-server
        app/resources/concerns/ignore_preloading_nils.rb compacts the filtered anime away and
        vendor/resource_serializer.rb ``foreign_key_value`` finds none) or ``"id"`` (the
        ``anime_id`` column, with the anime never in ``included``)."""
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.anime: dict[str, Record] = {}
        self.users: dict[str, Record] = {}
        self.entries: dict[str, list[Record]] = {}
        self.favorites: dict[str, list[Record]] = {}
        self.missing_ids: set[str] = set()
        self._next_anime = 1
        self._entry_ids = itertools.count(20_000_000)
        self._favorite_ids = itertools.count(1_700_000)
        self._by_anime: dict[str, dict[str, Record]] = {}
        self._by_entry_id: dict[str, Record] = {}
        self._pool: tuple[list[str], list[float]] | None = None
        self._slugs: set[str] = set()
        MediaData.__init__(self)

    # -- anime -------------------------------------------------------------------------------

    def add_anime(self, n: int = 3000) -> list[Record]:
        """Add ``n`` generated anime (ids continue after the highest numeric id so far).

        Popularity follows a Zipf-like curve over a shuffled order, so id 1 is not the most
        popular, as on Kitsu; ``popularityRank`` is recomputed over the whole catalogue.
        """
        with self.lock:
            rng = random.Random(f"{self.seed}:anime:{self._next_anime}:{n}")
            start = self._next_anime
            ids = [str(i) for i in range(start, start + n)]
            self._next_anime = start + n
            order = list(range(n))
            rng.shuffle(order)
            added = []
            for anime_id, pos in zip(ids, order, strict=True):
                user_count = max(1, int(180_000 / (pos + 15) ** 1.05 * rng.uniform(0.7, 1.3)))
                record = generate_anime(rng, anime_id, user_count)
                self.anime[anime_id] = record
                added.append(record)
            self._rerank()
            return added

    def add_catalogue(self, rows: Iterable[dict[str, Any]]) -> list[Record]:
        """Add real anime: each row's ``id``, ``title``, ``titles``, ``subtype``,
        ``episode_count``, ``average_rating`` and ``user_count`` win over generated ones."""
        with self.lock:
            added = []
            for row in rows:
                anime_id = str(row["id"])
                rng = random.Random(f"{self.seed}:catalogue:{anime_id}")
                record = generate_anime(rng, anime_id, int(row.get("user_count") or 1))
                title = str(row["title"])
                rating = row.get("average_rating")
                record.update(
                    canonicalTitle=title,
                    titles=dict(row.get("titles") or {"en_jp": title}),
                    slug=f"{slugify(title)}-{anime_id}",
                    subtype=row.get("subtype") or record["subtype"],
                    showType=row.get("subtype") or record["subtype"],
                    episodeCount=row.get("episode_count"),
                    averageRating=f"{float(rating):.2f}" if rating is not None else None,
                )
                self.anime[anime_id] = record
                added.append(record)
                if anime_id.isdigit():
                    self._next_anime = max(self._next_anime, int(anime_id) + 1)
            self._rerank()
            return added

    def add_anime_record(self, id: str, **attrs: Any) -> Record:
        """Add (or replace) one anime with chosen attributes, e.g. a hostile title.

        Unspecified attributes are generated; ``titles`` and ``canonicalTitle`` fill each
        other in when only one is given. It joins the catalogue (and library sampling) as an
        unpopular title unless ``userCount`` says otherwise.
        """
        with self.lock:
            rng = random.Random(f"{self.seed}:anime-record:{id}")
            record = generate_anime(rng, str(id), int(attrs.get("userCount", 50)))
            if "canonicalTitle" in attrs and "titles" not in attrs:
                attrs["titles"] = {"en": attrs["canonicalTitle"], "en_jp": attrs["canonicalTitle"]}
            if "titles" in attrs and "canonicalTitle" not in attrs:
                titles = attrs["titles"] or {}
                attrs["canonicalTitle"] = next(iter(titles.values()), record["canonicalTitle"])
            record.update(attrs)
            record["id"] = str(id)
            self.anime[str(id)] = record
            if str(id).isdigit():
                self._next_anime = max(self._next_anime, int(id) + 1)
            self._rerank()
            return record

    def _rerank(self) -> None:
        """popularityRank / ratingRank follow userCount / averageRating, as on Kitsu."""
        by_users = sorted(self.anime.values(), key=lambda a: (-a["userCount"], int(_num(a["id"]))))
        for rank, record in enumerate(by_users, 1):
            record["popularityRank"] = rank
        rated = [a for a in self.anime.values() if a.get("averageRating")]
        rated.sort(key=lambda a: -float(a["averageRating"]))
        for rank, record in enumerate(rated, 1):
            record["ratingRank"] = rank
        self._pool = None

    def add_user(
        self,
        id: str,
        name: str,
        slug: str | None = None,
        entries: int = 0,
        favorites: int = 0,
        **attrs: Any,
    ) -> Record:
        """Add a user with ``entries`` generated library entries and ``favorites`` anime
        favourites (plus a few character favourites, as real users have).

        Names are any string and need not be unique; slugs are unique (case-insensitively)
        when set. The catalogue grows if it has fewer visible anime than ``entries``.
        """
        user_id = str(id)
        with self.lock:
            if user_id in self.users:
                raise ValueError(f"user {user_id} already exists")
            if slug is not None and slug.lower() in self._slugs:
                raise ValueError(f"slug {slug!r} already taken")
            rng = random.Random(f"{self.seed}:user:{user_id}")
            self.missing_ids.discard(user_id)
            created = rng.uniform(EPOCH_2013, EPOCH_2024 - 4e7)
            record = generate_user(rng, user_id, name, slug, created)
            self.users[user_id] = record
            if slug is not None:
                self._slugs.add(slug.lower())
            self.entries[user_id] = []
            self.favorites[user_id] = []
            if entries > 0:
                for anime_id in choose_anime(self, rng, entries, set()):
                    self._add_entry(rng, user_id, anime_id, created)
            if favorites > 0:
                add_favorites(self, rng, user_id, favorites, created)
            record["ratingsCount"] = sum(
                1 for e in self.entries[user_id] if e["ratingTwenty"] is not None
            )
            # Every favourite, of any kind: Favorite ``belongs_to :user, counter_cache: true``
            # (kitsu-server app/models/favorite.rb); a crawl skips /favorites when it is 0.
            record["favoritesCount"] = len(self.favorites[user_id])
            record.update(attrs)
            return record

    def _add_entry(
        self,
        rng: random.Random,
        user_id: str,
        anime_id: str,
        joined: float,
        **attrs: Any,
    ) -> Record:
        entry_id = str(next(self._entry_ids))
        entry = generate_entry(rng, entry_id, user_id, self.anime[anime_id], joined)
        if attrs:
            entry.update(attrs)
        if "ratingTwenty" in attrs and "rating" not in attrs:
            entry["rating"] = f"{attrs['ratingTwenty'] / 4:.1f}" if attrs["ratingTwenty"] else "0.0"
        self.entries[user_id].append(entry)
        self._by_anime.setdefault(anime_id, {})[entry["id"]] = entry
        self._by_entry_id[entry["id"]] = entry
        return entry

    def add_population(
        self,
        n_users: int = 500,
        first_id: int = 5000,
        min_entries: int = 5,
        max_entries: int = 400,
    ) -> list[Record]:
        """Many users for crawl tests and benchmarks, ids from ``first_id`` upwards.

        About 5% of the id range is left missing (404, listed in :attr:`missing_ids`) and
        about 5% of the users have empty libraries, because a crawler meets both on Kitsu.
        Library sizes are log-uniform between the bounds (most libraries are small).
        """
        with self.lock:
            return populate(self, n_users, first_id, min_entries, max_entries)

    def give_anime(self, user_id: str, anime_id: str, **attrs: Any) -> Record:
        """Put one chosen anime in a user's library (or update that entry with ``attrs``)."""
        with self.lock:
            if anime_id not in self.anime:
                raise KeyError(f"no anime {anime_id}: add it with add_anime_record first")
            for entry in self.entries[user_id]:
                if entry["animeId"] == anime_id:
                    entry.update(attrs)
                    return entry
            rng = random.Random(f"{self.seed}:give:{user_id}:{anime_id}")
            joined = EPOCH_2013
            return self._add_entry(rng, user_id, anime_id, joined, **attrs)

    def _pick_visible(self, user_id: str, k: int) -> list[Record]:
        visible = [e for e in self.entries[user_id] if self.entry_visible(e)]
        return self.rng.sample(visible, min(k, len(visible)))

    def touch_entries(self, user_id: str, k: int) -> list[Record]:
        """Set ``updatedAt`` of ``k`` visible entries to now (what ``filter[since]`` finds)."""
        with self.lock:
            stamp = self.now_iso()
            touched = self._pick_visible(user_id, k)
            for entry in touched:
                entry["updatedAt"] = stamp
            return touched

    def remove_entries(self, user_id: str, k: int) -> list[Record]:
        """Delete ``k`` visible entries (so a fetched library shrinks by exactly ``k``)."""
        with self.lock:
            gone = self._pick_visible(user_id, k)
            ids = {e["id"] for e in gone}
            self.entries[user_id] = [e for e in self.entries[user_id] if e["id"] not in ids]
            for entry in gone:
                self._by_anime.get(entry["animeId"], {}).pop(entry["id"], None)
                self._by_entry_id.pop(entry["id"], None)
            return gone

    def rate_adult(self, anime_id: str) -> Record:
        """Kitsu's moderators re-rate an anime R18 after people listed it.

        The anime disappears for anonymous readers (AnimePolicy), but the entries made before
        keep their own ``nsfw`` flag false: kitsu-server app/models/library_entry.rb sets
        ``self.nsfw = media.nsfw?`` only ``if media_id_changed?``. So those entries are still
        returned and counted, with the anime hidden (see :attr:`withheld_linkage`).
        """
        with self.lock:
            record = self.anime[anime_id]
            record.update(ageRating="R18", nsfw=True, updatedAt=self.now_iso())
            self._pool = None
            return record

    # -- Kitsu's clock ------------------------------------------------------------------------

    def now(self) -> float:
        """Kitsu's time (``time.time()`` plus :attr:`clock_offset`)."""
        return time.time() + self.clock_offset

    def now_iso(self) -> str:
        return iso(self.now())

    # -- queries the server uses ---------------------------------------------------------------

    def entry_visible(self, entry: Record) -> bool:
        """Anonymous visibility (kitsu-server ``LibraryEntry.visible_for`` without a user:
        ``sfw.privacy(:public)``): public entries whose own ``nsfw`` flag is false. The flag is
        the anime's adultness when the entry was made; records without one (built by a test)
        use the anime's rating now."""
        if entry.get("private"):
            return False
        flag = entry.get("nsfwFlag")
        if flag is not None:
            return not flag
        anime = self.anime.get(entry["animeId"])
        return anime is not None and is_visible_anime(anime)

    def anime_visible(self, anime_id: str) -> bool:
        """Whether an anonymous reader may see (be given in ``included``) this anime."""
        anime = self.anime.get(anime_id)
        return anime is not None and is_visible_anime(anime)

    def entries_for_anime(self, anime_id: str) -> list[Record]:
        return sorted(self._by_anime.get(anime_id, {}).values(), key=lambda e: int(e["id"]))

    def entry(self, entry_id: str) -> Record | None:
        return self._by_entry_id.get(entry_id)

    def all_entries(self) -> Iterable[Record]:
        return sorted(self._by_entry_id.values(), key=lambda e: int(e["id"]))


def _num(value: str) -> int:
    return int(value) if value.isdigit() else 1 << 62
