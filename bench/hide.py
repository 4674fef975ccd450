"""Latency of "not interested": from the ``x`` key to the re-ranked recommendations list.

Runs the app headless over a fresh cache seeded with the sample population (offline), trains
the default model once with its default parameters, opens the recommendations of the sample
user with the largest library, then presses ``x`` on the highlighted row again and again.
Each press is timed from posting the key until the table shows the re-ranked list: the hidden
anime gone and the list refilled to its length (the core re-ranks with one more hidden anime,
the screen redraws the table). ``pilot.press`` would add its own idle waits, so the key event
is posted directly and the table polled every 5 ms (a tighter loop would take the GIL from
the worker it times).

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
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.widgets import DataTable

from animerec_tui.core.records import User
from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings
from animerec_tui.tui.app import AnimerecApp

if TYPE_CHECKING:
    from animerec_tui.core.recommend.service import LoadedModel

TARGET_MS = 100.0


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


async def measure(presses: int) -> tuple[list[float], list[float], int]:
    """Per press: seconds from the key to the re-ranked table, and for the core alone (hide +
    recommend, no app); and the list's length."""
    from animerec_tui.core.recommend import service
    from animerec_tui.tui.screens.recommendations import RecommendationsScreen

    with tempfile.TemporaryDirectory() as tmp:
        core = Core.open(Settings(cache_dir=Path(tmp), offline=True))
        try:
            service.train(core.cache, core.settings)
            model = service.load(core.cache, core.settings)
            user = _largest_sample_user(core)
            app = AnimerecApp(core, model=model)
            latencies: list[float] = []
            async with app.run_test(size=(120, 40)) as pilot:
                await app.push_screen(RecommendationsScreen(app.session, user, model))
                screen = app.screen
                table = screen.query_one("#recs", DataTable)
                while table.row_count == 0:
                    await pilot.pause(0.01)
                await app.workers.wait_for_complete()
                await pilot.pause()
                shown = table.row_count
                for _ in range(presses):
                    before = _rows(table)
                    hidden = before[table.cursor_row]
                    started = time.perf_counter()
                    app.post_message(events.Key("x", "x"))
                    while True:
                        now = _rows(table)
                        if hidden not in now and len(now) == shown:
                            break
                        await asyncio.sleep(0.005)
                    latencies.append(time.perf_counter() - started)
                    await app.workers.wait_for_complete()
                    await pilot.pause(0.02)
            core_only = _core_only(core, user, model, presses, shown)
            return latencies, core_only, shown
        finally:
            core.close()


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
    app, core_only, shown = asyncio.run(measure(args.presses))
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(
        f'"Not interested" (x) -> re-ranked list of {shown}, sample user, default model '
        f"({len(app)} presses, {os.cpu_count()} cores{load})\n"
    )
    print("| | median | p95 | max | target |")
    print("|---|---:|---:|---:|---:|")
    print(_row("key -> re-ranked table (app)", app))
    print(_row("hide + recommend (core alone)", core_only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
