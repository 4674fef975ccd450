"""SIGKILL during a fetch: the cache keeps the previous complete library, never half of one."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from animerec_tui.core.cache import Cache
from animerec_tui.fakekitsu import Dataset, FakeKitsu

KILLS = 6


def _fetch_cmd(cache: Path, url: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "ANIMEREC_CACHE_DIR": str(cache), "ANIMEREC_API_URL": url}
    env.pop("ANIMEREC_OFFLINE", None)
    return [sys.executable, "-m", "animerec_tui", "fetch", "2001", "--json"], env


def _entry_ids(cache_dir: Path) -> set[str]:
    with Cache(cache_dir / "animerec.sqlite3") as cache:
        lib = cache.library("2001")
        assert lib is not None
        state = cache.sync_state("2001")
        assert state is not None and state.entry_count == len(lib.entries)
        return {e.anime_id for e in lib.entries}


def test_sigkill_mid_fetch_keeps_previous_complete_library(tmp_path: Path) -> None:
    ds = Dataset(seed=11)
    ds.add_anime(n=6000)
    ds.add_user(id="2001", name="big", slug="big", entries=3000, favorites=20)
    cache = tmp_path / "cache"
    rng = random.Random(5)
    with FakeKitsu(ds, latency=0.0) as server:
        cmd, env = _fetch_cmd(cache, server.url)
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=120)
        before = _entry_ids(cache)
        ds.remove_entries("2001", 40)
        server.latency = 0.15
        for _ in range(KILLS):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.3, 2.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            db = sqlite3.connect(cache / "animerec.sqlite3")
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            db.close()
            now = _entry_ids(cache)
            assert now == before or len(now) == len(before) - 40  # old or new, never partial
        server.latency = 0.0
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    after = _entry_ids(cache)
    assert len(after) == len(before) - 40 and after < before
