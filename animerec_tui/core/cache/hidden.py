"""Each user's "not interested" list (table ``hidden``): anime never to recommend again.

Keyed by the cache's internal ``users.uid`` (the user must be cached: a library fetched or the
user seen in a search), the anime by Kitsu id. ``with_franchise`` asks to hide the whole
franchise too (resolved at recommend time, so entries Kitsu relates later are hidden as well).
Every call is idempotent and writes in one :meth:`Cache.transaction`. Hiding is not an
interaction: it does not change the cache fingerprint, so models do not go stale.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from animerec_tui.core.cache.db import Cache
from animerec_tui.core.errors import BadInput, NotCached
from animerec_tui.core.timestamps import iso_z

MARK_TABLES = ("hidden", "picks")
"""The per-user tables of anime marks, keyed ``(uid, anime_id)``: not interested, liked."""


@dataclass(frozen=True, slots=True)
class Hidden:
    """One hidden anime: Kitsu id, whether its franchise is hidden too, when (ISO-8601 UTC)."""

    anime_id: str
    with_franchise: bool
    hidden_at: str


def _uid(db: sqlite3.Connection, user_id: str) -> int:
    row = db.execute("SELECT uid FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise NotCached(f"User {user_id} is not in the cache; fetch their library first.")
    return int(row[0])


def _anime_ids(anime_ids: Iterable[str]) -> list[int]:
    ids = list(dict.fromkeys(anime_ids))
    bad = [a for a in ids if not (a.isascii() and a.isdigit())]
    if bad:
        raise BadInput(f"Not a Kitsu anime id: {bad[0]!r} (ids are digits, e.g. 1 or 7442).")
    return [int(a) for a in ids]


def _now() -> str:
    return iso_z(datetime.now(UTC))


def forget(cache: Cache, table: str, user_id: str, anime_ids: Iterable[str]) -> int:
    """Delete the user's rows for ``anime_ids`` from a per-user mark table (``hidden``,
    ``picks``: both keyed ``(uid, anime_id)``); returns how many there were. Raises NotCached
    for a user not in the cache, BadInput for an id that is not digits (nothing is written)."""
    if table not in MARK_TABLES:
        raise ValueError(f"not a per-user mark table: {table!r}")
    ids = _anime_ids(anime_ids)
    with cache.transaction() as db:
        uid = _uid(db, user_id)
        return sum(
            db.execute(f"DELETE FROM {table} WHERE uid = ? AND anime_id = ?", (uid, a)).rowcount
            for a in ids
        )


def add_marks(
    cache: Cache,
    table: str,
    user_id: str,
    anime_ids: Iterable[str],
    extra: tuple[object, ...],
    on_conflict: str = "DO NOTHING",
) -> int:
    """Insert ``(uid, anime_id, *extra)`` rows for ``anime_ids`` into a per-user mark table
    (``hidden``, ``picks``), resolving a row already there by ``on_conflict`` (an SQL
    ``ON CONFLICT(uid, anime_id)`` action); returns how many rows are new. Raises NotCached
    for a user not in the cache, BadInput for an id that is not digits (nothing is written)."""
    if table not in MARK_TABLES:
        raise ValueError(f"not a per-user mark table: {table!r}")
    ids = _anime_ids(anime_ids)
    values = ", ".join("?" * (2 + len(extra)))
    with cache.transaction() as db:
        uid = _uid(db, user_id)
        count = f"SELECT COUNT(*) FROM {table} WHERE uid = ?"
        before = db.execute(count, (uid,)).fetchone()[0]
        db.executemany(
            f"INSERT INTO {table} VALUES ({values}) ON CONFLICT(uid, anime_id) {on_conflict}",
            [(uid, a, *extra) for a in ids],
        )
        after = db.execute(count, (uid,)).fetchone()[0]
    return int(after - before)


def hide(
    cache: Cache,
    user_id: str,
    anime_ids: Iterable[str],
    *,
    with_franchise: bool = False,
    at: str | None = None,
) -> int:
    """Hide ``anime_ids`` for ``user_id``; returns how many were not hidden before.

    Hiding again keeps the first ``hidden_at``; ``with_franchise=True`` widens an existing
    entry to its franchise (False never narrows one: :func:`unhide` then hide does). ``at``
    defaults to now (UTC). Raises NotCached for a user not in the cache, BadInput for an id
    that is not digits (nothing is written then).
    """
    return add_marks(
        cache,
        "hidden",
        user_id,
        anime_ids,
        (int(with_franchise), at or _now()),
        "DO UPDATE SET with_franchise = MAX(with_franchise, excluded.with_franchise)",
    )


def unhide(cache: Cache, user_id: str, anime_ids: Iterable[str]) -> int:
    """Show ``anime_ids`` again; returns how many were hidden. Same errors as :func:`hide`."""
    return forget(cache, "hidden", user_id, anime_ids)


def hidden(cache: Cache, user_id: str) -> list[Hidden]:
    """The user's hidden anime, most recently hidden first (then by id); [] for a user with
    none or not in the cache (nothing hidden is the honest answer there)."""
    rows = cache.query(
        """SELECT h.anime_id, h.with_franchise, h.hidden_at FROM hidden h
           JOIN users u USING (uid) WHERE u.id = ? ORDER BY h.hidden_at DESC, h.anime_id""",
        (user_id,),
    )
    return [Hidden(str(r[0]), bool(r[1]), str(r[2])) for r in rows]
