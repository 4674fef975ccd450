"""The recommend pipeline a fan steers (issue 14): franchises grouped from Kitsu's relations,
honest reasons, filters, the niche dial, hidden anime and liked picks, empty libraries.

The bundled sample has no relations offline, so the module's cache gets the fake Kitsu's demo
franchises (derived from the sample's own titles: demo data, not Kitsu's) fetched through the
real client (:meth:`Core.ensure_relations`), and a small ALS model (grouping does not depend on
the model's quality; the default model is measured by ``bench/evaluate.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import closed_port_url
from helpers.population import R18_ANIME_ID, build_small_dataset

from animerec_tui.core.cache.airing import airing_statuses
from animerec_tui.core.cache.hidden import hide
from animerec_tui.core.cache.picks import like, liked, unlike
from animerec_tui.core.cache.relations import load_relations, relations_known
from animerec_tui.core.errors import BadInput, NotCached
from animerec_tui.core.recommend import service
from animerec_tui.core.recommend.filters import RecommendFilters
from animerec_tui.core.recommend.franchise import (
    NO_RELATIONS_NOTICE,
    Franchises,
    chronological_key,
)
from animerec_tui.core.recommend.pipeline import EMPTY_NOTICE, franchises_for
from animerec_tui.core.records import Library, User
from animerec_tui.core.services import Core
from animerec_tui.core.settings import ModelParams, NetworkSettings, Settings
from animerec_tui.fakekitsu import FakeKitsu
from animerec_tui.fakekitsu.dataset import add_demo_franchises, demo_dataset

FAST = NetworkSettings(backoff_base=0.01, backoff_max=0.02, max_attempts=2, timeout=10.0)
SMALL = ModelParams(factors=16, iterations=3)


@dataclass
class World:
    core: Core
    loaded: service.LoadedModel
    users: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The sample population, the demo franchises fetched from the fake, a small ALS model."""
    ds = demo_dataset(users=0, anime=5000)
    with FakeKitsu(ds, latency=0.0) as kitsu:
        settings = Settings(
            cache_dir=tmp_path_factory.mktemp("discovery"), api_url=kitsu.url, network=FAST
        )
        core = Core.open(settings)
        ids = list(core.cache.all_anime())
        assert asyncio.run(core.ensure_relations(ids, hops=1)) == len(ids)
    core.settings = Settings(cache_dir=settings.cache_dir, offline=True)
    service.train(core.cache, core.settings, model="als", params=SMALL)
    loaded = service.load(core.cache, core.settings, "als")
    users = sorted(u for u in loaded.user_index if u.startswith("sample:"))[::8][:80]
    try:
        yield World(core, loaded, users)
    finally:
        core.close()


def _franchises(w: World) -> Franchises:
    return franchises_for(w.core.cache, [str(int(a)) for a in w.loaded.anime_ids.tolist()])


def _recommend(w: World, user: str, **kwargs: Any) -> service.Recommendations:
    return service.recommend(w.core.cache, w.core.settings, user, model=w.loaded, **kwargs)


def test_no_top10_holds_two_entries_of_a_franchise_or_an_unstarted_later_entry(
    world: World,
) -> None:
    cache = world.core.cache
    franchises = _franchises(world)
    assert franchises.known and franchises.members  # the demo relations are in the cache
    model_ids = {str(int(a)) for a in world.loaded.anime_ids.tolist()}
    grouped_rows = continued = 0
    for user in world.users:
        recs = _recommend(world, user, n=10)
        assert recs.grouped and recs.relations_notice is None
        lib = cache.library(user)
        assert lib is not None
        seen = {e.anime_id for e in lib.entries} | {f.anime_id for f in lib.favorites}
        keys = [franchises.key(r.anime_id) for r in recs]
        assert len(keys) == len(set(keys)), f"{user}: two entries of one franchise"
        for r in recs:
            members = franchises.of(r.anime_id)
            assert r.franchise[0] == r.anime_id and set(r.franchise) == set(members)
            assert not seen & set(members), f"{user}: {r.title} continues a started franchise"
            dates = {a: rec.start_date for a, rec in cache.get_anime(members).items()}
            mine = chronological_key(r.anime_id, dates.get(r.anime_id))
            earlier = [m for m in members if chronological_key(m, dates.get(m)) < mine]
            # an earlier entry is shown instead unless it cannot be recommended at all
            blocked = [m for m in earlier if m in model_ids and not cache.get_anime([m])[m].adult]
            assert not blocked, (user, r.anime_id, r.franchise, blocked)
            grouped_rows += len(members) > 1
        for r in recs.continued:
            assert seen & set(franchises.of(r.anime_id)) and r.anime_id not in seen
            continued += 1
    assert grouped_rows and continued  # the check saw franchises on both sides


