"""The mainstream-to-niche re-rank: identity at 0, popularity discounted as the dial rises,
scale-free (works on negative, z-scored scores), exclusions kept, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from animerec_tui.core.recommend.niche import rerank
from animerec_tui.core.recommend.ranking import top_n


def test_zero_is_the_model_ranking() -> None:
    s = np.array([3.0, -1.0, 2.0, -np.inf])
    np.testing.assert_array_equal(rerank(s, np.array([5.0, 1, 9, 2]), 0.0), s)


def test_dial_moves_niche_titles_up_and_keeps_exclusions() -> None:
    scores = np.array([-0.5, -0.6, -0.7, -np.inf, -3.0])  # z-scores: all negative
    popularity = np.array([1000.0, 10.0, 1.0, 0.0, 500.0])
    assert top_n(rerank(scores, popularity, 0.0), 5, popularity)[0].tolist() == [0, 1, 2, 4]
    order = top_n(rerank(scores, popularity, 1.0), 5, popularity)[0].tolist()
    assert order[:3] == [2, 1, 0] and 3 not in order
    # the mean popularity of the top 2 falls monotonically with the dial
    means = [
        popularity[top_n(rerank(scores, popularity, d), 2, popularity)[0]].mean()
        for d in (0.0, 0.25, 0.5, 0.75, 1.0)
    ]
    assert means == sorted(means, reverse=True) and means[-1] < means[0]


def test_scale_free_and_row_wise() -> None:
    rng = np.random.default_rng(3)
    s = rng.normal(size=(4, 50))
    pop = rng.integers(0, 500, size=50).astype(float)
    one = rerank(s, pop, 0.6)
    np.testing.assert_array_equal(one[2], rerank(s[2], pop, 0.6))
    np.testing.assert_array_equal(
        np.argsort(-one, axis=1), np.argsort(-rerank(s * 1000 - 7, pop, 0.6), axis=1)
    )


def test_outside_pool_stays_below_in_model_order() -> None:
    scores = np.arange(10, 0, -1, dtype=float)
    popularity = np.array([100.0] * 3 + [0.0] * 7)
    out = rerank(scores, popularity, 1.0, pool=3)
    order = top_n(out, 10)[0].tolist()
    assert sorted(order[:3]) == [0, 1, 2] and order[3:] == list(range(3, 10))


def test_bad_dial_and_shapes() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        rerank(np.zeros(3), np.zeros(3), 1.5)
    with pytest.raises(ValueError, match="popularity"):
        rerank(np.zeros(3), np.zeros(2), 0.5)
