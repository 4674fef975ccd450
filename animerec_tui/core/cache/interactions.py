"""The recommender's reads: every interaction as numpy arrays, one user's library, the anime
flags the ranking masks by. Statuses come out as positions in
:data:`~animerec_tui.core.records.STATUSES` (never the storage codes).
"""

from __future__ import annotations

import sqlite3

import numpy as np

from animerec_tui.core.cache.codes import CODE_TO_INDEX
from animerec_tui.core.errors import CacheError

_CODE_TABLE = np.zeros(max(CODE_TO_INDEX) + 1, dtype=np.int8)
for _code, _index in CODE_TO_INDEX.items():
    _CODE_TABLE[_code] = _index


def _status_index(codes: np.ndarray) -> np.ndarray:
    """Stored status codes -> positions in ``STATUSES`` (int8), one gather."""
    return _CODE_TABLE[codes.astype(np.intp)]


_PACKED_ENTRY = """(anime_id << 16) | (status << 13)
    | (CASE WHEN rating_twenty BETWEEN 0 AND 31 THEN rating_twenty << 8 ELSE 0 END)
    | (CASE WHEN reconsume_count BETWEEN 0 AND 255 THEN reconsume_count
            WHEN reconsume_count > 255 THEN 255 ELSE 0 END)"""
"""One entry as one integer: anime_id << 16 | status << 13 | ratingTwenty << 8 | reconsume."""


def read_interactions(db: sqlite3.Connection) -> dict[str, np.ndarray]:
    """:meth:`Cache.interaction_arrays` on ``db``, inside one read transaction.

    Entries come back one row per *user* (``GROUP BY uid`` streams the clustered primary key,
    no sort), each user's packed entries as one ``group_concat`` string that numpy parses in C:
    Python touches 100k strings instead of 5M rows (5M entries: 2.9 s instead of 6.9 s with one
    packed int per row, measured in bench/train.py's population).
    """
    in_tx = db.in_transaction
    if not in_tx:
        db.execute("BEGIN")
    try:
        meta = dict(tuple(r) for r in db.execute("SELECT key, value FROM meta"))
        users = [
            (int(r[0]), str(r[1]))
            for r in db.execute("SELECT uid, id FROM users JOIN sync_state USING (uid)")
        ]
        low, high = db.execute("SELECT MIN(anime_id), MAX(anime_id) FROM entries").fetchone()
        if low is None or (low >= 0 and high < 2**46):
            groups = [
                tuple(r)
                for r in db.execute(
                    f"SELECT uid, COUNT(*), group_concat({_PACKED_ENTRY}) FROM entries GROUP BY uid"
                )
            ]
            counts = np.fromiter((g[1] for g in groups), dtype=np.int64, count=len(groups))
            total = int(counts.sum())
            text = ",".join([g[2] for g in groups])
            packed = np.fromstring(text, dtype=np.int64, sep=",") if total else np.empty(0, int)
            del text
            if len(packed) != total:
                raise CacheError("The cache returned malformed entries; it may be damaged.")
            cols = [
                np.repeat(np.fromiter((g[0] for g in groups), np.int64, len(groups)), counts),
                packed >> 16,
                (packed >> 13) & 7,
                (packed >> 8) & 31,
                packed & 255,
            ]
            del groups, packed
        else:  # ids too large to pack: the same data as five columns, one tuple per row
            rows = db.execute(
                """SELECT uid, anime_id, status,
                          CASE WHEN rating_twenty BETWEEN 0 AND 127 THEN rating_twenty ELSE 0 END,
                          MIN(MAX(COALESCE(reconsume_count, 0), 0), 32767) FROM entries"""
            ).fetchall()
            flat = np.array([tuple(r) for r in rows], dtype=np.int64).reshape(-1, 5)
            cols = [flat[:, i] for i in range(5)]
        favs = np.array(
            [tuple(r) for r in db.execute("SELECT uid, anime_id FROM favorites")], dtype=np.int64
        ).reshape(-1, 2)
        withheld = np.array(
            [r[0] for r in db.execute("SELECT id FROM anime WHERE withheld = 1")], dtype=np.int64
        )
    finally:
        if not in_tx:
            db.execute("COMMIT")
    users.sort()
    user_uid = np.fromiter((u for u, _ in users), dtype=np.int64, count=len(users))
    top = max(int(cols[0].max(initial=0)), int(favs[:, 0].max(initial=0)))
    if min(cols[0].min(initial=0), favs[:, 0].min(initial=0)) >= 0 and top < 2**26:
        synced = np.zeros(top + 1, dtype=bool)  # presence flags: one gather, no search
        synced[user_uid[user_uid <= top]] = True
        keep, fkeep = synced[cols[0]], synced[favs[:, 0]]
    else:
        keep, fkeep = np.isin(cols[0], user_uid), np.isin(favs[:, 0], user_uid)
    if withheld.size:  # hidden adult anime are never trained on, so never recommended
        keep = keep & ~np.isin(cols[1], withheld)
        fkeep = fkeep & ~np.isin(favs[:, 1], withheld)
    if keep.all():  # the usual case: skip five 5M-element copies
        keep = slice(None)
    return {
        "uid": np.ascontiguousarray(cols[0][keep]),
        "anime_id": np.ascontiguousarray(cols[1][keep]),
        "status": _status_index(cols[2][keep]),
        "rating_twenty": cols[3][keep].astype(np.int8),
        "reconsume": cols[4][keep].astype(np.int16),
        "fav_uid": np.ascontiguousarray(favs[fkeep, 0]),
        "fav_anime_id": np.ascontiguousarray(favs[fkeep, 1]),
        "user_uid": user_uid,
        "user_id": np.array([i for _, i in users], dtype=str),
        "fingerprint": np.array(f"{meta['cache_id']}:{meta['data_version']}"),
    }


def read_user_interactions(db: sqlite3.Connection, user_id: str) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Cache.user_interactions` on ``db``: two small indexed queries."""
    entries = db.execute(
        """SELECT e.anime_id, e.status, COALESCE(e.rating_twenty, 0),
                  COALESCE(e.reconsume_count, 0)
           FROM entries e JOIN users u USING (uid) WHERE u.id = ?""",
        (user_id,),
    ).fetchall()
    favs = db.execute(
        "SELECT f.anime_id FROM favorites f JOIN users u USING (uid) WHERE u.id = ?", (user_id,)
    ).fetchall()
    ent = np.asarray([tuple(r) for r in entries], dtype=np.int64).reshape(-1, 4)
    ent[:, 1] = _status_index(ent[:, 1])
    return ent, np.asarray([r[0] for r in favs], dtype=np.int64)


def read_anime_flags(db: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:meth:`Cache.anime_flags` on ``db``."""
    rows = db.execute("SELECT id, subtype, age_rating, nsfw FROM anime").fetchall()
    ids = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    adult = np.fromiter((bool(r[3]) or r[2] == "R18" for r in rows), dtype=bool, count=len(rows))
    return ids, adult, [(r[1] or "").lower() for r in rows]


def read_listing_counts(db: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`Cache.listing_counts` on ``db``."""
    rows = db.execute("SELECT anime_id, COUNT(*) FROM entries GROUP BY anime_id").fetchall()
    ids = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    return ids, np.fromiter((int(r[1]) for r in rows), dtype=np.int64, count=len(rows))
