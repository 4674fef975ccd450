"""The core is UI-free: importing all of it must not pull in Textual or Rich."""

import subprocess
import sys

CORE_MODULES = [
    "animerec_tui.core.errors",
    "animerec_tui.core.records",
    "animerec_tui.core.settings",
    "animerec_tui.core.cache",
    "animerec_tui.core.services",
    "animerec_tui.core.kitsu",
    "animerec_tui.core.population.sample",
    "animerec_tui.core.population.stats",
    "animerec_tui.core.population.crawl",
    "animerec_tui.core.recommend.service",
]


def test_core_imports_neither_textual_nor_rich() -> None:
    code = (
        "import sys\n"
        # httpx imports its optional command line (which imports Rich) whenever click is
        # installed, and click comes with import-linter in the test environment: hide it, so
        # that what is left is the core's own doing (lint-imports checks the static imports)
        "sys.modules['httpx._main'] = None\n"
        + "".join(f"import {m}\n" for m in CORE_MODULES)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        + "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_cli_help_does_not_import_heavy_modules() -> None:
    """`animerec --help` must be instant: no numpy, implicit, pandas or textual."""
    code = (
        "import sys\n"
        "from animerec_tui.cli.main import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = {'numpy', 'implicit', 'pandas', 'scipy', 'textual'}\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