def test_all_entries_turns_grouping_off_and_keeps_the_franchise_field(world: World) -> None:
    user = world.users[0]
    flat = _recommend(world, user, n=30, all_entries=True)
    assert not flat.grouped and flat.continued == [] and flat.relations_notice is None
    franchises = _franchises(world)
    assert all(set(r.franchise) == set(franchises.of(r.anime_id)) for r in flat)


def test_honest_reasons_name_only_watched_titles_outside_the_franchise(world: World) -> None:
    cache = world.core.cache
    franchises = _franchises(world)
    named = 0
    for user in world.users[:20]:
        lib = cache.library(user)
        assert lib is not None
        rating = {e.anime_id: e.rating_twenty for e in lib.entries}
        watched = {e.anime_id for e in lib.entries if e.status in ("completed", "current")}
        ok = watched | {f.anime_id for f in lib.favorites}
        title_of = {a.display_title: a.id for a in lib.anime.values()}
        for r in _recommend(world, user, n=10):
            ids = {title_of[t] for t in r.because}
            assert ids <= ok
            assert not ids & set(franchises.of(r.anime_id))
            assert all((rating.get(a) or 20) >= 12 for a in ids)
            assert bool(r.because) == bool(r.how)
            named += bool(r.because)
    assert named


def test_hidden_anime_and_their_franchise_are_never_recommended(world: World) -> None:
    cache = world.core.cache
    user = world.users[1]
    franchises = _franchises(world)
    before = _recommend(world, user, n=10)
    one = next(r for r in before if len(r.franchise) == 1)
    family = next(r for r in before if len(r.franchise) > 1)
    hide(cache, user, [one.anime_id])
    hide(cache, user, [family.franchise[-1]], with_franchise=True)  # any member hides them all
    after = _recommend(world, user, n=10, all_entries=True)
    shown = {r.anime_id for r in after} | {r.anime_id for r in after.continued}
    assert one.anime_id not in shown
    assert not shown & set(franchises.of(family.anime_id))
    assert len(after) == 10  # the rest re-ranked up


def test_liked_picks_make_an_empty_library_personal(world: World) -> None:
    cache = world.core.cache
    user = User(id="424242", name="fresh")
    cache.save_library(Library(user, [], [], {}), synced_at="2026-01-01T00:00:00Z")
    empty = _recommend(world, user.id, n=10)
    assert empty.fallback == "popularity" and empty.notice == EMPTY_NOTICE
    assert all(r.because == [] and r.how == "" for r in empty)
    assert all(r.match is not None and 0 <= r.match <= 100 for r in empty)
    picks = [r.anime_id for r in empty[:3]]
    assert like(cache, user.id, picks) == 3 and like(cache, user.id, picks) == 0
    personal = _recommend(world, user.id, n=10)
    assert personal.fallback is None and "first guess" in (personal.notice or "")
    assert not {r.anime_id for r in personal} & set(picks)
    titles = {a.display_title for a in cache.get_anime(picks).values()}
    assert any(r.because for r in personal) and all(set(r.because) <= titles for r in personal)
    matches = [r.match for r in personal]
    assert all(m is not None for m in matches) and matches == sorted(matches, reverse=True)
    assert [r.anime_id for r in personal] != [r.anime_id for r in empty[3:13]]
    assert unlike(cache, user.id, picks[:1]) == 1 and len(liked(cache, user.id)) == 2


