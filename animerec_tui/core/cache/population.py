"""The population's storage: seeding the bundled sample, and the aggregates ``stats`` and
``provenance`` report (over synced users: those with a library in ``sync_state``)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from animerec_tui.core.cache.codes import STATUS_CODES
from animerec_tui.core.records import STATUSES, Status


@dataclass(frozen=True)
class SampleRows:
    """The bundled sample in the column layout it ships in (see ``population.sample``).

    ``users``: (id, name) per sample user; ``entries`` / ``favorites`` / ``anime``: columns of
    equal length (``entries["user"]`` and ``favorites["user"]`` index into ``users``);
    ``synced_at``: when the sample was built (ISO 8601); ``state``: what ``state['sample']``
    records (build time and counts); ``source``: the ``sync_state.source`` of its users.
    """

    users: Sequence[tuple[str, str]]
    entries: Mapping[str, Sequence[Any]]
    favorites: Mapping[str, Sequence[Any]]
    anime: Mapping[str, Sequence[Any]]
    synced_at: str
    state: Mapping[str, Any]
    source: str


@dataclass(frozen=True)
class UserActivity:
    """One synced user's totals: entries, rated entries, favourites, minutes watched."""

    uid: int
    sample: bool
    favorites: int
    entries: int
    ratings: int
    minutes: int


def write_sample(db: sqlite3.Connection, rows: SampleRows) -> bool:
    """Insert the whole sample inside the caller's transaction; False if it is already there."""
    if db.execute("SELECT 1 FROM users WHERE sample = 1 LIMIT 1").fetchone():
        return False
    entries, favorites = rows.entries, rows.favorites
    status_counts: list[Counter[str]] = [Counter() for _ in rows.users]
    for user, status in zip(entries["user"], entries["status"], strict=True):
        status_counts[user][status] += 1
    fav_counts = Counter(favorites["user"])
    base = db.execute("SELECT COALESCE(MAX(uid), 0) FROM users").fetchone()[0] + 1
    uids = [base + i for i in range(len(rows.users))]
    db.executemany(
        "INSERT INTO users (uid, id, name, slug, sample, attrs) VALUES (?, ?, ?, NULL, 1, '{}')",
        [(uid, uid_name[0], uid_name[1]) for uid, uid_name in zip(uids, rows.users, strict=True)],
    )
    _insert_anime(db, rows.anime)
    db.executemany(
        """INSERT INTO entries (uid, anime_id, status, entry_id, progress, reconsume_count,
               rating_twenty, progressed_at, started_at, finished_at, updated_at)
           VALUES (?, ?, ?, NULL, ?, ?, ?, NULL, ?, ?, ?)""",
        zip(
            (uids[u] for u in entries["user"]),
            entries["anime_id"],
            [STATUS_CODES[s] for s in entries["status"]],
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
        "INSERT OR REPLACE INTO favorites (uid, anime_id, fav_id, fav_rank) VALUES (?, ?, NULL, ?)",
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
                rows.synced_at,
                sum(status_counts[i].values()),
                fav_counts.get(i, 0),
                json.dumps(dict(status_counts[i])),
                rows.source,
            )
            for i, uid in enumerate(uids)
        ],
    )
    db.execute(
        "INSERT INTO state VALUES ('sample', ?)"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (json.dumps(dict(rows.state)),),
    )
    return True


def _insert_anime(db: sqlite3.Connection, anime: Mapping[str, Sequence[Any]]) -> None:
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


def read_activity(
    db: sqlite3.Connection, minutes_per_episode: Mapping[str, int], default_minutes: int
) -> list[UserActivity]:
    """:meth:`Cache.user_activity` on ``db``."""
    cases = " ".join("WHEN ? THEN ?" for _ in minutes_per_episode)
    sql = f"""
SELECT u.uid, u.sample, s.favorite_count, COUNT(e.anime_id),
       COALESCE(SUM(e.rating_twenty IS NOT NULL), 0),
       COALESCE(SUM(
           COALESCE(e.progress,
                    CASE WHEN e.status = {STATUS_CODES["completed"]} THEN a.episode_count END,
                    0)
           * CASE a.subtype {cases} ELSE ? END
       ), 0)
FROM users u
JOIN sync_state s ON s.uid = u.uid
LEFT JOIN entries e ON e.uid = u.uid
LEFT JOIN anime a ON a.id = e.anime_id
GROUP BY u.uid
"""
    params: list[object] = [x for pair in minutes_per_episode.items() for x in pair]
    return [
        UserActivity(int(r[0]), bool(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]))
        for r in db.execute(sql, (*params, default_minutes))
    ]


def read_status_counts(db: sqlite3.Connection) -> dict[Status, int]:
    """:meth:`Cache.population_status_counts` on ``db``."""
    by_code = dict(
        db.execute(
            """SELECT e.status, COUNT(*) FROM entries e JOIN sync_state s ON s.uid = e.uid
               GROUP BY e.status"""
        ).fetchall()
    )
    return {s: int(by_code.get(STATUS_CODES[s], 0)) for s in STATUSES}


def read_anime_count(db: sqlite3.Connection) -> int:
    """:meth:`Cache.population_anime_count` on ``db``."""
    row = db.execute(
        """SELECT COUNT(*) FROM (
               SELECT e.anime_id FROM entries e JOIN sync_state s ON s.uid = e.uid
               UNION
               SELECT f.anime_id FROM favorites f JOIN sync_state s ON s.uid = f.uid)"""
    ).fetchone()
    return int(row[0])


def read_origins(db: sqlite3.Connection) -> tuple[int, int]:
    """:meth:`Cache.synced_origins` on ``db``."""
    counts = {
        int(sample): int(n)
        for sample, n in db.execute(
            "SELECT u.sample, COUNT(*) FROM users u JOIN sync_state s USING (uid) GROUP BY u.sample"
        )
    }
    return counts.get(1, 0), counts.get(0, 0)


def read_newest_start_date(db: sqlite3.Connection) -> str | None:
    """:meth:`Cache.newest_start_date` on ``db``."""
    row = db.execute(
        """SELECT MAX(a.start_date) FROM anime a
           WHERE a.withheld = 0 AND a.start_date IS NOT NULL AND a.start_date != ''
             AND a.id IN (SELECT e.anime_id FROM entries e JOIN sync_state s USING (uid))"""
    ).fetchone()
    return None if row[0] is None else str(row[0])
