"""Held-out evaluation: the default model beside ALS, EASE (BM25 and binary input), item-kNN
and popularity, on one split, one table, with the default's margin over the best other row.

Protocol (also returned verbatim in every report, see :data:`PROTOCOL`):

* A (user, anime) pair is *positive* ("liked") when the user's entry for it is not ``dropped``
  and, if the user rated it, rated at least 7/10 (ratingTwenty >= 14), or the anime is one of
  the user's favourites (:func:`.matrix.liked`). A title someone rated 3/10 is not a hit for
  whoever recommended it. Every model is scored against the same positives.
* Users with at least 5 positive pairs are evaluated. For each, 20% of the positive pairs
  (rounded, at least 1) are held out at random with a fixed seed; the whole pair goes (its
  entry and favourite weight alike). Everything else, dropped entries included, is training
  data for every model.
* Every model is fitted on the training data only and ranks every anime that is not in the
  user's training entries (held-out anime are ranked among all the others).
* At K: precision = hits / K; recall = hits / min(K, held out); MAP@K = average precision at
  each hit divided by min(K, held out); NDCG@K with binary gains, ideal = min(K, held out) hits
  first; AUC = probability that a held-out anime is ranked above a non-held-out candidate,
  ties half, over the full ranking; coverage = share of the catalogue that appears in at least
  one evaluated user's top K. Per-user values are averaged over users.
* The margin of the first row (the default model) over the best other row on recall@K and
  NDCG@K is the mean per-user difference with a 95% paired bootstrap interval over users
  (:data:`BOOTSTRAP` resamples, seed :data:`BOOTSTRAP_SEED`): both models are scored on the
  same users, so resampling users keeps each user's pair together.

implicit's ``precision_at_k`` divides by min(K, n) and is therefore a recall-like number; it is
not used here. Scoring is vectorised in user chunks (dense user x anime score blocks), so an
evaluation of a few thousand users is seconds, not minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.relations import relations_known
from animerec_tui.core.errors import AnimerecError
from animerec_tui.core.progress import StepProgress
from animerec_tui.core.recommend.franchise import Franchises, group
from animerec_tui.core.recommend.matrix import (
    LIKED_MIN_RATING,
    Interactions,
    build_interactions,
    mask_csr,
)
from animerec_tui.core.recommend.models import CancelEvent, Model, _check, make_model
from animerec_tui.core.recommend.params import effective_params
from animerec_tui.core.recommend.ranking import top_k
from animerec_tui.core.settings import ModelParams, Settings

SEED = 20240601
HOLDOUT = 0.2
MIN_POSITIVE = 5
MODELS: tuple[str, ...] = ("blend", "als", "ease", "ease-binary", "item-knn", "popularity")
"""Rows of the table, the default model (:data:`.params.DEFAULT_KIND`) first. Each is a
:func:`.models.make_model` kind fitted with its own tuned fields of one ModelParams."""
BOOTSTRAP = 2000
BOOTSTRAP_SEED = 7
SCORE_BLOCK = 4_000_000
"""Scores per dense block (users x anime): bounds evaluation memory to ~32 MB per block."""

PROTOCOL = (
    "Per-user random holdout (seed {seed}) of {pct}% of positive pairs (liked: entry not dropped "
    "and, if rated, rated >= {liked}/20; or a favourite; at least 1) for users with >= {min_pos} "
    "positives; models trained on the rest (low-rated and dropped entries included); "
    "every anime not in the user's training entries ranked. At K: precision = hits/K, "
    "recall = hits/min(K, held out), MAP@K, NDCG@K (binary gains), full-ranking AUC, "
    "catalogue coverage of the top K; averaged over users."
)

EvalProgress = Callable[[StepProgress], None]
"""``progress(StepProgress(done, total, what))`` as each model is fitted and scored."""


@dataclass
class Split:
    train: Interactions
    test: sp.csr_matrix
    users: np.ndarray
    """Rows with at least one held-out pair: the evaluated users."""


def split(
    inter: Interactions,
    *,
    seed: int = SEED,
    fraction: float = HOLDOUT,
    min_positive: int = MIN_POSITIVE,
) -> Split:
    """Hold out ``fraction`` of each eligible user's positive pairs, vectorised."""
    m = inter.strength
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    pos_idx = np.flatnonzero(inter.positive)
    pos_rows = rows[pos_idx]
    n_pos = np.bincount(pos_rows, minlength=m.shape[0])
    n_hold = np.where(
        n_pos >= min_positive, np.maximum(1, np.floor(n_pos * fraction + 0.5)), 0
    ).astype(np.int64)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(pos_idx)), pos_rows))  # by row, random within row
    sorted_rows = pos_rows[order]
    starts = np.searchsorted(sorted_rows, np.arange(m.shape[0]))
    rank = np.arange(len(order)) - starts[sorted_rows]
    held = np.zeros(m.nnz, dtype=bool)
    held[pos_idx[order[rank < n_hold[sorted_rows]]]] = True
    test = mask_csr(m, held)
    test.data[:] = 1.0
    return Split(inter.with_data(~held), test, np.flatnonzero(n_hold > 0))


