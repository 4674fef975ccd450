"""The small deterministic fake-Kitsu population most tests share, and a library snapshot."""

from __future__ import annotations

from dataclasses import astuple
from typing import Any

from animerec_tui.core.cache import Cache
from animerec_tui.fakekitsu import HOSTILE_NAME, HOSTILE_TITLE, Dataset

HOSTILE_ANIME_ID = "99999"
R18_ANIME_ID = "99998"


def library_snapshot(cache: Cache, user_id: str) -> tuple[Any, ...] | None:
    """Everything a user's cached library holds, order-independent: equal snapshots mean no
    entry, favourite or anime field was lost or changed."""
    lib = cache.library(user_id)
    if lib is None:
        return None
    entries = sorted(astuple(e) for e in lib.entries)
    favorites = sorted(astuple(f) for f in lib.favorites)
    anime = sorted((a.id, a.title, a.subtype, a.episode_count) for a in lib.anime.values())
    return (lib.user.id, entries, favorites, anime)


def build_small_dataset() -> Dataset:
    """~300 anime and a handful of users; builds in a few milliseconds, so per-test.

    Users: 1001 ``alice`` (slug ``alice``, 120 entries, 8 favourites); 1002 ``sam`` (slug
    ``sam``) and 1003 ``Sam`` (no slug): an ambiguous name, case-insensitively; 1004
    :data:`HOSTILE_NAME` (slug ``mallory``) owning anime 99999 titled :data:`HOSTILE_TITLE`;
    1005 ``newbie`` with an empty library; plus a population of 30 users from id 5000 (some
    ids missing, see ``missing_ids``). Anime 99998 is R18, invisible to anonymous requests.
    """
    ds = Dataset(seed=0)
    ds.add_anime(n=300)
    ds.add_anime_record(
        HOSTILE_ANIME_ID, canonicalTitle=HOSTILE_TITLE, titles={"en": HOSTILE_TITLE}
    )
    ds.add_anime_record(R18_ANIME_ID, canonicalTitle="Hidden Garden", ageRating="R18", nsfw=True)
    ds.add_user(id="1001", name="alice", slug="alice", entries=120, favorites=8)
    ds.add_user(id="1002", name="sam", slug="sam", entries=15, favorites=0)
    ds.add_user(id="1003", name="Sam", slug=None, entries=12, favorites=1)
    ds.add_user(id="1004", name=HOSTILE_NAME, slug="mallory", entries=10, favorites=1)
    ds.give_anime(user_id="1004", anime_id=HOSTILE_ANIME_ID, status="completed", ratingTwenty=20)
    ds.add_user(id="1005", name="newbie", slug="newbie", entries=0)
    ds.add_population(n_users=30, first_id=5000, min_entries=1, max_entries=60)
    return ds
