"""SQLite cache shared by the TUI and CLI processes.

WAL mode plus a busy timeout lets one process read (or train) while another writes. Every
write goes through :meth:`Cache.transaction` (``BEGIN IMMEDIATE``), so a user's library is
replaced atomically: a crash or Ctrl-C mid-fetch leaves the previous complete state.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from animerec_tui.core.cache.codes import STATUS_CODES, STATUS_NAMES
from animerec_tui.core.cache.files import exclusive, is_damage, move_aside, secure_path
from animerec_tui.core.cache.interactions import (
    read_anime_flags,
    read_interactions,
    read_listing_counts,
    read_user_interactions,
)
from animerec_tui.core.cache.population import (
    SampleRows,
    UserActivity,
    read_activity,
    read_anime_count,
    read_newest_start_date,
    read_origins,
    read_status_counts,
    write_sample,
)
from animerec_tui.core.cache.rows import (
    ANIME_COLUMNS,
    USER_FIELDS,
    anime_from_row,
    anime_row,
    user_from_row,
)
from animerec_tui.core.cache.schema import MIGRATIONS, SCHEMA_VERSION
from animerec_tui.core.errors import CacheError
from animerec_tui.core.records import (
    Anime,
    Favorite,
    Library,
    LibraryEntry,
    Status,
    User,
    WithheldEntry,
    count_statuses,
)
from animerec_tui.core.timestamps import newest_stamp

BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class SyncState:
    user_id: str
    synced_at: str
    entry_count: int
    favorite_count: int
    status_counts: dict[str, int]
    source: str
    withheld_count: int = 0
    """Entries of adult anime Kitsu hid from us (counted by Kitsu, never shown as titles)."""
    watermark: str | None = None
    """Kitsu's clock for the next ``filter[since]`` (newest ``updatedAt`` seen), or None."""


