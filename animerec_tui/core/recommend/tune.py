"""Hyper-parameter search for every model on a validation split that never sees the test split.

The evaluation split (:func:`.evaluate.split`, fixed seed) is reproduced first and only its
*training* part is used: it is split again with another seed into fit / validation pairs, the
same way (20% of each eligible user's positives). Candidates are scored by recall@10 on the
validation pairs, which is what the evaluation table leads with on the test pairs, so
``animerec evaluate`` after tuning stays an honest held-out number.

Every model is searched the same way (:data:`SEARCH`): start from the current configuration,
then coordinate steps (coarse to fine: each parameter moves to its neighbours on an ordered
grid, keeping any gain) until no neighbour improves or the model's trial cap or the wall-clock
budget is reached. The budget (30 minutes) is only a safety net for big caches: a search that
the clock cuts short depends on the machine's speed, one that converges does not (on the bundled
sample it converges in a few minutes).

The blend is tuned last, on the tuned ALS and EASE: its ALS share on :data:`BLEND_WEIGHTS` by
the mean validation recall over :data:`BLEND_FOLDS` + 1 validation splits (share 0 is EASE
alone, 1 is ALS alone, so the JSON's ``blend_weights`` compares them on the same footing), the
fitted parts reused for every weight. The winners are saved as the
cache's defaults (``cache.set_state("tuned_params", ...)``), which :func:`.service.train` and
:func:`.evaluate.evaluate` use unless the settings file says otherwise, and the default model
is trained with them.

The shipped defaults (:class:`~animerec_tui.core.settings.ModelParams`) are this search's result
on the bundled sample (``animerec train --tune --json`` on a fresh cache reproduces them: the
search starts there and no neighbour improves); the README lists the validation numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from animerec_tui.core.cache import Cache
from animerec_tui.core.errors import AnimerecError
from animerec_tui.core.progress import StepProgress
from animerec_tui.core.recommend.evaluate import SEED, Split, score_model, split
from animerec_tui.core.recommend.matrix import build_interactions
from animerec_tui.core.recommend.models import (
    ALSModel,
    BlendModel,
    CancelEvent,
    EASEModel,
    _check,
    make_model,
)
from animerec_tui.core.recommend.params import DEFAULT_KIND, TUNED_STATE_KEY, effective_params
from animerec_tui.core.recommend.results import TrainResult
from animerec_tui.core.settings import ModelParams, Settings

SEARCH: dict[str, dict[str, list[Any]]] = {
    "als": {
        "weighting": ["linear", "bm25"],
        "factors": [64, 128, 192, 256, 384],
        "regularization": [5.0, 10.0, 15.0, 20.0, 30.0, 60.0],
        "alpha": [0.2, 0.3, 0.5, 1.0, 2.0, 5.0],
        "iterations": [10, 15, 25],
        "bm25_k1": [0.6, 1.2, 2.0],
        "bm25_b": [0.0, 0.15, 0.3, 0.5, 0.75],
    },
    "ease": {
        "ease_lambda": [50.0, 100.0, 200.0, 300.0, 500.0, 800.0, 1500.0],
        "ease_bm25_k1": [0.3, 0.6, 1.2, 2.0],
        "ease_bm25_b": [0.0, 0.25, 0.5, 0.75, 1.0],
    },
    "ease-binary": {"ease_binary_lambda": [50.0, 100.0, 200.0, 300.0, 500.0, 800.0, 1500.0]},
    "item-knn": {"knn_neighbours": [1, 2, 3, 5, 10, 20, 50, 100, 200, 400]},
}
"""Per model, the ModelParams fields searched and their ordered values: a coordinate step moves
a field to its neighbours. ALS's regularization and alpha interact (confidence / penalty), so
they get the finest steps."""
BLEND_WEIGHTS = [round(0.1 * i, 1) for i in range(11)]
"""The blend's ALS shares tried (0 = EASE alone, 1 = ALS alone)."""
TUNE_K = 10
MAX_VALIDATION_USERS = 5000
"""Validation users scored per candidate: keeps a candidate's scoring cost bounded on big caches."""
BLEND_FOLDS = 2
"""Validation splits besides the first on which the blend weight is also scored."""
MAX_TRIALS = {"als": 40, "ease": 20, "ease-binary": 6, "item-knn": 10}


