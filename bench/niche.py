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

from typing import Any  # noqa: E402

import scipy.sparse as sp  # noqa: E402

from animerec_tui.core.cache import Cache  # noqa: E402
from animerec_tui.core.population.sample import seed_if_empty  # noqa: E402
from animerec_tui.core.recommend.evaluate import score_model, split  # noqa: E402
from animerec_tui.core.recommend.matrix import build_interactions  # noqa: E402
from animerec_tui.core.recommend.models import EXCLUDED, Model, make_model  # noqa: E402
from animerec_tui.core.recommend.niche import NICHE_STEPS, rerank  # noqa: E402
from animerec_tui.core.recommend.service import DEFAULT_KIND  # noqa: E402
from animerec_tui.core.settings import ModelParams, Settings  # noqa: E402


class Dialled(Model):
    """A fitted model's scores, the user's training anime excluded (as the recommend path
    excludes the library before ranking), re-ranked at one niche step."""

    kind = "niche"

    def __init__(self, inner: Model, popularity: np.ndarray, niche: float) -> None:
        self.inner, self.popularity, self.niche = inner, popularity, niche
        self.n_users, self.n_items = inner.n_users, inner.n_items

    def fit(self, strength: sp.csr_matrix, progress: Any = None, cancel: Any = None) -> None:
        raise NotImplementedError("wraps a fitted model")

    def scores(self, strength_rows: sp.csr_matrix, rows: np.ndarray | None = None) -> np.ndarray:
        s = self.inner.scores(strength_rows, rows).astype(np.float64)
        r_idx = np.repeat(np.arange(strength_rows.shape[0]), np.diff(strength_rows.indptr))
        s[r_idx, strength_rows.indices] = EXCLUDED
        return rerank(s, self.popularity, self.niche)

    def arrays(self) -> dict[str, np.ndarray]:
        return self.inner.arrays()

    @classmethod
    def restore(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], n_users: int, n_items: int
    ) -> Model:
        raise NotImplementedError("never saved")


def table(k: int = 10, kind: str = DEFAULT_KIND) -> str:
    """The markdown table: one row per niche step, the default model fitted once."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(cache_dir=Path(tmp), offline=True)
        with Cache(settings.db_path) as cache:
            seed_if_empty(cache)
            inter = build_interactions(cache, settings.weights)
    data = split(inter)
    model = make_model(kind, ModelParams())
    model.fit(data.train.strength)
    popularity = np.diff(data.train.strength.tocsc().indptr).astype(np.float64)
    lines = [f"| niche | recall@{k} | coverage@{k} |", "|---:|---:|---:|"]
    for step in NICHE_STEPS:
        m = score_model(Dialled(model, popularity, step), data, k)
        lines.append(f"| {step:g} | {m.recall:.4f} | {m.coverage:.3f} |")
    lines.append(
        f"\n{kind} on the bundled sample: {len(data.users):,} evaluated users, "
        f"{data.train.shape[1]:,} anime."
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
