"""A clustered population for the recommender tests: users who mostly watch one cluster's anime."""

from __future__ import annotations

import numpy as np

from animerec_tui.core.cache import Cache
from animerec_tui.core.records import Anime, Favorite, Library, LibraryEntry, User
from animerec_tui.core.settings import ModelParams

N_CLUSTERS, PER_CLUSTER, N_USERS = 4, 30, 240
FAST = ModelParams(factors=16, regularization=1.0, alpha=2.0, iterations=8, weighting="bm25")


def clustered_library(uid: str, rng: np.random.Generator, cluster: int) -> Library:
    """A user who mostly watches one cluster's anime plus a few of the globally popular ones."""
    own = rng.choice(PER_CLUSTER, size=12, replace=False) + 1 + cluster * PER_CLUSTER
    popular = rng.choice(10, size=3, replace=False) + 1000
    ids = [*own.tolist(), *popular.tolist()]
    statuses = ["completed", "current", "planned", "on_hold", "dropped"]
    entries = [
        LibraryEntry(uid, str(a), statuses[i % 5] if i % 3 == 0 else "completed")  # type: ignore[arg-type]
        for i, a in enumerate(ids)
    ]
    anime = {
        str(a): Anime(
            id=str(a),
            title=f"Anime {a}",
            subtype="movie" if a % 4 == 0 else "TV",
            age_rating="R18" if a % 29 == 0 else "PG",
        )
        for a in ids
    }
    favs = [Favorite(uid, str(ids[0]))]
    return Library(User(id=uid, name=f"u{uid}"), entries, favs, anime)


def populate(cache: Cache, n_users: int = N_USERS, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for u in range(n_users):
        lib = clustered_library(str(100 + u), rng, u % N_CLUSTERS)
        cache.save_library(lib, synced_at="2026-01-01")
