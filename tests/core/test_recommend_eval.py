"""Evaluation metrics on hand-computed rankings, the split, the report, and tuning."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import closed_port_url, run_cli
from helpers.clusters import FAST, populate

from animerec_tui.core.cache import Cache
from animerec_tui.core.recommend import service
from animerec_tui.core.recommend.evaluate import (
    MODELS,
    SEED,
    evaluate,
    paired_bootstrap,
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
    calls: list[tuple[int, int | None, str]] = []
    report = evaluate(
        cache,
        settings,
        k=10,
        params=FAST,
        progress=lambda p: calls.append((p.done, p.total, p.what)),
    )
    data = report.to_json()
    assert data["k"] == 10 and "20%" in data["protocol"]
    names = [m["name"] for m in data["models"]]
    assert names == list(MODELS) and names[0] == service.DEFAULT_KIND
    for m in data["models"]:
        assert {"name", "precision", "recall", "map", "ndcg", "auc", "coverage"} <= set(m)
        assert 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1 and 0 <= m["auc"] <= 1
    assert report.model("als").recall > 1.5 * report.model("popularity").recall
    assert report.model("ease").recall > report.model("popularity").recall
    assert calls[-1][0] == calls[-1][1]
    assert "| als |" in report.markdown() and "| ease-binary |" in report.markdown()
    # the default's margin over the best other row, with a paired interval around it
    best_other = max(data["models"][1:], key=lambda m: m["recall"])["name"]
    assert [(g["metric"], g["model"], g["baseline"]) for g in data["margins"]] == [
        ("recall", "blend", best_other),
        ("ndcg", "blend", best_other),
    ]
    blend, other = report.model("blend"), report.model(best_other)
    recall = data["margins"][0]
    assert recall["diff"] == pytest.approx(blend.recall - other.recall, abs=1e-6)
    assert recall["low"] <= recall["diff"] <= recall["high"]


def test_paired_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    rng = np.random.default_rng(3)
    a = rng.random(400)
    b = a - 0.05 + rng.normal(0, 0.1, 400)
    first = paired_bootstrap(a, b)
    assert first == paired_bootstrap(a, b)  # fixed seed: the README's interval reproduces
    diff, low, high = first
    assert diff == pytest.approx(float(np.mean(a - b)))
    assert low < diff < high and low > 0  # a clear gain has an interval above zero
    assert paired_bootstrap(a, a) == (0.0, 0.0, 0.0)


def test_tune_saves_defaults_and_train_uses_them(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache", model=FAST)  # a search of seconds
    with Cache(settings.db_path) as cache:
        populate(cache, n_users=120)
        result = service.tune(
            cache,
            settings,
            budget_seconds=20,
            max_trials=2,
        )
        state = cache.get_state(service.TUNED_STATE_KEY)
        searched = [t for t in result.trials if t.model != "blend"]
        assert state["params"] == result.best and len(searched) <= 2 * 4
        kinds = {"als", "ease", "ease-binary", "item-knn", "blend"}
        assert {t.model for t in result.trials} == kinds
        assert result.recall >= result.baseline_recall
        assert result.trained is not None and result.trained.tuned
        assert result.trained.kind == service.DEFAULT_KIND
        tuned = ModelParams(**result.best)
        explicit = {k: v for k, v in FAST.__dict__.items() if v != getattr(ModelParams(), k)}
        assert service.effective_params(cache, settings) == replace(tuned, **explicit)
        assert "Tuned every model" in result.summary()
        assert result.to_json()["trials"] == len(result.trials)


def test_cli_model_options_pick_rows_and_the_trained_kind(tmp_path: Path) -> None:
    """``evaluate --model`` keeps the table's order; ``train --model`` saves that kind."""
    cache = tmp_path / "cache"
    api = closed_port_url()
    done = run_cli(cache, api, "evaluate", "--offline", "--json", "--model", "popularity",
                   "--model", "item-knn")  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout.strip().splitlines()[-1])
    assert [m["name"] for m in data["models"]] == ["item-knn", "popularity"]
    assert data["margins"][0]["model"] == "item-knn"
    assert data["margins"][0]["baseline"] == "popularity"
    trained = run_cli(cache, api, "train", "--offline", "--json", "--model", "popularity")
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout.strip().splitlines()[-1])["kind"] == "popularity"
    assert (cache / "models" / "popularity.json").is_file()
    bad = run_cli(cache, api, "evaluate", "--offline", "--model", "slim")
    assert bad.returncode == 2 and "slim" in bad.stderr and len(bad.stderr.splitlines()) == 1
