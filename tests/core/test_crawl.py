"""The crawler against the fake Kitsu server, through real sockets.

Exact targets, resumption after a cancel / an exception / SIGKILL without re-fetching
finished users, and politeness (in-flight and rate caps) measured on the server side.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import FIXTURES
from helpers.cli import run_cli

from animerec_tui.core.cache import Cache
from animerec_tui.core.errors import BadInput
from animerec_tui.core.population.crawl import (
    FAILED_KEY,
    STATE_KEY,
    CrawlProgress,
    anime_order,
    crawl,
    crawl_client,
)
from animerec_tui.core.records import Anime, Library, LibraryEntry, User
from animerec_tui.core.settings import CrawlSettings, NetworkSettings, Settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu

FAST_NET = NetworkSettings(max_attempts=4, backoff_base=0.01, backoff_max=0.05, timeout=10.0)
SEED_USER = "1001"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    ds = Dataset(seed=0)
    ds.add_anime(n=600)
    ds.add_user(id=SEED_USER, name="alice", slug="alice", entries=120, favorites=10)
    ds.add_population(n_users=400, first_id=5000, min_entries=1, max_entries=80)
    return ds


@pytest.fixture
def server(dataset: Dataset) -> Iterator[FakeKitsu]:
    with FakeKitsu(dataset, latency=0.0) as srv:
        yield srv


def _settings(tmp_path: Path, url: str, **crawl: Any) -> Settings:
    values = {"concurrency": 3, "requests_per_second": 0.0, "min_entries": 5, **crawl}
    return Settings(
        cache_dir=tmp_path / "cache",
        api_url=url,
        network=FAST_NET,
        crawl=replace(CrawlSettings(), **values),
    )


# -- reading the server's log ------------------------------------------------------------------


def _record(item: Any) -> tuple[float | None, str, dict[str, str]]:
    """(time, path, query) of one logged request, whatever shape the server logs it in."""
    if isinstance(item, dict):
        when = item.get("time", item.get("t", item.get("started")))
        url = str(item.get("url") or item.get("path") or "")
        query = item.get("params") or item.get("query") or {}
    else:
        when = getattr(item, "time", getattr(item, "t", getattr(item, "started", None)))
        url = str(getattr(item, "url", None) or getattr(item, "path", ""))
        query = getattr(item, "params", None) or getattr(item, "query", None) or {}
    parts = urlsplit(url)
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if isinstance(query, dict):
        params.update({str(k): str(v) for k, v in query.items()})
    elif isinstance(query, str):
        params.update({k: v[-1] for k, v in parse_qs(query).items()})
    path = parts.path.rstrip("/")
    path = path.split("/api/edge")[-1] if "/api/edge" in path else path
    return (float(when) if when is not None else None), path, params


def _log(server: FakeKitsu) -> list[tuple[float | None, str, dict[str, str]]]:
    return [_record(item) for item in list(server.log)]


def _library_requests(server: FakeKitsu, start: int = 0) -> list[str]:
    """User ids whose library (first page) was requested, in order, from log index start
    (a crawl asks for several users' at once: ``filter[userId]=a,b,c``)."""
    return [
        uid
        for _, path, q in _log(server)[start:]
        if path.endswith("library-entries")
        and "filter[userId]" in q
        and q.get("page[offset]", "0") == "0"
        and q.get("page[limit]") != "1"
        for uid in q["filter[userId]"].split(",")
    ]


def _crawled(cache: Cache) -> set[str]:
    return {
        r[0]
        for r in cache.query(
            "SELECT u.id FROM users u JOIN sync_state s USING (uid) WHERE s.source = 'kitsu'"
        )
    } - {SEED_USER}


async def _run(settings: Settings, cache: Cache, **kwargs: Any) -> Any:
    async with crawl_client(settings) as client:
        return await crawl(cache, client, settings, **kwargs)


# -- tests --------------------------------------------------------------------------------------


async def test_around_caches_exactly_max_users(tmp_path: Path, server: FakeKitsu) -> None:
    settings = _settings(tmp_path, server.url)
    events: list[CrawlProgress] = []
    with Cache(settings.db_path) as cache:
        summary = await _run(
            settings, cache, around=SEED_USER, max_users=50, seed=1, progress=events.append
        )
        users = _crawled(cache)
        assert summary.new_users == 50 and summary.finished and not summary.cancelled
        assert len(users) == 50 and set(summary.user_ids) == users
        assert SEED_USER not in users
        for uid in users:
            state = cache.sync_state(uid)
            assert state is not None and state.entry_count >= 5
        state = cache.get_state(STATE_KEY)
        assert state["finished"] is True and len(state["done"]) == 50
    assert events[-1].users_done == 50 and events[-1].users_target == 50
    assert all(0 <= e.users_done <= 50 for e in events)
    assert summary.requests == events[-1].requests or summary.requests >= events[-1].requests
    libraries = _library_requests(server)
    assert len(libraries) == 1 + 50 + summary.skipped  # the seed user, then each candidate
    assert len(libraries) == len(set(libraries))  # nobody fetched twice
    json.dumps(summary.to_json())
    assert "50 of 50" in summary.summary()


async def test_cancel_then_resume_keeps_users_and_skips_refetch(
    tmp_path: Path, server: FakeKitsu
) -> None:
    settings = _settings(tmp_path, server.url)
    cancel = threading.Event()

    def stop_at_15(p: CrawlProgress) -> None:
        if p.users_done >= 15:
            cancel.set()

    with Cache(settings.db_path) as cache:
        first = await _run(
            settings, cache, around=SEED_USER, max_users=40, progress=stop_at_15, cancel=cancel
        )
        assert first.cancelled and not first.finished
        before = _crawled(cache)
        assert 15 <= len(before) < 40 and set(first.user_ids) == before
        mark = len(server.log)
        second = await _run(settings, cache, around=SEED_USER, max_users=40)
        after = _crawled(cache)
        assert second.resumed and second.finished and second.new_users == 40
        assert before <= after and len(after) == 40
        assert not set(_library_requests(server, mark)) & before


async def test_exception_after_n_users_resumes(tmp_path: Path, server: FakeKitsu) -> None:
    settings = _settings(tmp_path, server.url, concurrency=4)

    class Boom(Exception):
        pass

    def explode(p: CrawlProgress) -> None:
        if p.users_done >= 12:
            raise Boom

    with Cache(settings.db_path) as cache:
        with pytest.raises(Boom):
            await _run(settings, cache, around=SEED_USER, max_users=30, progress=explode)
        before = _crawled(cache)
        assert len(before) >= 12
        mark = len(server.log)
        second = await _run(settings, cache, around=SEED_USER, max_users=30)
        assert second.resumed and second.new_users == 30
        after = _crawled(cache)
        assert before <= after and len(after) == 30
        assert not set(_library_requests(server, mark)) & before
        # A finished crawl is not resumed: the next one starts afresh.
        third = await _run(settings, cache, around=SEED_USER, max_users=5)
        assert not third.resumed and third.new_users == 5 and len(_crawled(cache)) == 35


async def test_politeness_in_flight_and_rate(tmp_path: Path, server: FakeKitsu) -> None:
    server.latency = 0.02
    settings = _settings(tmp_path, server.url, concurrency=2, requests_per_second=25.0)
    with Cache(settings.db_path) as cache:
        summary = await _run(settings, cache, around=SEED_USER, max_users=70)
    assert summary.new_users == 70
    assert server.max_in_flight <= 2
    times = sorted(t for t, _, _ in _log(server) if t is not None)
    # more requests than the cap allows in a second, or the windows below prove nothing (a
    # crawl costs about one request per new user since libraries are batched)
    assert len(times) > 30
    # Over the whole crawl and in every 1-second window: no more than the cap (+1 for edges).
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate <= 25.0 * 1.05
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t < start + 1.0)
        assert in_window <= 25 + 1


