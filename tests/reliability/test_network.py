"""Issue 6: network faults at every CLI stage, and hostile user input.

Real ``python -m animerec_tui`` processes talk to the fake Kitsu (in this process, on
127.0.0.1) through real sockets. Every fault class of :mod:`animerec_tui.fakekitsu.faults` is
injected at every stage (search, fetch, fetch --refresh, library, crawl --around):

* *transient* faults (fewer in a row than ``max_attempts``) must end in exactly the data a
  clean fetch gives (compared entry by entry with a clean in-process fetch);
* *persistent* faults (every request) must end in exit 1 with one line on stderr, or in the
  cached data marked offline: never a traceback, never a hang (subprocess timeouts).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import FIXTURES
from helpers.cli import run_cli
from helpers.population import build_small_dataset, library_snapshot

import animerec_tui.fakekitsu.server as fake_server
from animerec_tui.core.cache import Cache
from animerec_tui.core.services import Core
from animerec_tui.core.settings import load_settings
from animerec_tui.fakekitsu import KINDS, PREFIX, REDIRECTED_PREFIX, Dataset, FakeKitsu, Faults

TIMEOUT = 0.4
"""The client's timeout in these runs; ``slow`` answers take SLOW seconds."""
SLOW = 2.0
PROC_TIMEOUT = 60


# -- helpers --------------------------------------------------------------------------------


def write_settings(
    cache: Path, attempts: int = 4, timeout: float = TIMEOUT, **network: float
) -> None:
    extra = "".join(f"{key} = {value}\n" for key, value in network.items())
    (cache / "settings.toml").write_text(
        "[network]\nbackoff_base = 0.01\nbackoff_max = 0.05\n"
        f"max_attempts = {attempts}\ntimeout = {timeout}\n{extra}"
        "[crawl]\nrequests_per_second = 500.0\n"
    )


def run(cache: Path, api: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cache, api, *args, timeout=PROC_TIMEOUT)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    assert "unexpected error" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr
    assert "unexpected error" not in done.stderr, done.stderr


