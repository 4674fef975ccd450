"""Issue 6: corruption (cache, settings, model files) and concurrency (train while fetching)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import COMMAND, cli_env, run_cli
from helpers.population import build_small_dataset

from animerec_tui.core.cache import Cache
from animerec_tui.core.services import Core
from animerec_tui.core.settings import load_settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu

SMALL_MODEL = "[model]\nfactors = 8\niterations = 2\nease_max_items = 1000\n"


def _run(
    cache: Path, *args: str, api: str = "http://127.0.0.1:9/api/edge"
) -> subprocess.CompletedProcess[str]:
    return run_cli(cache, api, *args)


def _popen(cache: Path, *args: str, api: str) -> subprocess.Popen[str]:
    env = cli_env(cache, api)
    return subprocess.Popen(
        [*COMMAND, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("storage-template") / "cache"
    Core.open(load_settings(where, env={})).close()
    (where / "settings.toml").write_text(SMALL_MODEL, encoding="utf-8")
    return where


@pytest.fixture(scope="module")
def trained(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with a small trained model (made once)."""
    where = tmp_path_factory.mktemp("storage-trained") / "cache"
    shutil.copytree(template, where)
    done = _run(where, "train", "--offline")
    assert done.returncode == 0, done.stderr
    assert list((where / "models").iterdir())
    return where