async def test_random_mode_skips_missing_and_small(tmp_path: Path) -> None:
    ds = Dataset(seed=4)
    ds.add_anime(n=200)
    ds.add_population(n_users=120, first_id=1, min_entries=0, max_entries=30)
    with FakeKitsu(ds, latency=0.0) as server:
        settings = _settings(tmp_path, server.url)
        with Cache(settings.db_path) as cache:
            summary = await _run(settings, cache, random=True, max_users=10, seed=3)
            users = _crawled(cache)
            assert summary.new_users == 10 == len(users)
            assert summary.skipped > 0  # missing ids and small libraries were met and skipped
            assert all(cache.sync_state(u).entry_count >= 5 for u in users)  # type: ignore[union-attr]
            assert all(1 <= int(u) <= 200 for u in users)


async def test_around_small_neighbourhood_is_exhausted(tmp_path: Path) -> None:
    ds = Dataset(seed=5)
    ds.add_anime(n=50)
    ds.add_user(id="42", name="solo", slug="solo", entries=5, favorites=0)
    ds.add_population(n_users=6, first_id=100, min_entries=5, max_entries=20)
    with FakeKitsu(ds, latency=0.0) as server:
        settings = _settings(tmp_path, server.url)
        with Cache(settings.db_path) as cache:
            summary = await _run(settings, cache, around="solo", max_users=50)
            assert summary.exhausted and summary.new_users <= 6


