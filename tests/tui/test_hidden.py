"""The app's side of issue 11: hidden adult titles in the library, described anime in the
detail pane, and what the model learned from on the recommendations screen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.tui import SIZE, make_app, sample_query, settings_for, settle, wait_until
from textual.widgets import DataTable, Label, Static

from animerec_tui.core.records import Anime, Library, LibraryEntry, User, WithheldEntry
from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu
from animerec_tui.fakekitsu.dataset import sample_catalogue


@pytest.fixture(scope="module")
def kitsu() -> Iterator[FakeKitsu]:
    ds = Dataset(seed=9)
    ds.add_catalogue(sample_catalogue(10_000))
    for record in ds.anime.values():
        record.update(ageRating="PG", nsfw=False)
    with FakeKitsu(ds) as server:
        yield server


async def test_library_screen_says_how_many_titles_are_hidden(
    seeded_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.tui.screens.library import LibraryScreen

    core = open_core(settings_for(seeded_dir))
    user = User(id="4242", name="fan")
    core.cache.save_library(
        Library(
            user,
            [LibraryEntry("4242", "1", "completed", id="e1")],
            [],
            {"1": Anime(id="1", title="Cowboy Bebop")},
            withheld=[
                WithheldEntry("4242", "e2", "completed"),
                WithheldEntry("4242", "e3", "planned", anime_id="77777"),
            ],
            withheld_anime={"77777"},
        ),
        synced_at="2026-01-01T00:00:00Z",
    )
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(LibraryScreen(app.session, user))
        await wait_until(pilot, lambda: app.screen.library is not None, what="library")  # type: ignore[attr-defined]
        await settle(pilot)
        assert app.screen.query_one("#entries", DataTable).row_count == 1
        line = str(app.screen.query_one("#library-status-line", Label).render())
        assert "2 hidden adult titles" in line
        assert "anime 77777" not in line


async def test_detail_pane_is_described_from_kitsu_and_origin_is_said(
    trained_dir: Path, open_core: Callable[[Settings], Core], kitsu: FakeKitsu
) -> None:
    from animerec_tui.core.recommend import service
    from animerec_tui.tui.screens.recommendations import RecommendationsScreen

    core = open_core(settings_for(trained_dir, offline=False, api_url=kitsu.url))
    user = core.cache.get_user(sample_query(core))
    assert user is not None
    model = service.load(core.cache, core.settings)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(RecommendationsScreen(app.session, user, model))
        screen = app.screen
        await wait_until(pilot, lambda: bool(screen.recs), what="recommendations")  # type: ignore[attr-defined]
        await wait_until(
            pilot,
            lambda: "https://kitsu.app/anime/" in str(screen.query_one("#detail", Static).render()),
            timeout=30,
            what="described detail pane",
        )
        await settle(pilot)
        first = screen.recs[0]  # type: ignore[attr-defined]
        record = kitsu.dataset.anime[first.anime_id]
        detail = str(screen.query_one("#detail", Static).render())
        assert record["slug"] in detail and record["synopsis"] in detail
        origin = str(screen.query_one("#recs-origin", Label).render())
        assert "756 sample users (2016 MyAnimeList lists) + 0 Kitsu users" in origin
        assert "c crawls 50 Kitsu users" in origin


async def test_a_kitsu_user_on_the_sample_alone_is_offered_the_crawl_around_them(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    """The user's own fetched library does not make the population more than the 2016 sample:
    the recommendations screen still offers the crawl, around this user."""
    from animerec_tui.core.recommend import service
    from animerec_tui.tui.screens.recommendations import RecommendationsScreen

    core = open_core(settings_for(trained_dir))
    user = User(id="4242", name="fan")
    entries = [LibraryEntry("4242", aid, "completed", id=f"e{aid}") for aid in ("1", "5", "6")]
    core.cache.save_library(
        Library(user, entries, [], {}), synced_at="2026-01-01T00:00:00Z", source="kitsu"
    )
    model = service.load(core.cache, core.settings)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(RecommendationsScreen(app.session, user, model))
        screen = app.screen
        await wait_until(pilot, lambda: screen.origin is not None, what="origin")  # type: ignore[attr-defined]
        await settle(pilot)
        origin = str(screen.query_one("#recs-origin", Label).render())
        assert "+ 1 Kitsu users (you included)" in origin
        assert "c crawls 50 Kitsu users around fan" in origin
