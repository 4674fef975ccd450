"""ALS hyper-parameter search on a validation split that never sees the test split.

The evaluation split (:func:`.evaluate.split`, fixed seed) is reproduced first and only its
*training* part is used: it is split again with another seed into fit / validation pairs, the
same way (20% of each eligible user's positives). Candidates are scored by recall@10 on the
validation pairs, which is what the acceptance criterion measures on the test pairs, so
``animerec evaluate`` after tuning stays an honest held-out number.

Search: the current and the shipped configuration first, then coordinate steps around the best
over an ordered grid (weighting scheme, factors, regularization, alpha, iterations, BM25 ``k1``
and ``b``) until no neighbour improves, then seeded random draws while budget remains, all
inside a wall-clock budget and a trial cap. (Random draws first wasted the budget: alpha and
regularization must move together, and most random pairs are far off.) The winner is saved as the
cache's default (``cache.set_state("tuned_params", ...)``), which :func:`.service.train` uses
unless parameters are given explicitly, and a model is trained with it.

How the shipped defaults (:class:`~animerec_tui.core.settings.ModelParams`, ``Weights``) were
picked: this search (plus a wider coordinate search) on the bundled sample's *validation*
split (675 users; positives as in :mod:`.evaluate`), recall@10; popularity 0.1344, EASE 0.2620
on the same split. The test split was looked at only once, for the final table.

| configuration | validation recall@10 | x popularity | / EASE |
|---|---:|---:|---:|
| old defaults (linear, 64 factors, reg 0.05, alpha 2, 15 it) | 0.2054 | 1.53x | 0.784 |
| bm25, 64, reg 30, alpha 0.5, 15 it, k1 1.2, b 0.15 | 0.2568 | 1.91x | 0.980 |
| bm25, 128, reg 15, alpha 0.3, 25 it, k1 1.2, b 0.15 | 0.2564 | 1.91x | 0.979 |
| same, ``use_rating`` on | 0.2576 | 1.92x | 0.983 |
| bm25, 128, reg 15, alpha 0.3, 25 it, k1 0.6, b 0.3 | 0.2587 | 1.92x | 0.987 |
| **same, use_rating on (the defaults)** | **0.2624** | **1.95x** | **1.001** |

Neighbours of the defaults all score lower (reg 10 or 20: 0.246; alpha 0.2: 0.242, 0.5:
0.249; 64 factors: 0.254; 192: 0.263, within noise, so the cheaper 128). Validation recall
is lower than test recall because the test pairs, unknown here, compete as candidates.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from animerec_tui.core.cache import Cache
from animerec_tui.core.errors import AnimerecError
from animerec_tui.core.recommend.evaluate import SEED, Split, score_model, split
from animerec_tui.core.recommend.matrix import build_interactions
from animerec_tui.core.recommend.models import ALSModel, CancelEvent, Progress, _check
from animerec_tui.core.settings import ModelParams, Settings

GRID: dict[str, list[Any]] = {
    "weighting": ["linear", "bm25"],
    "factors": [64, 128, 192],
    "regularization": [5.0, 10.0, 15.0, 20.0, 30.0, 60.0],
    "alpha": [0.2, 0.3, 0.5, 1.0, 2.0, 5.0],
    "iterations": [15, 25],
    "bm25_b": [0.0, 0.15, 0.3, 0.75],
    "bm25_k1": [0.6, 1.2, 2.0],
}
"""Ordered values per parameter: coordinate steps move to a value's neighbours. Regularization
and alpha interact strongly (confidence / penalty), so they get the finest steps."""
TUNE_K = 10
MAX_VALIDATION_USERS = 5000
"""Validation users scored per candidate: keeps a candidate's scoring cost bounded on big caches."""


@dataclass
class Trial:
    params: dict[str, Any]
    recall: float
    seconds: float


@dataclass
class TuneResult:
    best: dict[str, Any]
    recall: float
    baseline_recall: float
    trials: list[Trial]
    seconds: float
    validation_users: int
    trained: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "metric": f"recall@{TUNE_K} (validation split of the training entries)",
            "recall": round(self.recall, 6),
            "baseline_recall": round(self.baseline_recall, 6),
            "trials": len(self.trials),
            "validation_users": self.validation_users,
            "seconds": round(self.seconds, 2),
            "model": self.trained.to_json() if self.trained is not None else None,
        }

    def summary(self) -> str:
        b = self.best
        return (
            f"Tuned ALS in {self.seconds:.0f}s over {len(self.trials)} configurations: "
            f"{b['weighting']} weighting, factors {b['factors']}, regularization "
            f"{b['regularization']:g}, alpha {b['alpha']:g}, iterations {b['iterations']} "
            f"(validation recall@{TUNE_K} {self.recall:.4f}, was {self.baseline_recall:.4f}). "
            "Saved as this cache's default"
            + (f" and trained: {self.trained.path}." if self.trained is not None else ".")
        )


