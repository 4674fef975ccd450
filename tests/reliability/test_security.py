"""Issue 6, security: no pickle or shell anywhere in the package, a private cache, no secrets.

The cache holds people's lists: the folder is 0700 and every file in it (the SQLite file, its
-wal/-shm companions, model files) 0600, whatever the umask.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from helpers.cli import run_cli
from helpers.population import build_small_dataset

from animerec_tui.core.services import Core
from animerec_tui.core.settings import load_settings
from animerec_tui.fakekitsu import FakeKitsu

PACKAGE = Path(__file__).resolve().parents[2] / "animerec_tui"

FORBIDDEN = [
    (re.compile(r"\bpickle\b"), "pickle"),
    (re.compile(r"allow_pickle\s*=\s*True"), "allow_pickle=True"),
    (re.compile(r"(?<![\w.])eval\("), "eval("),
    (re.compile(r"(?<![\w.])exec\("), "exec("),
    (re.compile(r"\bos\.system\b"), "os.system"),
    (re.compile(r"\bos\.popen\b"), "os.popen"),
    (re.compile(r"shell\s*=\s*True"), "shell=True"),
    (re.compile(r"\bsubprocess\b"), "subprocess"),
    (re.compile(r"\bmarshal\b"), "marshal"),
    (re.compile(r"\bshelve\b"), "shelve"),
]


def _code_lines(text: str) -> list[tuple[int, str]]:
    """Source lines with comments and docstring-only lines dropped (prose may say "pickle")."""
    out: list[tuple[int, str]] = []
    in_doc = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        quotes = line.count('"""') + line.count("'''")
        if in_doc:
            if quotes % 2 == 1:
                in_doc = False
            continue
        if line.startswith(('"""', "'''")):
            if quotes % 2 == 1:
                in_doc = True
            continue
        code = raw.split("#", 1)[0]
        if code.strip():
            out.append((number, code))
    return out


def test_no_pickle_eval_exec_or_shell_in_the_package() -> None:
    found = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    for path in files:
        for number, code in _code_lines(path.read_text(encoding="utf-8")):
            for pattern, name in FORBIDDEN:
                if pattern.search(code):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {name}")
    assert not found, "\n".join(found)


def test_the_grep_would_catch_them() -> None:
    """The check above is not vacuous: its own patterns fire on the forbidden calls."""
    sample = (
        "import pickle\nnp.load(f, allow_pickle=True)\nx = eval(s)\nsubprocess.run(c, shell=True)\n"
    )
    hits = {name for _, code in _code_lines(sample) for p, name in FORBIDDEN if p.search(code)}
    assert {"pickle", "allow_pickle=True", "eval(", "subprocess", "shell=True"} <= hits
    assert not _code_lines('"""a docstring about pickle"""\n# pickle in a comment\n')


def _run(cache: Path, api: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cache, api, *args)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cache_folder_and_files_are_private_after_fetch_and_train(
    tmp_path: Path, template: Path
) -> None:
    old_umask = os.umask(0o022)  # a permissive umask, as on most desktops
    try:
        cache = tmp_path / "private" / "cache"
        cache.parent.mkdir()
        # a fresh cache folder, created by animerec itself
        with FakeKitsu(build_small_dataset()) as kitsu:
            done = _run(cache, kitsu.url, "fetch", "alice", "--json")
            assert done.returncode == 0, done.stderr
            (cache / "settings.toml").write_text(
                "[model]\nfactors = 8\niterations = 2\nease_max_items = 1000\n", encoding="utf-8"
            )
            done = _run(cache, kitsu.url, "train")
            assert done.returncode == 0, done.stderr
    finally:
        os.umask(old_umask)
    assert _mode(cache) == 0o700, oct(_mode(cache))
    files = [p for p in cache.rglob("*") if p.is_file() and p.name != "settings.toml"]
    assert any(p.name == "animerec.sqlite3" for p in files)
    assert any(p.parent.name == "models" for p in files), files
    wrong = {str(p.relative_to(cache)): oct(_mode(p)) for p in files if _mode(p) & 0o077}
    assert not wrong, wrong
    for folder in [p for p in cache.rglob("*") if p.is_dir()]:
        assert _mode(folder) & 0o077 == 0, (folder, oct(_mode(folder)))


def test_wal_and_shm_files_are_private(tmp_path: Path, template: Path) -> None:
    """While a cache is open its -wal/-shm companions exist: they must be 0600 too."""
    old_umask = os.umask(0o022)
    try:
        cache_dir = tmp_path / "c"
        shutil.copytree(template, cache_dir)
        core = Core.open(load_settings(cache_dir, env={}))
        try:
            core.cache.set_state("probe", 1)  # a write, so the WAL exists
            companions = [
                cache_dir / "animerec.sqlite3-wal",
                cache_dir / "animerec.sqlite3-shm",
            ]
            present = [p for p in companions if p.exists()]
            assert present
            for p in [cache_dir / "animerec.sqlite3", *present]:
                assert _mode(p) & 0o077 == 0, (p.name, oct(_mode(p)))
        finally:
            core.close()
    finally:
        os.umask(old_umask)


def test_no_credentials_printed(tmp_path: Path, template: Path) -> None:
    """An API URL with user:password must never be echoed, even in a failure message."""
    cache = tmp_path / "c"
    shutil.copytree(template, cache)
    (cache / "settings.toml").write_text(
        "[network]\nbackoff_base = 0.01\nbackoff_max = 0.05\nmax_attempts = 2\ntimeout = 1.0\n"
    )
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = "hunter2secret"
    api = f"http://bob:{secret}@127.0.0.1:{port}/api/edge?token={secret}"
    for args in (("fetch", "alice"), ("search", "alice"), ("library", "alice")):
        done = _run(cache, api, *args)
        assert done.returncode in (0, 1, 2), done.stderr
        assert "Traceback" not in done.stderr
        assert secret not in done.stdout + done.stderr, (args, done.stderr)
