"""Schema and migrations. ``MIGRATIONS[i]`` moves a cache from version i to i + 1.

Internal integer keys (``users.uid``, ``anime.id``) keep the entries table small and let the
recommender read millions of rows straight into numpy; Kitsu's string ids stay in
``users.id`` and are what every output shows.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 0 -> 1
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE users (
        uid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        name TEXT,
        slug TEXT,
        sample INTEGER NOT NULL DEFAULT 0,
        attrs TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX users_name ON users (name COLLATE NOCASE);
    CREATE INDEX users_slug ON users (slug COLLATE NOCASE);
    CREATE TABLE anime (
        id INTEGER PRIMARY KEY,
        title TEXT,
        titles TEXT NOT NULL DEFAULT '{}',
        slug TEXT,
        subtype TEXT,
        episode_count INTEGER,
        average_rating REAL,
        popularity_rank INTEGER,
        user_count INTEGER,
        start_date TEXT,
        poster TEXT,
        age_rating TEXT,
        nsfw INTEGER NOT NULL DEFAULT 0,
        synopsis TEXT,
        genres TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE entries (
        uid INTEGER NOT NULL REFERENCES users (uid),
        anime_id INTEGER NOT NULL,
        status INTEGER NOT NULL,
        entry_id TEXT,
        progress INTEGER,
        reconsume_count INTEGER,
        rating_twenty INTEGER,
        progressed_at TEXT,
        started_at TEXT,
        finished_at TEXT,
        updated_at TEXT,
        PRIMARY KEY (uid, anime_id)
    ) WITHOUT ROWID;
    CREATE INDEX entries_anime ON entries (anime_id);
    CREATE TABLE favorites (
        uid INTEGER NOT NULL REFERENCES users (uid),
        anime_id INTEGER NOT NULL,
        fav_id TEXT,
        fav_rank INTEGER,
        PRIMARY KEY (uid, anime_id)
    ) WITHOUT ROWID;
    CREATE TABLE sync_state (
        uid INTEGER PRIMARY KEY REFERENCES users (uid),
        synced_at TEXT NOT NULL,
        entry_count INTEGER NOT NULL,
        favorite_count INTEGER NOT NULL,
        status_counts TEXT NOT NULL DEFAULT '{}',
        source TEXT NOT NULL DEFAULT 'kitsu'
    );
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
