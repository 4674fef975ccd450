"""The user x anime interaction matrix, built straight from the cache's numpy arrays.

Event strength per (user, anime) pair is the sum of the entry's status weight and, when the
anime is a favourite, the favourite weight (the notebook's values are the defaults: completed 6,
favourite 5, current 4, planned 3, on_hold 2, dropped 1, so a completed favourite is 11).
Optionally an entry is scaled by ``ratingTwenty / 14`` and gets a bonus of
``log1p(reconsumeCount) x completed`` (see :class:`~animerec_tui.core.settings.Weights`).

Everything is vectorised because the benchmark population has five million entries and a
Python loop per entry would dominate training time; entries arrive from the cache already in
(user, anime) order, so the CSR matrix is built without a sort (favourites merged in by binary
search), with a sorting fallback for any other order.

The confidence transform (linear or BM25) lives here too, with the statistics it needs kept
beside the model, so a user folded in after training is weighted exactly like the training rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from animerec_tui.core.cache import Cache
from animerec_tui.core.records import STATUSES
from animerec_tui.core.settings import ModelParams, Weights

DROPPED = STATUSES.index("dropped")
"""The dropped status as the cache's arrays give it (a position in ``STATUSES``)."""
PLANNED = STATUSES.index("planned")
RATING_PIVOT = 14.0
"""ratingTwenty of a 7/10: ratings above it strengthen an entry, ratings below weaken it."""
LIKED_MIN_RATING = 14
"""An entry is "liked" (a positive for evaluation) when it is not dropped and, if the user rated
it, rated at least 7/10 (ratingTwenty 14: the same pivot as above, below MAL's and Kitsu's
average rating). Favourites are always liked. The same definition applies to every model."""


def status_table(weights: Weights) -> np.ndarray:
    """Lookup table status (position in ``STATUSES``) -> weight, so weighting is one
    fancy-index."""
    return np.asarray([float(getattr(weights, name)) for name in STATUSES], dtype=np.float32)


def entry_strengths(
    status: np.ndarray,
    rating_twenty: np.ndarray,
    reconsume: np.ndarray,
    weights: Weights,
) -> np.ndarray:
    """Per-entry strength (favourites are added separately), float32."""
    value = status_table(weights)[status.astype(np.intp)]
    if weights.use_rating:
        rated = rating_twenty > 0
        value = np.where(rated, value * (rating_twenty.astype(np.float32) / RATING_PIVOT), value)
    if weights.use_reconsume:
        value = value + np.log1p(np.maximum(reconsume, 0).astype(np.float32)) * np.float32(
            weights.completed
        )
    return value.astype(np.float32, copy=False)


@dataclass
class Interactions:
    """The interaction matrix plus its id maps.

    ``strength`` holds summed event strengths (float32 CSR, rows sorted, no duplicates);
    ``positive`` is aligned with ``strength.data`` and marks pairs that count as "liked" for
    evaluation (see :func:`liked`; favourites always count).
    """

    strength: sp.csr_matrix
    positive: np.ndarray
    user_ids: list[str]
    anime_ids: np.ndarray
    """int64, sorted: column -> Kitsu anime id (as an int; ``str()`` it for output)."""
    _user_index: dict[str, int] | None = field(default=None, repr=False)
    fingerprint: str = ""
    """The cache fingerprint of the snapshot this was read from (empty if unknown)."""

    @property
    def shape(self) -> tuple[int, int]:
        return self.strength.shape

    @property
    def user_index(self) -> dict[str, int]:
        if self._user_index is None:
            self._user_index = {u: i for i, u in enumerate(self.user_ids)}
        return self._user_index

    def with_data(self, keep: np.ndarray) -> Interactions:
        """Same shape and id maps, only the stored pairs where ``keep`` is true."""
        return Interactions(
            strength=mask_csr(self.strength, keep),
            positive=self.positive[keep],
            user_ids=self.user_ids,
            anime_ids=self.anime_ids,
            _user_index=self._user_index,
            fingerprint=self.fingerprint,
        )


