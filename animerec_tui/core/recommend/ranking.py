"""Deterministic top-K: the one place a score vector becomes a ranking.

``np.argpartition`` chooses *which* of several tied items at the K-th place make the top K in
an order numpy does not specify, and that order changed between numpy releases (the
evaluation table's popularity row moved from recall 0.1577 to 0.1574). Every ranking in the
project (each model's top-N, evaluation, the recommend path) goes through :func:`top_k`, whose
order is a total one: score descending, then the optional tie-break key descending (item
popularity where the caller has it), then column ascending (columns are sorted by anime id,
see :mod:`.matrix`), so the result is the same on every machine and every release.
"""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Row-wise top-``k`` column indices of a 2-D score block, best first.

    ``scores``: (users x items) floats; NaN ranks as ``-inf`` (never above a real score).
    ``tiebreak``: optional (items,) key, larger first, applied among equal scores.
    Returns an int64 array (users x min(k, items)). Ties at the K-th place are resolved by the
    same total order, so *which* tied items make the cut is fixed too, not only their order.
    """
    if scores.ndim != 2:
        raise ValueError(f"top_k takes a 2-D block, got shape {scores.shape}")
    b, n = scores.shape
    k = min(int(k), n)
    if k <= 0 or b == 0:
        return np.empty((b, 0), dtype=np.int64)
    if np.isnan(scores).any():
        scores = np.where(np.isnan(scores), -np.inf, scores)
    kth = np.partition(scores, n - k, axis=1)[:, n - k]  # the K-th largest of each row
    rows, cols = np.nonzero(scores >= kth[:, None])  # at least k per row, usually exactly k
    s = scores[rows, cols]
    keys: tuple[np.ndarray, ...] = (cols,)
    if tiebreak is not None:
        keys += (-np.asarray(tiebreak, dtype=np.float64)[cols],)
    order = np.lexsort((*keys, -s, rows))
    rows, cols = rows[order], cols[order]
    starts = np.searchsorted(rows, np.arange(b))
    keep = (np.arange(rows.size) - starts[rows]) < k
    return cols[keep].reshape(b, k).astype(np.int64, copy=False)


def top_n(
    scores: np.ndarray, n: int, tiebreak: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best entries of a 1-D score vector that are above ``-inf``, best first.

    Returns (columns int64, scores float64), at most ``n`` long; order as :func:`top_k`.
    Sorting the *scores* (not the ids, the notebook's bug) is what the ordering test pins.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n_valid = int(np.count_nonzero(scores > -np.inf))
    k = min(int(n), n_valid)
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    cols = top_k(scores[None, :], k, tiebreak)[0]
    return cols, scores[cols]