async def test_bad_arguments(tmp_path: Path, server: FakeKitsu) -> None:
    settings = _settings(tmp_path, server.url)
    with Cache(settings.db_path) as cache:
        for kwargs in ({}, {"around": SEED_USER, "random": True}, {"random": True, "max_users": 0}):
            with pytest.raises(BadInput):
                await _run(settings, cache, **kwargs)


def test_anime_order_prefers_completed_rated_and_less_popular() -> None:
    import random

    entries = [
        LibraryEntry("u", "1", "completed", rating_twenty=20),
        LibraryEntry("u", "2", "planned"),
        LibraryEntry("u", "3", "completed", rating_twenty=20),
    ]
    anime = {
        "1": Anime(id="1", user_count=100),
        "2": Anime(id="2", user_count=100),
        "3": Anime(id="3", user_count=1_000_000),
    }
    library = Library(User(id="u"), entries, [], anime)
    firsts = [anime_order(library, random.Random(i))[0] for i in range(400)]
    assert firsts.count("1") > firsts.count("2") > 0
    assert firsts.count("1") > firsts.count("3")


DRIVER = """
import asyncio, sys
from dataclasses import replace
from pathlib import Path
from animerec_tui.core.cache import Cache
from animerec_tui.core.population import crawl as crawl_module
from animerec_tui.core.population.crawl import crawl, crawl_client
from animerec_tui.core.settings import CrawlSettings, NetworkSettings, Settings

# Small batches: progress (and so the kill) comes every few users, not in jumps of 10.
crawl_module.BATCH_USERS = 3
url, cache_dir, target = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
settings = Settings(
    cache_dir=cache_dir, api_url=url,
    network=NetworkSettings(max_attempts=4, backoff_base=0.01, backoff_max=0.05),
    crawl=replace(CrawlSettings(), concurrency=3, requests_per_second=40.0, min_entries=5),
)

def progress(p):
    print(p.users_done, flush=True)

async def main():
    with Cache(settings.db_path) as cache:
        async with crawl_client(settings) as client:
            s = await crawl(cache, client, settings, around="1001", max_users=target,
                            progress=progress)
    print("DONE", s.new_users, s.resumed, flush=True)

asyncio.run(main())
"""