@dataclass
class Trial:
    model: str
    params: dict[str, Any]
    recall: float
    """Validation recall@10 on the first validation split."""
    seconds: float
    mean_recall: float | None = None
    """Blend trials: the mean over every validation split (what picks the weight)."""


@dataclass
class TuneResult:
    best: dict[str, Any]
    recall: float
    baseline_recall: float
    trials: list[Trial]
    seconds: float
    validation_users: int
    params: ModelParams = field(default_factory=ModelParams)
    """The winning configuration (``best`` as the dataclass), what the default is trained with."""
    trained: TrainResult | None = None
    """The training run with :attr:`params` (``service.tune(train_after=True)``), else None."""
    per_model: dict[str, float] = field(default_factory=dict)
    """Validation recall@10 of each model's winner."""
    kind: str = "blend"

    def to_json(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "metric": f"recall@{TUNE_K} (validation split of the training entries)",
            "model_kind": self.kind,
            "recall": round(self.recall, 6),
            "baseline_recall": round(self.baseline_recall, 6),
            "validation_recall": {k: round(v, 6) for k, v in self.per_model.items()},
            "blend_weights": {
                f"{t.params['blend_weight']:g}": round(t.mean_recall, 6)
                for t in self.trials
                if t.model == "blend" and t.mean_recall is not None
            },
            "trials": len(self.trials),
            "search": [
                {
                    "model": t.model,
                    **{n: t.params[n] for n in SEARCH.get(t.model, {"blend_weight": []})},
                    "recall": round(t.recall, 6),
                }
                for t in self.trials
            ],
            "validation_users": self.validation_users,
            "seconds": round(self.seconds, 2),
            "model": self.trained.to_json() if self.trained is not None else None,
        }

    def summary(self) -> str:
        b = self.best
        return (
            f"Tuned every model in {self.seconds:.0f}s over {len(self.trials)} configurations. "
            f"ALS: {b['weighting']} weighting, factors {b['factors']}, regularization "
            f"{b['regularization']:g}, alpha {b['alpha']:g}, iterations {b['iterations']}; "
            f"EASE: lambda {b['ease_lambda']:g}; blend ALS share {b['blend_weight']:g} "
            f"({self.kind} validation recall@{TUNE_K} {self.recall:.4f}, "
            f"was {self.baseline_recall:.4f}). Saved as this cache's defaults"
            + (f" and trained: {self.trained.path}." if self.trained is not None else ".")
        )


def _key(model: str, p: ModelParams) -> tuple[Any, ...]:
    """The fields that change ``model``'s result (so equal configurations run once)."""
    d = asdict(p)
    names = [*SEARCH.get(model, {}), "random_state", "ease_max_items"]
    if model == "als" and d["weighting"] == "linear":  # BM25 knobs are irrelevant then
        names = [n for n in names if not n.startswith("bm25")]
    return (model, *[(n, d[n]) for n in sorted(names)])


def validation_split(cache: Cache, settings: Settings) -> Split:
    """The tuning split: the evaluation split's training part, split again (seed SEED + 1)."""
    return validation_folds(cache, settings, 0)[0]


def validation_folds(cache: Cache, settings: Settings, extra: int) -> tuple[Split, ...]:
    """The tuning split plus ``extra`` more (seeds SEED + 2, ...) of the same training part."""
    inter = build_interactions(cache, settings.weights)
    outer = split(inter, seed=SEED)  # the evaluation split: only its training part is used
    return tuple(split(outer.train, seed=SEED + 1 + i) for i in range(1 + extra))


