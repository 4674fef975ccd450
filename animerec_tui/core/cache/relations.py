"""Cached Kitsu media relationships (tables ``relations`` and ``relations_fetched``).

``relations_fetched`` records each anime whose relationships Kitsu was asked for, so an anime
that has none (a standalone film) is told apart from one never asked about (offline, new).
Writes go through :meth:`Cache.transaction` (``BEGIN IMMEDIATE``, the busy timeout waits out
other writers): saving a batch replaces its sources' edges atomically, so a Ctrl-C mid-save
leaves the previous complete state. Relations are not interactions: they do not change the
cache fingerprint (models do not go stale).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator

from animerec_tui.core.cache.db import Cache
from animerec_tui.core.kitsu.relations import Relation

_CHUNK = 900
"""Ids per ``IN (...)``: under SQLite's default limit of 999 host parameters."""


def _ints(ids: Iterable[str]) -> list[int]:
    return sorted({int(i) for i in ids if i.isascii() and i.isdigit()})


def _chunks(ids: list[int]) -> Iterator[tuple[str, list[int]]]:
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        yield ",".join("?" * len(chunk)), chunk


def save_relations(
    cache: Cache, sources: Iterable[str], relations: Iterable[Relation], *, fetched_at: str
) -> None:
    """Replace the relationships of ``sources`` (Kitsu anime ids) by ``relations`` in one
    transaction and record the sources as fetched at ``fetched_at`` (ISO-8601, Kitsu's clock).

    A source with no relation in ``relations`` is recorded as having none. Raises ValueError
    when a relation's source is not among ``sources`` (it would be saved as known without its
    other edges having been asked for); CacheError/sqlite3 errors roll everything back.
    """
    src = _ints(sources)
    wanted = set(src)
    rows = sorted({(int(r.source_id), int(r.destination_id), r.role) for r in relations})
    stray = sorted({s for s, _, _ in rows if s not in wanted})
    if stray:
        raise ValueError(f"relations of anime {stray[:5]} that are not among the sources saved")
    with cache.transaction() as db:
        for marks, chunk in _chunks(src):
            db.execute(f"DELETE FROM relations WHERE source_id IN ({marks})", chunk)
        db.executemany(
            "INSERT INTO relations VALUES (?, ?, ?, ?)", [(*r, fetched_at) for r in rows]
        )
        db.executemany(
            """INSERT INTO relations_fetched VALUES (?, ?)
               ON CONFLICT(anime_id) DO UPDATE SET fetched_at = excluded.fetched_at""",
            [(s, fetched_at) for s in src],
        )


def relations_known(cache: Cache, ids: Iterable[str]) -> set[str]:
    """Those of ``ids`` whose relationships were fetched (possibly none), as strings."""
    found: set[str] = set()
    for marks, chunk in _chunks(_ints(ids)):
        rows = cache.query(
            f"SELECT anime_id FROM relations_fetched WHERE anime_id IN ({marks})", chunk
        )
        found.update(str(r[0]) for r in rows)
    return found


def load_relations(cache: Cache, ids: Iterable[str] | None = None) -> list[Relation]:
    """Cached relationships with ``ids`` at either end (all of them when ``ids`` is None),
    sorted by (source, destination, role) as integers."""
    sql = "SELECT source_id, destination_id, role FROM relations"
    got: set[tuple[int, int, str]] = set()
    if ids is None:
        got.update((r[0], r[1], r[2]) for r in cache.query(sql))
    else:
        for marks, chunk in _chunks(_ints(ids)):
            for column in ("source_id", "destination_id"):
                rows = cache.query(f"{sql} WHERE {column} IN ({marks})", chunk)
                got.update((r[0], r[1], r[2]) for r in rows)
    return [Relation(str(s), str(d), role) for s, d, role in sorted(got)]


def connected_relations(
    cache: Cache, ids: Iterable[str], roles: Collection[str], *, max_hops: int = 50
) -> list[Relation]:
    """Every cached relationship of a role in ``roles`` reachable from ``ids`` through such
    relationships, either direction (a whole franchise from any one member), sorted.

    One indexed query per hop (a franchise is rarely more than a few hops wide: Kitsu links
    each season to the next); ``max_hops`` bounds a damaged cache's loops.
    """
    roles = set(roles)
    seen = set(_ints(ids))
    frontier = set(seen)
    edges: set[Relation] = set()
    for _ in range(max_hops):
        if not frontier:
            break
        step = [r for r in load_relations(cache, (str(i) for i in frontier)) if r.role in roles]
        edges.update(step)
        reached = {int(r.source_id) for r in step} | {int(r.destination_id) for r in step}
        frontier = reached - seen
        seen |= reached
    return sorted(edges, key=lambda r: (int(r.source_id), int(r.destination_id), r.role))
