"""SIGKILL at random points during fetch, refresh, crawl, seeding and training.

The README promises that a crash never leaves half of anything: a library is replaced in one
transaction, the bundled sample is seeded in one transaction, a crawl resumes where it stopped
and a model is written atomically. Ctrl-C is covered elsewhere; SIGKILL is the hard case,
because no ``finally`` runs. So real ``python -m animerec_tui`` processes are killed at points
drawn from a fixed-seed ``random.Random`` (relative to when the process has started the work,
so the kills land inside it on a slow machine too), and after every kill:

* ``PRAGMA integrity_check`` is ``ok``;
* every user with a library has exactly its sync-state ``entry_count`` entries (and
  ``favorite_count`` favourites), and no entries belong to a user without a sync state;
* what the kill interrupted is either entirely the old state or entirely the new one.

Then an uninterrupted run must finish the interrupted work. Any kill point is acceptable
(before the work, inside it, after the commit): the assertions hold for all of them, so the
tests do not depend on timing to pass. The counts are bounded (the whole file takes about a
minute on two cores).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers.cli import COMMAND, cli_env, closed_port_url, run_cli

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.db import SyncState
from animerec_tui.core.population.crawl import STATE_KEY as CRAWL_STATE
from animerec_tui.core.population.sample import sample_manifest
from animerec_tui.core.recommend.persist import load_model
from animerec_tui.fakekitsu import Dataset, FakeKitsu
from animerec_tui.fakekitsu.dataset import now_iso

SEED = 20_240_611
"""One seed for every random kill point: a failure reproduces with the same kills."""
DB_NAME = "animerec.sqlite3"
FETCH_KILLS = 5
REFRESH_KILLS = 3  # per phase (incremental, then full fallback)
CRAWL_KILLS = 4
SEED_KILLS = 5
TRAIN_KILLS = 6
CRAWL_TARGET = 40
SMALL_MODEL = "[model]\nfactors = 8\niterations = 2\nease_max_items = 1000\n"
TRAIN_B = ("--factors", "64", "--iterations", "25")
"""Model B: different parameters, and a fit long enough (~1 s here) for kills to land in it."""

# (anime_id, entry id, status, progress, rating): what a library entry means to the recommender
Row = tuple[str, str | None, str, int | None, int | None]


# -- helpers: the cache after a kill -------------------------------------------------------------


def check_cache(cache_dir: Path) -> dict[str, SyncState]:
    """Assert the cache is sound after a kill; return every synced user's sync state.

    Sound means: SQLite's own integrity check passes, each user with a library has exactly
    as many entries and favourites as its sync state says (a partial library would not), and
    no entries or favourites exist for a user without a sync state. A file the killed process
    created but never got to set up (no schema yet) is sound and empty: it is left untouched,
    so the next start sets it up exactly as it would have.
    """
    path = cache_dir / DB_NAME
    if not path.exists():
        return {}
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        raw.close()
    if "sync_state" not in tables:
        return {}
    states: dict[str, SyncState] = {}
    with Cache(path) as cache:
        entries = dict(cache.query("SELECT uid, COUNT(*) FROM entries GROUP BY uid"))
        favorites = dict(cache.query("SELECT uid, COUNT(*) FROM favorites GROUP BY uid"))
        uids = dict(cache.query("SELECT id, uid FROM users"))
        for user_id in cache.cached_user_ids():
            state = cache.sync_state(user_id)
            assert state is not None
            uid = uids[user_id]
            assert entries.pop(uid, 0) == state.entry_count, f"partial library for {user_id}"
            assert favorites.pop(uid, 0) == state.favorite_count, f"partial favs for {user_id}"
            states[user_id] = state
    assert not entries, f"entries of users without a sync state: {sorted(entries)[:5]}"
    assert not favorites, f"favourites of users without a sync state: {sorted(favorites)[:5]}"
    return states


def cached_rows(cache_dir: Path, user_id: str) -> frozenset[Row] | None:
    with Cache(cache_dir / DB_NAME) as cache:
        library = cache.library(user_id)
    if library is None:
        return None
    return frozenset(
        (e.anime_id, e.id, e.status, e.progress, e.rating_twenty) for e in library.entries
    )


def truth(ds: Dataset, user_id: str) -> frozenset[Row]:
    """The library the fake Kitsu serves right now (what a complete fetch must cache)."""
    with ds.lock:
        return frozenset(
            (e["animeId"], e["id"], e["status"], e["progress"], e["ratingTwenty"])
            for e in ds.entries[user_id]
            if ds.entry_visible(e)
        )


# -- helpers: killing a process ------------------------------------------------------------------


Started = Callable[[subprocess.Popen[bytes]], bool]
"""Whether a process has begun the work a kill should interrupt."""


def _wait(predicate: Started, proc: subprocess.Popen[bytes], limit: float) -> None:
    """Poll until ``predicate`` holds, the process has ended, or ``limit`` seconds passed."""
    deadline = time.monotonic() + limit
    while not predicate(proc) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)


def kill_during(
    cache_dir: Path,
    api: str,
    args: list[str],
    *,
    started: Started,
    delay: float,
    log: Path,
) -> bool:
    """Run ``animerec ARGS``, SIGKILL it ``delay`` s after ``started(proc)`` first holds.

    Returns whether the kill hit a live process (False: it had already finished). A process
    that ended by itself must have succeeded: a crash of its own would make the kill
    meaningless, and the checks after it would pass for the wrong reason.
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*COMMAND, *args], stdout=out, stderr=subprocess.STDOUT, env=cli_env(cache_dir, api)
        )
        try:
            _wait(started, proc, 60)
            time.sleep(delay)
            alive = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert code in (0, -signal.SIGKILL), log.read_text(errors="replace")
    return alive and code == -signal.SIGKILL


