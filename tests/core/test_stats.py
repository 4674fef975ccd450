"""Population overview numbers on a small hand-built cache."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from animerec_tui.core.cache import Cache
from animerec_tui.core.population.stats import population_stats
from animerec_tui.core.records import Anime, Favorite, Library, LibraryEntry, User


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    with Cache(tmp_path / "c" / "animerec.sqlite3") as c:
        yield c


def _lib(uid: str, items: list[tuple[int, str, int | None, int | None]], favs: int = 0) -> Library:
    user = User(id=uid, name=f"n{uid}")
    entries = [
        LibraryEntry(uid, str(a), status, progress=progress, rating_twenty=rating)  # type: ignore[arg-type]
        for a, status, progress, rating in items
    ]
    anime = {
        "1": Anime(id="1", title="Show", subtype="TV", episode_count=12),
        "2": Anime(id="2", title="Film", subtype="movie", episode_count=1),
        "3": Anime(id="3", title="Long", subtype="TV", episode_count=100),
    }
    favorites = [Favorite(uid, str(a), fav_rank=i) for i, a in enumerate([1, 2, 3][:favs], 1)]
    return Library(user, entries, favorites, anime)


def test_stats_on_hand_built_cache(cache: Cache) -> None:
    # "10": watched 12 TV eps (rated) + a movie with no progress but completed -> 12*24 + 90
    cache.save_library(
        _lib("10", [(1, "completed", 12, 16), (2, "completed", None, None)], favs=1),
        synced_at="t",
    )
    # "11": planned only -> zero minutes, zero ratings
    cache.save_library(_lib("11", [(3, "planned", None, None)]), synced_at="t")
    # "12": 100 episodes dropped at 50, rated twice
    cache.save_library(
        _lib("12", [(3, "dropped", 50, 4), (1, "current", 3, 10), (2, "on_hold", 0, None)]),
        synced_at="t",
    )
    # A sample user and a user seen only in search results (no library: not counted).
    sample = User(id="sample:x", name="sample-x")
    cache.save_library(
        Library(sample, [LibraryEntry("sample:x", "1", "completed", progress=12)], [], {}),
        synced_at="t",
        source="sample",
    )
    cache.save_users([User(id="99", name="searched")])

    data = population_stats(cache).to_json()
    assert data["users"] == 4 and data["kitsu_users"] == 3 and data["sample_users"] == 1
    assert data["anime"] == 3
    assert data["entries"] == 7
    assert data["rated_entries"] == 3 and data["favorites"] == 1
    assert data["status_counts"] == {
        "completed": 3,
        "current": 1,
        "planned": 1,
        "on_hold": 1,
        "dropped": 1,
    }
    assert list(data["status_counts"]) == ["completed", "current", "planned", "on_hold", "dropped"]
    sizes = data["library_sizes"]
    assert sizes["min"] == 1 and sizes["max"] == 3 and sizes["median"] == 1.5
    assert sizes["mean"] == 1.75
    hist = data["library_size_histogram"]
    assert hist["1-9"] == 4 and sum(hist.values()) == 4 and hist["0"] == 0

    seg = data["activity_segments"]
    assert sum(s["users"] for s in seg.values()) == 4
    # scores: u10 = log1p(12*24 + 90 + 1.25 + 1.5); u11 = 0; u12 = log1p(53*24 + 2.5);
    # sample = log1p(288). Ranked: u11 < sample < u10 < u12.
    assert seg["low"]["score_min"] == 0.0
    assert seg["high"]["score_max"] == pytest.approx(round(math.log1p(53 * 24 + 2.5), 3))
    assert seg["high"]["users"] >= 1 and seg["low"]["users"] >= 1
    assert seg["high"]["median_hours"] == pytest.approx(round(53 * 24 / 60, 1))


def test_stats_on_empty_cache(cache: Cache) -> None:
    data = population_stats(cache).to_json()
    assert data["users"] == 0 and data["entries"] == 0 and data["anime"] == 0
    assert set(data["status_counts"].values()) == {0}
    assert data["library_sizes"] == {} and data["activity_segments"] == {}


def test_tertiles_with_ties_are_three_segments(cache: Cache) -> None:
    for i in range(9):
        cache.save_library(_lib(str(i), [(1, "planned", None, None)]), synced_at="t")
    seg = population_stats(cache).to_json()["activity_segments"]
    assert [seg[k]["users"] for k in ("low", "medium", "high")] == [3, 3, 3]
