"""Similar anime: cosine of ALS item factors over a clustered population, franchises grouped.

The population (``helpers.clusters``) has four clusters of 30 anime (ids 1-30, 31-60, ...)
that users watch within, plus ten popular anime (1000-1009) everyone watches: anime of one
cluster are the ones the factors should call similar. Every 29th anime is R18, every 4th a
movie.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.clusters import FAST, PER_CLUSTER, populate

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.relations import save_relations
from animerec_tui.core.errors import AnimerecError
from animerec_tui.core.kitsu.relations import Relation
from animerec_tui.core.recommend import service
from animerec_tui.core.recommend.filters import RecommendFilters
from animerec_tui.core.recommend.similar import (
    NO_RELATIONS,
    AnimeNotFound,
    NotInModel,
    item_vectors,
    refreshed,
    similar,
)
from animerec_tui.core.records import Anime
from animerec_tui.core.settings import Settings

STAMP = "2026-01-01T00:00:00Z"


def _cluster(anime_id: str) -> int:
    return (int(anime_id) - 1) // PER_CLUSTER


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(cache_dir=tmp_path / "cache")


@pytest.fixture
def cache(settings: Settings) -> Cache:
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    settings.model_dir.mkdir(exist_ok=True)
    with Cache(settings.db_path) as c:
        populate(c)
        yield c


@pytest.fixture
def loaded(cache: Cache, settings: Settings) -> service.LoadedModel:
    service.train(cache, settings, model="blend", params=FAST)
    return service.load(cache, settings, "blend")


def _link(cache: Cache, pairs: list[tuple[str, str]]) -> None:
    """Sequel/prequel pairs, stored both ways (as Kitsu stores them), every source fetched."""
    relations = [Relation(a, b, "sequel") for a, b in pairs]
    relations += [Relation(b, a, "prequel") for a, b in pairs]
    sources = {r.source_id for r in relations}
    save_relations(cache, sources, relations, fetched_at=STAMP)


def test_nearest_anime_are_the_same_clusters(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    for anime_id in ("5", "40", "100"):
        result = similar(cache, settings, anime_id, 5, model=loaded)
        assert result.anime.id == anime_id
        assert len(result.rows) == 5
        assert all(_cluster(r.anime_id) == _cluster(anime_id) for r in result.rows), result.rows
        scores = [r.score for r in result.rows]
        assert scores == sorted(scores, reverse=True)
        assert all(-1.0 <= s <= 1.0 for s in scores)
        assert [r.rank for r in result.rows] == [1, 2, 3, 4, 5]
        assert anime_id not in {r.anime_id for r in result.rows}


def test_same_answer_every_time(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    first = similar(cache, settings, "7", 10, model=loaded)
    again = similar(cache, settings, "7", 10, model=loaded)
    assert [(r.anime_id, r.score) for r in first.rows] == [
        (r.anime_id, r.score) for r in again.rows
    ]


def test_adult_anime_never_shown(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    result = similar(cache, settings, "1", 200, model=loaded)  # every candidate
    shown = {m for r in result.rows for m in r.franchise}
    assert shown and not any(int(a) % 29 == 0 for a in shown)
    assert "30" in shown  # not adult, same cluster: the mask is not over-eager


def test_filters_narrow_the_list(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    movies = RecommendFilters.parse(subtypes=["Movie"])
    result = similar(cache, settings, "2", 10, filters=movies, model=loaded)
    assert result.rows
    assert all(r.anime is not None and r.anime.subtype == "movie" for r in result.rows)
    assert all(int(r.anime_id) % 4 == 0 for r in result.rows)


def test_own_franchise_listed_apart_not_in_rows(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    before = similar(cache, settings, "3", 10, model=loaded)
    assert before.notice == NO_RELATIONS and before.franchise == []
    mate = before.rows[0].anime_id  # its most similar anime becomes its sequel
    _link(cache, [("3", mate)])
    after = similar(cache, settings, "3", 10, model=loaded)
    assert after.franchise == [mate]
    assert mate not in {m for r in after.rows for m in r.franchise}
    assert after.notice == NO_RELATIONS  # the candidates' relations are still unknown
    save_relations(cache, [r.anime_id for r in after.rows], [], fetched_at=STAMP)  # none
    assert similar(cache, settings, "3", 10, model=loaded).notice is None


def test_a_franchise_appears_once_as_its_entry_point(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    before = similar(cache, settings, "10", 10, model=loaded)
    top, other = before.rows[0].anime_id, before.rows[3].anime_id
    first, second = sorted((top, other), key=int)  # undated: the lower Kitsu id comes first
    _link(cache, [(first, second)])
    after = similar(cache, settings, "10", 10, model=loaded)
    rows = [r for r in after.rows if {top, other} & set(r.franchise)]
    assert len(rows) == 1
    row = rows[0]
    assert row.anime_id == first and row.franchise == [first, second]
    assert row.rank == 1 and row.score == pytest.approx(before.rows[0].score)
    assert len(after.rows) == 10  # the freed slot is filled by the next anime


def test_entry_point_below_the_pool_still_fronts_its_franchise(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    """A franchise's first entry ranking far below the cut (another cluster) still fronts
    the row of its most similar member."""
    before = similar(cache, settings, "20", 3, model=loaded)
    top = before.rows[0].anime_id
    far = "91"  # cluster 3, unlike anime 20 (cluster 0): far below the candidate pool
    earlier = Anime(id=far, title="Anime 91", subtype="TV", start_date="1990-04-01")
    cache.describe_anime([earlier], described_at=STAMP)  # dated: it comes first
    _link(cache, [(far, top)])
    after = similar(cache, settings, "20", 3, model=loaded)
    row = after.rows[0]
    assert row.anime_id == far and row.franchise == [far, top]
    assert row.score == pytest.approx(before.rows[0].score)


def test_unknown_anime_is_bad_input(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    with pytest.raises(AnimeNotFound) as info:
        similar(cache, settings, "424242", model=loaded)
    assert info.value.exit_code == 2


def test_anime_no_user_lists_is_a_failure_not_bad_input(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    cache.describe_anime([Anime(id="5555", title="Nobody Watched This")], described_at=STAMP)
    with pytest.raises(NotInModel) as info:
        similar(cache, settings, "5555", model=loaded)
    assert info.value.exit_code == 1
    assert "Nobody Watched This" in str(info.value) and "\n" not in str(info.value)


def test_a_model_without_item_factors_says_so(cache: Cache, settings: Settings) -> None:
    service.train(cache, settings, model="ease", params=FAST)
    ease = service.load(cache, settings, "ease")
    with pytest.raises(AnimerecError, match="item factors"):
        item_vectors(ease.model)
    with pytest.raises(AnimerecError, match="item factors"):
        similar(cache, settings, "1", model=ease)


def test_refreshed_drops_anime_kitsu_turned_out_to_hide(
    cache: Cache, settings: Settings, loaded: service.LoadedModel
) -> None:
    result = similar(cache, settings, "33", 6, model=loaded)
    gone = result.rows[1].anime_id
    cache.withhold_anime([gone])
    shown = refreshed(result, cache, 4)
    assert gone not in {r.anime_id for r in shown.rows}
    assert [r.rank for r in shown.rows] == [1, 2, 3, 4]
    assert [r.anime_id for r in shown.rows] == [
        r.anime_id for r in result.rows if r.anime_id != gone
    ][:4]