def test_picks_need_a_cached_user_and_digit_ids(world: World) -> None:
    with pytest.raises(NotCached):
        like(world.core.cache, "no-such-user", ["1"])
    with pytest.raises(BadInput):
        like(world.core.cache, world.users[0], ["one"])


def test_filters_narrow_and_say_what_unknown_data_left_out(world: World) -> None:
    user = world.users[2]
    anime = world.core.cache.all_anime()
    comedy = RecommendFilters.parse(genres=["comedy"], exclude_genres=["Romance"])
    recs = _recommend(world, user, n=10, filters=comedy, all_entries=True)
    assert len(recs) == 10
    for r in recs:
        genres = {g.casefold() for g in anime[r.anime_id].genres}
        assert "comedy" in genres and "romance" not in genres
    movies = _recommend(world, user, n=10, filters=RecommendFilters.parse(subtypes=["Movie"]))
    assert movies and all(anime[r.anime_id].subtype == "movie" for r in movies)
    # the sample's anime have no airing status: a --status filter passes none and says so
    airing = _recommend(world, user, n=10, filters=RecommendFilters.parse(statuses=["airing"]))
    known = airing_statuses(world.core.cache, [r.anime_id for r in airing])
    assert all(known[r.anime_id] == "current" for r in airing)
    assert "airing status is not known yet" in (airing.filters_notice or "")


def test_the_niche_dial_moves_the_list_toward_less_listed_anime(world: World) -> None:
    user = world.users[3]
    counts = world.loaded.item_counts
    assert counts is not None
    col = {str(int(a)): i for i, a in enumerate(world.loaded.anime_ids.tolist())}

    def mean_listed(niche: float) -> float:
        recs = _recommend(world, user, n=10, niche=niche, all_entries=True)
        return sum(float(counts[col[r.anime_id]]) for r in recs) / len(recs)

    assert mean_listed(1.0) < mean_listed(0.5) < mean_listed(0.0)
    with pytest.raises(ValueError):
        _recommend(world, user, niche=1.5)


# -- fetching relations -----------------------------------------------------------------------


def test_ensure_relations_drops_adult_destinations_and_stores_status(tmp_path: Path) -> None:
    ds = build_small_dataset()
    add_demo_franchises(ds)
    ds.link("1", R18_ANIME_ID, "side_story", "parent_story")  # Kitsu relates R18 anime too
    with FakeKitsu(ds, latency=0.0) as kitsu:
        core = Core.open(Settings(cache_dir=tmp_path, api_url=kitsu.url, network=FAST))
        try:
            asyncio.run(core.fetch("1001"))
            lib = core.cache.library("1001")
            assert lib is not None
            ids = [e.anime_id for e in lib.entries] + ["1"]
            assert asyncio.run(core.ensure_relations(ids, statuses=True)) >= len(ids)
            assert asyncio.run(core.ensure_relations(ids)) == 0  # all known: nothing asked
            edges = load_relations(core.cache)
            assert edges and all(R18_ANIME_ID not in (e.source_id, e.destination_id) for e in edges)
            assert R18_ANIME_ID not in core.cache.get_anime([R18_ANIME_ID])
            statuses = airing_statuses(core.cache, ids)
            want = {a: ds.anime[a]["status"] for a in ids}
            assert statuses == want
        finally:
            core.close()


def test_ensure_relations_with_kitsu_unreachable_returns_0(tmp_path: Path) -> None:
    core = Core.open(Settings(cache_dir=tmp_path, api_url=closed_port_url(), network=FAST))
    try:
        assert asyncio.run(core.ensure_relations(["1", "2"])) == 0
        assert relations_known(core.cache, ["1", "2"]) == set()
        assert core.offline  # the cool-down started, as for any action
    finally:
        core.close()


