"""The app paints its search screen before the recommender is imported: importing the app
(and every module the search screen needs) loads no numpy, implicit, pandas or scipy; the
screens that need them import them inside their workers (``bench/startup.py`` times it)."""

from __future__ import annotations

import subprocess
import sys


def test_app_import_loads_no_numeric_stack() -> None:
    code = (
        "import sys\n"
        "import animerec_tui.tui.app\n"
        "heavy = {'numpy', 'implicit', 'pandas', 'scipy'}\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