def _key(p: ModelParams) -> tuple[Any, ...]:
    d = asdict(p)
    if d["weighting"] == "linear":  # b is irrelevant without BM25
        d["bm25_b"] = None
    return tuple(sorted(d.items()))


def tune(
    cache: Cache,
    settings: Settings,
    progress: Progress | None = None,
    cancel: CancelEvent | None = None,
    *,
    budget_seconds: float = 120.0,
    max_trials: int = 40,
    seed: int = 7,
    train_after: bool = True,
) -> TuneResult:
    """Search, save the best configuration as the cache's default, then train with it."""
    from animerec_tui.core.recommend import service

    start = time.perf_counter()
    inter = build_interactions(cache, settings.weights)
    outer = split(inter, seed=SEED)  # the evaluation split: only its training part is used
    inner = split(outer.train, seed=SEED + 1)
    if len(inner.users) == 0:
        raise AnimerecError("Not enough data to tune: no user has enough positive entries.")
    users = inner.users
    if len(users) > MAX_VALIDATION_USERS:
        users = random.Random(seed).sample(list(users), MAX_VALIDATION_USERS)
        users.sort()
    import numpy as np

    users_arr = np.asarray(users, dtype=np.int64)
    baseline = service.effective_params(cache, settings)
    rng = random.Random(seed)
    tried: dict[tuple[Any, ...], Trial] = {}
    deadline = start + budget_seconds

    def run(p: ModelParams, data: Split = inner) -> Trial:
        key = _key(p)
        if key in tried:
            return tried[key]
        _check(cancel, "Tuning")
        t0 = time.perf_counter()
        model = ALSModel(p)
        model.fit(data.train.strength, None, cancel)
        recall = score_model(model, data, TUNE_K, users=users_arr, cancel=cancel).recall
        trial = Trial(asdict(p), recall, time.perf_counter() - t0)
        tried[key] = trial
        if progress is not None:
            progress(min(len(tried), max_trials), max_trials)
        return trial

    def best() -> Trial:
        return max(tried.values(), key=lambda t: t.recall)

    def out_of_time() -> bool:
        return len(tried) >= max_trials or time.perf_counter() > deadline

    base_trial = run(baseline)
    run(ModelParams())
    improved = True
    while improved and not out_of_time():  # coordinate steps around the best, finest first
        improved = False
        current = ModelParams(**best().params)
        for name, values in GRID.items():
            if out_of_time():
                break
            if name.startswith("bm25") and current.weighting != "bm25":
                continue
            value = getattr(current, name)
            idx = values.index(value) if value in values else None
            neighbours = values if idx is None else values[max(0, idx - 1) : idx + 2]
            for v in neighbours:
                if v == value or out_of_time():
                    continue
                before = best().recall
                run(replace(current, **{name: v}))
                if best().recall > before:
                    improved = True
    for _ in range(max_trials * 4):  # budget left after converging: seeded random draws
        if out_of_time():
            break
        draw = {k: rng.choice(v) for k, v in GRID.items()}
        run(replace(baseline, **draw))
    winner = best()
    cache.set_state(
        service.TUNED_STATE_KEY,
        {
            "params": winner.params,
            "metric": f"recall@{TUNE_K}",
            "validation_recall": winner.recall,
            "baseline_recall": base_trial.recall,
            "fingerprint": cache.fingerprint(),
            "weights": asdict(settings.weights),
            "trials": len(tried),
            "tuned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    trained = None
    if train_after:
        trained = service.train(cache, settings, params=ModelParams(**winner.params), cancel=cancel)
        trained.tuned = True
    return TuneResult(
        best=winner.params,
        recall=winner.recall,
        baseline_recall=base_trial.recall,
        trials=list(tried.values()),
        seconds=time.perf_counter() - start,
        validation_users=len(users_arr),
        trained=trained,
    )
