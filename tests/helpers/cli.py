"""Running ``animerec`` as a person does: a real process, its own cache, a chosen Kitsu."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

COMMAND = [sys.executable, "-m", "animerec_tui"]


def cli_env(cache: Path, api: str, **extra: str) -> dict[str, str]:
    """This machine's environment minus animerec's own settings, plus cache and API base."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANIMEREC_")}
    return {
        **env,
        "ANIMEREC_CACHE_DIR": str(cache),
        "ANIMEREC_API_URL": api,
        "COLUMNS": "250",
        **extra,
    }


def run_cli(
    cache: Path, api: str, *args: str, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        env=cli_env(cache, api, **env),
        timeout=timeout,
    )


def closed_port_url() -> str:
    """An API base on 127.0.0.1 where nothing listens: Kitsu unreachable, instantly."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/edge"
