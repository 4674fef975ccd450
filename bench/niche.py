"""The mainstream-to-niche dial's table: recall@10 and top-10 catalogue coverage per step.

    python bench/niche.py            # bundled sample, default model, K = 10

Same protocol as ``bench/evaluate.py`` (``animerec_tui/core/recommend/evaluate.py``: a fresh
cache seeded with the bundled sample, the seeded per-user holdout, shipped defaults): the
default model is fitted once on the training split, and each user's scores are re-ranked by
:func:`animerec_tui.core.recommend.niche.rerank` at each step, popularity = users listing each
anime in the training split (what the model saves as ``item_counts``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from animerec_tui.core.cache import Cache  # noqa: E402
from animerec_tui.core.population.sample import seed_if_empty  # noqa: E402
from animerec_tui.core.recommend.evaluate import SCORE_BLOCK, ranking_metrics, split  # noqa: E402
from animerec_tui.core.recommend.matrix import build_interactions  # noqa: E402
from animerec_tui.core.recommend.models import make_model  # noqa: E402
from animerec_tui.core.recommend.niche import NICHE_STEPS, rerank  # noqa: E402
from animerec_tui.core.recommend.service import DEFAULT_KIND  # noqa: E402
from animerec_tui.core.settings import ModelParams, Settings  # noqa: E402


def table(k: int = 10, kind: str = DEFAULT_KIND) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(cache_dir=Path(tmp), offline=True)
        with Cache(settings.db_path) as cache:
            seed_if_empty(cache)
            inter = build_interactions(cache, settings.weights)
    data = split(inter)
    model = make_model(kind, ModelParams())
    model.fit(data.train.strength)
    train = data.train.strength
    n_items = train.shape[1]
    popularity = np.diff(train.tocsc().indptr).astype(np.float64)
    recall = {s: 0.0 for s in NICHE_STEPS}
    seen = {s: np.zeros(n_items, dtype=bool) for s in NICHE_STEPS}
    mean_pop = {s: 0.0 for s in NICHE_STEPS}
    block = max(1, SCORE_BLOCK // max(n_items, 1))
    users = data.users
    for start in range(0, len(users), block):
        rows = users[start : start + block]
        tr = train[rows]
        scores = model.scores(tr, rows).astype(np.float64)
        r_idx = np.repeat(np.arange(len(rows)), np.diff(tr.indptr))
        scores[r_idx, tr.indices] = -np.inf
        test = data.test[rows].toarray() > 0
        for step in NICHE_STEPS:
            got = ranking_metrics(rerank(scores, popularity, step), test, k, popularity)
            recall[step] += float(got["recall"].sum())
            seen[step][got["topk"].ravel()] = True
            mean_pop[step] += float(popularity[got["topk"]].mean(axis=1).sum())
    n = max(len(users), 1)
    lines = [
        f"| niche | recall@{k} | coverage@{k} | mean users listing a top-{k} title |",
        "|---:|---:|---:|---:|",
    ]
    for step in NICHE_STEPS:
        lines.append(
            f"| {step:g} | {recall[step] / n:.4f} | {seen[step].sum() / n_items:.3f} | "
            f"{mean_pop[step] / n:,.0f} |"
        )
    lines.append(
        f"\n{kind} on the bundled sample: {len(users):,} evaluated users, {n_items:,} anime."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--model", default=DEFAULT_KIND)
    args = parser.parse_args()
    print(table(args.k, args.model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
