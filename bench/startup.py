"""Start-up benchmark: time from launching ``animerec`` to the search screen's first paint.

Each run is a fresh Python process (what a person pays when they type ``animerec``): it imports
the TUI, opens the cache (``Core.open``) and runs the app headless until the search screen has
been composed and painted once, then exits. The parent measures wall-clock time from spawning
the process to the child's "painted" line, and reports the median of several runs. The cache is
seeded with the sample population by one warm-up run first, so seeding (a one-time cost on a
fresh machine) is reported separately.

It also lists the heavy modules loaded at first paint (implicit, scipy and pandas must not be)
and the slowest imports of ``animerec_tui.tui.app`` from ``python -X importtime``.

    python bench/startup.py [--runs 7] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 1.0
HEAVY = ("numpy", "scipy", "implicit", "pandas", "sklearn")

CHILD = r"""
import sys, time
started = time.perf_counter()
from pathlib import Path
from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings
from animerec_tui.tui.app import AnimerecApp

settings = Settings(cache_dir=Path(sys.argv[1]), offline=True)
core = Core.open(settings)
opened = time.perf_counter()


class Bench(AnimerecApp):
    def on_mount(self) -> None:
        self.call_after_refresh(self.painted)

    def painted(self) -> None:
        screen = self.screen
        assert screen.id == "search" and self.focused is not None, (screen, self.focused)
        heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(",")))
        print("PAINTED", time.perf_counter() - started, opened - started, ",".join(heavy),
              flush=True)
        self.exit()


Bench(core).run(headless=True, size=(120, 40))
core.close()
"""


def one_run(cache_dir: Path) -> tuple[float, float, float, list[str]]:
    """(wall seconds to paint, in-process seconds to paint, seconds to open cache, heavy mods)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(cache_dir), ",".join(HEAVY)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    wall = None
    fields: list[str] = []
    for line in proc.stdout:
        if line.startswith("PAINTED"):
            wall = time.perf_counter() - t0
            fields = line.split()
            break
    _, err = proc.communicate(timeout=60)
    if wall is None:
        raise SystemExit(f"the app did not paint:\n{err}")
    heavy = fields[3].split(",") if len(fields) > 3 and fields[3] else []
    return wall, float(fields[1]), float(fields[2]), heavy


def import_offenders(top: int = 12) -> list[tuple[int, str]]:
    """Slowest modules (cumulative microseconds) when importing the TUI's app module."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import animerec_tui.tui.app"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative, name = line.split(":", 1)[1].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if depth in (1, 2):  # what the app module pulls in, and what those pull in
            rows.append((int(cumulative), "  " * (depth - 1) + name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="animerec-startup-") as tmp:
        cache_dir = args.cache_dir or Path(tmp)
        seed_wall, *_ = one_run(cache_dir)  # warm-up: seeds the sample population once
        runs = [one_run(cache_dir) for _ in range(args.runs)]
    walls = [r[0] for r in runs]
    median = statistics.median(walls)
    result = {
        "runs": args.runs,
        "median_s": round(median, 3),
        "min_s": round(min(walls), 3),
        "max_s": round(max(walls), 3),
        "in_process_median_s": round(statistics.median(r[1] for r in runs), 3),
        "open_cache_median_s": round(statistics.median(r[2] for r in runs), 3),
        "first_run_with_seeding_s": round(seed_wall, 3),
        "heavy_modules_at_paint": runs[-1][3],
        "budget_s": BUDGET_S,
        "within_budget": median <= BUDGET_S,
        "import_offenders_ms": [(name, round(us / 1000, 1)) for us, name in import_offenders()],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"time to first paint of the search screen ({args.runs} runs, headless, 120x40)")
        print(
            f"  median {median:.3f}s  (min {min(walls):.3f}s, max {max(walls):.3f}s)"
            f"  budget {BUDGET_S:.1f}s: {'ok' if result['within_budget'] else 'OVER'}"
        )
        print(
            f"  inside the process: {result['in_process_median_s']:.3f}s, of which imports and"
            f" opening the cache {result['open_cache_median_s']:.3f}s"
        )
        print(f"  first run on an empty cache (seeds the sample): {seed_wall:.3f}s")
        heavy = ", ".join(result["heavy_modules_at_paint"]) or "none"
        print(f"  heavy modules loaded at first paint: {heavy}")
        print("  slowest imports of animerec_tui.tui.app (cumulative):")
        for name, ms in result["import_offenders_ms"]:
            print(f"    {ms:8.1f} ms  {name}")
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
