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
    # 1 -> 2: adult anime Kitsu hides from anonymous readers (withheld), which anime Kitsu
    # has described (the sample's are not), and the refresh watermark on Kitsu's clock.
    # Stubs (an id and nothing else) were written for entries whose anime was linked but
    # never included: those were withheld anime, so they and their entries move over.
    """
    ALTER TABLE anime ADD COLUMN withheld INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE anime ADD COLUMN described_at TEXT;
    ALTER TABLE sync_state ADD COLUMN withheld_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sync_state ADD COLUMN watermark TEXT;
    CREATE TABLE withheld_entries (
        uid INTEGER NOT NULL REFERENCES users (uid),
        entry_id TEXT NOT NULL,
        anime_id INTEGER,
        status INTEGER NOT NULL,
        rating_twenty INTEGER,
        updated_at TEXT,
        PRIMARY KEY (uid, entry_id)
    ) WITHOUT ROWID;
    UPDATE anime SET described_at = '' WHERE slug IS NOT NULL;
    UPDATE anime SET withheld = 1, nsfw = 1
        WHERE title IS NULL AND titles = '{}' AND slug IS NULL AND subtype IS NULL;
    INSERT OR IGNORE INTO withheld_entries
        SELECT e.uid, COALESCE(e.entry_id, 'anime:' || e.anime_id), e.anime_id, e.status,
               e.rating_twenty, e.updated_at
        FROM entries e JOIN anime a ON a.id = e.anime_id WHERE a.withheld = 1;
    DELETE FROM entries WHERE anime_id IN (SELECT id FROM anime WHERE withheld = 1);
    DELETE FROM favorites WHERE anime_id IN (SELECT id FROM anime WHERE withheld = 1);
    UPDATE sync_state SET
        entry_count = (SELECT COUNT(*) FROM entries e WHERE e.uid = sync_state.uid),
        withheld_count = (SELECT COUNT(*) FROM withheld_entries w WHERE w.uid = sync_state.uid)
    """,
    # 2 -> 3: franchises, filters and "not interested" (issue 14). ``relations`` holds Kitsu's
    # media relationships between anime (``role`` as Kitsu spells it); ``relations_fetched``
    # says which sources were asked about, so "never fetched" and "has none" differ. Anime
    # gain Kitsu's airing ``status`` (tba, unreleased, upcoming, current, finished). ``hidden``
    # is each user's "not interested" list, optionally with the whole franchise.
    """
    CREATE TABLE relations (
        source_id INTEGER NOT NULL,
        destination_id INTEGER NOT NULL,
        role TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        PRIMARY KEY (source_id, destination_id, role)
    ) WITHOUT ROWID;
    CREATE INDEX relations_destination ON relations (destination_id);
    CREATE TABLE relations_fetched (
        anime_id INTEGER PRIMARY KEY,
        fetched_at TEXT NOT NULL
    );
    ALTER TABLE anime ADD COLUMN status TEXT;
    CREATE TABLE hidden (
        uid INTEGER NOT NULL REFERENCES users (uid),
        anime_id INTEGER NOT NULL,
        with_franchise INTEGER NOT NULL DEFAULT 0,
        hidden_at TEXT NOT NULL,
        PRIMARY KEY (uid, anime_id)
    ) WITHOUT ROWID
    """,
    # 3 -> 4: liked picks (issue 14, point 7): anime a user marked "liked" to start from, folded
    # in as positive signal without writing a Kitsu library entry.
    """
    CREATE TABLE picks (
        uid INTEGER NOT NULL REFERENCES users (uid),
        anime_id INTEGER NOT NULL,
        liked_at TEXT NOT NULL,
        PRIMARY KEY (uid, anime_id)
    ) WITHOUT ROWID
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