def test_sigkill_half_way_then_resume(tmp_path: Path, server: FakeKitsu) -> None:
    cache_dir = tmp_path / "cache"
    cmd = [sys.executable, "-c", DRIVER, server.url, str(cache_dir), "30"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if (line.strip().isdigit() and int(line) >= 12) or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with Cache(cache_dir / "animerec.sqlite3") as cache:
        before = _crawled(cache)
        assert 12 <= len(before) < 30, "the kill came too late to test anything"
    mark = len(server.log)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "DONE 30 True"
    with Cache(cache_dir / "animerec.sqlite3") as cache:
        after = _crawled(cache)
    assert before <= after and len(after) == 30
    refetched = set(_library_requests(server, mark)) & before
    assert not refetched


# -- the real API's request pattern; one user failing for good ---------------------------------

CASES = FIXTURES / "cases" / "crawl-one-user-500"
CLI_SETTINGS = (
    "[crawl]\nconcurrency = 3\nrequests_per_second = 0.0\nmin_entries = 5\n"
    "[network]\nmax_attempts = 3\nbackoff_base = 0.01\nbackoff_max = 0.05\n"
)


def _cli_cache(tmp_path: Path) -> Path:
    cache = tmp_path / "cli-cache"
    cache.mkdir()
    (cache / "settings.toml").write_text(CLI_SETTINGS, encoding="utf-8")
    return cache


def _recorded_answer(name: str) -> tuple[int, bytes]:
    """(status, body) of a recorded raw HTTP answer (status line, headers, blank, body)."""
    raw = (CASES / name).read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    return int(head.split()[1]), body


def test_crawl_around_60_on_the_real_request_pattern(tmp_path: Path, server: FakeKitsu) -> None:
    """Issue 11's done-when: against a fake that links only included relationships (as
    jsonapi-resources 0.9.12 does), ``crawl --around alice --max-users 60`` caches 60 new
    users and exits 0; every discovery page asks ``include=user`` with a small fieldset, and
    no candidate needs a ``/users/{id}`` of its own."""
    cache = _cli_cache(tmp_path)
    done = run_cli(cache, server.url, "crawl", "--around", "alice", "--max-users", "60", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["new_users"] == 60 and summary["finished"] and summary["failed"] == 0
    with Cache(cache / "animerec.sqlite3") as db:
        assert len(_crawled(db)) == 60
    discovery = [q for _, p, q in _log(server) if "filter[animeId]" in q]
    assert discovery and all(q["include"] == "user" for q in discovery)
    assert all(q["fields[users]"].count(",") < 10 for q in discovery)  # a small fieldset
    lookups = [p for _, p, _ in _log(server) if p.startswith("/users/")]
    assert lookups == [], lookups  # user records came included
    assert summary["requests"] / 60 <= 1.6


def _small_neighbourhood() -> Dataset:
    """alice and a dozen users around her: each anime has fewer owners than a discovery page
    holds, so a crawl around alice meets every one of them, whatever its seed."""
    ds = Dataset(seed=9)
    ds.add_anime(n=40)
    ds.add_user(id=SEED_USER, name="alice", slug="alice", entries=ds_visible(ds), favorites=3)
    ds.add_population(n_users=12, first_id=5000, min_entries=5, max_entries=25)
    return ds


def _answer_libraries_of(
    server: FakeKitsu, user_id: str, answer: Callable[[], tuple[int, bytes] | None]
) -> None:
    """The fake answers ``answer()`` (status, body) to every library request that asks for
    ``user_id``'s entries (alone or in ``filter[userId]=a,b,...``); None: as usual."""
    real_handle = server.api.handle

    def handle(raw_path: str, accept: str | None, host: str) -> tuple[int, bytes]:
        query = parse_qs(urlsplit(raw_path).query)
        owners = ",".join(query.get("filter[userId]", [])).split(",")
        if urlsplit(raw_path).path.endswith("/library-entries") and user_id in owners:
            got = answer()
            if got is not None:
                return got
        return real_handle(raw_path, accept, host)

    server.api.handle = handle  # type: ignore[method-assign]


def test_one_user_failing_for_good_is_skipped_and_remembered(tmp_path: Path) -> None:
    """Case crawl-one-user-500: Kitsu answers every request for one candidate's library
    with its HTML 500 page (as recorded) while all else answers. The crawl skips that user,
    finishes the others and exits 0, counting it; the next crawl never asks for it again.

    The neighbourhood is small enough that the crawl meets every user, the broken one too.
    """
    status, body = _recorded_answer("library-entries_user20007.http")
    assert status == 500 and b"something went wrong" in body
    ds = _small_neighbourhood()
    bad = "20007"
    ds.add_user(id=bad, name="broken", slug=None, entries=15, favorites=2)
    others = {u for u, es in ds.entries.items() if len(es) >= 5} - {SEED_USER, bad}
    with FakeKitsu(ds, latency=0.0) as server:
        _answer_libraries_of(server, bad, lambda: (status, body))
        cache = _cli_cache(tmp_path)
        args = ["crawl", "--around", "alice", "--max-users", "100", "--json"]
        done = run_cli(cache, server.url, *args)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary["failed"] == 1 and summary["failed_ids"] == [bad], summary
        assert set(summary["user_ids"]) == others and summary["exhausted"]
        with Cache(cache / "animerec.sqlite3") as db:
            assert _crawled(db) == others
            assert bad in db.get_state(FAILED_KEY)
        mark = len(server.log)
        again = run_cli(cache, server.url, *args[:-1])
        assert again.returncode == 0, again.stderr
        assert "failing on Kitsu" not in again.stdout, again.stdout  # not met, not counted
        assert bad not in _library_requests(server, mark)  # remembered: never asked again


def ds_visible(ds: Dataset) -> int:
    """How many anime of ``ds`` anonymous readers see (a library of all of them)."""
    return sum(1 for a in ds.anime.values() if a.get("ageRating") != "R18" and not a.get("nsfw"))


async def test_batched_libraries_equal_one_by_one(server: FakeKitsu, dataset: Dataset) -> None:
    """``fetch_libraries`` (one ``filter[userId]=a,b,...`` query, paged by 500) gives each
    user exactly the library ``fetch_library`` gives, and asks no favourites of users whose
    ``favoritesCount`` is 0."""
    from animerec_tui.core.kitsu.client import KitsuClient

    big = sorted(dataset.entries, key=lambda u: -len(dataset.entries[u]))[:12]
    assert sum(len(dataset.entries[u]) for u in big) > 500  # more than one page
    async with KitsuClient(server.url, network=FAST_NET) as client:
        users = [await client.get_user(uid) for uid in big]
        no_favs = [u.id for u in users if u.favorites_count == 0]
        assert no_favs and len(no_favs) < len(users)
        mark = len(server.log)
        batched = await client.fetch_libraries(users)
        batch_log = _log(server)[mark:]
        singles = {u.id: await client.fetch_library(u) for u in users}
    for uid in big:
        one, many = singles[uid], batched[uid]
        assert many.entries == one.entries and many.favorites == one.favorites, uid
        assert many.anime == one.anime and many.status_counts == one.status_counts, uid
    fav_queries = [q for _, p, q in batch_log if p.endswith("favorites")]
    assert fav_queries and all(
        not set(q["filter[userId]"].split(",")) & set(no_favs) for q in fav_queries
    )
    assert len(batch_log) < len(big)  # fewer requests than users


def test_a_gateway_failure_is_kitsus_state_not_the_users(tmp_path: Path) -> None:
    """A 503 from Kitsu's gateway (or no answer) says nothing about the user whose library was
    asked for: the crawl stops with its progress saved (exit 1) and remembers nobody as
    failing, so the next crawl, with Kitsu back, fetches that user too."""
    victim = "5003"
    with FakeKitsu(_small_neighbourhood(), latency=0.0) as server:
        down = {"on": True}
        gateway = (503, b"<html><body>503 Service Temporarily Unavailable</body></html>")
        _answer_libraries_of(server, victim, lambda: gateway if down["on"] else None)
        cache = _cli_cache(tmp_path)
        args = ["crawl", "--around", "alice", "--max-users", "100", "--json"]
        done = run_cli(cache, server.url, *args)
        assert done.returncode == 1, done.stdout
        with Cache(cache / "animerec.sqlite3") as db:
            assert victim not in (db.get_state(FAILED_KEY) or [])
        down["on"] = False
        again = run_cli(cache, server.url, *args)
        assert again.returncode == 0, again.stderr
        with Cache(cache / "animerec.sqlite3") as db:
            assert victim in _crawled(db)
