"""The app says when a list is not personal (issue 10.8): an empty library gets the popularity
fallback, a status line that says why, and no "because"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from helpers.tui import SIZE, make_app, settings_for, settle, wait_until
from textual.widgets import Label, Static

from animerec_tui.core.records import Library, User
from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings


async def test_empty_library_says_it_is_not_personal(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.recommend import service
    from animerec_tui.tui.screens.recommendations import RecommendationsScreen

    core = open_core(settings_for(trained_dir))
    user = User(id="4243", name="newbie")
    core.cache.save_library(Library(user, [], [], {}), synced_at="2026-01-01T00:00:00Z")
    model = service.load(core.cache, core.settings)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(RecommendationsScreen(app.session, user, model))
        screen = app.screen
        await wait_until(pilot, lambda: bool(screen.recs), what="recommendations")  # type: ignore[attr-defined]
        await settle(pilot)
        status = str(screen.query_one("#recs-status", Label).render())
        assert status.startswith("Not personal: the most popular anime · 20 of top 20")
        assert all(not r.because for r in screen.recs)  # type: ignore[attr-defined]
        detail = str(screen.query_one("#detail", Static).render())
        assert "Why: not personal: your library is empty" in detail
        assert "Because you watched" not in detail
