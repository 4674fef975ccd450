"""The whole TUI flow through Pilot, against the fake Kitsu server over real HTTP.

Search -> Enter -> fetch (progress modal) -> train (progress modal) -> recommendations, with
the same top title the core's ``recommend`` gives; a Kitsu answering 503s; cancel keeps the
cache intact; keys stay answered while training runs.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.tui import (
    HOSTILE_NAME,
    HOSTILE_TITLE,
    SIZE,
    cell_texts,
    make_app,
    recommendations_listed,
    sample_query,
    search,
    settings_for,
    settle,
    shown_strips,
    wait_for_screen,
    wait_until,
)
from textual import events
from textual.widgets import DataTable

from animerec_tui.core.services import Core
from animerec_tui.core.settings import CrawlSettings, ModelParams, Settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu, Faults
from animerec_tui.tui.widgets.banner import OfflineBanner


def screen_text(app: object) -> str:
    """What the terminal shows, as plain text (from Textual's SVG export)."""
    svg = app.export_screenshot()  # type: ignore[attr-defined]
    spans = re.findall(r"<text [^>]*>(.*?)</text>", svg)
    return html.unescape("".join(spans)).replace("\xa0", " ")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    ds = Dataset(seed=0)
    ds.add_anime(n=1500)
    ds.add_anime_record("99999", canonicalTitle=HOSTILE_TITLE, titles={"en": HOSTILE_TITLE})
    ds.add_user(id="1001", name="alice", slug="alice", entries=500, favorites=10)
    ds.add_user(id="1002", name="alicia", slug="alicia", entries=30, favorites=1)
    ds.add_user(id="1004", name=HOSTILE_NAME, slug="mallory", entries=40, favorites=2)
    ds.give_anime(user_id="1004", anime_id="99999")
    for i in range(8):  # people a crawl around alice can find
        ds.add_user(id=str(2000 + i), name=f"viewer{i}", slug=f"viewer{i}", entries=60)
    return ds


@pytest.fixture
def kitsu(dataset: Dataset) -> Iterator[FakeKitsu]:
    with FakeKitsu(dataset, latency=0.0) as server:
        yield server


@pytest.fixture
def online(seeded_dir: Path, kitsu: FakeKitsu, open_core: Callable[[Settings], Core]) -> Core:
    crawl = CrawlSettings(concurrency=4, requests_per_second=200.0)
    return open_core(settings_for(seeded_dir, offline=False, api_url=kitsu.url, crawl=crawl))


async def test_search_fetch_train_recommend(online: Core) -> None:
    from animerec_tui.core.recommend import service

    app = make_app(online)
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.id == "search"
        assert app.focused is not None and app.focused.id == "query"
        assert online.cache.sync_state("1001") is None
        await search(pilot, "alice")
        results = app.screen.query_one("#results", DataTable)
        assert "1001" in [str(k.value) for k in results.rows]
        assert app.focused is results  # a second Enter opens the highlighted user
        results.move_cursor(row=results.get_row_index("1001"))
        await pilot.press("enter")
        await recommendations_listed(pilot)
        # alice was not cached: her library was downloaded (through the fetch modal)
        assert online.cache.sync_state("1001").entry_count == 500
        assert app.session.model is not None  # no saved model existed: one was trained on the way
        table = app.screen.query_one("#recs", DataTable)
        assert table.row_count >= 10
        assert table.cursor_row == 0
        assert app.focused is table
        expected = service.recommend(
            online.cache, online.settings, "1001", n=10, model=app.session.model
        )
        shown = cell_texts(table, "title")
        assert shown[0].startswith(expected[0].title)
        detail = str(app.screen.query_one("#detail").render())
        assert expected[0].title in detail


async def test_kitsu_503s_offline_banner_and_sample_users_still_work(
    online: Core, kitsu: FakeKitsu
) -> None:
    kitsu.faults = Faults(rate=1.0, kinds=("503",))
    app = make_app(online)
    async with app.run_test(size=SIZE) as pilot:
        banner = app.screen.query_one(OfflineBanner)
        assert not banner.display
        await search(pilot, "alice")
        assert app.offline
        assert banner.display
        # the search itself falls back to the cache, and says so where the user looks
        status = str(app.screen.query_one("#search-status").render())
        assert "in the cache (offline)" in status, status
        assert "Kitsu cannot be reached" in str(banner.render()), banner.render()
        # an uncached Kitsu user cannot be opened, but the app carries on
        await search(pilot, sample_query(online))
        table = app.screen.query_one("#results", DataTable)
        assert table.row_count >= 1
        await pilot.press("enter")
        await recommendations_listed(pilot)  # from the cache: no rows would never settle
        assert app.screen.query_one(OfflineBanner).display


async def test_uncached_user_while_kitsu_is_down_is_a_notification(
    online: Core, kitsu: FakeKitsu
) -> None:
    from animerec_tui.core.records import User

    kitsu.faults = Faults(rate=1.0, kinds=("503",))
    app = make_app(online)
    async with app.run_test(size=SIZE) as pilot:
        app.open(User(id="1001", name="alice", slug="alice"))
        await settle(pilot)
        await pilot.pause(0.2)
        assert app.screen.id == "search"
        messages = app.messages()
        assert any("Kitsu" in m for m in messages), messages
        assert online.cache.sync_state("1001") is None


async def test_escape_cancels_fetch_and_leaves_cache_intact(
    seeded_dir: Path, dataset: Dataset, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.records import User

    with FakeKitsu(dataset, latency=0.25) as slow:
        core = open_core(settings_for(seeded_dir, offline=False, api_url=slow.url))
        before = core.cache.fingerprint()
        app = make_app(core)
        async with app.run_test(size=SIZE) as pilot:
            app.open(User(id="1001", name="alice", slug="alice"))
            await wait_for_screen(pilot, "fetch")
            await pilot.pause(0.3)
            started = time.perf_counter()
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen.id == "search", timeout=5)
            assert time.perf_counter() - started < 2
            await settle(pilot)
        assert core.cache.sync_state("1001") is None
        assert core.cache.fingerprint() == before


async def test_hostile_strings_render_literally(online: Core) -> None:
    app = make_app(online)
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "mallory")
        table = app.screen.query_one("#results", DataTable)
        names = cell_texts(table, "user")
        assert "[bold]mallory[/bold] \\x1b[31m" in names  # escape spelled out, markup literal
        assert "[bold]mallory[/bold] \\x1b[31m" in screen_text(app)
        table.move_cursor(row=table.get_row_index("1004"))
        await pilot.press("enter")
        await recommendations_listed(pilot)
        await pilot.press("f2")
        await wait_for_screen(pilot, "library")
        await settle(pilot)
        entries = app.screen.query_one("#entries", DataTable)
        assert HOSTILE_TITLE in cell_texts(entries, "title")
        entries.move_cursor(row=entries.get_row_index("99999"))
        await pilot.pause()
        shown = screen_text(app)
        assert "[link=https://evil.example]" in shown  # literally, not turned into a link
        links = [seg.style.link for strip in shown_strips(app) for seg in strip if seg.style]
        assert not any(links), links  # the title's link markup made no terminal link