class Cache:
    """One open cache database. Safe to share between threads (calls are serialised)."""

    def __init__(self, path: Path, *, recover: bool = False) -> None:
        """Open (creating) the cache; a damaged file raises :class:`CacheError`, or with
        ``recover`` is renamed ``<name>.damaged-<time>`` (kept) and a fresh cache is created:
        ``recovered_from`` then says where the damaged file went."""
        self.path = Path(path)
        secure_path(self.path)
        self._lock = threading.RLock()
        self.recovered_from: Path | None = None
        """Where a damaged cache file was moved aside before this fresh one was created."""
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise CacheError(f"The cache {self.path} cannot be opened: {exc}.") from None
            if not recover:
                raise CacheError(self._damaged(exc)) from None
            self._close_quietly()
            try:
                self._recover()
            except (OSError, sqlite3.DatabaseError):
                raise CacheError(self._damaged(exc)) from None

    def _recover(self) -> None:
        """Move the damaged file aside and start afresh, one process at a time.

        Several processes can find the same damaged file at once (the TUI and a script). Under
        the lock each opens the file again first: only the first one finds it still damaged
        and moves it; the others find its fresh cache and share it, so no process is left
        writing into a file another one has just moved away.
        """
        with exclusive(self.path.with_name(self.path.name + ".lock")):
            try:
                self._open()
                return
            except sqlite3.DatabaseError as exc:
                if not is_damage(exc):
                    raise
                self._close_quietly()
            self.recovered_from = move_aside(self.path)
            secure_path(self.path)
            self._open()

    def _damaged(self, exc: Exception) -> str:
        return (
            f"The cache {self.path} is damaged ({exc}). Move it aside "
            f"(mv '{self.path}' '{self.path}.bad') and animerec starts a fresh one."
        )

    def _open(self) -> None:
        self._db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._wal()
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _wal(self) -> None:
        """Switch to WAL, waiting out other processes that are switching it at the same time.

        SQLite answers "database is locked" to this pragma at once, without the busy handler,
        while another connection holds the file (two processes starting on a new cache).
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def _close_quietly(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        # The version is read again inside each write transaction: two processes starting on
        # a new (or just re-created) cache at once must not both run the same migration.
        while True:
            if self._schema_version() == SCHEMA_VERSION:
                return  # the usual case: no write lock taken just to open the cache
            with self.transaction() as db:
                version = self._schema_version()
                if version == SCHEMA_VERSION:
                    return
                for statement in _split_sql(MIGRATIONS[version]):
                    db.execute(statement)
                version += 1
                db.execute(f"PRAGMA user_version = {version}")
                if version == 1:
                    db.execute(
                        "INSERT INTO meta VALUES ('cache_id', ?), ('data_version', '0')",
                        (uuid.uuid4().hex,),
                    )

    def _schema_version(self) -> int:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise CacheError(
                f"The cache {self.path} was written by a newer animerec (schema {version}); "
                "upgrade animerec or point ANIMEREC_CACHE_DIR elsewhere."
            )
        return version

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception (Ctrl-C too) rolls back."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'data_version'")

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    # -- meta / state ------------------------------------------------------------------------

    @property
    def cache_id(self) -> str:
        return str(self.query("SELECT value FROM meta WHERE key = 'cache_id'")[0][0])

    def fingerprint(self) -> str:
        """Changes whenever cached interactions change; names the cache it came from."""
        version = self.query("SELECT value FROM meta WHERE key = 'data_version'")[0][0]
        return f"{self.cache_id}:{version}"

    def get_state(self, key: str) -> Any | None:
        rows = self.query("SELECT value FROM state WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def set_state(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO state VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def delete_state(self, key: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM state WHERE key = ?", (key,))

    def is_empty(self) -> bool:
        return not self.query("SELECT 1 FROM users LIMIT 1")

    # -- users -------------------------------------------------------------------------------

    def _uid(self, db: sqlite3.Connection, user: User, *, sample: bool | None = None) -> int:
        attrs = {k: getattr(user, k) for k in USER_FIELDS if getattr(user, k) not in (None, ())}
        if "past_names" in attrs:
            attrs["past_names"] = list(attrs["past_names"])
        db.execute(
            """INSERT INTO users (id, name, slug, sample, attrs) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET name = excluded.name, slug = excluded.slug,
               attrs = excluded.attrs""",
            (
                user.id,
                user.name,
                user.slug,
                int(user.is_sample if sample is None else sample),
                json.dumps(attrs, ensure_ascii=False),
            ),
        )
        return int(db.execute("SELECT uid FROM users WHERE id = ?", (user.id,)).fetchone()[0])

    def save_users(self, users: Iterable[User]) -> None:
        """Remember users seen in search results (no library yet)."""
        with self.transaction() as db:
            for user in users:
                self._uid(db, user)

    def get_user(self, user_id: str) -> User | None:
        rows = self.query("SELECT * FROM users WHERE id = ?", (user_id,))
        return user_from_row(rows[0]) if rows else None

    def users_named(self, name: str) -> list[User]:
        rows = self.query("SELECT * FROM users WHERE name = ? COLLATE NOCASE ORDER BY uid", (name,))
        return [user_from_row(r) for r in rows]

    def user_by_slug(self, slug: str) -> User | None:
        rows = self.query("SELECT * FROM users WHERE slug = ? COLLATE NOCASE", (slug,))
        return user_from_row(rows[0]) if rows else None

    def search_users(self, query: str, limit: int = 50) -> list[User]:
        """Cached users whose id, name or slug contains ``query`` (case-insensitive)."""
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.query(
            """SELECT * FROM users
               WHERE id = ? OR name LIKE ? ESCAPE '\\' OR slug LIKE ? ESCAPE '\\'
               ORDER BY (id = ?) DESC, (name = ? COLLATE NOCASE) DESC, sample, uid LIMIT ?""",
            (query, pattern, pattern, query, query, limit),
        )
        return [user_from_row(r) for r in rows]

    def has_library(self, user_id: str) -> bool:
        return self.sync_state(user_id) is not None

    def sync_state(self, user_id: str) -> SyncState | None:
        rows = self.query(
            """SELECT s.* FROM sync_state s JOIN users u USING (uid) WHERE u.id = ?""", (user_id,)
        )
        if not rows:
            return None
        r = rows[0]
        return SyncState(
            user_id=user_id,
            synced_at=r["synced_at"],
            entry_count=r["entry_count"],
            favorite_count=r["favorite_count"],
            status_counts=json.loads(r["status_counts"]),
            source=r["source"],
            withheld_count=r["withheld_count"],
            watermark=r["watermark"],
        )

    def cached_user_ids(self) -> set[str]:
        return {r[0] for r in self.query("SELECT u.id FROM users u JOIN sync_state USING (uid)")}

    # -- anime -------------------------------------------------------------------------------

    def save_anime(
        self, db: sqlite3.Connection, anime: Iterable[Anime], *, described_at: str | None = None
    ) -> None:
        """Upsert anime records; ``described_at`` (when Kitsu described them) also clears
        ``withheld``: Kitsu showing an anime means it no longer hides it."""
        db.executemany(
            f"""INSERT INTO anime ({ANIME_COLUMNS}, withheld, described_at)
               VALUES ({",".join("?" * 15)}, 0, ?)
               ON CONFLICT(id) DO UPDATE SET title = excluded.title, titles = excluded.titles,
               slug = excluded.slug, subtype = excluded.subtype,
               episode_count = excluded.episode_count, average_rating = excluded.average_rating,
               popularity_rank = excluded.popularity_rank, user_count = excluded.user_count,
               start_date = excluded.start_date, poster = excluded.poster,
               age_rating = excluded.age_rating, nsfw = excluded.nsfw,
               synopsis = COALESCE(excluded.synopsis, anime.synopsis),
               genres = CASE WHEN excluded.genres = '[]' THEN anime.genres
                             ELSE excluded.genres END,
               withheld = CASE WHEN excluded.described_at IS NULL THEN anime.withheld ELSE 0 END,
               described_at = COALESCE(excluded.described_at, anime.described_at)""",
            [(*anime_row(a), described_at) for a in anime],
        )

    def mark_withheld(self, db: sqlite3.Connection, anime_ids: Iterable[str]) -> None:
        """Anime Kitsu linked but never described: adult (hidden from anonymous readers by
        kitsu-server ``AnimePolicy::Scope``), so flagged adult for every filter."""
        db.executemany(
            """INSERT INTO anime (id, withheld, nsfw) VALUES (?, 1, 1)
               ON CONFLICT(id) DO UPDATE SET withheld = 1, nsfw = 1""",
            [(int(a),) for a in anime_ids],
        )

    def undescribed_anime(self, ids: Iterable[str]) -> list[str]:
        """Those of ``ids`` Kitsu never described (sample-only or stub rows), withheld ones
        excluded (Kitsu will not describe them to us), in the given order."""
        wanted = [i for i in dict.fromkeys(ids) if i.isdigit()]
        known = self.get_anime(wanted)
        return [
            i
            for i in wanted
            if i not in known or (known[i].described_at is None and not known[i].withheld)
        ]

    def withhold_anime(self, anime_ids: Iterable[str]) -> None:
        """Mark anime withheld (Kitsu would not describe them: adult) in their own write;
        training data changes (they leave it), so models trained before become stale."""
        with self.transaction() as db:
            self.mark_withheld(db, anime_ids)
            self._bump(db)

    def describe_anime(self, anime: Iterable[Anime], *, described_at: str) -> int:
        """Store Kitsu's descriptions of anime (``/anime?filter[id]=...``); returns how many."""
        records = list(anime)
        if not records:
            return 0
        with self.transaction() as db:
            self.save_anime(db, records, described_at=described_at)
        return len(records)

    def get_anime(self, ids: Iterable[str]) -> dict[str, Anime]:
        wanted = [int(i) for i in ids]
        found: dict[str, Anime] = {}
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for row in self.query(f"SELECT * FROM anime WHERE id IN ({marks})", chunk):
                found[str(row["id"])] = anime_from_row(row)
        return found

    def all_anime(self) -> dict[str, Anime]:
        return {str(r["id"]): anime_from_row(r) for r in self.query("SELECT * FROM anime")}

    # -- libraries ---------------------------------------------------------------------------

    def save_library(self, library: Library, *, synced_at: str, source: str = "kitsu") -> None:
        """Replace the user's whole library in one transaction."""
        with self.transaction() as db:
            self._write_library(db, library, synced_at=synced_at, source=source, replace=True)

    def merge_library(self, library: Library, *, synced_at: str, total_entries: int) -> None:
        """Apply an incremental refresh: upsert changed entries, replace favourites.

        ``total_entries`` is Kitsu's ``meta.count``, which counts withheld (hidden adult)
        entries too; CacheError (rolled back) when the merged library would not match it.
        """
        with self.transaction() as db:
            self._write_library(db, library, synced_at=synced_at, source="kitsu", replace=False)
            uid = db.execute("SELECT uid FROM users WHERE id = ?", (library.user.id,)).fetchone()[0]
            have = db.execute(
                """SELECT (SELECT COUNT(*) FROM entries WHERE uid = ?)
                        + (SELECT COUNT(*) FROM withheld_entries WHERE uid = ?)""",
                (uid, uid),
            ).fetchone()[0]
            if have != total_entries:
                raise CacheError(
                    f"Incremental refresh of {library.user.id} would leave {have} entries, "
                    f"Kitsu has {total_entries}."
                )

    def _write_library(
        self,
        db: sqlite3.Connection,
        library: Library,
        *,
        synced_at: str,
        source: str,
        replace: bool,
    ) -> None:
        uid = self._uid(db, library.user)
        described = synced_at if source == "kitsu" else None
        self.save_anime(db, library.anime.values(), described_at=described)
        self.mark_withheld(db, library.withheld_anime - set(library.anime))
        missing = {e.anime_id for e in library.entries} | {f.anime_id for f in library.favorites}
        missing -= set(library.anime)
        if missing:  # entries whose anime record was not included: keep a stub
            db.executemany(
                "INSERT OR IGNORE INTO anime (id) VALUES (?)", [(int(m),) for m in missing]
            )
        if replace:
            db.execute("DELETE FROM entries WHERE uid = ?", (uid,))
            db.execute("DELETE FROM withheld_entries WHERE uid = ?", (uid,))
        else:  # an entry moves between the two tables when its anime is hidden or shown again
            db.executemany(
                "DELETE FROM entries WHERE uid = ? AND entry_id = ?",
                [(uid, w.id) for w in library.withheld],
            )
            db.executemany(
                "DELETE FROM withheld_entries WHERE uid = ? AND entry_id = ?",
                [(uid, e.id) for e in library.entries if e.id],
            )
        db.executemany(
            """INSERT OR REPLACE INTO withheld_entries VALUES (?, ?, ?, ?, ?, ?)""",
            [
                (
                    uid,
                    w.id,
                    int(w.anime_id) if w.anime_id else None,
                    STATUS_CODES[w.status],
                    w.rating_twenty,
                    w.updated_at,
                )
                for w in library.withheld
            ],
        )
        db.executemany(
            """INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(uid, anime_id) DO UPDATE SET status = excluded.status,
               entry_id = excluded.entry_id, progress = excluded.progress,
               reconsume_count = excluded.reconsume_count,
               rating_twenty = excluded.rating_twenty, progressed_at = excluded.progressed_at,
               started_at = excluded.started_at, finished_at = excluded.finished_at,
               updated_at = excluded.updated_at""",
            [
                (
                    uid,
                    int(e.anime_id),
                    STATUS_CODES[e.status],
                    e.id,
                    e.progress,
                    e.reconsume_count,
                    e.rating_twenty,
                    e.progressed_at,
                    e.started_at,
                    e.finished_at,
                    e.updated_at,
                )
                for e in library.entries
            ],
        )
        db.execute("DELETE FROM favorites WHERE uid = ?", (uid,))
        db.executemany(
            "INSERT OR REPLACE INTO favorites VALUES (?, ?, ?, ?)",
            [(uid, int(f.anime_id), f.id, f.fav_rank) for f in library.favorites],
        )
        # counted from what is stored, so an incremental merge (whose ``library`` holds only
        # the changed entries) records the whole library's counts, not the delta's
        status_counts = {
            STATUS_NAMES[code]: n
            for code, n in db.execute(
                "SELECT status, COUNT(*) FROM entries WHERE uid = ? GROUP BY status", (uid,)
            )
        }
        entry_count = sum(status_counts.values())
        withheld_count = db.execute(
            "SELECT COUNT(*) FROM withheld_entries WHERE uid = ?", (uid,)
        ).fetchone()[0]
        watermark = library.watermark
        if not replace:  # a refresh that saw nothing newer keeps the watermark it had
            row = db.execute("SELECT watermark FROM sync_state WHERE uid = ?", (uid,)).fetchone()
            watermark = newest_stamp(watermark, row[0] if row else None)
        db.execute(
            """INSERT OR REPLACE INTO sync_state (uid, synced_at, entry_count, favorite_count,
               status_counts, source, withheld_count, watermark) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                uid,
                synced_at,
                entry_count,
                len(library.favorites),
                json.dumps(status_counts),
                source,
                withheld_count,
                watermark,
            ),
        )
        self._bump(db)

    def library(self, user_id: str) -> Library | None:
        """The cached library, or None when the user's library was never fetched."""
        user = self.get_user(user_id)
        state = self.sync_state(user_id)
        if user is None or state is None:
            return None
        rows = self.query(
            """SELECT e.* FROM entries e JOIN users u USING (uid) WHERE u.id = ?
               ORDER BY e.status, e.updated_at DESC, e.anime_id""",
            (user_id,),
        )
        entries = [
            LibraryEntry(
                user_id=user_id,
                anime_id=str(r["anime_id"]),
                status=STATUS_NAMES[r["status"]],
                id=r["entry_id"],
                progress=r["progress"],
                reconsume_count=r["reconsume_count"],
                rating_twenty=r["rating_twenty"],
                progressed_at=r["progressed_at"],
                started_at=r["started_at"],
                finished_at=r["finished_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]
        favs = [
            Favorite(
                user_id=user_id, anime_id=str(r["anime_id"]), id=r["fav_id"], fav_rank=r["fav_rank"]
            )
            for r in self.query(
                """SELECT f.* FROM favorites f JOIN users u USING (uid) WHERE u.id = ?
                   ORDER BY f.fav_rank, f.anime_id""",
                (user_id,),
            )
        ]
        ids = {e.anime_id for e in entries} | {f.anime_id for f in favs}
        counts = count_statuses(entries)
        withheld = [
            WithheldEntry(
                user_id=user_id,
                id=r["entry_id"],
                status=STATUS_NAMES[r["status"]],
                anime_id=str(r["anime_id"]) if r["anime_id"] is not None else None,
                rating_twenty=r["rating_twenty"],
                updated_at=r["updated_at"],
            )
            for r in self.query(
                """SELECT w.* FROM withheld_entries w JOIN users u USING (uid) WHERE u.id = ?
                   ORDER BY w.status, w.updated_at DESC, w.entry_id""",
                (user_id,),
            )
        ]
        return Library(
            user=user,
            entries=entries,
            favorites=favs,
            anime=self.get_anime(ids),
            status_counts=counts,
            withheld=withheld,
            withheld_anime={w.anime_id for w in withheld if w.anime_id},
            watermark=state.watermark,
        )

    # -- bulk reads for the recommender ------------------------------------------------------

    def interaction_arrays(self) -> dict[str, np.ndarray]:
        """All entries and favourites of synced users as parallel numpy arrays, in one snapshot.

        The recommender's only way to read interactions. Keys: ``uid``, ``anime_id``,
        ``status`` (int8 positions in :data:`~animerec_tui.core.records.STATUSES`),
        ``rating_twenty`` (0 = unrated), ``reconsume`` (capped at 255) and, separately,
        ``fav_uid`` / ``fav_anime_id``; then
        ``user_uid`` / ``user_id`` (every synced user, sorted by uid, ids as a numpy str array)
        and ``fingerprint`` (a 0-d str array: :meth:`fingerprint` of that same snapshot). Users
        without a synced library are not included, nor anime Kitsu withholds (hidden adult).

        Speed matters (5M entries in the training benchmark, where the read is most of the
        overhead over a bare fit): it reads on its own read-only connection inside one
        transaction (one WAL snapshot; other threads sharing this Cache are not blocked),
        without a JOIN; SQLite packs each entry into ONE integer and concatenates a user's as
        one string, so Python handles one object per user instead of five per entry, and numpy
        parses and decodes the bit fields (see :func:`_read_interactions`).
        """
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            try:
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                return read_interactions(db)
            finally:
                db.close()
        except sqlite3.OperationalError:  # no read-only open here: the shared connection
            with self._lock:
                return read_interactions(self._db)

    def user_interactions(self, user_id: str) -> tuple[np.ndarray, np.ndarray]:
        """One user's library for the recommend path (20 ms budget: no Anime records built).

        Returns ``(entries, favorites)``: ``entries`` an int64 array of shape (n, 4) with
        columns anime id, status (position in :data:`~animerec_tui.core.records.STATUSES`),
        ratingTwenty (0 = unrated), reconsume count (0 when unknown); ``favorites`` the
        favourite anime ids (int64). Both empty for an unknown user.
        """
        with self._lock:
            return read_user_interactions(self._db, user_id)

    def anime_flags(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Every cached anime as ``(ids, adult, subtypes)``: int64 ids, a bool array (age
        rating R18 or Kitsu's nsfw flag), and lower-cased subtypes ("" when unknown), aligned."""
        with self._lock:
            return read_anime_flags(self._db)

    def listing_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """How many cached libraries list each anime: ``(anime ids, counts)``, int64, aligned."""
        with self._lock:
            return read_listing_counts(self._db)

    # -- the population (sample seeding, aggregates) ----------------------------------------

    def seed_sample(self, rows: SampleRows) -> bool:
        """Insert the bundled sample in one transaction (bumping :meth:`fingerprint` so saved
        models retrain); False, writing nothing, when sample users are already cached."""
        with self.transaction() as db:
            if not write_sample(db, rows):
                return False
            self._bump(db)
        return True

    def user_activity(
        self, minutes_per_episode: Mapping[str, int], default_minutes: int
    ) -> list[UserActivity]:
        """Per synced user: favourites, entries, rated entries, and minutes watched (episodes
        watched, a completed entry without progress counting all of them, times the minutes of
        its subtype in ``minutes_per_episode``, else ``default_minutes``)."""
        with self._lock:
            return read_activity(self._db, minutes_per_episode, default_minutes)

    def population_status_counts(self) -> dict[Status, int]:
        """Entries of synced users per status (every status of ``STATUSES``, 0 when none)."""
        with self._lock:
            return read_status_counts(self._db)

    def population_anime_count(self) -> int:
        """Distinct anime in synced users' entries and favourites."""
        with self._lock:
            return read_anime_count(self._db)

    def synced_origins(self) -> tuple[int, int]:
        """Synced users by origin: ``(sample users, Kitsu users)``."""
        with self._lock:
            return read_origins(self._db)

    def newest_start_date(self) -> str | None:
        """The newest start date (``YYYY-MM-DD``) among synced users' listed anime that Kitsu
        does not withhold; None when no start date is known."""
        with self._lock:
            return read_newest_start_date(self._db)

    def user_ids(self) -> dict[int, str]:
        """Internal uid -> user id, for users with a synced library."""
        return {
            r[0]: r[1] for r in self.query("SELECT uid, id FROM users JOIN sync_state USING (uid)")
        }


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