def mask_csr(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """Keep the stored values where ``keep`` is true, without touching the shape."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))[keep]
    indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=matrix.shape[0]), out=indptr[1:])
    return sp.csr_matrix(
        (matrix.data[keep], matrix.indices[keep], indptr), shape=matrix.shape, copy=False
    )


def _sum_pairs(
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    positive: np.ndarray,
    shape: tuple[int, int],
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sum duplicate (row, col) pairs (an entry and a favourite of the same anime).

    Strength and the positive flag travel together as one complex number, so one
    ``coo -> csr`` conversion (counting sort, C) sums both and keeps them aligned: 4x faster
    than ``np.unique`` on an int64 key at five million pairs.
    """
    data = values.astype(np.complex128) + 1j * positive
    m = sp.coo_matrix((data, (rows, cols)), shape=shape).tocsr()
    m.sum_duplicates()
    matrix = sp.csr_matrix(
        (m.data.real.astype(np.float32), m.indices.astype(np.int32), m.indptr.astype(np.int64)),
        shape=shape,
        copy=False,
    )
    return matrix, m.data.imag > 0


def _index_of(sorted_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``sorted_ids`` (all present): a lookup table when ids are
    small non-negative ints (Kitsu's are), else a binary search."""
    if len(sorted_ids) and sorted_ids[0] >= 0 and sorted_ids[-1] < 2**26:
        lut = np.zeros(int(sorted_ids[-1]) + 1, dtype=np.int64)
        lut[sorted_ids] = np.arange(len(sorted_ids))
        found: np.ndarray = lut[values]
        return found
    return np.searchsorted(sorted_ids, values)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct ids, by presence flags when they are small non-negative ints."""
    if len(values) and values.min() >= 0 and values.max() < 2**26:
        present = np.zeros(int(values.max()) + 1, dtype=bool)
        present[values] = True
        return np.flatnonzero(present).astype(np.int64)
    return np.unique(values).astype(np.int64)


def build_interactions(cache: Cache, weights: Weights) -> Interactions:
    """Every synced user's library as one matrix (users without entries get an empty row).

    One consistent snapshot via :meth:`Cache.interaction_arrays`, so the fingerprint matches
    the data exactly.
    """
    arrays = cache.interaction_arrays()
    inter = interactions_from_arrays(arrays, weights)
    inter.fingerprint = str(arrays["fingerprint"])
    return inter


def liked(status: np.ndarray, rating_twenty: np.ndarray) -> np.ndarray:
    """Entries that count as "liked" (positive) for evaluation: see :data:`LIKED_MIN_RATING`."""
    rated = rating_twenty > 0
    positive: np.ndarray = (status != DROPPED) & (~rated | (rating_twenty >= LIKED_MIN_RATING))
    return positive


def interactions_from_arrays(arrays: dict[str, np.ndarray], weights: Weights) -> Interactions:
    """The matrix from :meth:`Cache.interaction_arrays`' arrays (rows: ``user_uid`` order)."""
    uids = arrays["user_uid"]
    user_ids = arrays["user_id"].tolist()
    anime_ids = _distinct(np.concatenate([arrays["anime_id"], arrays["fav_anime_id"]]))
    shape = (len(uids), len(anime_ids))
    value = entry_strengths(arrays["status"], arrays["rating_twenty"], arrays["reconsume"], weights)
    pos = liked(arrays["status"], arrays["rating_twenty"])
    rows, cols = _index_of(uids, arrays["uid"]), _index_of(anime_ids, arrays["anime_id"])
    frows = _index_of(uids, arrays["fav_uid"])
    fcols = _index_of(anime_ids, arrays["fav_anime_id"])
    fvalue = np.full(len(frows), weights.favorite, dtype=np.float32)
    done = _sorted_pairs(rows, cols, value, pos, frows, fcols, fvalue, shape)
    if done is None:
        done = _sum_pairs(
            np.concatenate([rows, frows]),
            np.concatenate([cols, fcols]),
            np.concatenate([value, fvalue]),
            np.concatenate([pos, np.ones(len(frows), dtype=bool)]).astype(np.float32),
            shape,
        )
    matrix, positive_mask = done
    return Interactions(matrix, positive_mask, user_ids, anime_ids)


def _sorted_pairs(
    rows: np.ndarray,
    cols: np.ndarray,
    value: np.ndarray,
    pos: np.ndarray,
    frows: np.ndarray,
    fcols: np.ndarray,
    fvalue: np.ndarray,
    shape: tuple[int, int],
) -> tuple[sp.csr_matrix, np.ndarray] | None:
    """The matrix without a sort when entries arrive in (user, anime) order, as the cache's
    clustered primary key yields them: favourites are merged in by binary search. None when
    the entries are not strictly ordered (then :func:`_sum_pairs` sorts)."""
    n = np.int64(max(shape[1], 1))
    key = rows.astype(np.int64) * n + cols
    if len(key) > 1 and not bool(np.all(key[1:] > key[:-1])):
        return None
    fkey = np.unique(frows.astype(np.int64) * n + fcols)
    fsum = np.bincount(np.searchsorted(fkey, frows * n + fcols), fvalue, len(fkey))
    value, pos = value.astype(np.float32, copy=True), pos.copy()
    at = np.searchsorted(key, fkey)
    hit = at < len(key)
    hit[hit] = key[at[hit]] == fkey[hit]
    value[at[hit]] += fsum[hit].astype(np.float32)
    pos[at[hit]] = True
    if not hit.all():  # favourites without an entry: insert them in place
        miss = ~hit
        where, extra = at[miss], fkey[miss]
        rows = np.insert(rows, where, extra // n)
        cols = np.insert(cols, where, extra % n)
        value = np.insert(value, where, fsum[miss].astype(np.float32))
        pos = np.insert(pos, where, True)
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    matrix = sp.csr_matrix((value, cols.astype(np.int32), indptr), shape=shape, copy=False)
    return matrix, pos


@dataclass
class UserLibrary:
    """One user's current library, shaped for the recommend path."""

    row: sp.csr_matrix
    """1 x n_items strength row over the model's columns (anime unknown to the model dropped)."""
    anime_ids: np.ndarray
    """Every anime id in the library (any status, favourites too), int64, unique."""
    planned_ids: np.ndarray
    """The planned subset of ``anime_ids`` (so callers may choose to keep them)."""
    entries: np.ndarray
    """The library entries as :meth:`Cache.user_interactions` reads them: int64 (n, 4),
    anime id, status index, ratingTwenty (0 = unrated), reconsume count."""
    favorites: np.ndarray
    """Favourite anime ids, int64."""

    @property
    def empty(self) -> bool:
        return self.anime_ids.size == 0


def user_library(
    cache: Cache, user_id: str, anime_ids: np.ndarray, weights: Weights
) -> UserLibrary:
    """Read one user's library with two small indexed queries (no Anime records built).

    This is on the recommend path, which has a 20 ms budget, so it skips ``Cache.library``.
    """
    ent, fav = cache.user_interactions(user_id)
    value = entry_strengths(ent[:, 1], ent[:, 2], ent[:, 3], weights)
    ids = np.concatenate([ent[:, 0], fav])
    values = np.concatenate([value, np.full(len(fav), weights.favorite, dtype=np.float32)])
    planned = ent[ent[:, 1] == PLANNED, 0]
    row = row_from_ids(ids, values, anime_ids)
    return UserLibrary(row, np.unique(ids), np.unique(planned), ent, fav)


def row_from_ids(ids: np.ndarray, values: np.ndarray, anime_ids: np.ndarray) -> sp.csr_matrix:
    """Sum (anime id, value) pairs into a 1 x n_items CSR row; unknown anime are dropped."""
    n = len(anime_ids)
    cols = np.searchsorted(anime_ids, ids)
    known = cols < n
    known[known] = anime_ids[cols[known]] == ids[known]
    dense = np.bincount(cols[known], weights=values[known], minlength=n).astype(np.float32)
    nz = np.flatnonzero(dense)
    return sp.csr_matrix(
        (dense[nz], nz.astype(np.int32), np.array([0, len(nz)], dtype=np.int64)), shape=(1, n)
    )


# -- confidence -------------------------------------------------------------------------------


@dataclass
class Confidence:
    """Strength -> confidence, with the statistics needed to weight a new user identically.

    ``linear`` leaves strengths as they are (ALS multiplies by alpha itself); ``binary`` makes
    every stored pair 1 (EASE's original input). ``bm25`` is implicit's ``bm25_weight`` applied
    the way implicit's own examples apply it before ALS (anime as documents, users as terms): a
    user's entries are damped by ``idf`` over their library size, an anime's by its length norm
    over all its users. The per-anime length norms are kept so fold-in does not need the
    training matrix.
    """

    weighting: str = "linear"
    k1: float = 1.2
    b: float = 0.75
    length_norm: np.ndarray | None = None
    n_items: int = 0

    @classmethod
    def fit(cls, strength: sp.csr_matrix, params: ModelParams) -> Confidence:
        """ALS's confidence: ``params.weighting`` with ``bm25_k1`` / ``bm25_b``."""
        return cls.build(strength, params.weighting, params.bm25_k1, params.bm25_b)

    @classmethod
    def build(cls, strength: sp.csr_matrix, weighting: str, k1: float, b: float) -> Confidence:
        """Fit ``weighting`` (linear, binary or bm25) on the training strengths.

        Raises ValueError for an unknown weighting name.
        """
        if weighting in ("linear", "binary"):
            return cls(weighting, k1, b, None, strength.shape[1])
        if weighting != "bm25":
            raise ValueError(f"unknown weighting {weighting!r} (linear, binary or bm25)")
        item_sums = np.asarray(strength.sum(axis=0)).ravel()
        average = float(item_sums.mean()) if item_sums.size and item_sums.mean() > 0 else 1.0
        norm = (1.0 - b) + b * item_sums / average
        return cls("bm25", k1, b, norm, strength.shape[1])

    def apply(self, strength: sp.csr_matrix) -> sp.csr_matrix:
        if self.weighting == "linear":
            return strength.astype(np.float32)
        if self.weighting == "binary":
            x = strength.astype(np.float32)
            x.data[:] = 1.0
            return x
        assert self.length_norm is not None
        counts = np.diff(strength.indptr)
        rows = np.repeat(np.arange(strength.shape[0]), counts)
        idf = np.log(float(self.n_items)) - np.log1p(counts.astype(np.float64))
        idf = np.maximum(idf, 1e-3)  # a user with every anime would otherwise go negative
        tf = strength.data.astype(np.float64)
        norm = self.length_norm[strength.indices]
        data = tf * (self.k1 + 1.0) / (self.k1 * norm + tf) * idf[rows]
        return sp.csr_matrix(
            (data.astype(np.float32), strength.indices, strength.indptr), shape=strength.shape
        )

    def arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        if self.length_norm is None:
            return {}
        return {f"{prefix}bm25_length_norm": self.length_norm}

    def meta(self) -> dict[str, Any]:
        return {"weighting": self.weighting, "k1": self.k1, "b": self.b, "n_items": self.n_items}

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str = ""
    ) -> Confidence:
        return cls(
            str(meta["weighting"]),
            float(meta["k1"]),
            float(meta["b"]),
            arrays.get(f"{prefix}bm25_length_norm"),
            int(meta["n_items"]),
        )
