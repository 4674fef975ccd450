"""Latency of "not interested": from the ``x`` key to the re-ranked recommendations list drawn.

Runs the app headless over a fresh cache seeded with the sample population (offline), trains
the default model once with its default parameters, opens the recommendations of the sample
user with the largest library, then presses ``x`` on the highlighted row again and again.
Each press is timed from posting the key until the first frame written to the (headless)
terminal after which the table holds the re-ranked list: the hidden anime gone, the list
refilled to its length. The app is subclassed to check the table as each frame is written
(Textual's ``App._display``; a private hook, so a Textual release that renames it fails
this benchmark loudly), so the time is that of the drawing, not of a poll after it.
``pilot.press`` would add its own idle waits, so the key event is posted directly. After
each press the background re-rank is awaited and the list compared with the one drawn: a
list the re-rank had to correct is counted. Then ``u`` takes the hides back one by one,
timed the same way; then ``x`` again as many times with the shortcut
(:func:`~animerec_tui.core.recommend.hiding.list_after_hiding`) turned off: the full path (a
re-rank in a worker, then the redraw), what ``x`` costs on a franchise member or a planned
title.

    python bench/hide.py [--presses 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import RenderableType
from textual import events
from textual.screen import Screen
from textual.widgets import DataTable
from textual.worker import WorkerState

from animerec_tui.core.recommend import hiding
from animerec_tui.core.records import User
from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings
from animerec_tui.tui.app import AnimerecApp

if TYPE_CHECKING:
    from animerec_tui.core.recommend.service import LoadedModel

TARGET_MS = 100.0


class TimedApp(AnimerecApp):
    """The app, noting when the first frame after which ``until()`` holds is written."""

    until: Callable[[], bool] | None = None
    drawn_at: float | None = None

    def _display(self, screen: Screen[Any], renderable: RenderableType | None) -> None:
        super()._display(screen, renderable)
        if self.until is not None and self.drawn_at is None and self.until():
            self.drawn_at = time.perf_counter()


def _rows(table: DataTable[object]) -> list[str]:
    return [str(key.value) for key in table.rows]


def _largest_sample_user(core: Core) -> User:
    rows = core.cache.query(
        """SELECT u.id FROM users u JOIN sync_state s USING (uid)
           WHERE u.sample = 1 ORDER BY s.entry_count DESC, u.id LIMIT 1"""
    )
    user = core.cache.get_user(str(rows[0][0]))
    assert user is not None
    return user


async def measure(presses: int) -> Measured:
    """``presses`` of ``x``, then as many of ``u``, each timed to the frame that draws the
    new list; then the core's share alone."""
    from animerec_tui.core.recommend import service
    from animerec_tui.tui.screens.recommendations import RecommendationsScreen

    with tempfile.TemporaryDirectory() as tmp:
        core = Core.open(Settings(cache_dir=Path(tmp), offline=True))
        try:
            service.train(core.cache, core.settings)
            model = service.load(core.cache, core.settings)
            user = _largest_sample_user(core)
            app = TimedApp(core, model=model)
            out = Measured([], [], [], [], 0, 0)
            async with app.run_test(size=(120, 40)) as pilot:
                await app.push_screen(RecommendationsScreen(app.session, user, model))
                table = app.screen.query_one("#recs", DataTable)
                while table.row_count == 0:
                    await pilot.pause(0.01)
                await app.workers.wait_for_complete()
                await pilot.pause()
                out.shown = shown = table.row_count
                gone: list[str] = []
                for _ in range(presses):
                    hidden = _rows(table)[table.cursor_row]
                    gone.append(hidden)

                    def relisted(hidden: str = hidden) -> bool:
                        now = _rows(table)
                        return hidden not in now and len(now) == shown

                    out.hide.append(await _press(app, "x", relisted))
                    drawn = _rows(table)
                    await _idle(app)
                    out.corrected += _rows(table) != drawn
                for back in reversed(gone):

                    def restored(back: str = back) -> bool:
                        now = _rows(table)
                        return back in now and len(now) == shown

                    out.undo.append(await _press(app, "u", restored))
                    await _idle(app)
                shortcut = hiding.list_after_hiding
                hiding.list_after_hiding = lambda *args, **kwargs: None  # the full path only
                try:
                    for _ in range(presses):
                        hidden = _rows(table)[table.cursor_row]

                        def relisted_full(hidden: str = hidden) -> bool:
                            now = _rows(table)
                            return hidden not in now and len(now) == shown

                        out.full.append(await _press(app, "x", relisted_full))
                        await _idle(app)
                finally:
                    hiding.list_after_hiding = shortcut
            out.core = _core_only(core, user, model, presses, shown)
            return out
        finally:
            core.close()


@dataclass
class Measured:
    """Seconds per press: ``x`` (``hide``), ``u`` (``undo``), ``x`` with the shortcut off
    (``full``), the core alone; the list's length; drawn ``x`` lists the re-rank corrected."""

    hide: list[float]
    undo: list[float]
    full: list[float]
    core: list[float]
    shown: int
    corrected: int


async def _press(app: TimedApp, key: str, done: Callable[[], bool]) -> float:
    """Seconds from posting ``key`` to the frame after which ``done()`` holds."""
    app.until, app.drawn_at = done, None
    started = time.perf_counter()
    app.post_message(events.Key(key, key))
    return await _until_drawn(app) - started


async def _until_drawn(app: TimedApp) -> float:
    """The ``perf_counter`` time of the frame that drew what ``app.until`` waits for."""
    while True:
        if app.drawn_at is not None:
            return app.drawn_at
        await asyncio.sleep(0.005)


async def _idle(app: AnimerecApp) -> None:
    """Wait until the re-rank a press started (after the next refresh) has finished."""
    await asyncio.sleep(0.05)
    while any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)


def _core_only(core: Core, user: User, model: LoadedModel, presses: int, n: int) -> list[float]:
    """The same step without the app: hide the top anime, recommend again (the core's share)."""
    from animerec_tui.core.cache.hidden import hide
    from animerec_tui.core.recommend import service

    seconds: list[float] = []
    for _ in range(presses):
        top = service.recommend(core.cache, core.settings, user.id, n=n, model=model)
        started = time.perf_counter()
        hide(core.cache, user.id, [top[0].anime_id])
        service.recommend(core.cache, core.settings, user.id, n=n, model=model)
        seconds.append(time.perf_counter() - started)
    return seconds


def _row(what: str, found: list[float]) -> str:
    lat = sorted(found)
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    return (
        f"| {what} | {statistics.median(lat) * 1000:.0f} ms | {p95 * 1000:.0f} ms "
        f"| {lat[-1] * 1000:.0f} ms | {TARGET_MS:.0f} ms |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=20)
    args = parser.parse_args()
    found = asyncio.run(measure(args.presses))
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(
        f'"Not interested" (x) -> re-ranked list of {found.shown}, sample user, default model '
        f"({len(found.hide)} presses of each, {os.cpu_count()} cores{load})\n"
    )
    print("| | median | p95 | max | target |")
    print("|---|---:|---:|---:|---:|")
    print(_row("x -> re-ranked list drawn (app)", found.hide))
    print(_row("u -> list drawn again (app)", found.undo))
    print(_row("x, shortcut off -> re-ranked list drawn (app)", found.full))
    print(_row("hide + recommend (core alone)", found.core))
    print(
        "\nLists drawn at once on x that the background re-rank corrected: "
        f"{found.corrected} of {len(found.hide)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
