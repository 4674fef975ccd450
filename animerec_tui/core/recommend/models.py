"""The recommenders behind one small interface: ALS, EASE, their blend, popularity, item-kNN.

Every model is fitted on the *strength* matrix (users x anime, see :mod:`.matrix`) and does
its own preprocessing, so evaluation can hand all of them the same training split. Every model
scores a batch of users densely (``scores``), which keeps evaluation vectorised and lets the
recommend path be one matrix-vector product plus a top-N partition.

A model's state is plain numpy arrays (``arrays``) plus JSON-able metadata (``meta``) so
:mod:`.persist` can save it without pickle.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Protocol

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from animerec_tui.core.errors import Cancelled, ModelError
from animerec_tui.core.progress import FitProgress
from animerec_tui.core.recommend.matrix import Confidence
from animerec_tui.core.recommend.memory import check_plan
from animerec_tui.core.recommend.ranking import top_n
from animerec_tui.core.settings import ModelParams

Progress = Callable[[FitProgress], None]
"""``progress(FitProgress(done, total, loss))`` after each iteration; the faces draw bars."""

EXCLUDED = -np.inf
"""Score of an item that must never be recommended to this user (already in the library)."""
UNSCORED = np.float32(-1e30)
"""Score of an item a model cannot score (outside EASE's item cap): ranked last, still ranked."""

KNN_NEIGHBOURS = ModelParams.knn_neighbours
EASE_LAMBDA = ModelParams.ease_lambda
EASE_MAX_ITEMS = ModelParams.ease_max_items
"""EASE's default item cap: peak memory about 3 x 8 x 6000^2 bytes = 0.86 GB (see EASEModel)."""


_blas_controller: Any = None


def one_blas_thread() -> AbstractContextManager[object]:
    """Context manager: BLAS/LAPACK on one thread for small per-user work (recommend).

    A 128 x 128 Cholesky or a 1 x 128 x 15k product gains nothing from threads, and on a busy
    2-core machine OpenBLAS's threads wait for each other: measured 12 ms per Cholesky (p95
    recommend 180+ ms) instead of well under 1 ms. The controller is built once (building it
    scans the loaded libraries); entering the limit is then a few calls into OpenBLAS.
    """
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    limit: AbstractContextManager[object] = _blas_controller.limit(limits=1, user_api="blas")
    return limit


class CancelEvent(Protocol):
    def is_set(self) -> bool: ...


class _Stop(Exception):
    """Raised from implicit's per-iteration callback to abandon a fit."""


def _check(cancel: CancelEvent | None, what: str = "Training") -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled(what)


SCALES_KEPT = 8
"""Users whose blend score scales are kept for ``because`` (as many as :class:`.pipeline.
ScoreMemo` keeps scores)."""


def row_key(row: sp.csr_matrix) -> tuple[bytes, bytes]:
    """A 1 x items strength row's content, as a dict key: the recommend path builds an equal
    row anew for each call, so memos of a user's row compare contents, not objects."""
    return row.indices.tobytes(), row.data.tobytes()


def _top_contributors(contrib: np.ndarray, cols: np.ndarray, k: int) -> list[list[int]]:
    """For each column of ``contrib`` (library items x candidates), the library items with the
    largest positive contribution, best first."""
    # One stable argsort for every candidate: ``k`` is the whole library on the recommend path
    # (reasons are filtered afterwards), so a Python loop over its items would dominate.
    order = np.argsort(-contrib, axis=0, kind="stable")[:k]
    out: list[list[int]] = []
    for j in range(contrib.shape[1]):
        top = order[:, j]
        out.append(cols[top[contrib[top, j] > 0]].astype(np.int64).tolist())
    return out


class Model(ABC):
    """What the service, persistence and evaluation need from a recommender."""

    kind: ClassVar[str]
    n_users: int = 0
    n_items: int = 0

    @abstractmethod
    def fit(
        self,
        strength: sp.csr_matrix,
        progress: Progress | None = None,
        cancel: CancelEvent | None = None,
    ) -> None: ...

    @abstractmethod
    def scores(self, strength_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        """Dense float32 scores (len(rows) x n_items) for users given by their strength rows.

        ``rows`` are the users' rows in the training matrix when they are in the model; models
        with per-user state (ALS) use it, otherwise the user is folded in from ``strength_rows``.
        """

    def because(
        self, strength_row: sp.csr_matrix, items: np.ndarray, k: int = 3
    ) -> list[list[int]]:
        """For each recommended item column, up to ``k`` library columns that explain it."""
        return [[] for _ in items]

    def recommend(
        self,
        strength_row: sp.csr_matrix,
        n: int,
        exclude: np.ndarray | None = None,
        row: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` item columns and scores, best first; ``exclude`` is a bool mask or columns."""
        rows = None if row is None else np.array([row])
        s = self.scores(strength_row, rows)[0].astype(np.float64)
        if exclude is not None:
            s[exclude] = EXCLUDED
        return top_n(s, n)

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Precompute what makes ``scores`` cheap (called after load and after fit)."""

    @abstractmethod
    def arrays(self) -> dict[str, np.ndarray]: ...

    def meta(self) -> dict[str, Any]:
        return {}

    @classmethod
    @abstractmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], n_users: int, n_items: int
    ) -> Model:
        """Rebuild from saved state; raise ModelError when shapes disagree with the id maps."""


def _require(arrays: dict[str, np.ndarray], name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    if name not in arrays:
        raise ModelError(f"The saved model lacks the array {name!r}; it will be retrained.")
    a = arrays[name]
    if a.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(a.shape, shape, strict=True)
    ):
        raise ModelError(
            f"The saved model's {name} has shape {a.shape}, expected {shape}; "
            "it does not match its id maps and will be retrained."
        )
    return a


# -- ALS ----------------------------------------------------------------------------------------


class _ExplainedByContributions(Model):
    """A model whose "because" names the library items that contribute most to each
    recommended item's score (:meth:`contributions`): ALS and EASE."""

    @abstractmethod
    def contributions(
        self, strength_row: sp.csr_matrix, items: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(contributions: library items x ``items``, the library columns)."""

    def because(
        self, strength_row: sp.csr_matrix, items: np.ndarray, k: int = 3
    ) -> list[list[int]]:
        contrib, cols = self.contributions(strength_row, items)
        if contrib.size == 0:
            return [[] for _ in items]
        return _top_contributors(contrib, cols, k)


class ALSModel(_ExplainedByContributions):
    """implicit's CPU ALS on confidence = alpha x (strength or its BM25 weighting)."""

    kind = "als"

    def __init__(self, params: ModelParams | None = None, *, track_loss: bool = False) -> None:
        self.params = params or ModelParams()
        self.track_loss = track_loss
        """Compute the training loss each iteration (one extra pass) for a live loss plot."""
        self.confidence = Confidence()
        self._als: Any = None
        self.user_factors = np.empty((0, self.params.factors), dtype=np.float32)
        self.item_factors = np.empty((0, self.params.factors), dtype=np.float32)
        self._solved: tuple[tuple[bytes, bytes], Any, np.ndarray, np.ndarray, np.ndarray] | None
        self._solved = None
        """The last row explained: (:func:`row_key`, Cholesky factor of W_u, confidences,
        library columns, their factors); the re-rank after a hide explains the same row."""

    def _implicit(self) -> Any:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        with warnings.catch_warnings():
            # implicit warns about BLAS threads at construction; we limit them around fit
            warnings.simplefilter("ignore", RuntimeWarning)
            return AlternatingLeastSquares(
                factors=p.factors,
                regularization=p.regularization,
                alpha=p.alpha,
                iterations=p.iterations,
                random_state=p.random_state,
                calculate_training_loss=self.track_loss,
            )

    def fit(
        self,
        strength: sp.csr_matrix,
        progress: Progress | None = None,
        cancel: CancelEvent | None = None,
    ) -> None:
        _check(cancel)
        self._solved = None  # explained with the factors about to be replaced
        self.n_users, self.n_items = strength.shape
        f = self.params.factors  # factors (implicit's and our float32 copies) and f x f solves
        check_plan(
            8.0 * f * sum(strength.shape) + 64.0 * f * f, f"ALS with {f:,} factors", "model.factors"
        )
        self.confidence = Confidence.fit(strength, self.params)
        conf = self.confidence.apply(strength)
        total = self.params.iterations

        def callback(iteration: int, _elapsed: float, loss: float | None) -> None:
            if cancel is not None and cancel.is_set():
                raise _Stop
            if progress is not None:
                progress(FitProgress(iteration + 1, total, loss))

        with threadpool_limits(1, "blas"):
            als = self._implicit()
            try:
                als.fit(conf, show_progress=False, callback=callback)
            except _Stop:
                raise Cancelled("Training") from None
        self._als = als
        als.num_threads = 1  # see prepare()
        self.user_factors = np.ascontiguousarray(als.user_factors, dtype=np.float32)
        self.item_factors = np.ascontiguousarray(als.item_factors, dtype=np.float32)
        self.prepare()

    def prepare(self) -> None:
        if self._als is None:
            als = self._implicit()
            als.user_factors = self.user_factors
            als.item_factors = self.item_factors
            self._als = als
        # Fold-in solves for a handful of users: one thread. implicit's default (all cores)
        # leaves OpenMP threads spinning after each call, which stalls the OpenBLAS threads of
        # the scoring product on a 2-core machine (measured: p95 24 ms -> see bench/train.py).
        self._als.num_threads = 1
        _ = self._als.YtY  # cached Gram matrix: fold-in is then one small solve
        self._yty = np.asarray(self._als.YtY, dtype=np.float64)

    def fold_in(self, strength_rows: sp.csr_matrix) -> np.ndarray:
        conf = self.confidence.apply(strength_rows)
        ids = np.arange(conf.shape[0])
        factors = self._als.recalculate_user(ids, conf)
        return np.asarray(factors, dtype=np.float32).reshape(conf.shape[0], -1)

    def user_vectors(self, strength_rows: sp.csr_matrix, rows: np.ndarray | None) -> np.ndarray:
        if rows is not None:
            trained: np.ndarray = self.user_factors[rows]
            return trained
        return self.fold_in(strength_rows)

    def scores(self, strength_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        return self.user_vectors(strength_rows, rows) @ self.item_factors.T

    def contributions(
        self, strength_row: sp.csr_matrix, items: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """implicit's ``explain``, vectorised over all recommended items with one Cholesky.

        Returns (contributions: library items x ``items``, library columns). Contribution of
        library item j to item i is ``c_j * y_j^T W_u^-1 y_i`` where
        ``W_u = YtY + reg I + sum_j (c_j - 1) y_j y_j^T`` (Hu, Koren, Volinsky, section 5).
        """
        solved, key = self._solved, row_key(strength_row)
        if solved is not None and solved[0] == key:
            _, factor, c, cols, yu = solved
        else:
            conf = self.confidence.apply(strength_row)
            cols = conf.indices.astype(np.int64)
            if len(items) == 0 or len(cols) == 0:
                return np.zeros((len(cols), len(items))), cols
            c = conf.data.astype(np.float64) * self.params.alpha
            yu = self.item_factors[cols].astype(np.float64)
            a = self._yty + self.params.regularization * np.eye(self._yty.shape[0])
            a += (yu * (c - 1.0)[:, None]).T @ yu
            factor = scipy.linalg.cho_factor(a)
            self._solved = (key, factor, c, cols, yu)
        if len(items) == 0:
            return np.zeros((len(cols), 0)), cols
        w = scipy.linalg.cho_solve(factor, self.item_factors[items].astype(np.float64).T)
        return (yu @ w) * c[:, None], cols

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors,
            "item_factors": self.item_factors,
            **self.confidence.arrays(),
        }

    def meta(self) -> dict[str, Any]:
        return {"confidence": self.confidence.meta()}

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], n_users: int, n_items: int
    ) -> ALSModel:
        params = ModelParams(**meta["params"])
        model = cls(params)
        model.user_factors = _require(arrays, "user_factors", (n_users, params.factors))
        model.item_factors = _require(arrays, "item_factors", (n_items, params.factors))
        model.confidence = Confidence.restore(meta["confidence"], arrays)
        if model.confidence.weighting == "bm25":
            _require(arrays, "bm25_length_norm", (n_items,))
        model.n_users, model.n_items = n_users, n_items
        return model


# -- popularity ---------------------------------------------------------------------------------


class PopularityModel(Model):
    """Everyone gets the most-listed anime: the baseline every personal model must beat."""

    kind = "popularity"

    def __init__(self) -> None:
        self.popularity = np.empty(0, dtype=np.float32)

    def fit(
        self,
        strength: sp.csr_matrix,
        progress: Progress | None = None,
        cancel: CancelEvent | None = None,
    ) -> None:
        _check(cancel)
        self.n_users, self.n_items = strength.shape
        counts = np.bincount(strength.indices, minlength=strength.shape[1])
        self.popularity = counts.astype(np.float32)
        if progress is not None:
            progress(FitProgress(1, 1))

    def scores(self, strength_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        return np.broadcast_to(self.popularity, (strength_rows.shape[0], self.n_items)).copy()

    def arrays(self) -> dict[str, np.ndarray]:
        return {"popularity": self.popularity}

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], n_users: int, n_items: int
    ) -> PopularityModel:
        model = cls()
        model.popularity = _require(arrays, "popularity", (n_items,))
        model.n_users, model.n_items = n_users, n_items
        return model


# -- item-kNN -----------------------------------------------------------------------------------


class ItemKNNModel(Model):
    """implicit's BM25 item-item neighbours; a user's score for i is sum_j r_uj sim(j, i)."""

    kind = "item-knn"

    def __init__(self, k: int = KNN_NEIGHBOURS, k1: float = 1.2, b: float = 0.75) -> None:
        self.k, self.k1, self.b = k, k1, b
        self.similarity = sp.csr_matrix(np.zeros((0, 0), dtype=np.float32))

    def fit(
        self,
        strength: sp.csr_matrix,
        progress: Progress | None = None,
        cancel: CancelEvent | None = None,
    ) -> None:
        from implicit.nearest_neighbours import BM25Recommender

        _check(cancel)
        self.n_users, self.n_items = strength.shape
        knn = BM25Recommender(K=self.k, K1=self.k1, B=self.b)
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # implicit's own bm25 step hands itself a COO matrix
            knn.fit(strength.astype(np.float32), show_progress=False)
        self.similarity = sp.csr_matrix(knn.similarity, dtype=np.float32)
        _check(cancel)
        if progress is not None:
            progress(FitProgress(1, 1))

    def scores(self, strength_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        return np.asarray((strength_rows @ self.similarity).toarray(), dtype=np.float32)

    def because(
        self, strength_row: sp.csr_matrix, items: np.ndarray, k: int = 3
    ) -> list[list[int]]:
        cols = strength_row.indices
        if len(items) == 0 or len(cols) == 0:
            return [[] for _ in items]
        sim = self.similarity[cols][:, items].toarray()
        contrib = sim * strength_row.data[:, None]
        return _top_contributors(contrib, cols, k)

    def arrays(self) -> dict[str, np.ndarray]:
        s = self.similarity
        return {"sim_data": s.data, "sim_indices": s.indices, "sim_indptr": s.indptr}

    def meta(self) -> dict[str, Any]:
        return {"k": self.k, "k1": self.k1, "b": self.b}

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], n_users: int, n_items: int
    ) -> ItemKNNModel:
        model = cls(int(meta["k"]), float(meta["k1"]), float(meta["b"]))
        indptr = _require(arrays, "sim_indptr", (n_items + 1,))
        data = _require(arrays, "sim_data", (None,))
        indices = _require(arrays, "sim_indices", (len(data),))
        if (
            indptr[0] != 0
            or indptr[-1] != len(data)
            or np.any(np.diff(indptr) < 0)
            or (len(indices) and (indices.min() < 0 or indices.max() >= n_items))
        ):
            raise ModelError("The saved item-kNN similarity is inconsistent; it will be retrained.")
        model.similarity = sp.csr_matrix((data, indices, indptr), shape=(n_items, n_items))
        model.n_users, model.n_items = n_users, n_items
        return model


# -- EASE ---------------------------------------------------------------------------------------


class EASEModel(_ExplainedByContributions):
    """EASE (Steck 2019): closed-form item-item weights B = I - P diag(1/diag(P)), P = (X'X+lI)^-1.

    ``X`` is the binary matrix (Steck's original) or, with ``weighting="bm25"``, the BM25
    weighting of the strengths (:class:`.matrix.Confidence`); on the bundled sample the BM25
    input ranks better (README, "Recommending and evaluating"). ``lam`` is a multiple of the
    mean squared input value (1 for binary input), so one penalty means the same on either
    input; the absolute value used is kept as ``lambda_effective``.

    Memory bound: only the ``max_items`` most popular anime get weights (others score
    ``UNSCORED``). Fitting holds the dense Gram matrix in float64, inverted in place through
    its Cholesky factor (half the flops of a general inverse), plus two triangle copies to
    symmetrise: about ``3 x 8 x max_items^2`` bytes at peak (0.86 GB at the default 6000);
    the stored weights are float32, ``4 x max_items^2`` bytes (144 MB at 6000).
    """

    kind = "ease"

    def __init__(
        self,
        lam: float = EASE_LAMBDA,
        max_items: int = EASE_MAX_ITEMS,
        *,
        weighting: str = "binary",
        k1: float = ModelParams.ease_bm25_k1,
        b: float = ModelParams.ease_bm25_b,
    ) -> None:
        self.lam, self.max_items = lam, max_items
        self.confidence = Confidence(weighting, k1, b)
        self.lambda_effective = lam
        self.items = np.empty(0, dtype=np.int64)
        self.weights = np.empty((0, 0), dtype=np.float32)
        self._pos: np.ndarray | None = None
        """Column -> position in ``items`` (-1 outside the cap), built on first use."""

    def fit(
        self,
        strength: sp.csr_matrix,
        progress: Progress | None = None,
        cancel: CancelEvent | None = None,
    ) -> None:
        _check(cancel)
        self.n_users, self.n_items = strength.shape
        counts = np.bincount(strength.indices, minlength=self.n_items)
        keep = np.argsort(-counts, kind="stable")[: self.max_items]
        self.items = np.sort(keep[counts[keep] > 0]).astype(np.int64)
        n = len(self.items)  # the Gram matrix, its inverse and LAPACK's workspace: 3 x 8 n^2
        check_plan(24.0 * n * n, f"EASE over {n:,} anime", "model.ease_max_items")
        self._pos = None
        c = self.confidence
        self.confidence = Confidence.build(strength, c.weighting, c.k1, c.b)
        x = self._x(strength).astype(np.float64)
        mean_square = float(np.mean(x.data**2)) if x.nnz else 1.0
        self.lambda_effective = self.lam * mean_square
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += self.lambda_effective
        _check(cancel)
        p = _spd_inverse(gram)
        del gram
        p /= -np.diag(p)
        p[np.diag_indices_from(p)] = 0.0
        self.weights = p.astype(np.float32)
        del p
        _check(cancel)
        if progress is not None:
            progress(FitProgress(1, 1))

    def _x(self, strength_rows: sp.csr_matrix) -> sp.csr_matrix:
        """The EASE input over ``items`` (columns are positions in ``items``), float32."""
        c = self.confidence.apply(strength_rows)
        if self._pos is None or len(self._pos) != c.shape[1]:
            self._pos = np.full(c.shape[1], -1, dtype=np.int64)
            self._pos[self.items] = np.arange(len(self.items))
        pos = self._pos[c.indices]
        keep = pos >= 0
        rows = np.repeat(np.arange(c.shape[0]), np.diff(c.indptr))[keep]
        indptr = np.zeros(c.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=c.shape[0]), out=indptr[1:])
        return sp.csr_matrix(
            (c.data[keep].astype(np.float32), pos[keep].astype(np.int32), indptr),
            shape=(c.shape[0], len(self.items)),
        )

    def scores(self, strength_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        out = np.full((strength_rows.shape[0], self.n_items), UNSCORED, dtype=np.float32)
        out[:, self.items] = np.asarray(self._x(strength_rows) @ self.weights)
        return out

    def contributions(
        self, strength_row: sp.csr_matrix, items: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(x_j B_ji: library items x ``items``, library columns); 0 outside the item cap."""
        pos = np.searchsorted(self.items, items)
        pos = np.minimum(pos, max(len(self.items) - 1, 0))
        inside = (len(self.items) > 0) & (self.items[pos] == items)
        x = self._x(strength_row)
        lib = x.indices
        if len(lib) == 0 or len(items) == 0:
            return np.zeros((len(lib), len(items))), self.items[lib]
        w = self.weights[np.ix_(lib, pos)] * x.data[:, None]  # not weights[lib]: rows x items
        return np.where(inside[None, :], w, 0.0), self.items[lib]

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "ease_items": self.items,
            "ease_weights": self.weights,
            **self.confidence.arrays("ease_"),
        }

    def meta(self) -> dict[str, Any]:
        return {
            "lambda": self.lam,
            "max_items": self.max_items,
            "lambda_effective": self.lambda_effective,
            "confidence": self.confidence.meta(),
        }

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], n_users: int, n_items: int
    ) -> EASEModel:
        model = cls(float(meta["lambda"]), int(meta["max_items"]))
        if "confidence" in meta:  # models saved before BM25 input were binary
            model.confidence = Confidence.restore(meta["confidence"], arrays, "ease_")
            model.lambda_effective = float(meta["lambda_effective"])
        if model.confidence.weighting == "bm25":
            _require(arrays, "ease_bm25_length_norm", (n_items,))
        items = _require(arrays, "ease_items", (None,))
        if len(items) and (items.min() < 0 or items.max() >= n_items):
            raise ModelError("The saved EASE item list is inconsistent; it will be retrained.")
        model.items = items.astype(np.int64)
        model.weights = _require(arrays, "ease_weights", (len(items), len(items)))
        model.n_users, model.n_items = n_users, n_items
        return model


def _spd_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite float64 matrix, overwriting ``a``.

    LAPACK ``potrf`` + ``potri`` (n^3 flops; a general inverse is 2 n^3), then the upper
    triangle mirrored. Raises ModelError when ``a`` is not positive definite.
    """
    from scipy.linalg import lapack

    n = a.shape[0]
    if n == 0:
        return a
    a = np.asfortranarray(a)
    c, info = lapack.dpotrf(a, lower=False, clean=False, overwrite_a=True)
    if info == 0:
        c, info = lapack.dpotri(c, lower=False, overwrite_c=True)
    if info != 0:
        raise ModelError(f"EASE's Gram matrix is not positive definite (LAPACK info {info}).")
    upper: np.ndarray = np.triu(c)
    upper += np.triu(c, 1).T
    return upper


def _zscore(s: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Per-row (per-user) standard scores of a dense block, float32.

    Statistics over the ``valid`` columns only (all when None); other columns get the row's
    lowest valid standard score, so they rank after every scored item. A constant row gives
    zeros rather than dividing by zero.
    """
    v = s if valid is None else s[:, valid]
    mean = v.mean(axis=1, keepdims=True, dtype=np.float64)
    std = v.std(axis=1, keepdims=True, dtype=np.float64)
    std[std <= 1e-12] = 1.0
    if valid is None:
        whole: np.ndarray = ((s - mean) / std).astype(np.float32)
        return whole
    out = np.empty(s.shape, dtype=np.float32)
    z = ((v - mean) / std).astype(np.float32)
    out[:] = z.min(axis=1, keepdims=True) if z.shape[1] else 0.0
    out[:, valid] = z
    return out


# -- blend --------------------------------------------------------------------------------------


class BlendModel(Model):
    """ALS and EASE (BM25 input), scores standardised per user and mixed:
    ``w * z(ALS) + (1 - w) * z(EASE)`` with ``w = params.blend_weight``.

    Standardising per user puts the two scales (dot products vs. regression weights) on one
    footing before mixing, as score-level ensembles of recommenders usually do; both parts are
    fitted on the same strengths with their own preprocessing, and fold-in is each part's own
    (ALS's least-squares solve, EASE's product). "Because you watched" mixes the parts'
    contributions with the same weights and scales.
    """

    kind = "blend"

    def __init__(self, params: ModelParams | None = None, *, track_loss: bool = False) -> None:
        self.params = params or ModelParams()
        self.weight = float(self.params.blend_weight)
        self.als = ALSModel(self.params, track_loss=track_loss)
        self.ease = _ease(self.params)
        self._valid: np.ndarray | None = None
        """EASE's scored columns (None: all), set by ``prepare``."""
        self._scales_of: OrderedDict[tuple[bytes, bytes], tuple[float, float]] = OrderedDict()
        """The score scales of the last few single users scored, by strength row content,
        reused by ``because`` (the recommend path may explain a row scored calls earlier,
        its scores memoised: :class:`.pipeline.ScoreMemo`)."""

    def fit(
        self,
        strength: sp.csr_matrix,
        progress: Progress | None = None,
        cancel: CancelEvent | None = None,
    ) -> None:
        self.n_users, self.n_items = strength.shape
        total = self.params.iterations + 1

        def als_progress(report: FitProgress) -> None:
            if progress is not None:
                progress(FitProgress(report.done, total, report.loss))

        self.als.fit(strength, als_progress, cancel)
        self.ease.fit(strength, None, cancel)
        self.prepare()
        if progress is not None:
            progress(FitProgress(total, total))

    def prepare(self) -> None:
        self.als.prepare()
        valid = np.zeros(self.ease.n_items, dtype=bool)
        valid[self.ease.items] = True
        self._valid = None if valid.all() else valid

    def _parts(
        self, strength_rows: sp.csr_matrix, rows: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.als.scores(strength_rows, rows), self.ease.scores(strength_rows)

    def _scales(self, a: np.ndarray, e: np.ndarray) -> tuple[float, float]:
        """One user's standard deviations of the ALS and EASE scores (as :func:`_zscore`)."""
        v = e if self._valid is None else e[:, self._valid]
        sa, se = float(a.std(dtype=np.float64)), float(v.std(dtype=np.float64))
        return (sa if sa > 1e-12 else 1.0), (se if se > 1e-12 else 1.0)

    def scores(self, strength_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        a, e = self._parts(strength_rows, rows)
        if a.shape[0] == 1:  # the recommend path: ``because`` for this user follows
            self._scales_of[row_key(strength_rows)] = self._scales(a, e)
            while len(self._scales_of) > SCALES_KEPT:
                self._scales_of.popitem(last=False)
        return blend_scores(a, e, self.weight, self._valid)

    def because(
        self, strength_row: sp.csr_matrix, items: np.ndarray, k: int = 3
    ) -> list[list[int]]:
        if len(items) == 0:
            return []
        known = self._scales_of.get(row_key(strength_row))
        sa, se = known or self._scales(*self._parts(strength_row, None))
        ca, cols_a = self.als.contributions(strength_row, items)
        ce, cols_e = self.ease.contributions(strength_row, items)
        cols = np.union1d(cols_a, cols_e)
        if len(cols) == 0:
            return [[] for _ in items]
        contrib = np.zeros((len(cols), len(items)))
        contrib[np.searchsorted(cols, cols_a)] += self.weight / sa * ca
        contrib[np.searchsorted(cols, cols_e)] += (1.0 - self.weight) / se * ce
        return _top_contributors(contrib, cols, k)

    def arrays(self) -> dict[str, np.ndarray]:
        return {**self.als.arrays(), **self.ease.arrays()}

    def meta(self) -> dict[str, Any]:
        return {"weight": self.weight, "als": self.als.meta(), "ease": self.ease.meta()}

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], n_users: int, n_items: int
    ) -> BlendModel:
        params = ModelParams(**meta["params"])
        model = cls(params)
        model.weight = float(meta["weight"])
        als_meta = {**meta["als"], "params": meta["params"]}
        model.als = ALSModel.restore(als_meta, arrays, n_users, n_items)
        model.ease = EASEModel.restore(meta["ease"], arrays, n_users, n_items)
        model.n_users, model.n_items = n_users, n_items
        return model


def blend_scores(
    als: np.ndarray, ease: np.ndarray, weight: float, ease_valid: np.ndarray | None = None
) -> np.ndarray:
    """``weight * z(als) + (1 - weight) * z(ease)``, standardised per row (user), float32.

    ``ease_valid`` marks EASE's scored columns (None: all); see :func:`_zscore`. Exposed so
    tuning can try many weights on one pair of score blocks.
    """
    return weight * _zscore(als) + (1.0 - weight) * _zscore(ease, ease_valid)


def _ease(p: ModelParams, *, binary: bool = False) -> EASEModel:
    if binary:
        return EASEModel(lam=p.ease_binary_lambda, max_items=p.ease_max_items, weighting="binary")
    return EASEModel(
        lam=p.ease_lambda,
        max_items=p.ease_max_items,
        weighting=p.ease_weighting,
        k1=p.ease_bm25_k1,
        b=p.ease_bm25_b,
    )


MODEL_KINDS: dict[str, type[Model]] = {
    m.kind: m for m in (ALSModel, BlendModel, PopularityModel, ItemKNNModel, EASEModel)
}


def make_model(kind: str, params: ModelParams | None = None, *, track_loss: bool = False) -> Model:
    """A fresh, unfitted model of ``kind``; ``params`` configures ALS, EASE, blend and item-kNN.

    ``ease-binary`` is EASE on binary input with ``params.ease_binary_lambda`` (the evaluation
    baseline; it is saved as kind ``ease``). Raises ModelError for an unknown kind.
    """
    p = params or ModelParams()
    if p.ease_weighting not in ("binary", "bm25"):
        raise ModelError(f"ease_weighting must be binary or bm25, not {p.ease_weighting!r}.")
    if not 0.0 <= p.blend_weight <= 1.0:
        raise ModelError(f"blend_weight must be between 0 and 1, not {p.blend_weight!r}.")
    if kind == "als":
        return ALSModel(p, track_loss=track_loss)
    if kind == "blend":
        return BlendModel(p, track_loss=track_loss)
    if kind == "popularity":
        return PopularityModel()
    if kind == "item-knn":
        return ItemKNNModel(k=p.knn_neighbours)
    if kind == "ease":
        return _ease(p)
    if kind == "ease-binary":
        return _ease(p, binary=True)
    raise ModelError(f"Unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}.")