def after_request(server: FakeKitsu) -> Started:
    """True once the server has seen a request more: the process is past start-up."""
    mark = server.requests
    return lambda proc: server.requests > mark


def has_open(path: Path) -> Started:
    """True once the process holds ``path`` open: past its imports, about to set the cache up.

    Read from ``/proc/<pid>/fd``; where there is none, true at once (the kill delay then
    counts from the process start, which still lands anywhere from start-up to exit).
    """
    target = str(path.resolve())

    def opened(proc: subprocess.Popen[bytes]) -> bool:
        fds = Path(f"/proc/{proc.pid}/fd")
        if not Path("/proc/self/fd").is_dir():
            return True
        try:
            links = [os.readlink(fd) for fd in fds.iterdir()]
        except OSError:  # it exited, or an fd closed while listing: look again
            return False
        return target in links

    return opened


def drain(server: FakeKitsu) -> None:
    """Let a killed client's last requests finish on the server (so the log is complete)."""
    time.sleep(0.05)  # a request the client sent just before it died may still be arriving
    deadline = time.monotonic() + 10
    while server.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)


def cli_ok(cache_dir: Path, api: str, *args: str) -> Any:
    done = run_cli(cache_dir, api, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


OFFLINE_API = closed_port_url()
"""Commands that never touch the network still get an API base that cannot be the internet."""


# -- fetch ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big() -> Dataset:
    """Two users with multi-page libraries (500 entries a page): 2001 for fetch, 2002 refresh."""
    ds = Dataset(seed=11)
    ds.add_anime(n=6000)
    ds.add_user(id="2001", name="big", slug="big", entries=3000, favorites=20)
    ds.add_user(id="2002", name="steady", slug="steady", entries=1500, favorites=12)
    return ds


def _change(ds: Dataset, user_id: str, *, touch: int, add: int, remove: int) -> None:
    """Change a library on the fake Kitsu: edited, new and (optionally) removed entries."""
    with ds.lock:
        for entry in ds.touch_entries(user_id, touch):
            entry["status"] = "dropped" if entry["status"] != "dropped" else "completed"
            entry["progress"] = (entry["progress"] or 0) + 1
        have = {e["animeId"] for e in ds.entries[user_id]}
        fresh = [a for a in sorted(ds.anime, key=int) if a not in have]
        fresh = [a for a in fresh if ds.entry_visible({"animeId": a})][:add]
        for anime_id in fresh:
            ds.give_anime(user_id, anime_id, status="current", progress=1, updatedAt=now_iso())
        ds.remove_entries(user_id, remove)


def test_sigkill_mid_fetch_keeps_old_or_new_library(tmp_path: Path, big: Dataset) -> None:
    """A full fetch killed anywhere leaves the previous complete library or the new one.

    Before every killed run the library changes on Kitsu (entries edited, added and
    removed), so each kill interrupts a real old -> new replacement in which old and new
    differ in size and in content: half of one would be neither.
    """
    rng = random.Random(SEED)
    cache = tmp_path / "cache"
    outcomes: list[tuple[str, bool]] = []
    with FakeKitsu(big, latency=0.0) as server:
        cli_ok(cache, server.url, "fetch", "2001")
        assert cached_rows(cache, "2001") == truth(big, "2001")
        server.latency = 0.1  # three round trips of 0.1 s: kills land between pages too
        for i in range(FETCH_KILLS):
            old = cached_rows(cache, "2001")
            _change(big, "2001", touch=20, add=8, remove=10)
            new = truth(big, "2001")
            assert old is not None and len(new) != len(old) and new != old
            killed = kill_during(
                cache,
                server.url,
                ["fetch", "2001", "--json"],
                started=after_request(server),
                delay=rng.uniform(0.0, 1.2),
                log=tmp_path / f"fetch-{i}.log",
            )
            drain(server)
            states = check_cache(cache)
            got = cached_rows(cache, "2001")
            assert got in (old, new), "a killed fetch left a mixed library"
            assert states["2001"].entry_count == len(got)
            outcomes.append(("new" if got == new else "old", killed))
        server.latency = 0.0
        result = cli_ok(cache, server.url, "fetch", "2001")
    assert result["entries"] == len(new)
    assert cached_rows(cache, "2001") == new
    check_cache(cache)
    print("fetch kills (state, killed live):", outcomes)


def _library_dump(cache_dir: Path, user_id: str) -> tuple[Any, ...]:
    """Everything cached about a user's library, for comparing two caches field by field."""
    with Cache(cache_dir / DB_NAME) as cache:
        library = cache.library(user_id)
        state = cache.sync_state(user_id)
    assert library is not None and state is not None
    return (
        sorted(library.entries, key=lambda e: e.anime_id),
        sorted(library.favorites, key=lambda f: f.anime_id),
        state.entry_count,
        state.favorite_count,
    )


def test_sigkill_mid_refresh_then_refresh_matches_a_clean_fetch(
    tmp_path: Path, big: Dataset
) -> None:
    """``fetch --refresh`` killed anywhere: old or new library; the next refresh completes.

    Two phases, because a refresh takes two paths: edits and additions only (an incremental
    merge of what changed since the last sync), then removals too (the counts disagree, so
    it falls back to a full fetch). The library changes on Kitsu before every killed run. At
    the end the refreshed cache must hold exactly what a clean fetch into an empty cache
    holds.
    """
    rng = random.Random(SEED + 1)
    cache = tmp_path / "cache"
    outcomes: list[tuple[str, str, bool]] = []
    with FakeKitsu(big, latency=0.0) as server:
        cli_ok(cache, server.url, "fetch", "2002")
        assert cached_rows(cache, "2002") == truth(big, "2002")
        phases = (  # (path taken, the change on Kitsu, kill window: the run takes about that)
            ("incremental", {"touch": 12, "add": 6, "remove": 0}, 0.5),
            ("full", {"touch": 6, "add": 3, "remove": 8}, 1.2),
        )
        for phase, change, window in phases:
            server.latency = 0.1
            for i in range(REFRESH_KILLS):
                old = cached_rows(cache, "2002")
                _change(big, "2002", **change)
                new = truth(big, "2002")
                assert old is not None and new != old
                killed = kill_during(
                    cache,
                    server.url,
                    ["fetch", "2002", "--refresh", "--json"],
                    started=after_request(server),
                    delay=rng.uniform(0.0, window),
                    log=tmp_path / f"refresh-{phase}-{i}.log",
                )
                drain(server)
                check_cache(cache)
                got = cached_rows(cache, "2002")
                assert got in (old, new), f"a killed {phase} refresh left a mixed library"
                outcomes.append((phase, "new" if got == new else "old", killed))
            server.latency = 0.0
            result = cli_ok(cache, server.url, "fetch", "2002", "--refresh")
            # nothing left to sync after a kill that came after the commit: incremental
            assert result["mode"] == (phase if got == old else "incremental"), result
            assert cached_rows(cache, "2002") == new
        clean = tmp_path / "clean"
        cli_ok(clean, server.url, "fetch", "2002")
    assert _library_dump(cache, "2002") == _library_dump(clean, "2002")
    print("refresh kills (phase, state, killed live):", outcomes)


# -- crawl ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def population() -> Dataset:
    ds = Dataset(seed=3)
    ds.add_anime(n=600)
    ds.add_user(id="1001", name="alice", slug="alice", entries=120, favorites=10)
    ds.add_population(n_users=400, first_id=5000, min_entries=1, max_entries=80)
    return ds


def _library_requests(log: list[Any]) -> set[str]:
    """User ids whose library (first page) was requested in these server log entries."""
    users = set()
    for item in log:
        parts = urlsplit(item.path)
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if (
            parts.path.endswith("library-entries")
            and "filter[userId]" in q
            and q.get("page[offset]", "0") == "0"
            and q.get("page[limit]") != "1"
        ):
            users.update(q["filter[userId]"].split(","))  # a crawl batches users: a,b,c
    return users


def _kitsu_users(states: dict[str, SyncState]) -> set[str]:
    return {u for u, s in states.items() if s.source == "kitsu"}


def test_sigkill_mid_crawl_then_resume_completes_without_refetching(
    tmp_path: Path, population: Dataset
) -> None:
    """``crawl --around`` killed several times, then run to the end.

    After every run: each user the crawl cached is complete (equal to what the server has),
    and no user cached before the run was fetched again by it. The last run resumes the
    crawl and fetches exactly the users still missing: everything a killed run cached counts
    (also a user cached just before the kill, before the crawl state recorded it).
    """
    rng = random.Random(SEED + 2)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "settings.toml").write_text(
        "[crawl]\nconcurrency = 3\nrequests_per_second = 0.0\nmin_entries = 5\n"
        "[network]\nbackoff_base = 0.01\nbackoff_max = 0.05\n",
        encoding="utf-8",
    )
    args = ["crawl", "--around", "alice", "--max-users", str(CRAWL_TARGET)]
    progress: list[tuple[int, bool]] = []
    finished = False
    # ~0.1 s a request: a killed run caches a handful of users, never the whole target
    with FakeKitsu(population, latency=0.1) as server:
        for i in range(CRAWL_KILLS + 1):
            before = _kitsu_users(check_cache(cache))
            mark = len(server.log)
            if i < CRAWL_KILLS:
                killed = kill_during(
                    cache,
                    server.url,
                    [*args, "--json"],
                    started=after_request(server),
                    delay=rng.uniform(0.3, 1.5),
                    log=tmp_path / f"crawl-{i}.log",
                )
                drain(server)
            else:
                server.latency = 0.0
                with Cache(cache / DB_NAME) as db:
                    resumable = db.get_state(CRAWL_STATE) is not None
                summary = cli_ok(cache, server.url, *args)
            refetched = _library_requests(server.log[mark:]) & before
            assert not refetched, f"run {i} fetched finished users again: {sorted(refetched)}"
            users = _kitsu_users(check_cache(cache))
            assert before <= users
            for user_id in users:
                assert cached_rows(cache, user_id) == truth(population, user_id), user_id
            with Cache(cache / DB_NAME) as db:
                state = db.get_state(CRAWL_STATE)
            if i < CRAWL_KILLS:
                progress.append((len(users - {"1001"}), killed))
                finished = bool(state and state["finished"])
                if finished:  # a kill after the last user: nothing left to resume
                    break
    crawled = users - {"1001"}
    assert len(crawled) == CRAWL_TARGET and state["finished"]
    assert set(state["done"]) == crawled
    if not finished:
        assert summary["finished"] and summary["new_users"] == CRAWL_TARGET
        assert summary["resumed"] == resumable
        assert summary["fetched_this_run"] == CRAWL_TARGET - len(before - {"1001"})
    print("crawl kills (users cached, killed live):", progress)