def search(
    data: Split,
    start: ModelParams,
    *,
    models: tuple[str, ...] = ("als", "ease", "ease-binary", "item-knn"),
    progress: Callable[[StepProgress], None] | None = None,
    cancel: CancelEvent | None = None,
    budget_seconds: float = 1800.0,
    max_trials: dict[str, int] | None = None,
    users: np.ndarray | None = None,
    blend: bool = True,
    blend_folds: tuple[Split, ...] = (),
) -> tuple[ModelParams, list[Trial], dict[str, float]]:
    """Coordinate search of each of ``models`` (then the blend weight) on ``data``.

    The blend weight is scored on ``data`` and on each of ``blend_folds`` (more validation
    splits of the same training entries) and chosen by the mean: one split of a few hundred
    users cannot tell weights apart (their recalls differ by less than the split-to-split
    spread), and the parts are already fitted, so extra folds cost one ALS and one EASE fit each.
    Returns (the tuned ModelParams, every trial, each model's best validation recall).
    Deterministic: fixed seeds, fixed visiting order, ties keep the earlier configuration.
    """
    caps = {**MAX_TRIALS, **(max_trials or {})}
    users = data.users if users is None else users
    deadline = time.perf_counter() + budget_seconds
    tried: dict[tuple[Any, ...], Trial] = {}
    fitted: dict[str, tuple[float, Any]] = {}
    """Per model, the best fitted instance so far (one kept: an EASE is item x item floats)."""
    total = sum(caps.get(m, 1) for m in models) + (len(BLEND_WEIGHTS) if blend else 0)

    def tick() -> None:
        if progress is not None:
            progress(StepProgress(min(len(tried), total), total, "tuning"))

    def run(model: str, p: ModelParams) -> Trial:
        key = _key(model, p)
        if key in tried:
            return tried[key]
        _check(cancel, "Tuning")
        t0 = time.perf_counter()
        m = make_model(model, p)
        m.fit(data.train.strength, None, cancel)
        recall = score_model(m, data, TUNE_K, users=users, cancel=cancel).recall
        tried[key] = Trial(model, asdict(p), recall, time.perf_counter() - t0)
        if model in ("als", "ease") and recall > fitted.get(model, (-1.0, None))[0]:
            fitted[model] = (recall, m)
        del m
        tick()
        return tried[key]

    best = start
    per_model: dict[str, float] = {}
    for model in models:
        grid = SEARCH.get(model, {})

        def out_of_time(model: str = model) -> bool:
            n = sum(1 for t in tried.values() if t.model == model)
            return n >= caps.get(model, 1) or time.perf_counter() > deadline

        winner = run(model, best)
        improved = True
        while improved and grid and not out_of_time():
            improved = False
            current = ModelParams(**winner.params)
            for name, values in grid.items():
                if out_of_time():
                    break
                if model == "als" and name.startswith("bm25") and current.weighting != "bm25":
                    continue
                value = getattr(current, name)
                idx = values.index(value) if value in values else None
                neighbours = values if idx is None else values[max(0, idx - 1) : idx + 2]
                for v in neighbours:
                    if v == value or out_of_time():
                        continue
                    trial = run(model, replace(current, **{name: v}))
                    if trial.recall > winner.recall:
                        winner, improved = trial, True
                        current = ModelParams(**winner.params)
                        value = v
        per_model[model] = winner.recall
        tuned = ModelParams(**winner.params)
        best = replace(best, **{n: getattr(tuned, n) for n in grid})
    if blend:
        als = fitted["als"][1] if "als" in fitted else ALSModel(best)
        ease = fitted["ease"][1] if "ease" in fitted else make_model("ease", best)
        assert isinstance(als, ALSModel) and isinstance(ease, EASEModel)
        if als.n_items == 0:  # ALS or EASE was not searched: fit it once as configured
            als.fit(data.train.strength, None, cancel)
        if ease.n_items == 0:
            ease.fit(data.train.strength, None, cancel)
        results = dict.fromkeys(BLEND_WEIGHTS, 0.0)
        first: dict[float, float] = {}
        for i, fold in enumerate((data, *blend_folds)):
            blended = BlendModel(best)
            if i == 0:
                blended.als, blended.ease = als, ease
            else:
                blended.als.fit(fold.train.strength, None, cancel)
                blended.ease.fit(fold.train.strength, None, cancel)
            blended.n_users, blended.n_items = fold.train.shape
            blended.prepare()
            fold_users = users if i == 0 else fold.users[: len(users)]
            for w in BLEND_WEIGHTS:
                _check(cancel, "Tuning")
                blended.weight = w
                got = score_model(blended, fold, TUNE_K, users=fold_users, cancel=cancel)
                results[w] += got.recall / (1 + len(blend_folds))
                if i == 0:
                    first[w] = got.recall
        for w in BLEND_WEIGHTS:
            p = replace(best, blend_weight=w)
            tried[("blend", w)] = Trial("blend", asdict(p), first[w], 0.0, results[w])
            tick()
        w_best = max(BLEND_WEIGHTS, key=lambda w: results[w])  # first of equals: lower share
        if results.get(start.blend_weight, -1.0) >= results[w_best]:
            w_best = start.blend_weight  # keep the current weight unless another beats it
        best = replace(best, blend_weight=w_best)
        per_model["blend"] = first[w_best]  # comparable with the other models' numbers
    return best, list(tried.values()), per_model


