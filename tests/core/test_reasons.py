"""Honest "because you watched": only watched, well-rated titles; never the title itself or
its franchise; the fallback and the empty reason say how they were found."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from animerec_tui.core.recommend.models import ALSModel, EASEModel
from animerec_tui.core.recommend.reasons import (
    HOW_CONTRIBUTION,
    HOW_FACTORS,
    HOW_NONE,
    eligible_reasons,
    honest_reasons,
)
from animerec_tui.core.records import Favorite, LibraryEntry
from animerec_tui.core.settings import ModelParams


def entry(anime: str, status: str, rating: int | None = None) -> LibraryEntry:
    return LibraryEntry("u", anime, status, rating_twenty=rating)  # type: ignore[arg-type]


def test_eligible_excludes_planned_dropped_low_and_below_median() -> None:
    entries = [
        entry("1", "completed", 18),
        entry("2", "completed", 10),  # 5/10
        entry("3", "current"),  # unrated: fine
        entry("4", "planned"),
        entry("5", "dropped"),
        entry("6", "completed", 14),  # 7/10, below the median (15) of 18, 10, 14, 16
        entry("7", "completed", 16),
        entry("8", "on_hold"),
    ]
    favs = [Favorite("u", "9"), Favorite("u", "2")]
    assert eligible_reasons(entries, favs) == {"1", "3", "7", "9"}
    assert eligible_reasons([entry("1", "completed", 16), entry("2", "completed", 16)]) == {
        "1",
        "2",
    }


def _data() -> sp.csr_matrix:
    rng = np.random.default_rng(11)
    return sp.csr_matrix((rng.random((60, 12)) < 0.35).astype(np.float32) * 5)


def test_reasons_never_name_the_title_its_franchise_or_ineligible() -> None:
    x = _data()
    model = EASEModel(lam=1.0, max_items=12)
    model.fit(x)
    row = sp.csr_matrix(np.array([[5, 5, 5, 5, 5, 0, 0, 0, 0, 0, 0, 5]], dtype=np.float32))
    items = np.array([6, 7, 8])
    raw = model.because(row, items, k=3)
    eligible = {0, 1, 2}
    franchise = [{6, 0}, set(), {8}]
    got = honest_reasons(model, row, items, eligible, franchise)
    for item, reason, fr in zip(items.tolist(), got, franchise, strict=True):
        assert item not in reason.columns
        assert set(reason.columns) <= eligible - fr
        assert len(reason.columns) <= 3
        if reason.columns:
            assert reason.how == HOW_CONTRIBUTION
            full = model.because(row, np.array([item]), k=6)[0]
            assert reason.columns == [c for c in full if c in eligible - fr][:3]  # model order
        else:
            assert reason.how == HOW_NONE  # EASE has no item factors: no made-up reason
    assert any(set(r) - eligible for r in raw)  # the raw reasons did name ineligible titles


def test_factor_fallback_when_no_contributor_is_eligible() -> None:
    rng = np.random.default_rng(11)
    dense = np.zeros((90, 30), dtype=np.float32)
    for u in range(90):  # three taste clusters over three blocks of ten anime
        block = u % 3
        dense[u, block * 10 : (block + 1) * 10] = (rng.random(10) < 0.6) * 5
    params = ModelParams(
        factors=8, iterations=10, random_state=1, regularization=0.1, weighting="linear"
    )
    model = ALSModel(params)
    model.fit(sp.csr_matrix(dense))
    row = sp.csr_matrix(np.array([[5 if c in (0, 1, 10) else 0 for c in range(30)]], np.float32))
    items = np.array([5, 15])
    contrib, cols = model.contributions(row, items)
    assert contrib[list(cols).index(0), 0] > 0 >= contrib[list(cols).index(0), 1]
    got = honest_reasons(model, row, items, {0}, [set(), set()])
    assert got[0].columns == [0] and got[0].how == HOW_CONTRIBUTION
    assert got[1].columns == [0] and got[1].how == HOW_FACTORS  # 0 adds nothing to 15's score
    banned = honest_reasons(model, row, items, {0}, [{0}, {0}])
    assert all(r.columns == [] and r.how == HOW_NONE for r in banned)
