"""Helpers for the TUI tests: settings, waiting on a pilot, reading tables, making the app.

The cache fixtures these build on are in ``tests/tui/conftest.py``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.app import App
from textual.errors import NoWidget
from textual.notifications import SeverityLevel
from textual.pilot import Pilot
from textual.strip import Strip
from textual.widgets import DataTable
from textual.worker import WorkerCancelled

from animerec_tui.core.records import User
from animerec_tui.core.services import Core
from animerec_tui.core.settings import ModelParams, NetworkSettings, Settings
from animerec_tui.tui.app import AnimerecApp
from animerec_tui.tui.messages import OpenUser

SMALL_MODEL = ModelParams(factors=16, iterations=6, ease_max_items=1000)
FAST_NETWORK = NetworkSettings(
    concurrency=4, timeout=5.0, max_attempts=2, backoff_base=0.01, backoff_max=0.02
)
HOSTILE_NAME = "[bold]mallory[/bold] \x1b[31m"
HOSTILE_TITLE = "[link=https://evil.example]click[/link] [red]x"
SIZE = (120, 40)


def settings_for(cache_dir: Path, **changes: Any) -> Settings:
    base = Settings(cache_dir=cache_dir, offline=True, network=FAST_NETWORK, model=SMALL_MODEL)
    return replace(base, **changes)


def copy_template(template: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template, target, dirs_exist_ok=True)
    return target


def sample_query(core: Core) -> str:
    """A sample user with a decent library, found the same way every run."""
    rows = core.cache.query(
        """SELECT u.id FROM users u JOIN sync_state s USING (uid)
           WHERE u.sample = 1 ORDER BY s.entry_count DESC, u.id LIMIT 1"""
    )
    return str(rows[0][0])


async def wait_until(
    pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 30.0, what: str = ""
) -> None:
    """Pump the app until ``condition()`` holds (workers run while we pause)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


async def wait_for_screen(pilot: Pilot[Any], screen_id: str, timeout: float = 30.0) -> None:
    await wait_until(pilot, lambda: pilot.app.screen.id == screen_id, timeout, screen_id)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for every worker (one a newer one of its exclusive group cancelled counts as
    done), then let the resulting messages render."""
    for _ in range(20):
        try:
            await pilot.app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue
    await pilot.pause()
    await asyncio.sleep(0)
    await pilot.pause()


async def search(pilot: Pilot[Any], query: str) -> None:
    app = pilot.app
    app.screen.query_one("#query").focus()
    app.screen.query_one("#query").value = ""  # type: ignore[attr-defined]
    await pilot.press(*query, "enter")
    await wait_until(
        pilot,
        lambda: not any(w.group == "search" and w.is_running for w in app.workers),
        what="search",
    )
    await settle(pilot)


def cell_texts(table: Any, column: str) -> list[str]:
    """The plain text shown in one column of a DataTable."""
    out = []
    for row_key in table.rows:
        value = table.get_cell(row_key, column)
        out.append(getattr(value, "plain", str(value)))
    return out


def shown_strips(app: App[Any]) -> list[Strip]:
    """What the widgets of the current screen draw where they are visible, one strip a row of
    each widget: Textual's public calls (``Screen.find_widget`` for where a widget is and how
    it is clipped, ``Widget.render_lines`` for what it draws there), as its compositor makes
    them. A widget not laid out (hidden) or scrolled out of view draws nothing."""
    screen = app.screen
    strips: list[Strip] = []
    for widget in screen.query("*"):
        try:
            geometry = screen.find_widget(widget)
        except NoWidget:
            continue
        visible = geometry.region.intersection(geometry.clip)
        if visible.area:
            strips.extend(widget.render_lines(visible.translate(-geometry.region.offset)))
    return strips


def shown_lines(app: App[Any]) -> list[str]:
    """:func:`shown_strips` as plain text, one string per strip."""
    return ["".join(segment.text for segment in strip) for strip in shown_strips(app)]


QUICK_EVALUATION = ("als", "popularity", "item-knn")
"""Models for evaluation screens in tests that are not about the full comparison (EASE is slow)."""


class RecordingApp(AnimerecApp):
    """The app, remembering every notification: toasts expire, the tests need them all.

    ``notify`` is Textual's public entry point for every notification (a widget's ``notify``
    calls the app's), so overriding it sees them all without Textual's private state.
    """

    def __init__(self, core: Core, **kwargs: Any) -> None:
        super().__init__(core, **kwargs)
        self.seen: list[tuple[SeverityLevel, str, str]] = []

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        self.seen.append((severity, title, message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def messages(self, severity: SeverityLevel | None = None) -> list[str]:
        return [m for s, _, m in self.seen if severity in (None, s)]

    @property
    def offline(self) -> bool:
        """Whether the banner says Kitsu cannot be reached (the session's last link)."""
        return self.session.link.offline

    def open(self, user: User) -> None:
        """What Enter on a search result does: ask the App to open the user."""
        self.post_message(OpenUser(user))


def make_app(core: Core, **kwargs: Any) -> RecordingApp:
    return RecordingApp(core, **kwargs)


async def settled_list(pilot: Pilot[Any], table: Any, rounds: int = 50) -> None:
    """Settle until a table shows rows and its titles stop changing with no worker running:
    the first list comes from a thread worker that may not have started when the screen
    appears, and online a list is listed again once Kitsu has described its anime and given
    their relations."""
    before: list[str] | None = None
    for _ in range(rounds):
        await settle(pilot)
        now = cell_texts(table, "title")
        if now and now == before and not any(w.is_running for w in pilot.app.workers):
            return
        before = now
        await pilot.pause(0.2)
    raise AssertionError("the list kept changing")


async def recommendations_listed(pilot: Pilot[Any], timeout: float = 60.0) -> Any:
    """Wait for the recommendations screen and its settled, non-empty list; return the table."""
    await wait_for_screen(pilot, "recommendations", timeout=timeout)
    screen = pilot.app.screen

    def listed() -> bool:  # the screen is current before its widgets are mounted
        tables = screen.query("#recs")
        return bool(tables) and tables.first(DataTable).row_count > 0

    await wait_until(pilot, listed, timeout, "recommendations")
    table = screen.query_one("#recs")
    await settled_list(pilot, table)
    return table
