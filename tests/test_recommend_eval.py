"""Evaluation metrics on hand-computed rankings, the split, the report, and tuning."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from test_recommend_core import FAST, populate

from animerec_tui.core.cache import Cache
from animerec_tui.core.recommend import service
from animerec_tui.core.recommend.evaluate import (
    SEED,
    evaluate,
    ranking_metrics,
    split,
)
from animerec_tui.core.recommend.matrix import build_interactions
from animerec_tui.core.settings import ModelParams, Settings, Weights

NEG = -np.inf


def test_metrics_match_hand_computation() -> None:
    scores = np.array(
        [
            [0.9, 0.8, 0.7, 0.6, 0.5, NEG],  # item 5 is a training item
            [0.5, 0.5, 0.2, 0.1, NEG, NEG],  # a tie at the top
        ]
    )
    test = np.array(
        [
            [False, True, False, True, False, False],
            [False, True, False, False, False, False],
        ]
    )
    got = ranking_metrics(scores, test, k=3)
    assert got["topk"].tolist() == [[0, 1, 2], [0, 1, 2]]
    # user 0: one hit at rank 2 of 3, two held out
    assert got["precision"][0] == pytest.approx(1 / 3)
    assert got["recall"][0] == pytest.approx(1 / 2)
    assert got["ap"][0] == pytest.approx((1 / 2) / 2)
    assert got["ndcg"][0] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    # AUC: pairs (held-out > other candidate): 1>2, 1>4, 3>4 of 2 x 3 pairs
    assert got["auc"][0] == pytest.approx(3 / 6)
    # user 1: hit at rank 2, one held out; the tie with item 0 counts a half in AUC
    assert got["precision"][1] == pytest.approx(1 / 3)
    assert got["recall"][1] == pytest.approx(1.0)
    assert got["ap"][1] == pytest.approx(1 / 2)
    assert got["ndcg"][1] == pytest.approx(1 / math.log2(3))
    assert got["auc"][1] == pytest.approx((0.5 + 1 + 1) / 3)


@pytest.fixture(scope="module")
def pop_cache(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cache, Settings]:
    root: Path = tmp_path_factory.mktemp("eval")
    settings = Settings(cache_dir=root / "cache")
    cache = Cache(settings.db_path)
    populate(cache)
    yield cache, settings
    cache.close()


def test_split_is_per_user_twenty_percent_of_positives(pop_cache: tuple[Cache, Settings]) -> None:
    cache, _ = pop_cache
    inter = build_interactions(cache, Weights())
    data = split(inter, seed=SEED)
    again = split(inter, seed=SEED)
    assert (data.test != again.test).nnz == 0  # fixed seed: reproducible
    held = np.diff(data.test.indptr)
    rows = np.repeat(np.arange(inter.shape[0]), np.diff(inter.strength.indptr))
    n_pos = np.bincount(rows[inter.positive], minlength=inter.shape[0])
    assert np.all(held[n_pos >= 5] == np.maximum(1, np.floor(n_pos[n_pos >= 5] * 0.2 + 0.5)))
    # held-out pairs are positives and gone from training
    both = data.test.multiply(data.train.strength)
    assert both.nnz == 0
    assert data.train.strength.nnz + data.test.nnz == inter.strength.nnz
    inner = split(data.train, seed=SEED + 1)
    assert inner.test.multiply(data.test).nnz == 0  # tuning never sees the test pairs


def test_report_has_every_model_and_als_beats_popularity(
    pop_cache: tuple[Cache, Settings],
) -> None:
    cache, settings = pop_cache
    calls: list[tuple[int, int, str]] = []
    report = evaluate(
        cache, settings, k=10, params=FAST, progress=lambda d, t, w: calls.append((d, t, w))
    )
    data = report.to_json()
    assert data["k"] == 10 and "20%" in data["protocol"]
    names = [m["name"] for m in data["models"]]
    assert names == ["als", "popularity", "item-knn", "ease"]
    for m in data["models"]:
        assert {"name", "precision", "recall", "map", "ndcg", "auc", "coverage"} <= set(m)
        assert 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1 and 0 <= m["auc"] <= 1
    assert report.model("als").recall > 1.5 * report.model("popularity").recall
    assert report.model("ease").recall > report.model("popularity").recall
    assert calls[-1][0] == calls[-1][1]
    assert "| als |" in report.markdown()


def test_tune_saves_defaults_and_train_uses_them(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache")
    with Cache(settings.db_path) as cache:
        populate(cache, n_users=120)
        result = service.tune(
            cache,
            settings,
            budget_seconds=6,
            max_trials=4,
        )
        state = cache.get_state(service.TUNED_STATE_KEY)
        assert state["params"] == result.best and len(result.trials) <= 4
        assert result.recall >= result.baseline_recall
        assert result.trained is not None and result.trained.tuned
        assert service.effective_params(cache, settings) == ModelParams(**result.best)
        assert "Tuned ALS" in result.summary() and result.to_json()["trials"] == len(result.trials)
