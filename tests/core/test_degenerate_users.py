"""Users the model has nothing to go on for get the popularity fallback, a notice, no "because".

Case ``only-unknown-anime`` (tests/fixtures/cases/): a user whose three anime nobody else in
the population has (this season's shows). Before the fallback they got five near-0.0 scores in
catalogue order, each "because you watched" those three shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import FIXTURES
from helpers.cli import closed_port_url, run_cli

from animerec_tui.core.cache import Cache
from animerec_tui.core.kitsu.jsonapi import parse_library_page
from animerec_tui.core.population.sample import seed
from animerec_tui.core.recommend import service
from animerec_tui.core.records import Anime, Library, LibraryEntry, User
from animerec_tui.core.settings import ModelParams, Settings, Weights

CASE = FIXTURES / "cases" / "only-unknown-anime"
FRESH, NEWBIE, SAMPLE_USER = "7400", "7401", "sample-72562"


def _case_library() -> Library:
    """The recorded page, through the project's own JSON:API parser."""
    doc = json.loads((CASE / "library-entries_page0.json").read_text())
    page = parse_library_page(doc, user_id=FRESH)
    assert len(page.entries) == page.count == 3
    return Library(User(id=FRESH, name="fresh", slug="fresh"), page.entries, [], page.anime)


@pytest.fixture(scope="module")
def case_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample plus the case's user and a user with an empty library."""
    folder = tmp_path_factory.mktemp("degenerate") / "cache"
    folder.mkdir()
    with Cache(folder / "animerec.sqlite3") as cache:
        seed(cache)
        cache.save_library(_case_library(), synced_at="2026-11-30T00:00:00Z")
        empty = Library(User(id=NEWBIE, name="newbie", slug="newbie"), [], [], {})
        cache.save_library(empty, synced_at="2026-11-30T00:00:00Z")
    return folder


def test_only_unknown_anime_and_empty_library_get_popularity(case_cache: Path) -> None:
    done = run_cli(
        case_cache,
        closed_port_url(),
        "recommend",
        "fresh",
        "newbie",
        SAMPLE_USER,
        "-n",
        "5",
        "--json",
        "--offline",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    fresh, newbie, personal = (json.loads(line) for line in done.stdout.splitlines())
    for result, why in ((fresh, "listed by anyone else"), (newbie, "library is empty")):
        assert result["fallback"] == "popularity" and why in result["notice"]
        recs = result["recommendations"]
        assert len(recs) == 5 and all(r["because"] == [] for r in recs)
        scores = [r["score"] for r in recs]
        assert all(s > 0 for s in scores) and scores == sorted(scores, reverse=True)
        assert not {r["anime_id"] for r in recs} & {"99501", "99502", "99503"}
    # both are the same popularity list (neither library overlaps it)
    assert [r["anime_id"] for r in fresh["recommendations"]] == [
        r["anime_id"] for r in newbie["recommendations"]
    ]
    # a user with ordinary anime still gets personal recommendations with reasons
    assert personal["fallback"] is None and personal["notice"] is None
    assert any(r["because"] for r in personal["recommendations"])
    assert "fresh: none of the library's 3 anime" in done.stderr
    assert "newbie: your library is empty: these are popular with everyone" in done.stderr


def test_fallback_table_has_no_because_and_says_why(case_cache: Path) -> None:
    done = run_cli(case_cache, closed_port_url(), "--offline", "recommend", "fresh", "-n", "3")
    assert done.returncode == 0, done.stderr
    assert "most popular" in done.stdout
    assert "Brand New" not in done.stdout  # the unknown shows explain nothing
    assert "showing the most popular anime instead" in done.stderr
    assert "Traceback" not in done.stderr


# -- in-process: the other ways a model has nothing to go on -----------------------------------


def _population(cache: Cache, rng: np.random.Generator) -> None:
    """40 users over anime 1-30, plus two users who share only anime 500 (nobody else)."""
    anime = {str(a): Anime(id=str(a), title=f"Anime {a}") for a in [*range(1, 31), 500]}
    for u in range(40):
        picks = rng.choice(30, size=10, replace=False) + 1
        entries = [LibraryEntry(str(u), str(a), "completed") for a in picks.tolist()]
        cache.save_library(Library(User(str(u)), entries, [], anime), synced_at="t")
    for uid in ("pair-a", "pair-b"):
        entries = [LibraryEntry(uid, "500", "completed")]
        cache.save_library(Library(User(uid), entries, [], anime), synced_at="t")
    planned = [LibraryEntry("planner", str(a), "planned") for a in (1, 2, 3)]
    cache.save_library(Library(User("planner"), planned, [], anime), synced_at="t")


@pytest.fixture
def small(tmp_path: Path) -> tuple[Cache, Settings]:
    settings = Settings(
        cache_dir=tmp_path,
        weights=Weights(planned=0.0),
        model=ModelParams(factors=8, iterations=5, regularization=1.0, alpha=2.0),
    )
    settings.model_dir.mkdir()
    with Cache(settings.db_path) as cache:
        _population(cache, np.random.default_rng(3))
        yield cache, settings


def test_equal_scores_fall_back_to_popularity(small: tuple[Cache, Settings]) -> None:
    """item-kNN: anime 500 co-occurs with nothing, so every candidate scores the same (0)."""
    cache, settings = small
    service.train(cache, settings, model="item-knn")
    loaded = service.load(cache, settings, "item-knn")
    recs = service.recommend(cache, settings, "pair-a", n=5, model=loaded)
    assert recs.fallback == "popularity" and "scores every anime the same" in (recs.notice or "")
    assert len(recs) == 5 and all(not r.because for r in recs)
    assert "500" not in {r.anime_id for r in recs}
    # an ordinary user of the same model is ranked by it
    ordinary = service.recommend(cache, settings, "0", n=5, model=loaded)
    assert ordinary.fallback is None and ordinary.notice is None


def test_zero_strength_library_falls_back(small: tuple[Cache, Settings]) -> None:
    """Every entry planned, and planned weighs 0: the library says nothing to the model."""
    cache, settings = small
    service.train(cache, settings)
    recs = service.recommend(cache, settings, "planner", n=5)
    assert recs.fallback == "popularity" and "strength 0" in (recs.notice or "")
    assert all(not r.because for r in recs)
    assert not {"1", "2", "3"} & {r.anime_id for r in recs}
