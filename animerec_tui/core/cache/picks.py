"""Each user's liked picks (table ``picks``): anime a fan marked "liked" to start from.

A user with an empty or tiny library (issue 14, point 7) searches anime and marks a few as
liked; the recommender folds them in as positive signal (as strong as a completed favourite)
without a Kitsu library entry being written. Keyed like :mod:`.hidden`: the cache's internal
``users.uid`` (the user must be cached), the anime by Kitsu id. Every call is idempotent and
writes in one :meth:`Cache.transaction`. Picks are not interactions of the population: they do
not change the cache fingerprint, so models do not go stale (the user is folded in instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from animerec_tui.core.cache.db import Cache
from animerec_tui.core.cache.hidden import _now, add_marks, forget


@dataclass(frozen=True, slots=True)
class Pick:
    """One liked anime: Kitsu id and when it was marked (ISO-8601 UTC)."""

    anime_id: str
    liked_at: str


def like(cache: Cache, user_id: str, anime_ids: Iterable[str], *, at: str | None = None) -> int:
    """Mark ``anime_ids`` liked for ``user_id``; returns how many were not liked before
    (liking again keeps the first ``liked_at``). ``at`` defaults to now (UTC). Raises NotCached
    for a user not in the cache, BadInput for an id that is not digits (nothing is written)."""
    return add_marks(cache, "picks", user_id, anime_ids, (at or _now(),))


def unlike(cache: Cache, user_id: str, anime_ids: Iterable[str]) -> int:
    """Forget ``anime_ids``' likes; returns how many were liked. Same errors as :func:`like`."""
    return forget(cache, "picks", user_id, anime_ids)


def liked(cache: Cache, user_id: str) -> list[Pick]:
    """The user's liked picks, most recently liked first (then by id); [] for a user with none
    or not in the cache."""
    rows = cache.query(
        """SELECT p.anime_id, p.liked_at FROM picks p
           JOIN users u USING (uid) WHERE u.id = ? ORDER BY p.liked_at DESC, p.anime_id""",
        (user_id,),
    )
    return [Pick(str(r[0]), str(r[1])) for r in rows]
