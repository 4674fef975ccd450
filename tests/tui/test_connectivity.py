"""Issue 10, the app side of bounded waiting: a Kitsu that never answers (or is not Kitsu).

While a search waits, the status line counts seconds and attempts and the cached matches take
the keys (Enter opens one); after a failure the next search does not wait again, and ctrl+r
asks Kitsu at once. Driven with Pilot against the fake Kitsu (real HTTP on 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import FIXTURES
from helpers.tui import make_app, settings_for, settle, wait_for_screen, wait_until
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from animerec_tui.core.services import Core
from animerec_tui.core.settings import NetworkSettings, Settings
from animerec_tui.fakekitsu import FakeKitsu, Faults
from animerec_tui.tui.app import AnimerecApp
from animerec_tui.tui.widgets.banner import OfflineBanner

SIZE = (100, 30)
WAIT = 60.0
"""Upper bound for any one step; only a hang reaches it."""
PARKED = (FIXTURES / "cases/parked-domain/any-url_response.http").read_bytes()


def settings(cache_dir: Path, kitsu: FakeKitsu, **network: float) -> Settings:
    values: dict[str, Any] = {
        "timeout": 60.0,  # never the per-request timeout: the action's deadline ends waits
        "max_attempts": 6,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        **network,
    }
    return settings_for(
        cache_dir, offline=False, api_url=kitsu.url, network=NetworkSettings(**values)
    )


def status(app: AnimerecApp) -> str:
    return str(app.screen.query_one("#search-status").render())


def searching(app: AnimerecApp) -> bool:
    return any(w.group == "search" and w.is_running for w in app.workers)


async def submit(pilot: Pilot[Any], query: str) -> None:
    field = pilot.app.screen.query_one("#query", Input)
    field.value = query
    field.focus()
    await pilot.press("enter")


async def test_waiting_search_counts_and_enter_opens_the_cached_match(
    trained_dir: Path, kitsu: FakeKitsu, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.recommend import service

    core = open_core(settings(trained_dir, kitsu, search_deadline=120.0))
    await core.fetch("1001")
    model = service.load_or_train(core.cache, core.settings)
    kitsu.faults = Faults(rate=1.0, kinds=("hang",))
    app = make_app(core, model=model)
    async with app.run_test(size=SIZE) as pilot:
        await submit(pilot, "alice")
        await wait_until(
            pilot, lambda: "waiting for Kitsu" in status(app), what="a counter", timeout=WAIT
        )
        assert "attempt 1" in status(app) and "gives up at 120 s" in status(app), status(app)
        table = app.screen.query_one("#results", DataTable)
        assert app.focused is table and "1001" in [str(k.value) for k in table.rows]
        await pilot.press("enter")  # Kitsu still silent: the cached alice opens
        await wait_for_screen(pilot, "recommendations", timeout=WAIT)
        assert searching(app), "the Kitsu search should still be pending"
        assert kitsu.faults.injected and set(kitsu.faults.injected) == {"hang"}


@pytest.mark.parametrize("kind", ["hang", "recorded"])
async def test_after_a_failure_the_next_search_does_not_wait_and_ctrl_r_retries(
    kind: str, seeded_dir: Path, kitsu: FakeKitsu, open_core: Callable[[Settings], Core]
) -> None:
    core = open_core(settings(seeded_dir, kitsu, search_deadline=1.0, cooldown=600.0))
    await core.fetch("1001")
    kitsu.faults = Faults(rate=1.0, kinds=(kind,), recorded=PARKED)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        banner = app.screen.query_one(OfflineBanner)
        await submit(pilot, "alice")
        await wait_until(pilot, lambda: not searching(app), what="search", timeout=WAIT)
        await settle(pilot)
        assert app.offline and banner.display
        assert "1001" in [str(k.value) for k in app.screen.query_one("#results", DataTable).rows]
        asked = kitsu.requests
        assert asked >= 1
        await submit(pilot, "sam")  # cooling down: the cache answers, Kitsu is not asked
        await wait_until(pilot, lambda: not searching(app), what="search", timeout=WAIT)
        await settle(pilot)
        assert kitsu.requests == asked
        assert "offline" in status(app) and banner.display, status(app)
        kitsu.faults = None
        await pilot.press("ctrl+r")  # explicit: ask Kitsu now
        await wait_until(pilot, lambda: kitsu.requests > asked, what="a retry", timeout=WAIT)
        await wait_until(pilot, lambda: not searching(app), what="search", timeout=WAIT)
        await settle(pilot)
        assert not app.offline and not banner.display
        assert "1002" in [str(k.value) for k in app.screen.query_one("#results", DataTable).rows]


async def test_fetch_dialog_counts_the_wait_and_attempts(
    seeded_dir: Path, kitsu: FakeKitsu, open_core: Callable[[Settings], Core]
) -> None:
    """The fetch modal does not sit on "connecting…" while Kitsu is silent: it shows the
    seconds waited, the deadline and the attempt, and escape still cancels it."""
    from textual.widgets import Label

    from animerec_tui.core.records import User
    from animerec_tui.tui.screens.progress import FetchScreen

    core = open_core(settings(seeded_dir, kitsu, fetch_deadline=120.0))
    kitsu.faults = Faults(rate=1.0, kinds=("hang",))
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(FetchScreen(app.session, User(id="1001", name="alice")))

        def detail() -> str:
            return str(app.screen.query_one("#fetch-detail", Label).render())

        await wait_until(
            pilot, lambda: "waiting for Kitsu" in detail(), what="a counter", timeout=WAIT
        )
        assert "gives up at 120 s" in detail() and "attempt 1" in detail(), detail()
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, FetchScreen), what="cancel")
