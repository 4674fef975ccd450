"""Seed a new or empty cache with the bundled sample population.

The sample (``animerec_tui/data/sample.json.gz``, built by ``scripts/build_sample.py``) is
written with plain ``executemany`` inside ONE transaction rather than through
``Cache.save_library`` user by user: ~800 per-user transactions would cost seconds on a slow
disk, and a single transaction makes seeding crash-safe for free (a killed seed leaves an
empty cache, which the next start seeds again).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections import Counter
from functools import cache as _memo
from importlib import resources
from typing import Any

from animerec_tui.core.cache import STATUS_CODES, Cache
from animerec_tui.core.errors import CacheError
from animerec_tui.core.records import SAMPLE_NAME_PREFIX, SAMPLE_PREFIX

SAMPLE_FILE = "sample.json.gz"
SAMPLE_FORMAT = 2
"""The layout ``scripts/build_sample.py`` writes (``manifest.format``)."""
SOURCE = "sample"


@_memo
def load_sample() -> dict[str, Any]:
    """The decoded sample document (cached: tests and the TUI may seed several caches)."""
    ref = resources.files("animerec_tui").joinpath("data", SAMPLE_FILE)
    try:
        raw = ref.read_bytes()
    except FileNotFoundError:
        raise CacheError(
            "The bundled sample population is missing from this install "
            "(animerec_tui/data/sample.json.gz); reinstall animerec."
        ) from None
    data = json.loads(gzip.decompress(raw))
    if data.get("manifest", {}).get("format") != SAMPLE_FORMAT:
        raise CacheError(
            "The bundled sample population has an unexpected format; rebuild it with "
            "scripts/build_sample.py or reinstall animerec."
        )
    return data


def sample_manifest() -> dict[str, Any]:
    return dict(load_sample()["manifest"])


def sample_user_id(key: str) -> str:
    return f"{SAMPLE_PREFIX}{key}"


def sample_user_name(key: str) -> str:
    return f"{SAMPLE_NAME_PREFIX}{key}"


def seed_if_empty(cache: Cache) -> bool:
    """Seed when the cache holds no users at all; return whether it seeded.

    "No users" rather than "no sample users": someone who deleted the sample on purpose but
    cached Kitsu users must not get it back on every start.
    """
    if not cache.is_empty():
        return False
    return seed(cache)


def seed(cache: Cache) -> bool:
    """Insert the whole sample in one transaction; a no-op (False) when it is already there."""
    data = load_sample()
    manifest = data["manifest"]
    keys: list[str] = data["users"]
    synced_at = manifest["built_at"]
    entries = data["entries"]
    favorites = data["favorites"]
    anime = data["anime"]

    status_counts: list[Counter[str]] = [Counter() for _ in keys]
    for user, status in zip(entries["user"], entries["status"], strict=True):
        status_counts[user][status] += 1
    fav_counts = Counter(favorites["user"])

    with cache.transaction() as db:
        if db.execute("SELECT 1 FROM users WHERE sample = 1 LIMIT 1").fetchone():
            return False
        base = db.execute("SELECT COALESCE(MAX(uid), 0) FROM users").fetchone()[0] + 1
        uids = [base + i for i in range(len(keys))]
        db.executemany(
            "INSERT INTO users (uid, id, name, slug, sample, attrs)"
            " VALUES (?, ?, ?, NULL, 1, '{}')",
            [
                (uid, sample_user_id(k), sample_user_name(k))
                for uid, k in zip(uids, keys, strict=True)
            ],
        )
        _insert_anime(db, anime)
        codes = [STATUS_CODES[s] for s in entries["status"]]
        db.executemany(
            """INSERT INTO entries (uid, anime_id, status, entry_id, progress, reconsume_count,
                   rating_twenty, progressed_at, started_at, finished_at, updated_at)
               VALUES (?, ?, ?, NULL, ?, ?, ?, NULL, ?, ?, ?)""",
            zip(
                (uids[u] for u in entries["user"]),
                entries["anime_id"],
                codes,
                entries["progress"],
                entries["reconsume_count"],
                entries["rating_twenty"],
                entries["started_at"],
                entries["finished_at"],
                entries["updated_at"],
                strict=True,
            ),
        )
        db.executemany(
            "INSERT OR REPLACE INTO favorites (uid, anime_id, fav_id, fav_rank)"
            " VALUES (?, ?, NULL, ?)",
            [
                (uids[u], a, rank)
                for rank, (u, a) in enumerate(
                    zip(favorites["user"], favorites["anime_id"], strict=True), 1
                )
            ],
        )
        db.executemany(
            """INSERT INTO sync_state (uid, synced_at, entry_count, favorite_count,
                   status_counts, source) VALUES (?, ?, ?, ?, ?, ?)""",
            [
                (
                    uid,
                    synced_at,
                    sum(status_counts[i].values()),
                    fav_counts.get(i, 0),
                    json.dumps(dict(status_counts[i])),
                    SOURCE,
                )
                for i, uid in enumerate(uids)
            ],
        )
        db.execute(
            "INSERT INTO state VALUES ('sample', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (json.dumps({"built_at": synced_at, "counts": manifest["counts"]}),),
        )
        # Same effect as Cache._bump: the fingerprint must change so saved models retrain.
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'")
    return True


def _insert_anime(db: sqlite3.Connection, anime: dict[str, list[Any]]) -> None:
    """Insert sample anime, never overwriting richer metadata Kitsu already gave us."""
    db.executemany(
        """INSERT OR IGNORE INTO anime (id, title, titles, subtype, episode_count,
               average_rating, popularity_rank, user_count, genres)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        zip(
            anime["id"],
            anime["title"],
            anime["titles_json"],
            anime["subtype"],
            anime["episode_count"],
            anime["average_rating"],
            anime["popularity_rank"],
            anime["user_count"],
            anime["genres_json"],
            strict=True,
        ),
    )