# -- seeding -------------------------------------------------------------------------------------


def _sample_state(cache_dir: Path) -> tuple[int, int]:
    """(sample users, their entries) after check_cache has vouched for each user's count.

    A sample user without a library would be a seed that stopped half-way (and, since the
    cache is no longer empty, one the next start would not redo): none may exist.
    """
    states = check_cache(cache_dir)
    sample = [s for s in states.values() if s.source == "sample"]
    listed = 0
    if (cache_dir / DB_NAME).exists():  # read raw: opening a Cache would set up a bare file
        raw = sqlite3.connect(cache_dir / DB_NAME)
        try:
            if raw.execute("SELECT 1 FROM sqlite_master WHERE name = 'users'").fetchone():
                listed = raw.execute("SELECT COUNT(*) FROM users WHERE sample = 1").fetchone()[0]
        finally:
            raw.close()
    assert listed == len(sample), f"{listed} sample users, {len(sample)} with a library"
    return len(sample), sum(s.entry_count for s in sample)


def test_sigkill_during_first_start_seeds_all_or_nothing(tmp_path: Path) -> None:
    """A first start killed while seeding leaves no sample users or all of them, complete.

    The kill point counts from the moment the process has the cache file open (after its
    imports); setting the cache up and seeding then take about a second here. A cache left
    empty is killed again (a second interrupted seed must be as harmless); a seeded one is
    replaced by a fresh folder. The next start on the last folder must end with the whole
    sample, exactly once.
    """
    rng = random.Random(SEED + 3)
    counts = sample_manifest()["counts"]
    full = (counts["users"], counts["entries"])
    folder = 0
    outcomes: list[tuple[str, bool]] = []
    for i in range(SEED_KILLS):
        cache = tmp_path / f"cache{folder}"
        db = cache / DB_NAME
        killed = kill_during(
            cache,
            OFFLINE_API,
            ["stats", "--offline", "--json"],
            started=has_open(db),
            delay=rng.uniform(0.0, 1.4),
            log=tmp_path / f"seed-{i}.log",
        )
        state = _sample_state(cache)
        assert state in ((0, 0), full), f"partial sample after a kill: {state}"
        outcomes.append(("seeded" if state == full else "empty", killed))
        if state == full:
            folder += 1
    stats = cli_ok(tmp_path / f"cache{folder}", OFFLINE_API, "stats", "--offline")
    assert (stats["sample_users"], stats["entries"]) == full
    assert _sample_state(tmp_path / f"cache{folder}") == full
    if folder:  # a start on a cache a killed process seeded must not seed it again
        again = cli_ok(tmp_path / "cache0", OFFLINE_API, "stats", "--offline")
        assert (again["users"], again["entries"]) == full
    print("seed kills (state, killed live):", outcomes)


