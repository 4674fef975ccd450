"""Numerical failures never reach the user as "unexpected error": out-of-range settings are
refused up front, a plan far beyond memory is refused before allocating, NaN never ranks.

Case ``negative-weight`` (tests/fixtures/cases/): ``[weights] dropped = -3.0`` was accepted,
``train`` succeeded, then ``recommend`` died with "unexpected error: LinAlgError".
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import FIXTURES
from helpers.cli import closed_port_url, run_cli

from animerec_tui.core.cache import Cache
from animerec_tui.core.errors import AnimerecError, BadInput
from animerec_tui.core.recommend import service
from animerec_tui.core.recommend.memory import memory_limit
from animerec_tui.core.recommend.models import ALSModel, EASEModel
from animerec_tui.core.records import Library, LibraryEntry, User
from animerec_tui.core.settings import ModelParams, Settings

CASE = FIXTURES / "cases" / "negative-weight"


@pytest.mark.parametrize("command", [("train",), ("recommend", "sample-72562"), ("stats",)])
def test_negative_weight_case_is_one_line_exit_2(tmp_path: Path, command: tuple[str]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(CASE / "settings.toml", cache / "settings.toml")
    done = run_cli(cache, closed_port_url(), "--offline", *command, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "unexpected" not in lines[0]
    assert "weights.dropped = -3.0" in lines[0] and "allowed: 0 to 100" in lines[0]


def _one_row(n_items: int) -> sp.csr_matrix:
    """One user listing every one of ``n_items`` anime: a huge but cheap sparse matrix."""
    data = np.ones(n_items, dtype=np.float32)
    return sp.csr_matrix(
        (data, np.arange(n_items, dtype=np.int32), np.array([0, n_items])), shape=(1, n_items)
    )


def test_ease_beyond_memory_is_refused_before_allocating() -> None:
    limit = memory_limit()
    assert limit is not None
    n = int((limit / 24) ** 0.5 * 3)  # 9x the memory the machine has
    started = time.monotonic()
    with pytest.raises(BadInput) as info:
        EASEModel(max_items=1_000_000).fit(_one_row(n))
    assert time.monotonic() - started < 30  # refused from the plan, not after trying
    message = str(info.value)
    assert f"EASE over {n:,} anime" in message and "model.ease_max_items" in message
    assert info.value.exit_code == 2 and "\n" not in message


def test_als_factors_beyond_memory_are_refused_before_allocating() -> None:
    limit = memory_limit()
    assert limit is not None
    n = int(limit / (8 * 1024) * 2)  # factors x anime x 8 bytes: twice the machine
    with pytest.raises(BadInput, match=r"ALS with 1,024 factors .* lower model\.factors"):
        ALSModel(ModelParams(factors=1024)).fit(_one_row(n))


def test_nan_scores_are_one_line_not_a_ranking(tmp_path: Path) -> None:
    """A model whose factors went NaN must not rank anime by luck (NaN sorts anywhere)."""
    settings = Settings(
        cache_dir=tmp_path, model=ModelParams(factors=4, iterations=3, regularization=1.0)
    )
    settings.model_dir.mkdir()
    with Cache(settings.db_path) as cache:
        for u in range(12):
            ids = [str(1 + (u + k) % 15) for k in range(5)]
            entries = [LibraryEntry(str(u), a, "completed") for a in ids]
            cache.save_library(Library(User(str(u)), entries, [], {}), synced_at="t")
        service.train(cache, settings)
        loaded = service.load(cache, settings)
        als = getattr(loaded.model, "als", loaded.model)  # the default blend's ALS half
        assert als.item_factors.size
        als.item_factors[:] = np.nan
        als.user_factors[:] = np.nan
        with pytest.raises(AnimerecError, match=r"not numbers \(NaN\).*animerec train"):
            service.recommend(cache, settings, "3", n=5, model=loaded)
