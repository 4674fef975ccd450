"""The fake Kitsu's data: a deterministic, synthetic catalogue, users, libraries, favourites,
relations (public face of store.py, generate.py, population.py and media.py).

Everything is plain dicts so tests can read (and poke) exactly what the server will answer:

``Dataset.anime``: ``{anime_id: record}``; a record is ``{"id": ..., <Kitsu anime attributes>}``
    (``canonicalTitle``, ``titles``, ``slug``, ``subtype``, ``episodeCount``, ``averageRating``
    as a string like ``"82.69"`` or None, ``popularityRank``, ``userCount``, ``ageRating``,
    ``nsfw``, ``synopsis``, ``posterImage``...). R18 / NSFW anime exist in the catalogue but,
    as on Kitsu, anonymous requests never see them (nor entries for them).
``Dataset.users``: ``{user_id: record}``; ``{"id": ..., "name": ..., "slug": ... or None, ...}``.
``Dataset.entries``: ``{user_id: [entry, ...]}`` in id order; an entry is
    ``{"id", "userId", "animeId", <library entry attributes>}`` (``status`` snake_case,
    ``progress``, ``ratingTwenty`` 2..20 or None, ``reconsumeCount``, ``updatedAt`` ISO-8601...).
``Dataset.favorites``: ``{user_id: [favorite, ...]}``; ``{"id", "userId", "itemType"
    ("Anime" or "Character"), "itemId", "favRank", "createdAt", "updatedAt"}``.
``Dataset.missing_ids``: user ids :meth:`Dataset.add_population` deliberately skipped (404s).
``Dataset.relations``: ``{id: media relationship}``, ``Dataset.manga``, ``Dataset.categories``:
    see :class:`~animerec_tui.fakekitsu.media.MediaData`; an anime's categories are its
    ``categoryIds``.

Keys that are not Kitsu attributes (``id``, ``userId``, ``animeId``, ``itemType``, ``itemId``,
the relationship keys) are listed in :data:`INTERNAL_KEYS`; the server serialises every other
key as an attribute.
Generation uses one RNG per user (seeded by dataset seed and user id), so a user's library
does not change when other users are added before it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from typing import Any

from animerec_tui.fakekitsu.records import (
    HOSTILE_NAME,
    HOSTILE_TITLE,
    INTERNAL_KEYS,
    STATUSES,
    Record,
    is_visible_anime,
    iso,
    now_iso,
    slugify,
)
from animerec_tui.fakekitsu.store import Dataset

__all__ = [
    "HOSTILE_NAME",
    "HOSTILE_TITLE",
    "INTERNAL_KEYS",
    "STATUSES",
    "Dataset",
    "Record",
    "add_demo_franchises",
    "demo_dataset",
    "franchise_stem",
    "is_visible_anime",
    "iso",
    "now_iso",
    "sample_catalogue",
    "slugify",
]

_TRAILING = re.compile(
    r"\s+(?:\d+(?:st|nd|rd|th)\s+season|season\s+\d+|movie(?:\s+\d+)?|r\d|ii+|zwei|"
    r"\d+|specials?|recaps?|soushuuhen|picture drama|ova|final)$",
    re.IGNORECASE,
)
_SUMMARY = re.compile(r"recaps?|soushuuhen", re.IGNORECASE)


def franchise_stem(title: str) -> str:
    """A title's franchise stem for the demo data: the part before ``:``, less trailing season,
    movie, special and recap markers ("Code Geass: Hangyaku no Lelouch R2" -> "code geass",
    "Fate/Zero 2nd Season" -> "fate/zero", "Naruto Movie 1: ..." -> "naruto")."""
    stem = title.split(":")[0].strip()
    while True:
        shorter = _TRAILING.sub("", stem).strip()
        if shorter == stem or not shorter:
            return stem.lower()
        stem = shorter


def add_demo_franchises(ds: Dataset, ids: Iterable[str] | None = None, manga: int = 4) -> int:
    """Relations for the dataset's catalogue, derived from its titles: DEMO DATA, not Kitsu
    behaviour (Kitsu's relations are edited by its database moderators).

    Anime sharing a :func:`franchise_stem` form a franchise, in id order (Kitsu ids grow with
    time, so the lowest is usually the first entry): consecutive TV/ONA entries are
    sequel/prequel; a recap is a summary of the latest TV/ONA entry before it (full_story
    back), every other entry (movie, OVA, special) a side_story of it (parent_story back).
    Each pair is stored both ways, as Kitsu stores it. The ``manga`` largest franchises also
    get a manga (ids 1, 2, ...) related to their first entry as ``adaptation`` both ways, so
    relation destinations are not all anime. ``ids`` limits the derivation to those anime
    (the demo passes the sample's own, so generated titles that happen to share words are
    left alone). Returns the number of relation rows added.
    """
    groups: dict[str, list[Record]] = {}
    with ds.lock:
        pool = ds.anime.values() if ids is None else [ds.anime[i] for i in ids if i in ds.anime]
        for anime in sorted(pool, key=lambda a: _id_order(a["id"])):
            groups.setdefault(franchise_stem(str(anime["canonicalTitle"])), []).append(anime)
        franchises = [g for g in groups.values() if len(g) > 1]
        before = len(ds.relations)
        for members in franchises:
            _link_franchise(ds, members)
        franchises.sort(key=lambda g: (-len(g), _id_order(g[0]["id"])))
        for number, members in enumerate(franchises[:manga], 1):
            title = str(members[0]["canonicalTitle"]).split(":")[0]
            ds.add_manga(str(number), title)
            ds.add_relation(members[0]["id"], str(number), "adaptation", destination_type="Manga")
            ds.add_relation(str(number), members[0]["id"], "adaptation", source_type="Manga")
        return len(ds.relations) - before


def _link_franchise(ds: Dataset, members: list[Record]) -> None:
    """TV/ONA entries chained in id order; every other entry a side story (a recap: a summary)
    of the latest main entry before it, or of the first main entry (the first member without
    any)."""
    main = [a for a in members if a["subtype"] in ("TV", "ONA")] or members[:1]
    for earlier, later in itertools.pairwise(main):
        ds.link(earlier["id"], later["id"], "sequel", "prequel")
    for anime in members:
        if anime in main:
            continue
        before = [m for m in main if _id_order(m["id"]) < _id_order(anime["id"])]
        parent = before[-1] if before else main[0]
        if _SUMMARY.search(str(anime["canonicalTitle"])):
            ds.link(parent["id"], anime["id"], "summary", "full_story")
        else:
            ds.link(parent["id"], anime["id"], "side_story", "parent_story")


def _id_order(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 62, value)


def sample_catalogue(limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most-watched anime of the bundled sample population (real Kitsu ids and
    titles), as rows for :meth:`Dataset.add_catalogue`."""
    from animerec_tui.core.population.sample import load_sample  # the one sample reader

    columns = load_sample()["anime"]
    rows = [
        {
            "id": anime_id,
            "title": title,
            "titles": json.loads(titles or "{}"),
            "subtype": subtype,
            "episode_count": episodes,
            "average_rating": rating,
            "user_count": users,
        }
        for anime_id, title, titles, subtype, episodes, rating, users in zip(
            columns["id"],
            columns["title"],
            columns["titles_json"],
            columns["subtype"],
            columns["episode_count"],
            columns["average_rating"],
            columns["user_count"],
            strict=True,
        )
    ]
    rows.sort(key=lambda r: -(r["user_count"] or 0))
    return rows[: max(0, limit)]


def demo_dataset(users: int = 200, seed: int = 0, anime: int = 3000) -> Dataset:
    """The demo population ``python -m animerec_tui.fakekitsu`` serves.

    Its catalogue is the bundled sample's anime (real ids and titles; generated ones only
    beyond the sample's 4,819), so demo users fetched into a cache that holds the sample
    share its anime and titles instead of overwriting real ids with made-up names, and a
    model trained on the sample recommends for them.

    Named users to try: 1001 ``alice`` (500 entries, 3 of them of anime re-rated R18 later:
    hidden adult titles), 1002 and 1003 both named ``sam`` (ambiguous; 1003 has no slug), 1004
    ``bigfan`` (3000 entries), 1005 ``newbie`` (empty library), 1006 a hostile name (slug
    ``mallory``) owning the hostile anime 99999.
    """
    ds = Dataset(seed=seed)
    catalogue = ds.add_catalogue(sample_catalogue(anime))
    if anime > len(catalogue):
        ds.add_anime(n=anime - len(catalogue))
    ds.add_anime_record("99999", canonicalTitle=HOSTILE_TITLE, titles={"en": HOSTILE_TITLE})
    add_demo_franchises(ds, ids=[a["id"] for a in catalogue])
    ds.add_user(id="1001", name="alice", slug="alice", entries=500, favorites=47)
    ds.add_user(id="1002", name="sam", slug="sam", entries=80, favorites=5)
    ds.add_user(id="1003", name="sam", slug=None, entries=40, favorites=2)
    ds.add_user(id="1004", name="bigfan", slug="bigfan", entries=3000, favorites=20)
    ds.add_user(id="1005", name="newbie", slug="newbie", entries=0)
    ds.add_user(id="1006", name=HOSTILE_NAME, slug="mallory", entries=30, favorites=3)
    ds.give_anime(user_id="1006", anime_id="99999", status="completed", ratingTwenty=20)
    if users > 0:
        ds.add_population(n_users=users, first_id=5000, min_entries=5, max_entries=400)
    # Three anime alice listed are re-rated R18 afterwards, as happens on Kitsu: her (and
    # everyone's) entries for them stay visible and counted with the anime hidden
    for entry in sorted(ds.entries["1001"], key=lambda e: int(e["id"]))[7:300:120]:
        ds.rate_adult(entry["animeId"])
    return ds