# -- a damaged SQLite file -------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated-header"])
def test_damaged_cache_is_moved_aside_and_reseeded(
    damage: str, tmp_path: Path, template: Path
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(template, cache)
    db = cache / "animerec.sqlite3"
    original = db.read_bytes()
    if damage == "garbage":
        db.write_bytes(b"this is not a database, it was overwritten\n" * 2000)
    else:
        db.write_bytes(b"\x00" * 100 + original[100:4096])
    damaged_bytes = db.read_bytes()
    done = _run(cache, "stats", "--offline", "--json")
    line = _one_line(done)
    assert done.returncode == 0, done.stderr
    assert "damaged" in line and "moved it aside" in line
    aside = list(cache.glob("animerec.sqlite3.damaged-*"))
    assert len(aside) == 1 and aside[0].name in line.replace("\n", "")
    assert aside[0].read_bytes() == damaged_bytes  # nothing deleted
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the fresh cache is seeded and works, without another warning
    again = _run(cache, "library", "sample-72562", "--offline", "--json")
    assert again.returncode == 0, again.stderr
    assert again.stderr == ""


def test_locked_is_not_damage(tmp_path: Path, template: Path) -> None:
    """A busy cache must never be mistaken for a damaged one and moved aside."""
    from animerec_tui.core.cache.files import is_damage

    assert not is_damage(sqlite3.OperationalError("database is locked"))
    assert is_damage(sqlite3.DatabaseError("file is not a database"))


OPENER = """
import os, sys, time
from pathlib import Path
from animerec_tui.core.services import Core
from animerec_tui.core.settings import load_settings
import animerec_tui.core.population.sample  # imported before the start line, not after

cache, go = Path(sys.argv[1]), Path(sys.argv[2])
(go.parent / f"{go.name}.ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.001)
core = Core.open(load_settings(cache, env={"ANIMEREC_OFFLINE": "1"}))
core.cache.set_state(f"opener-{os.getpid()}", {"wrote": True})
print(core.cache.recovered_from or "")
core.close()
"""


@pytest.mark.parametrize("start", ["damaged", "new"])
def test_processes_opening_one_cache_at_once(start: str, tmp_path: Path) -> None:
    """Four processes open a damaged (or brand-new) cache at the same instant, three times.

    Exactly one moves the damaged file aside; the others share its fresh cache; the sample is
    seeded once; every process's write is in the one cache that remains (none went into a
    file another process had moved away). Before the fix, two out of three rounds lost a
    process to "table meta already exists" (two migrations at once) or moved a healthy
    fresh cache aside.
    """
    env = cli_env(tmp_path, "http://127.0.0.1:9/api/edge")
    for round_ in range(3):
        cache = tmp_path / f"cache-{round_}"
        cache.mkdir()
        garbage = b"this was overwritten by something else\n" * 500
        if start == "damaged":
            (cache / "animerec.sqlite3").write_bytes(garbage)
        go = tmp_path / f"go-{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, str(cache), str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for _ in range(4)
        ]
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob(f"{go.name}.ready-*"))) < len(procs):
            assert time.monotonic() < deadline, "the openers never got ready"
            time.sleep(0.01)
        go.touch()  # all four imported and waiting: they open the cache at the same instant
        outs = [proc.communicate(timeout=60) for proc in procs]
        for proc, (_, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0, err
        moved = [out.strip() for out, _ in outs if out.strip()]
        aside = sorted(cache.glob("animerec.sqlite3.damaged-*"))
        if start == "damaged":
            assert len(moved) == 1 and [Path(moved[0])] == aside, (moved, aside)
            assert aside[0].read_bytes() == garbage  # kept, byte for byte
        else:
            assert moved == [] and aside == []
        with Cache(cache / "animerec.sqlite3") as c:
            assert c.query("PRAGMA integrity_check")[0][0] == "ok"
            writes = c.query("SELECT COUNT(*) FROM state WHERE key LIKE 'opener-%'")[0][0]
            assert writes == 4
            assert c.query("SELECT COUNT(*) FROM users WHERE sample = 1")[0][0] == 756


# -- a settings file with wrong types --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '[network]\ntimeout = "fast"\n',
        "[model]\nfactors = 8.5\n",
        "[weights]\nuse_rating = 1\n",
        "[network]\nmax_attempts = true\n",
        "network = 3\n",
        "[network\ntimeout = 1\n",
        "[network]\ntimeuot = 1.0\n",
    ],
)
def test_settings_with_wrong_types_is_one_line_exit_2(
    text: str, tmp_path: Path, template: Path
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(template, cache)
    (cache / "settings.toml").write_text(text, encoding="utf-8")
    done = _run(cache, "stats", "--offline")
    line = _one_line(done)
    assert done.returncode == 2, done.stderr
    assert "Settings file" in line


# -- a truncated model file, a model from another cache --------------------------------------


def _recommend(cache: Path) -> subprocess.CompletedProcess[str]:
    return _run(cache, "recommend", "sample-72562", "-n", "3", "--offline", "--json")


@pytest.mark.parametrize("damage", ["truncate-npz", "truncate-json", "foreign"])
def test_bad_model_is_retrained_and_says_why(
    damage: str, tmp_path: Path, trained: Path, template: Path
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(trained, cache)
    models = cache / "models"
    if damage == "foreign":
        other = tmp_path / "other"
        other.mkdir()  # a cache of its own (copies share their cache_id)
        (other / "settings.toml").write_text(SMALL_MODEL, encoding="utf-8")
        done = _run(other, "train", "--offline")
        assert done.returncode == 0, done.stderr
        shutil.rmtree(models)
        shutil.copytree(other / "models", models)
    else:
        suffix = ".npz" if damage == "truncate-npz" else ".json"
        [victim] = [p for p in models.iterdir() if p.name.endswith(suffix)]
        data = victim.read_bytes()
        victim.write_bytes(data[: len(data) // 3])
    done = _recommend(cache)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, done.stderr
    assert "retrain" in lines[0].lower(), done.stderr
    assert done.stdout.strip()
    # and the retrained model is good: the next run says nothing
    again = _recommend(cache)
    assert again.returncode == 0 and again.stderr == "", again.stderr


# -- concurrency: train while another process fetches ----------------------------------------


def _beside_training(cache: Path, ds: Dataset, *writer: str) -> str:
    """Run ``animerec train`` and a writing command on one cache at once; both must succeed
    with no "database is locked" and no traceback. Returns the writer's stdout."""
    with FakeKitsu(ds, latency=0.02) as kitsu:
        trainer = _popen(cache, "train", "--iterations", "6", api=kitsu.url)
        writing = _popen(cache, *writer, api=kitsu.url)
        out_w, err_w = writing.communicate(timeout=120)
        _out_t, err_t = trainer.communicate(timeout=120)
    assert writing.returncode == 0, err_w
    assert trainer.returncode == 0, err_t
    for text in (err_w, err_t):
        assert "locked" not in text and "Traceback" not in text, text
    return out_w


def test_train_while_fetching_into_the_same_cache(tmp_path: Path, template: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(template, cache)
    ds = build_small_dataset()
    users = ["alice", "1002", "1003", "mallory", *[u for u in ds.users if u.startswith("50")][:8]]
    out_f = _beside_training(cache, ds, "fetch", *users, "--json")
    assert len(out_f.strip().splitlines()) == len(users)
    c = Cache(cache / "animerec.sqlite3")
    try:
        ids = ["1001", "1002", "1003", "1004", *users[4:]]
        for uid in ids:
            assert c.has_library(uid), uid
            state = c.sync_state(uid)
            assert state is not None and state.source == "kitsu"
        assert c.query("PRAGMA integrity_check")[0][0] == "ok"
    finally:
        c.close()


def test_train_while_crawling_into_the_same_cache(tmp_path: Path, template: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(template, cache)
    (cache / "settings.toml").write_text(
        SMALL_MODEL + "[crawl]\nrequests_per_second = 200.0\nconcurrency = 4\n", encoding="utf-8"
    )
    out_c = _beside_training(
        cache, build_small_dataset(), "crawl", "--around", "alice", "--max-users", "6", "--json"
    )
    summary = json.loads(out_c)
    assert summary["new_users"] == 6
    with Cache(cache / "animerec.sqlite3") as c:
        for uid in ["1001", *summary["user_ids"]]:
            lib, state = c.library(uid), c.sync_state(uid)
            assert lib is not None and state is not None, uid
            assert len(lib.entries) == state.entry_count, uid  # whole, not partial
        assert c.query("PRAGMA integrity_check")[0][0] == "ok"
