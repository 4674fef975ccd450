"""Kitsu's airing ``status`` of cached anime (column ``anime.status``, migration 2 -> 3).

Values as Kitsu spells them (``Media#status``, kitsu-server app/models/concerns/media.rb:
tba, unreleased, upcoming, current, finished); NULL while Kitsu has not told us. Kept out of
:class:`~animerec_tui.core.records.Anime` for now: the recommendation filters read it here
(:func:`animerec_tui.core.recommend.filters.catalogue_mask` takes it aligned with the anime).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from animerec_tui.core.cache.catalogue import anime_column
from animerec_tui.core.cache.db import Cache


def airing_statuses(cache: Cache, ids: Iterable[str]) -> dict[str, str | None]:
    """Kitsu id -> airing status (None: unknown) for those of ``ids`` that are cached."""
    return anime_column(cache, ids, "status")


def save_airing_statuses(cache: Cache, statuses: Mapping[str, str | None]) -> None:
    """Record Kitsu's airing status of cached anime in one transaction (ids not cached are
    left alone: the status belongs to an anime record, it never creates one; None keeps the
    status already known)."""
    with cache.transaction() as db:
        db.executemany(
            "UPDATE anime SET status = COALESCE(?, status) WHERE id = ?",
            [(s, int(a)) for a, s in statuses.items() if a.isascii() and a.isdigit()],
        )