def json_lines(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def snapshot(cache_dir: Path, user_id: str) -> tuple[Any, ...] | None:
    """Everything a user's cached library holds, order-independent."""
    with Cache(cache_dir / "animerec.sqlite3") as cache:
        return library_snapshot(cache, user_id)


def reference(api: str, user_id: str, where: Path) -> tuple[Any, ...]:
    """A clean in-process fetch of ``user_id`` into its own cache (no faults may be pending)."""
    where.mkdir(parents=True, exist_ok=True)
    settings = load_settings(where, env={"ANIMEREC_API_URL": api})
    core = Core(settings=settings, cache=Cache(settings.db_path))
    try:
        asyncio.run(core.fetch(user_id))
    finally:
        core.close()
    snap = snapshot(where, user_id)
    assert snap is not None
    return snap


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return build_small_dataset()


@pytest.fixture
def cache(tmp_path: Path, template: Path) -> Path:
    where = tmp_path / "cache"
    shutil.copytree(template, where)
    write_settings(where)
    return where


@pytest.fixture
def kitsu(dataset: Dataset) -> Iterator[FakeKitsu]:
    with FakeKitsu(dataset, latency=0.0) as server:
        yield server


def transient(kind: str) -> Faults:
    """Two faults of ``kind`` on the first requests (max_attempts is 4), then none."""
    return Faults(script=[kind, kind], slow_seconds=SLOW)


def persistent(kind: str) -> Faults:
    return Faults(rate=1.0, kinds=(kind,), seed=1, slow_seconds=SLOW)


# -- 1. transient faults at every stage: complete data ---------------------------------------

FAULT_KINDS = [kind for kind in KINDS if kind != "recorded"]
"""Every kind that needs no input; ``recorded`` (a real response replayed) is tested below."""


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fetch_with_transient_fault_gets_complete_data(
    kind: str, cache: Path, kitsu: FakeKitsu, tmp_path: Path
) -> None:
    kitsu.faults = transient(kind)
    done = run(cache, kitsu.url, "fetch", "alice", "--json")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert kitsu.faults.injected == [kind, kind]
    [result] = json_lines(done)
    assert result["offline"] is False and result["mode"] == "full"
    assert snapshot(cache, "1001") == reference(kitsu.url, "1001", tmp_path / "ref")


@pytest.mark.parametrize("kind", ["429", "redirect"])
def test_library_uncached_with_transient_fault(
    kind: str, cache: Path, kitsu: FakeKitsu, tmp_path: Path
) -> None:
    kitsu.faults = transient(kind)
    done = run(cache, kitsu.url, "library", "alice", "--json")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert snapshot(cache, "1001") == reference(kitsu.url, "1001", tmp_path / "ref")


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_search_with_transient_fault(
    kind: str, cache: Path, kitsu: FakeKitsu, tmp_path: Path
) -> None:
    ref = load_settings(tmp_path / "ref", env={"ANIMEREC_API_URL": kitsu.url})
    ref_core = Core(settings=ref, cache=Cache(ref.db_path))
    want = {h.user.id for h in asyncio.run(ref_core.search("sam")).hits}
    ref_core.close()
    kitsu.faults = transient(kind)
    done = run(cache, kitsu.url, "search", "sam", "--json")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    [got] = json_lines(done)
    assert got["offline"] is False
    assert {u["id"] for u in got["users"]} == want >= {"1002", "1003"}


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_refresh_with_transient_fault(kind: str, cache: Path, tmp_path: Path) -> None:
    ds = build_small_dataset()  # mutated below: its own copy
    with FakeKitsu(ds) as kitsu:
        reference(kitsu.url, "1001", cache)  # the first, clean fetch (in-process: faster)
        ds.touch_entries("1001", 7)
        kitsu.faults = transient(kind)
        done = run(cache, kitsu.url, "fetch", "alice", "--refresh", "--json")
        no_traceback(done)
        assert done.returncode == 0, done.stderr
        [result] = json_lines(done)
        assert result["offline"] is False and result["mode"] in ("incremental", "full")
        assert snapshot(cache, "1001") == reference(kitsu.url, "1001", tmp_path / "ref")


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_crawl_with_transient_fault(
    kind: str, cache: Path, kitsu: FakeKitsu, tmp_path: Path
) -> None:
    kitsu.faults = transient(kind)
    done = run(cache, kitsu.url, "crawl", "--around", "alice", "--max-users", "3", "--json")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    [summary] = json_lines(done)
    assert summary["new_users"] == 3 and len(summary["user_ids"]) == 3
    for uid in ["1001", *summary["user_ids"]]:
        assert snapshot(cache, uid) == reference(kitsu.url, uid, tmp_path / f"ref-{uid}"), uid


def test_crawl_and_fetch_under_random_mixed_faults(
    cache: Path, kitsu: FakeKitsu, tmp_path: Path
) -> None:
    """30% of requests fail with a random kind (fixed seed): still complete data."""
    write_settings(cache, attempts=10)
    kitsu.faults = Faults(rate=0.3, kinds=FAULT_KINDS, seed=6, slow_seconds=SLOW)
    done = run(cache, kitsu.url, "crawl", "--around", "alice", "--max-users", "12", "--json")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    done2 = run(cache, kitsu.url, "fetch", "sam", "1003", "mallory", "--json")
    no_traceback(done2)
    assert done2.returncode == 0, done2.stderr
    assert len(kitsu.faults.injected) >= 5, kitsu.faults.injected
    kitsu.faults = None
    [summary] = json_lines(done)
    for uid in ["1001", "1002", "1003", "1004", *summary["user_ids"]]:
        assert snapshot(cache, uid) == reference(kitsu.url, uid, tmp_path / f"ref-{uid}"), uid


# -- persistent faults: one line and exit 1, or cached data marked offline --------------------


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_persistent_fault_fetch_uncached_is_one_line(
    kind: str, cache: Path, kitsu: FakeKitsu
) -> None:
    write_settings(cache, attempts=2)
    kitsu.faults = persistent(kind)
    done = run(cache, kitsu.url, "fetch", "alice")
    line = one_line(done)
    assert done.returncode == 1, done.stderr
    assert line.startswith("animerec: ")
    assert snapshot(cache, "1001") is None


def test_fetch_slow_throughout_but_within_timeout_completes(
    cache: Path, kitsu: FakeKitsu, tmp_path: Path
) -> None:
    """Every answer takes most of the timeout: slow is not broken, the data is complete."""
    kitsu.latency = TIMEOUT * 0.6
    done = run(cache, kitsu.url, "fetch", "alice", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json_lines(done)[0]["offline"] is False
    kitsu.latency = 0.0
    assert snapshot(cache, "1001") == reference(kitsu.url, "1001", tmp_path / "ref")


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_persistent_fault_other_stages(kind: str, cache: Path, kitsu: FakeKitsu) -> None:
    reference(kitsu.url, "1001", cache)
    before = snapshot(cache, "1001")
    write_settings(cache, attempts=2)
    kitsu.faults = persistent(kind)
    # a cached user's refresh: the cached data, untouched (or one line, exit 1)
    done = run(cache, kitsu.url, "fetch", "alice", "--refresh", "--json")
    no_traceback(done)
    if done.returncode == 0:
        assert json_lines(done)[0]["offline"] is True
    else:
        assert done.returncode == 1 and one_line(done).startswith("animerec: ")
    assert snapshot(cache, "1001") == before
    # search: served from the cache with offline true (or one line)
    done = run(cache, kitsu.url, "search", "alice", "--json")
    no_traceback(done)
    if done.returncode == 0:
        assert json_lines(done)[0]["offline"] is True
    else:
        assert done.returncode == 1 and one_line(done).startswith("animerec: ")
    # library of an uncached user and a crawl: one line, exit 1
    done = run(cache, kitsu.url, "library", "sam")
    assert done.returncode == 1, done.stderr
    assert one_line(done).startswith("animerec: ")
    done = run(cache, kitsu.url, "crawl", "--around", "alice", "--max-users", "2", "--json")
    assert done.returncode == 1, done.stdout
    assert one_line(done).startswith("animerec: ")
    assert snapshot(cache, "1001") == before
    # the failed run is not the end of the crawl: once Kitsu answers, it resumes and finishes
    kitsu.faults = None
    done = run(cache, kitsu.url, "crawl", "--around", "alice", "--max-users", "2", "--json")
    assert done.returncode == 0, done.stderr
    [summary] = json_lines(done)
    assert summary["resumed"] is True and summary["new_users"] == 2 and summary["finished"]


# -- 400 code 118: the client retries with the allowed page size -----------------------------


def test_error_118_retries_with_allowed_page_size(
    cache: Path, kitsu: FakeKitsu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake_server, "MAX_LIBRARY_LIMIT", 50)  # alice has 120 entries
    kitsu.faults = Faults(script=["503"])
    done = run(cache, kitsu.url, "fetch", "alice", "--json")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    rejected = [e for e in kitsu.log if e.status == 400]
    assert rejected and all("page%5Blimit%5D=500" in e.path for e in rejected)
    assert len(rejected) == 1  # later pages use the learned size
    pages = [
        e
        for e in kitsu.log
        if "/library-entries" in e.path
        and e.status == 200
        and "page%5Blimit%5D=50&" in e.path + "&"
    ]
    assert len(pages) == 3  # 50 + 50 + 20
    assert snapshot(cache, "1001") == reference(kitsu.url, "1001", tmp_path / "ref")


# -- 2. hostile input: URL-encoded, never a filter or a path ---------------------------------

HOSTILE_QUERIES = [
    "a&filter[id]=1001",
    "x=y&page[limit]=500",
    "[bold]sam[/bold]",
    "100%25&%26",
    "../../users/1001",
    "1001/library-entries",
    "what?filter[slug]=alice",
    "alice#frag",
    "日本語ユーザー 🎌",
    "é" * 5000,  # 10 kB of UTF-8
    "1001?include=anime",
    "\u00b2\u00b3",  # digits to str.isdigit, not to Kitsu
]

KNOWN_PATH = {
    "users",
    "library-entries",
    "favorites",
    "anime",
}


def _check_log(kitsu: FakeKitsu, query: str) -> None:
    assert kitsu.log, "no request reached the server"
    for entry in kitsu.log:
        assert entry.method == "GET"
        parsed = urllib.parse.urlsplit(entry.path)
        path = parsed.path
        assert path.startswith(PREFIX + "/") or path.startswith(REDIRECTED_PREFIX + "/"), path
        parts = path.split("/")[3:] if path.startswith(PREFIX) else path.split("/")[4:]
        assert parts[0] in KNOWN_PATH, path
        assert len(parts) <= 2 and all(
            p.isascii() and (p.isalpha() or p.isdigit() or "-" in p) for p in parts
        ), path
        if len(parts) == 2:
            assert parts[1].isdigit() and 1000 <= int(parts[1]) < 6000, path
        params = urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)
        keys = [k for k, _ in params]
        assert len(keys) == len(set(keys)), entry.path  # nothing smuggled in twice
        allowed = {
            "filter[slug]",
            "filter[name]",
            "filter[query]",
            "filter[id]",
            "page[limit]",
            "page[offset]",
        }
        assert set(keys) <= allowed, entry.path
        # the user's text arrives whole, as the value of exactly one filter
        for key, value in params:
            if key.startswith("filter["):
                assert value == query.strip(), (key, value[:80])


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
def test_hostile_query_in_core_cannot_add_filters_or_change_path(
    query: str, tmp_path: Path, kitsu: FakeKitsu
) -> None:
    """The same services the CLI and TUI call, with the real client (no process: fast)."""
    from animerec_tui.core.errors import BadInput

    settings = load_settings(tmp_path / "c", env={"ANIMEREC_API_URL": kitsu.url})
    (tmp_path / "c").mkdir()
    write_settings(tmp_path / "c")
    core = Core(settings=settings, cache=Cache(settings.db_path))
    try:
        for op in (core.search, core.fetch, core.library):
            kitsu.reset_stats()
            try:
                asyncio.run(op(query))
            except BadInput as exc:
                assert "\n" not in str(exc)
            if kitsu.log:
                _check_log(kitsu, query)
            elif op == core.search:
                pytest.fail("search sent no request")
    finally:
        core.close()


@pytest.mark.parametrize("query", [HOSTILE_QUERIES[i] for i in (0, 9)], ids=["amp", "10kB"])
def test_hostile_query_cannot_add_filters_or_change_path(
    query: str, cache: Path, kitsu: FakeKitsu
) -> None:
    for command in ("search", "fetch", "library"):
        kitsu.reset_stats()
        done = run(cache, kitsu.url, command, query, "--json")
        no_traceback(done)
        assert done.returncode in (0, 2), (command, done.stderr)
        if done.returncode == 2:
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
            assert len(done.stderr) < 12_000
        if kitsu.log:
            _check_log(kitsu, query)
        elif command == "search":
            pytest.fail("search sent no request")


# -- issue 10: outages that look like answers, and bounded waiting ----------------------------

PARKED = (FIXTURES / "cases/parked-domain/any-url_response.http").read_bytes()
"""What every kitsu.io URL answered during the 2024 domain expiry: HTTP 200, an HTML page."""


def parked() -> Faults:
    return Faults(rate=1.0, kinds=("recorded",), recorded=PARKED)


def test_fake_replays_the_recorded_parking_page_exactly(kitsu: FakeKitsu) -> None:
    import httpx

    kitsu.faults = parked()
    answer = httpx.get(kitsu.url + "/users?filter[name]=alice")
    _head, _, body = PARKED.partition(b"\r\n\r\n")
    assert answer.status_code == 200 and answer.content == body
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"


def test_parked_domain_serves_the_cache_offline_exit_0(cache: Path, kitsu: FakeKitsu) -> None:
    """Case parked-domain: search, fetch and library of a cached user exit 0 from the cache,
    marked offline, as with a refused connection (cooldown 0: each command meets the page)."""
    reference(kitsu.url, "1001", cache)
    before = snapshot(cache, "1001")
    write_settings(cache, cooldown=0)
    kitsu.faults = parked()
    done = run(cache, kitsu.url, "search", "alice", "--json")
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    [found] = json_lines(done)
    assert found["offline"] is True and "1001" in {u["id"] for u in found["users"]}
    done = run(cache, kitsu.url, "fetch", "alice", "--json")
    assert done.returncode == 0, done.stderr
    [fetched] = json_lines(done)
    assert fetched["offline"] is True and fetched["mode"] == "cached"
    assert fetched["entries"] == 120
    done = run(cache, kitsu.url, "search", "alice")
    assert done.returncode == 0 and "offline (Kitsu cannot be reached)" in done.stderr
    done = run(cache, kitsu.url, "fetch", "alice", "--refresh")
    assert done.returncode == 0 and "served from the cache" in done.stderr, done.stderr
    assert snapshot(cache, "1001") == before
    assert set(kitsu.faults.injected) == {"recorded"}


def test_parked_domain_uncached_user_is_one_line_exit_1(cache: Path, kitsu: FakeKitsu) -> None:
    kitsu.faults = parked()
    done = run(cache, kitsu.url, "fetch", "alice")
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith("animerec: Kitsu cannot be reached") and "not a JSON:API" in line


@pytest.mark.parametrize("kind", ["hang", "trickle"])
def test_search_gives_up_at_its_deadline_then_cools_down(
    kind: str, cache: Path, kitsu: FakeKitsu
) -> None:
    """Issue 10: whatever Kitsu does, a search ends by ``search_deadline`` (the per-request
    timeout, 30 s here, never fires first); the next command does not wait again (no request
    at all), and an explicit ``fetch --refresh`` asks Kitsu at once."""
    reference(kitsu.url, "1001", cache)
    write_settings(cache, attempts=6, timeout=30.0, search_deadline=1.0, cooldown=600)
    kitsu.faults = Faults(rate=1.0, kinds=(kind,), slow_seconds=60.0)
    started = time.monotonic()
    done = run(cache, kitsu.url, "search", "alice", "--json")
    took = time.monotonic() - started
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    [found] = json_lines(done)
    assert found["offline"] is True and "1001" in {u["id"] for u in found["users"]}
    assert took < 25, took  # 1 s of waiting plus a Python start on a loaded machine
    asked = kitsu.requests
    assert asked >= 3  # slug, name and fuzzy lookups at once
    # cooling down: the next processes answer from the cache without a single request
    done = run(cache, kitsu.url, "search", "alice", "--json")
    assert done.returncode == 0 and json_lines(done)[0]["offline"] is True
    done = run(cache, kitsu.url, "fetch", "alice", "--json")
    assert done.returncode == 0 and json_lines(done)[0]["mode"] == "cached"
    done = run(cache, kitsu.url, "library", "sam")
    assert done.returncode == 1 and "a refresh retries now" in one_line(done)
    assert kitsu.requests == asked
    # an explicit refresh retries at once, and Kitsu answering ends the cool-down
    kitsu.faults = None
    done = run(cache, kitsu.url, "fetch", "alice", "--refresh", "--json")
    assert done.returncode == 0, done.stderr
    assert json_lines(done)[0]["offline"] is False and kitsu.requests > asked
    done = run(cache, kitsu.url, "search", "sam", "--json")
    assert json_lines(done)[0]["offline"] is False


@pytest.mark.parametrize("kind", ["hang", "trickle"])
def test_fetch_gives_up_at_its_deadline_and_serves_the_cache(
    kind: str, cache: Path, kitsu: FakeKitsu
) -> None:
    reference(kitsu.url, "1001", cache)
    before = snapshot(cache, "1001")
    write_settings(cache, attempts=6, timeout=30.0, fetch_deadline=1.5)
    kitsu.faults = Faults(rate=1.0, kinds=(kind,), slow_seconds=60.0)
    started = time.monotonic()
    done = run(cache, kitsu.url, "fetch", "alice", "--refresh", "--json")
    took = time.monotonic() - started
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    [fetched] = json_lines(done)
    assert fetched["offline"] is True and fetched["mode"] == "cached"
    assert took < 25, took
    assert snapshot(cache, "1001") == before
    done = run(cache, kitsu.url, "fetch", "sam")  # uncached: one line, at once
    assert done.returncode == 1
    assert "no answer within 1.5 s in all" in (cache / "connectivity.json").read_text()
    assert one_line(done).startswith("animerec: Kitsu cannot be reached")


COMMANDS_OFFLINE = [
    ("search", "alice"),
    ("fetch", "alice"),
    ("fetch", "alice", "--refresh"),
    ("library", "alice"),
    ("recommend", "alice"),
    ("crawl", "--around", "alice"),
]


@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_offline_sends_no_request_for_any_command(
    where: str, cache: Path, kitsu: FakeKitsu
) -> None:
    """Issue 10: ``--offline`` (before or after the command) or ANIMEREC_OFFLINE=1 means not
    one request, for every command that could ask Kitsu."""
    for command in COMMANDS_OFFLINE:
        if where == "before":
            done = run_cli(cache, kitsu.url, "--offline", *command, timeout=PROC_TIMEOUT)
        elif where == "after":
            done = run_cli(cache, kitsu.url, command[0], "--offline", *command[1:])
        else:
            done = run_cli(cache, kitsu.url, *command, timeout=PROC_TIMEOUT, ANIMEREC_OFFLINE="1")
        no_traceback(done)
        if command[0] == "search":
            assert done.returncode == 0 and "offline mode" in done.stderr, done.stderr
        else:
            assert done.returncode == 1, (command, done.stderr)
        assert kitsu.requests == 0, (command, kitsu.log)
