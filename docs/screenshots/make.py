"""Export the README's screenshots from the snapshot tests: the same app, data and terminal
size as ``tests/tui/test_snapshots.py``, so a screenshot is never staged by hand.

    python docs/screenshots/make.py           # copy the snapshots as they are (they must pass)
    python docs/screenshots/make.py --update  # re-record those snapshots first, then copy

Each shot is one snapshot test (``SHOTS``: README file -> test id). The script runs those
tests (``--update`` passes ``--snapshot-update``, which rewrites their SVGs: look at them and
commit them with the copies), then copies each SVG under ``docs/screenshots/``. Exit status:
pytest's when it fails (a snapshot differs: rerun with ``--update`` after checking the change).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SNAPSHOTS = ROOT / "tests" / "tui" / "__snapshots__" / "test_snapshots"
SHOTS = {"recommendations.svg": "test_snapshot_recommendations_grouped"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="re-record the snapshots first")
    args = parser.parse_args(argv)
    tests = [f"tests/tui/test_snapshots.py::{test}" for test in SHOTS.values()]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests]
    if args.update:
        command.append("--snapshot-update")
    done = subprocess.run(command, cwd=ROOT, check=False)
    if done.returncode != 0:
        return done.returncode
    for name, test in SHOTS.items():
        shutil.copyfile(SNAPSHOTS / f"{test}.svg", HERE / name)
        print(f"{(HERE / name).relative_to(ROOT)} <- {test}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