async def test_keys_answered_while_training(
    seeded_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    """Keys keep working while ALS runs in a thread worker (the UI is never frozen).

    ``pilot.press`` waits for the app to go idle, which never happens while progress keeps
    arriving, so the key is posted directly and its effect polled. How fast the answer comes
    is measured by ``bench/responsiveness.py``, not here (timed tests flake on a shared machine).
    """
    core = open_core(settings_for(seeded_dir, model=ModelParams(factors=64, iterations=400)))
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for_screen(pilot, "train")
        await wait_until(pilot, lambda: not app.screen.query_one("#param-factors").disabled)
        await pilot.press("ctrl+t")
        bar = app.screen.query_one("#train-bar")
        await wait_until(pilot, lambda: (bar.progress or 0) >= 1, timeout=30, what="training")
        for _ in range(10):
            before = app.focused
            app.post_message(events.Key("tab", None))
            await wait_until(pilot, lambda before=before: app.focused is not before, what="key")
        assert app.screen.running  # type: ignore[attr-defined]  # answered during training
        assert (bar.progress or 0) < 400
        app.post_message(events.Key("escape", None))  # cancels; the modal stays for new params
        await wait_until(pilot, lambda: not app.screen.running, timeout=30, what="cancel")  # type: ignore[attr-defined]
        assert app.screen.id == "train"
        messages = app.messages()
        assert any("cancelled" in m for m in messages), messages
        await pilot.press("escape")
        await wait_for_screen(pilot, "search")


async def test_crawl_from_population_screen(online: Core) -> None:
    """Crawl around the current user (alice): other Kitsu users who list her anime get cached."""
    await online.fetch("1001")
    before = len(online.cache.cached_user_ids())
    app = make_app(online, crawl_users=3)
    app.session.current_user = online.cache.get_user("1001")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for_screen(pilot, "population")
        await wait_until(pilot, lambda: app.screen.stats is not None)  # type: ignore[attr-defined]
        await pilot.press("c")  # the crawl modal comes and goes (fast fake server)
        await wait_until(
            pilot,
            lambda: any(m.startswith("Crawl") for m in app.messages()),
            timeout=60,
            what="crawl summary",
        )
        await wait_for_screen(pilot, "population")
        await settle(pilot)
        summary = next(m for m in app.messages() if m.startswith("Crawl"))
        assert "3 of 3 new users cached" in summary, summary
    assert len(online.cache.cached_user_ids()) > before


async def test_typing_on_the_results_starts_a_new_query(online: Core) -> None:
    """After a search the results have the keys (Enter opens); typing a name then goes to the
    search field as a new query instead of nowhere, and Enter searches it."""
    from textual.widgets import Input

    app = make_app(online)
    async with app.run_test(size=SIZE) as pilot:
        await search(pilot, "alice")
        results = app.screen.query_one("#results", DataTable)
        assert app.focused is results
        await pilot.press("m", "a", "l")
        field = app.screen.query_one("#query", Input)
        assert app.focused is field and field.value == "mal"
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: "1004" in [str(k.value) for k in results.rows], what="mallory"
        )
