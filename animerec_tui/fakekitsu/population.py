"""Populations: libraries drawn with Kitsu's popularity skew, favourites, crawlable id ranges.

Functions over a :class:`~animerec_tui.fakekitsu.store.Dataset`, called under its lock.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from typing import TYPE_CHECKING

from animerec_tui.fakekitsu.generate import EPOCH_2024, FIRST_NAMES, HANDLES
from animerec_tui.fakekitsu.records import Record, is_visible_anime, iso, slugify

if TYPE_CHECKING:
    from animerec_tui.fakekitsu.store import Dataset


def _sampling_pool(ds: Dataset) -> tuple[list[str], list[float]]:
    """Visible anime ids with cumulative popularity weights (cached until the catalogue
    changes), so libraries are drawn with the same skew as ``userCount``."""
    if ds._pool is None:
        ids = [a["id"] for a in ds.anime.values() if is_visible_anime(a)]
        weights = itertools.accumulate(float(ds.anime[i]["userCount"]) for i in ids)
        ds._pool = (ids, list(weights))
    return ds._pool


def choose_anime(ds: Dataset, rng: random.Random, k: int, exclude: set[str]) -> list[str]:
    """``k`` distinct visible anime, popularity-weighted, none in ``exclude``.

    Rejection sampling is fast while k is small against the catalogue; for large k the
    skew makes it slow, so fall back to exponential-key weighted sampling (one pass).
    """
    ids, cum = _sampling_pool(ds)
    available = len(ids) - len(exclude & set(ids)) if exclude else len(ids)
    if k > available:
        ds.add_anime(n=k - available + max(50, k // 5))
        ids, cum = _sampling_pool(ds)
    chosen: list[str] = []
    seen = set(exclude)
    if k <= len(ids) // 4:
        total = cum[-1]
        tries = 0
        while len(chosen) < k and tries < 50 * k + 100:
            for _ in range(k - len(chosen)):
                pick = ids[bisect.bisect(cum, rng.random() * total, hi=len(ids) - 1)]
                tries += 1
                if pick not in seen:
                    seen.add(pick)
                    chosen.append(pick)
        if len(chosen) == k:
            return chosen
    prev = 0.0
    keyed = []
    for anime_id, c in zip(ids, cum, strict=True):
        weight, prev = c - prev, c
        if anime_id not in seen:
            keyed.append((-math.log(1.0 - rng.random()) / weight, anime_id))
    keyed.sort()
    return chosen + [anime_id for _, anime_id in keyed[: k - len(chosen)]]


# -- users -------------------------------------------------------------------------------


def add_favorites(ds: Dataset, rng: random.Random, user_id: str, n: int, joined: float) -> None:
    liked = [
        e["animeId"]
        for e in sorted(ds.entries[user_id], key=lambda e: -(e["ratingTwenty"] or 0))
        if e["status"] in ("completed", "current")
    ][: n * 2]
    rng.shuffle(liked)
    picks = liked[:n]
    if len(picks) < n:
        picks += choose_anime(ds, rng, n - len(picks), set(picks))
    characters = [str(rng.randint(1, 90_000)) for _ in range(n // 5)]
    items = [("Anime", a) for a in picks] + [("Character", c) for c in characters]
    for rank, (item_type, item_id) in enumerate(items):
        stamp = iso(rng.uniform(joined, EPOCH_2024))
        ds.favorites[user_id].append(
            {
                "id": str(next(ds._favorite_ids)),
                "userId": user_id,
                "itemType": item_type,
                "itemId": item_id,
                "createdAt": stamp,
                "updatedAt": stamp,
                "favRank": rank,
            }
        )


def populate(
    ds: Dataset, n_users: int, first_id: int, min_entries: int, max_entries: int
) -> list[Record]:
    """:meth:`Dataset.add_population`'s users (see there): about 5% of ids skipped, 5% of
    libraries empty, sizes log-uniform between the bounds."""
    rng = random.Random(f"{ds.seed}:population:{first_id}:{n_users}")
    if not ds.anime:
        ds.add_anime(n=max(1000, max_entries * 2))
    added: list[Record] = []
    user_id = first_id
    lo, hi = max(1, min_entries), max(1, max_entries, min_entries)
    while len(added) < n_users:
        uid = str(user_id)
        user_id += 1
        if uid in ds.users:
            continue
        if rng.random() < 0.05:
            ds.missing_ids.add(uid)
            continue
        if rng.random() < 0.05 or max_entries <= 0:
            size = 0
        else:
            size = int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))
            size = max(min_entries, min(max_entries, size))
        name = f"{rng.choice(FIRST_NAMES)}{rng.choice(('', '_', '.'))}{rng.choice(HANDLES)}"
        if rng.random() < 0.5:
            name += str(rng.randint(1, 999))
        slug = None if rng.random() < 0.4 else f"{slugify(name)}-{uid}"
        favs = rng.randint(0, min(20, size // 5)) if size >= 5 else 0
        added.append(ds.add_user(uid, name, slug, entries=size, favorites=favs))
    return added