@dataclass
class Metrics:
    precision: float
    recall: float
    map: float
    ndcg: float
    auc: float
    coverage: float
    users: int
    per_user: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    """Per-user ``recall`` and ``ndcg`` (order of the evaluated users), for paired tests."""


def ranking_metrics(
    scores: np.ndarray, test: np.ndarray, k: int, tiebreak: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per-user metrics for a dense block.

    ``scores`` (users x items): ``-inf`` marks training items (not candidates); ``test`` is the
    boolean held-out mask. Returns arrays of per-user precision, recall, ap, ndcg, auc and the
    top-k item indices. Exposed for the hand-computed test.
    """
    _b, n_items = scores.shape
    k_eff = min(k, n_items)
    topk = top_k(scores, k_eff, tiebreak)
    topk_valid = np.take_along_axis(scores, topk, axis=1) > -np.inf
    hits = np.take_along_axis(test, topk, axis=1) & topk_valid
    n_test = test.sum(axis=1)
    denom = np.maximum(np.minimum(k, n_test), 1)
    n_hits = hits.sum(axis=1)
    precision = n_hits / k
    recall = n_hits / denom
    cum = np.cumsum(hits, axis=1)
    ranks = np.arange(1, k_eff + 1)
    ap = (cum / ranks * hits).sum(axis=1) / denom
    disc = 1.0 / np.log2(ranks + 1)
    dcg = (hits * disc).sum(axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(disc)])
    idcg = ideal[np.minimum(denom, k_eff)]
    ndcg = dcg / idcg
    candidates = scores > -np.inf
    n_cand = candidates.sum(axis=1)
    n_neg = n_cand - n_test
    # Imported here: scipy.stats takes over a second to import, and every command that
    # recommends or trains imports this module without ever evaluating.
    from scipy.stats import rankdata

    r = rankdata(scores, axis=1, method="average")  # ascending; -inf rows rank lowest
    r -= (~candidates).sum(axis=1, keepdims=True)  # ranks among candidates only
    pos_rank_sum = np.where(test, r, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos_rank_sum - n_test * (n_test + 1) / 2.0) / (n_test * n_neg)
    auc = np.where((n_test > 0) & (n_neg > 0), auc, np.nan)
    return {
        "precision": precision,
        "recall": recall,
        "ap": ap,
        "ndcg": ndcg,
        "auc": auc,
        "topk": topk,
    }


def score_model(
    model: Model,
    data: Split,
    k: int,
    users: np.ndarray | None = None,
    cancel: CancelEvent | None = None,
) -> Metrics:
    """Rank every candidate for every evaluated user, block by block."""
    train = data.train.strength
    users = data.users if users is None else users
    n_items = train.shape[1]
    block = max(1, SCORE_BLOCK // max(n_items, 1))
    sums = {"precision": 0.0, "recall": 0.0, "ap": 0.0, "ndcg": 0.0}
    auc_sum, auc_n = 0.0, 0
    per_user: dict[str, list[np.ndarray]] = {"recall": [], "ndcg": []}
    seen = np.zeros(n_items, dtype=bool)
    popularity = np.diff(train.tocsc().indptr)  # ties: the more listed anime first, as served
    for start in range(0, len(users), block):
        _check(cancel, "Evaluation")
        rows = users[start : start + block]
        tr = train[rows]
        scores = model.scores(tr, rows).astype(np.float64)
        r_idx = np.repeat(np.arange(len(rows)), np.diff(tr.indptr))
        scores[r_idx, tr.indices] = -np.inf
        test = data.test[rows].toarray() > 0
        got = ranking_metrics(scores, test, k, popularity)
        for key in sums:
            sums[key] += float(got[key].sum())
        for key, parts in per_user.items():
            parts.append(got[key])
        finite = ~np.isnan(got["auc"])
        auc_sum += float(got["auc"][finite].sum())
        auc_n += int(finite.sum())
        seen[got["topk"].ravel()] = True
    n = max(len(users), 1)
    return Metrics(
        precision=sums["precision"] / n,
        recall=sums["recall"] / n,
        map=sums["ap"] / n,
        ndcg=sums["ndcg"] / n,
        auc=auc_sum / auc_n if auc_n else float("nan"),
        coverage=float(seen.sum()) / max(n_items, 1),
        users=len(users),
        per_user={k: np.concatenate(v) if v else np.empty(0) for k, v in per_user.items()},
    )


@dataclass
class Margin:
    """Mean per-user difference ``model - baseline`` and its 95% paired bootstrap interval."""

    metric: str
    model: str
    baseline: str
    diff: float
    low: float
    high: float


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, *, n: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float, float]:
    """(mean(a - b), 2.5th and 97.5th percentile of the resampled means), users resampled.

    ``a`` and ``b`` are per-user values of two models on the same users, in the same order.
    Deterministic for a given seed (numpy's PCG64 stream).
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(n)
    for start in range(0, n, 200):  # 200 resamples at a time bound the index block's memory
        idx = rng.integers(0, d.size, size=(min(200, n - start), d.size))
        means[start : start + len(idx)] = d[idx].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(d.mean()), float(low), float(high)


@dataclass
class ModelScore:
    name: str
    precision: float
    recall: float
    map: float
    ndcg: float
    auc: float
    coverage: float
    fit_seconds: float
    params: dict[str, Any] = field(default_factory=dict)
    per_user: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


@dataclass
class EvaluationReport:
    k: int
    protocol: str
    users: int
    anime: int
    seed: int
    models: list[ModelScore]
    seconds: float = 0.0
    margins: list[Margin] = field(default_factory=list)
    grouping: Grouping | None = None
    """The default model's recall with franchises grouped, when relation data is known."""

    def to_json(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return round(v, 6) if isinstance(v, float) else v

        return {
            "k": self.k,
            "protocol": self.protocol,
            "users": self.users,
            "anime": self.anime,
            "seed": self.seed,
            "seconds": round(self.seconds, 2),
            "models": [
                {k: clean(v) for k, v in asdict(m).items() if k != "per_user"} for m in self.models
            ],
            "margins": [{k: clean(v) for k, v in asdict(m).items()} for m in self.margins],
            "grouping": None
            if self.grouping is None
            else {k: clean(v) for k, v in asdict(self.grouping).items()},
        }

    def model(self, name: str) -> ModelScore:
        return next(m for m in self.models if m.name == name)

    def markdown(self) -> str:
        k = self.k
        lines = [
            f"| model | precision@{k} | recall@{k} | MAP@{k} | NDCG@{k} | AUC | coverage |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for m in self.models:
            lines.append(
                f"| {m.name} | {m.precision:.4f} | {m.recall:.4f} | {m.map:.4f} | "
                f"{m.ndcg:.4f} | {m.auc:.4f} | {m.coverage:.3f} |"
            )
        for g in self.margins:
            lines.append(
                f"\n{g.model} - {g.baseline}, {g.metric}@{k}: {g.diff:+.4f} "
                f"(95% paired bootstrap over users: {g.low:+.4f} to {g.high:+.4f})"
            )
        if self.grouping is not None:
            lines.append(f"\n{self.grouping.line(k)}")
        return "\n".join(lines)


def margins(scores: Sequence[ModelScore]) -> list[Margin]:
    """The first row's margin over the best other row (by recall) on recall and NDCG."""
    if len(scores) < 2 or not scores[0].per_user:
        return []
    first = scores[0]
    best = max(scores[1:], key=lambda m: m.recall)
    out = []
    for metric in ("recall", "ndcg"):
        diff, low, high = paired_bootstrap(first.per_user[metric], best.per_user[metric])
        out.append(Margin(metric, first.name, best.name, diff, low, high))
    return out


def protocol_text(seed: int = SEED) -> str:
    return PROTOCOL.format(
        seed=seed, pct=round(HOLDOUT * 100), min_pos=MIN_POSITIVE, liked=LIKED_MIN_RATING
    )


def evaluate_split(
    data: Split,
    k: int,
    *,
    params: ModelParams,
    models: Sequence[str] = MODELS,
    progress: EvalProgress | None = None,
    cancel: CancelEvent | None = None,
    fitted: dict[str, Model] | None = None,
) -> list[ModelScore]:
    """Fit and score each of ``models`` on ``data``; ``fitted`` (when given) receives each
    fitted model by name, for measures beyond the table (:func:`grouped_recall`)."""
    out: list[ModelScore] = []
    total = 2 * len(models)
    for i, name in enumerate(models):
        if progress is not None:
            progress(StepProgress(2 * i, total, f"fitting {name}"))
        model = make_model(name, params)
        t0 = time.perf_counter()
        model.fit(data.train.strength, None, cancel)
        fit_seconds = time.perf_counter() - t0
        if fitted is not None:
            fitted[name] = model
        if progress is not None:
            progress(StepProgress(2 * i + 1, total, f"scoring {name}"))
        m = score_model(model, data, k, cancel=cancel)
        out.append(
            ModelScore(
                name=name,
                precision=m.precision,
                recall=m.recall,
                map=m.map,
                ndcg=m.ndcg,
                auc=m.auc,
                coverage=m.coverage,
                fit_seconds=round(fit_seconds, 3),
                params=asdict(params) if name in ("als", "blend") else model.meta(),
                per_user=m.per_user,
            )
        )
    if progress is not None:
        progress(StepProgress(total, total, "done"))
    return out


@dataclass
class Grouping:
    """Recall@K of one model's lists as the app shows them, franchises grouped, beside the
    same model's plain top K, on the same users and split.

    ``recall_discovery``: the discovery list alone (each franchise once, as its entry point;
    later entries of started franchises are not in it). ``recall_grouped``: the K best rows of
    the discovery and "continue" lists together (each franchise once, in the model's order:
    a started franchise as its next entry): K slots, like the plain list. Honest reasons do not
    change a ranking (they only choose which titles are named), so these are the default
    list's numbers with both on. ``relations``: catalogue anime whose relations were fetched.
    """

    model: str
    recall_grouped: float
    recall_discovery: float
    recall_ungrouped: float
    coverage_grouped: float
    users: int
    relations: int
    anime: int
    popularity_grouped: float | None = None
    """Popularity's recall@K grouped the same way (None when it was not evaluated)."""

    def line(self, k: int) -> str:
        text = (
            f"{self.model} with franchises grouped (relations known for {self.relations:,} of "
            f"{self.anime:,} anime): recall@{k} {self.recall_grouped:.4f} (discovery and "
            f"continue rows, {k} slots; discovery alone {self.recall_discovery:.4f}), "
            f"{self.recall_ungrouped:.4f} not grouped; coverage@{k} {self.coverage_grouped:.3f}"
        )
        if self.popularity_grouped:
            ratio = self.recall_grouped / self.popularity_grouped
            text += f"; popularity grouped {self.popularity_grouped:.4f} ({ratio:.2f}x)"
        return text


def grouped_recall(
    model: Model,
    data: Split,
    k: int,
    franchises: Franchises,
    *,
    cancel: CancelEvent | None = None,
) -> tuple[float, float, float, float]:
    """(grouped recall@K, discovery-only recall@K, plain recall@K, grouped catalogue
    coverage@K) of ``model`` over the split's evaluated users (see :class:`Grouping`). The
    lists are :func:`.franchise.group` over every candidate (seen = the user's training
    entries); a hit is a row whose shown entry is held out."""
    train = data.train.strength
    ids = [str(int(a)) for a in data.train.anime_ids.tolist()]
    n_items = train.shape[1]
    popularity = np.diff(train.tocsc().indptr)
    block = max(1, SCORE_BLOCK // max(n_items, 1))
    sums = np.zeros(3)
    shown = np.zeros(n_items, dtype=bool)
    col = {a: i for i, a in enumerate(ids)}
    for start in range(0, len(data.users), block):
        _check(cancel, "Evaluation")
        rows = data.users[start : start + block]
        tr = train[rows]
        scores = model.scores(tr, rows).astype(np.float64)
        r_idx = np.repeat(np.arange(len(rows)), np.diff(tr.indptr))
        scores[r_idx, tr.indices] = -np.inf
        order = top_k(scores, n_items, popularity)
        for i in range(len(rows)):
            held = set(data.test[rows[i]].indices.tolist())
            denom = max(min(k, len(held)), 1)
            valid = order[i][np.isfinite(scores[i, order[i]])]
            seen = {ids[c] for c in tr[i].indices.tolist()}
            ranked = [(ids[c], float(scores[i, c])) for c in valid.tolist()]
            result = group(ranked, franchises, seen, n=k)
            position = {a: p for p, (a, _) in enumerate(ranked)}
            both = sorted(result.rows + result.continued, key=lambda r: position[r.best_id])[:k]
            grouped = [col[r.anime_id] for r in both]
            discovery = [col[r.anime_id] for r in result.rows]
            shown[grouped] = True
            sums += [
                len(held & set(grouped)) / denom,
                len(held & set(discovery)) / denom,
                len(held & set(valid[:k].tolist())) / denom,
            ]
    n = max(len(data.users), 1)
    g, d, plain = (float(v) / n for v in sums)
    return g, d, plain, float(shown.sum()) / max(n_items, 1)


def evaluate(
    cache: Cache,
    settings: Settings,
    k: int = 10,
    progress: EvalProgress | None = None,
    cancel: CancelEvent | None = None,
    *,
    params: ModelParams | None = None,
    models: Sequence[str] = MODELS,
    seed: int = SEED,
) -> EvaluationReport:
    """Evaluate ``models`` on the cache's held-out split, each with the effective params.

    Returns an :class:`EvaluationReport`: per model precision, recall, MAP and NDCG at ``k``,
    AUC and catalogue coverage (each a mean over the held-out users, 0 to 1), the protocol
    text, users and anime counts, seconds taken, and paired-bootstrap margins against the
    baseline. ``progress`` gets a :class:`~animerec_tui.core.progress.StepProgress` per model
    step. Raises AnimerecError when no user has enough positives, Cancelled when ``cancel`` is set.
    """
    start = time.perf_counter()
    params = params or effective_params(cache, settings)
    inter = build_interactions(cache, settings.weights)
    data = split(inter, seed=seed)
    if len(data.users) == 0:
        raise AnimerecError(
            f"Nothing to evaluate: no cached user has {MIN_POSITIVE} or more positive entries."
        )
    fitted: dict[str, Model] = {}
    scores = evaluate_split(
        data, k, params=params, models=models, progress=progress, cancel=cancel, fitted=fitted
    )
    grouping = None
    ids = [str(int(a)) for a in inter.anime_ids.tolist()]
    known = relations_known(cache, ids)
    if known and models:
        from animerec_tui.core.recommend.pipeline import franchises_for

        franchises = franchises_for(cache, ids)
        g, discovery, plain, coverage = grouped_recall(
            fitted[models[0]], data, k, franchises, cancel=cancel
        )
        grouping = Grouping(
            models[0], g, discovery, plain, coverage, len(data.users), len(known), len(ids)
        )
        if "popularity" in fitted and models[0] != "popularity":
            grouping.popularity_grouped = grouped_recall(
                fitted["popularity"], data, k, franchises, cancel=cancel
            )[0]
    return EvaluationReport(
        k=k,
        protocol=protocol_text(seed),
        users=len(data.users),
        anime=inter.shape[1],
        seed=seed,
        models=scores,
        seconds=time.perf_counter() - start,
        margins=margins(scores),
        grouping=grouping,
    )