def test_describe_keeps_kitsu_categories_as_genres(tmp_path: Path) -> None:
    ds = build_small_dataset()
    with FakeKitsu(ds, latency=0.0) as kitsu:
        core = Core.open(Settings(cache_dir=tmp_path, api_url=kitsu.url, network=FAST))
        try:
            assert asyncio.run(core.describe(["1", "2"])) == 2
            got = core.cache.get_anime(["1", "2"])
            for a in ("1", "2"):
                titles = {ds.categories[c]["title"] for c in ds.anime[a]["categoryIds"]}
                assert set(got[a].genres) == titles
            assert airing_statuses(core.cache, ["1"]) == {"1": ds.anime["1"]["status"]}
        finally:
            core.close()


def test_no_relation_data_is_said_and_nothing_grouped(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path, offline=True)
    core = Core.open(settings)
    try:
        service.train(core.cache, settings, model="als", params=SMALL)
        user = sorted(core.cache.cached_user_ids())[0]
        loaded = service.load(core.cache, settings, "als")
        recs = service.recommend(core.cache, settings, user, n=5, model=loaded)
        assert not recs.grouped and recs.relations_notice == NO_RELATIONS_NOTICE
        assert all(r.franchise == [r.anime_id] for r in recs)
    finally:
        core.close()


def test_evaluate_reports_recall_with_franchises_grouped(world: World, tmp_path: Path) -> None:
    from animerec_tui.core.recommend.evaluate import evaluate

    report = evaluate(world.core.cache, world.core.settings, models=("als",), params=SMALL)
    g = report.grouping
    assert g is not None and g.model == "als" and g.relations == g.anime
    assert g.recall_ungrouped == pytest.approx(report.model("als").recall)
    assert 0 < g.recall_grouped <= 1 and 0 < g.coverage_grouped <= 1
    assert "grouped" in report.markdown() and report.to_json()["grouping"]["users"] == g.users
    bare = Core.open(Settings(cache_dir=tmp_path, offline=True))
    try:  # the bundled sample alone has no relation data: nothing to group by
        assert evaluate(bare.cache, bare.settings, models=("popularity",)).grouping is None
    finally:
        bare.close()


def test_the_list_after_hiding_is_the_re_rank_or_none(world: World) -> None:
    """``x`` in the app shows :func:`.hiding.list_after_hiding` at once: whenever it answers,
    its answer is exactly the list the re-rank gives (ranks renumbered, the next row moved
    up, the same reasons); a franchise member, a planned title or a niche list is left to the
    re-rank."""
    from animerec_tui.core.cache.hidden import unhide
    from animerec_tui.core.recommend.hiding import SPARE, list_after_hiding

    cache, n = world.core.cache, 20
    answered = refused = 0
    for user in world.users[20:30]:
        listed = _recommend(world, user, n=n + SPARE)
        shown, spare = list(listed[:n]), list(listed[n:])
        library = {e.anime_id for e in cache.library(user).entries}  # type: ignore[union-attr]
        for row in (0, 7, n - 1):
            gone = shown[row]
            quick = list_after_hiding(shown, spare, gone.anime_id, library)
            if len(gone.franchise) > 1:
                assert quick is None
                refused += 1
                continue
            assert quick is not None
            hide(cache, user, [gone.anime_id])
            try:
                again = _recommend(world, user, n=n + SPARE)
            finally:
                unhide(cache, user, [gone.anime_id])
            assert quick[0] == list(again[:n])
            assert quick[1] == list(again[n : n + SPARE - 1])
            assert [r.rank for r in quick[0]] == list(range(1, n + 1))
            answered += 1
    assert answered >= 5 and refused >= 5  # both kinds were met
    listed = _recommend(world, world.users[20], n=n + SPARE)
    shown, spare = list(listed[:n]), list(listed[n:])
    single = next(r.anime_id for r in shown if len(r.franchise) == 1)
    assert list_after_hiding(shown, spare, single, set()) is not None
    # a shown title in the library (planned, when planned titles are let through): hiding it
    # changes the user's row, so only a re-rank knows; nor without a spare row, nor off-list
    assert list_after_hiding(shown, spare, single, {single}) is None
    assert list_after_hiding(shown, [], single, set()) is None
    assert list_after_hiding(shown, spare, "0", set()) is None
    # the niche dial re-ranks by rank: every rank below the hidden anime moves
    assert list_after_hiding(shown, spare, single, set(), niche=0.5) is None
