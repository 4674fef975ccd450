"""The ``animerec`` command: the one place that chooses between the two faces.

With no command and a terminal (stdin and stdout both ttys) it opens the Textual app; anything
else goes to the CLI (which prints its help and exits 2 when no command is given without a
terminal). The CLI and the TUI never import each other: this module hands the CLI a way to start
the app, imported only when it is needed so that scripted runs never load Textual.
"""

from __future__ import annotations

from collections.abc import Sequence

from animerec_tui.cli.main import main as cli_main
from animerec_tui.core.settings import Settings


def _run_app(settings: Settings) -> int:
    """Start the Textual app; its exit code is the process's."""
    from animerec_tui.tui.app import run_app

    return run_app(settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``animerec`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    return cli_main(argv, app=_run_app)
