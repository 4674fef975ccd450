"""Bounded waiting: how long search and fetch wait for a Kitsu that never answers.

The fake Kitsu accepts every connection and then either never answers (``hang``) or sends its
answer a few bytes every 0.1 s so that no read timeout ever fires (``trickle``, 600 s per
answer). With the *default* settings (no settings file), each run measures the wall time of

* ``animerec search alice``, then the same again in the same cache (within the cool-down: it
  should not wait again), and ``animerec fetch alice`` in a fresh copy (alice is cached: all
  end in the cache, marked offline), each a real process;
* the app: Enter on "alice" in the search field until the search has given up (Pilot).

``--source DIR`` runs the CLI and the app from another checkout (e.g. ``git archive`` of an
older commit) against the same fake server, for a before/after table.

    python bench/hang.py [--source DIR] [--kinds hang,trickle]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from animerec_tui.core.services import Core
from animerec_tui.core.settings import load_settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu, Faults

APP_SNIPPET = """
import asyncio, sys, time
from animerec_tui.core.services import Core
from animerec_tui.core.settings import load_settings
from animerec_tui.tui.app import AnimerecApp

async def main():
    core = Core.open(load_settings())
    app = AnimerecApp(core)
    async with app.run_test(size=(100, 30)) as pilot:
        field = app.screen.query_one("#query")
        field.value = "alice"
        field.focus()
        started = time.monotonic()
        await pilot.press("enter")
        await pilot.pause(0.2)
        while any(w.group == "search" and w.is_running for w in app.workers):
            await pilot.pause(0.1)
        print(round(time.monotonic() - started, 1))
    core.close()

asyncio.run(main())
"""


def dataset() -> Dataset:
    ds = Dataset(seed=0)
    ds.add_anime(n=300)
    ds.add_user(id="1001", name="alice", slug="alice", entries=120, favorites=8)
    return ds


def env_for(cache: Path, api: str, source: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANIMEREC_")}
    env.update(ANIMEREC_CACHE_DIR=str(cache), ANIMEREC_API_URL=api, COLUMNS="200")
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return env


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    # cwd: not a checkout, so ``-m animerec_tui`` imports the code under test (--source)
    done = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=900, cwd=env["ANIMEREC_CACHE_DIR"]
    )
    took = time.monotonic() - started
    outcome = f"exit {done.returncode}"
    if done.returncode == 0 and done.stdout.strip().startswith("{"):
        first = json.loads(done.stdout.splitlines()[0])
        outcome += ", offline" if first.get("offline") else ", online"
    return took, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--source", type=Path, help="checkout to run the CLI and app from")
    parser.add_argument("--kinds", default="hang,trickle")
    args = parser.parse_args()
    source = args.source.resolve() if args.source else None
    cli = [sys.executable, "-m", "animerec_tui"]
    with tempfile.TemporaryDirectory() as tmp, FakeKitsu(dataset()) as kitsu:
        template = Path(tmp) / "template"
        template.mkdir()
        core = Core.open(load_settings(template, env={"ANIMEREC_API_URL": kitsu.url}))
        import asyncio

        asyncio.run(core.fetch("1001"))
        core.close()
        print(f"source: {source or 'this checkout'}")
        print("| Kitsu | search | next search | fetch | app search |")
        print("|---|---:|---:|---:|---:|")
        for kind in args.kinds.split(","):
            kitsu.faults = Faults(rate=1.0, kinds=(kind,), slow_seconds=600.0)
            cells = []
            cache = Path(tmp) / f"{kind}-search"
            shutil.copytree(template, cache)
            for _ in range(2):  # the second in the same cache: within the cool-down
                took, outcome = timed(
                    [*cli, "search", "alice", "--json"], env_for(cache, kitsu.url, source)
                )
                cells.append(f"{took:.1f} s ({outcome})")
            cache = Path(tmp) / f"{kind}-fetch"
            shutil.copytree(template, cache)
            took, outcome = timed(
                [*cli, "fetch", "alice", "--json"], env_for(cache, kitsu.url, source)
            )
            cells.append(f"{took:.1f} s ({outcome})")
            cache = Path(tmp) / f"{kind}-app"
            shutil.copytree(template, cache)
            done = subprocess.run(
                [sys.executable, "-c", APP_SNIPPET],
                capture_output=True,
                text=True,
                env=env_for(cache, kitsu.url, source),
                timeout=900,
                cwd=cache,
            )
            cells.append(f"{done.stdout.strip() or done.stderr.strip()[-200:]} s")
            print(f"| {kind} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