# -- training ------------------------------------------------------------------------------------


def _model_files(models: Path) -> Iterator[Path]:
    return (p for p in sorted(models.iterdir()) if p.is_file())


def _temps(models: Path) -> set[str]:
    return {p.name for p in models.iterdir() if p.name.endswith(".tmp")}


def _saved_model(cache_dir: Path) -> tuple[bytes, dict[str, Any]]:
    """The saved blend model's JSON bytes and params, after loading it as ``recommend`` does.

    ``load_model`` checks the arrays against the JSON's SHA-256, so a JSON pointing at a
    half-written or foreign arrays file fails here.
    """
    models = cache_dir / "models"
    with Cache(cache_dir / DB_NAME) as cache:
        _, meta, _ = load_model(models, "blend", cache_id=cache.cache_id)
    return (models / "blend.json").read_bytes(), meta.params


def test_sigkill_during_training_keeps_a_loadable_model(tmp_path: Path) -> None:
    """Training killed anywhere (fit, writing the arrays, writing the JSON) keeps a model.

    Model A (tiny) is trained first; then a training of model B is killed, half the time at a
    random moment, half the time just after its first temporary file appears (inside the
    save, the smallest window). After each kill the saved model is A, byte for byte, or a
    complete B; ``recommend`` then uses it without retraining, and a final uninterrupted
    training leaves exactly one model (no temporary or orphaned files pile up).
    """
    rng = random.Random(SEED + 4)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "settings.toml").write_text(SMALL_MODEL, encoding="utf-8")
    models = cache / "models"
    cli_ok(cache, OFFLINE_API, "train", "--offline")
    saved, params = _saved_model(cache)
    assert (params["factors"], params["iterations"]) == (8, 2)
    seen = {saved}
    outcomes: list[tuple[str, int, bool, list[str]]] = []
    for i in range(TRAIN_KILLS):
        in_save = i % 2 == 1
        old_temps = _temps(models)

        def started(
            proc: subprocess.Popen[bytes], in_save: bool = in_save, old: set[str] = old_temps
        ) -> bool:
            return not in_save or bool(_temps(models) - old)

        killed = kill_during(
            cache,
            OFFLINE_API,
            ["train", "--offline", "--json", *TRAIN_B],
            started=started,
            delay=rng.uniform(0.0, 0.02) if in_save else rng.uniform(0.3, 2.0),
            log=tmp_path / f"train-{i}.log",
        )
        check_cache(cache)
        now, params = _saved_model(cache)
        if now != saved:  # the kill came after the commit: a complete B, never anything else
            assert (params["factors"], params["iterations"]) == (64, 25)
            assert now not in seen
        seen.add(now)
        saved = now
        leftovers = [p.name for p in _model_files(models) if p.name != "blend.json"]
        outcomes.append(("in save" if in_save else "random", params["factors"], killed, leftovers))

    done = run_cli(cache, OFFLINE_API, "recommend", "sample-72562", "--offline", "--json")
    assert done.returncode == 0, done.stderr
    assert "trained a new model" not in done.stderr
    info = json.loads(done.stdout.strip().splitlines()[-1])["model"]
    assert info["retrained_because"] is None and info["params"] == params
    assert (models / "blend.json").read_bytes() == saved  # loaded, not retrained

    result = cli_ok(cache, OFFLINE_API, "train", "--offline", *TRAIN_B)
    assert result["params"]["factors"] == 64
    final, params = _saved_model(cache)
    assert final not in seen and params["iterations"] == 25
    meta = json.loads(final)
    assert [p.name for p in _model_files(models)] == sorted(["blend.json", meta["npz"]])
    print("train kills (where, factors after, killed live, files besides blend.json):", outcomes)