def tune(
    cache: Cache,
    settings: Settings,
    progress: Callable[[StepProgress], None] | None = None,
    cancel: CancelEvent | None = None,
    *,
    budget_seconds: float = 1800.0,
    max_trials: int | dict[str, int] | None = None,
    seed: int = 7,
    models: tuple[str, ...] = ("als", "ease", "ease-binary", "item-knn"),
) -> TuneResult:
    """Search every model and save the winners as the cache's defaults (under
    :data:`.params.TUNED_STATE_KEY`); :func:`.service.tune` then trains the default with them.

    ``max_trials``: one cap for every model, or caps per model (see :data:`MAX_TRIALS`).
    Raises AnimerecError when no user has enough positives, Cancelled when ``cancel`` is set.
    """
    start = time.perf_counter()
    inner, *more = validation_folds(cache, settings, BLEND_FOLDS)
    folds = tuple(more)
    if len(inner.users) == 0:
        raise AnimerecError("Not enough data to tune: no user has enough positive entries.")
    users = inner.users
    if len(users) > MAX_VALIDATION_USERS:
        users = np.sort(np.random.default_rng(seed).choice(users, MAX_VALIDATION_USERS, False))
    caps = dict.fromkeys(SEARCH, max_trials) if isinstance(max_trials, int) else (max_trials or {})
    baseline = effective_params(cache, settings)
    kind = DEFAULT_KIND
    base_model = make_model(kind, baseline)
    base_model.fit(inner.train.strength, None, cancel)
    base_recall = score_model(base_model, inner, TUNE_K, users=users, cancel=cancel).recall
    del base_model
    best, trials, per_model = search(
        inner,
        baseline,
        models=models,
        progress=progress,
        cancel=cancel,
        budget_seconds=budget_seconds,
        max_trials=caps,
        users=users,
        blend_folds=folds,
    )
    recall = per_model.get(kind, per_model.get("als", base_recall))
    if recall < base_recall:  # never save something validation says is worse
        best, recall = baseline, base_recall
    winner = asdict(best)
    cache.set_state(
        TUNED_STATE_KEY,
        {
            "params": winner,
            "metric": f"recall@{TUNE_K}",
            "validation_recall": recall,
            "validation_recall_per_model": per_model,
            "baseline_recall": base_recall,
            "fingerprint": cache.fingerprint(),
            "weights": asdict(settings.weights),
            "trials": len(trials),
            "tuned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return TuneResult(
        best=winner,
        recall=recall,
        baseline_recall=base_recall,
        trials=trials,
        seconds=time.perf_counter() - start,
        validation_users=len(users),
        params=best,
        per_model=per_model,
        kind=kind,
    )
