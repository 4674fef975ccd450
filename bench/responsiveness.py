"""Key latency while ALS trains: is the UI answered within 100 ms during heavy work?

Runs the app headless over a fresh cache seeded with the sample population, starts training
from the Train screen (many iterations so it outlasts the measurement), then posts Tab key
events and times each one until its effect (focus moves) is visible. ``pilot.press`` would
wait for the app to go idle, which never happens while progress keeps arriving.

    python bench/responsiveness.py [--presses 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from textual import events

from animerec_tui.core.services import Core
from animerec_tui.core.settings import ModelParams, Settings
from animerec_tui.tui.app import AnimerecApp


async def measure(presses: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            cache_dir=Path(tmp), offline=True, model=ModelParams(factors=64, iterations=2000)
        )
        core = Core.open(settings)
        app = AnimerecApp(core)
        latencies: list[float] = []
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f3")
            while app.screen.id != "train" or app.screen.query_one("#param-factors").disabled:
                await pilot.pause(0.05)
            await pilot.press("ctrl+t")
            bar = app.screen.query_one("#train-bar")
            while (bar.progress or 0) < 1:
                await pilot.pause(0.05)
            for _ in range(presses):
                before = app.focused
                started = time.perf_counter()
                app.post_message(events.Key("tab", None))
                while app.focused is before:
                    await asyncio.sleep(0.001)
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)
            app.post_message(events.Key("escape", None))
            while app.screen.running:  # type: ignore[attr-defined]
                await pilot.pause(0.05)
        core.close()
        return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=30)
    args = parser.parse_args()
    lat = sorted(asyncio.run(measure(args.presses)))
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    print(f"Key -> effect latency while ALS trains ({len(lat)} presses)\n")
    print("| median | p95 | max | target |")
    print("|---:|---:|---:|---:|")
    print(
        f"| {statistics.median(lat) * 1000:.0f} ms | {p95 * 1000:.0f} ms "
        f"| {lat[-1] * 1000:.0f} ms | 100 ms |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
