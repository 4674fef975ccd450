"""The mainstream-to-niche dial: a re-rank that discounts popularity.

Scores of the models live on different scales (ALS dot products, EASE regression weights, the
blend's per-user standard scores, which are negative for most anime), so dividing a raw score by
popularity would mean different things per model and flip sign for negative scores. The re-rank
therefore works on ranks: each candidate of the ``pool`` best gets the relevance ``1 / rank``
(rank 1 = best, ties ordered by :func:`.ranking.top_k`), and the niche score is

    log(1 / rank) - niche * beta * log(1 + popularity)

i.e. ``(1 / rank) / (1 + popularity) ** (niche * beta)``: at ``niche = 1`` (``beta = 1``) an anime
ten times less listed beats one ranked up to ten places better. Candidates outside the pool
keep their order below every pooled one (so a 10,000th-ranked obscure title is never pulled to
the top), and excluded ones (``-inf``) stay excluded. ``niche = 0`` returns the scores unchanged.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from animerec_tui.core.recommend.ranking import top_k

BETA: Final = 1.0
"""Exponent of popularity at ``niche = 1``."""
POOL: Final = 200
"""Candidates re-ranked per user: the model's best; the rest stay below them, in order."""
NICHE_STEPS: Final = (0.0, 0.25, 0.5, 0.75, 1.0)
"""The steps ``bench/niche.py`` measures (the README's table)."""
DIAL_STEPS: Final = (0.0, 0.5, 1.0)
"""The steps the app's niche key cycles through, chosen from the README's table: 0 as ranked,
0.5 the same recall (-0.002) with 27% more of the catalogue in the top 10s, 1 the least
mainstream (-6% recall, +77% coverage); 0.25 and 0.75 are too close to their neighbours to
be worth a key press."""


def rerank(
    scores: np.ndarray,
    popularity: np.ndarray,
    niche: float,
    *,
    beta: float = BETA,
    pool: int = POOL,
) -> np.ndarray:
    """Niche-adjusted scores, float64, same shape as ``scores`` (1-D items, or 2-D users x
    items, row by row); rank them with :func:`.ranking.top_n` / ``top_k`` as usual.

    ``popularity``: (items,) users listing each anime (>= 0; the model's item counts);
    ``niche`` in 0..1 (ValueError outside). Entries at ``-inf`` stay ``-inf``. The values are
    for ranking only (log-scale, negative): show the model's own scores to people.
    """
    if not 0.0 <= niche <= 1.0:
        raise ValueError(f"niche must be between 0 and 1, not {niche!r}")
    s = np.asarray(scores, dtype=np.float64)
    one = s.ndim == 1
    block = s[None, :] if one else s
    if niche == 0.0 or block.size == 0:
        return s.copy()
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.shape != (block.shape[1],):
        raise ValueError(f"popularity has shape {pop.shape}, scores {block.shape[1]} items")
    penalty = niche * beta * np.log1p(np.maximum(pop, 0.0))
    order = top_k(block, block.shape[1], pop)  # every column, best first, deterministic
    valid = np.take_along_axis(block, order, axis=1) > -np.inf
    ranks = np.arange(1, block.shape[1] + 1, dtype=np.float64)
    value = -np.log(ranks)[None, :] - penalty[order]
    lowest = -np.log(float(min(pool, block.shape[1]))) - float(penalty.max(initial=0.0)) - 1.0
    outside = lowest - ranks[None, :] / block.shape[1]  # below every pooled value, in order
    value = np.where(ranks[None, :] <= pool, value, outside)
    value = np.where(valid, value, -np.inf)
    out = np.empty_like(block)
    np.put_along_axis(out, order, value, axis=1)
    return out[0] if one else out
