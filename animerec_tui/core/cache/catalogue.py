"""Catalogue-wide reads the recommend path memoises on: versions (so a memo knows when the
cache learned something), start dates, and the genres the cached anime have.

Small aggregate queries, each one indexed scan of ``anime`` or ``relations_fetched``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from animerec_tui.core.cache.db import Cache


def anime_version(cache: Cache) -> tuple[int, int]:
    """(anime with a known airing status, anime Kitsu described): changes whenever what a
    filter reads about the catalogue may have changed."""
    row = cache.query("SELECT COUNT(status), COUNT(described_at) FROM anime")[0]
    return int(row[0]), int(row[1])


def relations_version(cache: Cache) -> tuple[int, int, str]:
    """(sources fetched, relationships cached, newest fetch stamp): changes whenever
    relations are saved."""
    fetched = cache.query("SELECT COUNT(*), COALESCE(MAX(fetched_at), '') FROM relations_fetched")
    edges = cache.query("SELECT COUNT(*) FROM relations")[0][0]
    return int(fetched[0][0]), int(edges), str(fetched[0][1])


def fetched_sources(cache: Cache) -> set[str]:
    """Every anime id whose relations were fetched (possibly none), as strings."""
    return {str(r[0]) for r in cache.query("SELECT anime_id FROM relations_fetched")}


def anime_column(cache: Cache, ids: Iterable[str], column: str) -> dict[str, str | None]:
    """Kitsu id -> one column of the anime table (None: unknown) for those of ``ids`` that are
    cached; ``column`` is ``start_date`` or ``status`` (ValueError otherwise)."""
    if column not in {"start_date", "status"}:
        raise ValueError(f"not an anime column read by id: {column!r}")
    wanted = sorted({int(i) for i in ids if i.isascii() and i.isdigit()})
    found: dict[str, str | None] = {}
    for start in range(0, len(wanted), 900):  # below SQLite's bound-parameter limit
        chunk = wanted[start : start + 900]
        marks = ",".join("?" * len(chunk))
        for row in cache.query(f"SELECT id, {column} FROM anime WHERE id IN ({marks})", chunk):
            found[str(row[0])] = row[1]
    return found


def start_dates(cache: Cache, ids: Iterable[str]) -> dict[str, str | None]:
    """Kitsu id -> ISO ``startDate`` (None: unknown) of those of ``ids`` that are cached."""
    return anime_column(cache, ids, "start_date")


def known_genres(cache: Cache) -> list[str]:
    """Every genre/category spelling the cached anime have, sorted case-insensitively."""
    found: set[str] = set()
    for (raw,) in cache.query("SELECT DISTINCT genres FROM anime WHERE genres != '[]'"):
        found.update(g.strip() for g in json.loads(raw or "[]") if isinstance(g, str) and g.strip())
    return sorted(found, key=lambda g: (g.casefold(), g))
