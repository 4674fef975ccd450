"""The data commands as a user runs them: real processes, the fake Kitsu over real HTTP."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers import FIXTURES
from helpers.cli import closed_port_url, run_cli

from animerec_tui.fakekitsu import Dataset, FakeKitsu, Faults

CASES = FIXTURES / "cases"

HOSTILE_NAME = "[bold]evil[/bold]\x1b[31m"
HOSTILE_TITLE = "[link=https://evil.example]click[/link] \x1b]8;;x\x07"


@pytest.fixture(scope="module")
def population() -> Dataset:
    ds = Dataset(seed=7)
    ds.add_anime(n=400)
    ds.add_anime_record("9999", canonicalTitle=HOSTILE_TITLE, titles={"en": HOSTILE_TITLE})
    ds.add_user(id="1001", name="alice", slug="alice", entries=120, favorites=5)
    ds.add_user(id="1002", name="sam", slug="sam-a", entries=15, favorites=0)
    ds.add_user(id="1003", name="sam", slug=None, entries=12, favorites=1)
    ds.add_user(id="1004", name=HOSTILE_NAME, slug="hostile", entries=10, favorites=0)
    ds.give_anime(user_id="1004", anime_id="9999")
    return ds


@pytest.fixture
def server(population: Dataset) -> FakeKitsu:
    with FakeKitsu(population) as srv:
        yield srv


def _cache(tmp_path: Path, attempts: int = 3) -> Path:
    cache = tmp_path / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "settings.toml").write_text(
        "[network]\nbackoff_base = 0.01\nbackoff_max = 0.05\ntimeout = 5.0\n"
        f"max_attempts = {attempts}\n"
    )
    return cache


def run(cache: Path, api: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cache, api, *args, **env)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_fetch_json_counts_requests(tmp_path: Path, server: FakeKitsu) -> None:
    done = run(_cache(tmp_path), server.url, "fetch", "alice", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["user"] == {"id": "1001", "name": "alice", "slug": "alice", "sample": False}
    assert data["entries"] == 120 and data["favorites"] == 5
    # the library's requests, then (franchises) its anime's relations on the same client
    assert data["requests"] + data["relations"]["requests"] == server.requests
    assert data["requests"] <= 4  # resolve by slug + 1 library page + 1 favourites page (+1)
    assert data["relations"]["fetched"] >= 120
    assert data["seconds"] > 0


def test_library_reads_back_offline(tmp_path: Path, server: FakeKitsu) -> None:
    cache = _cache(tmp_path)
    assert run(cache, server.url, "fetch", "1001").returncode == 0
    done = run(cache, closed_port_url(), "library", "alice", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert len(data["entries"]) == 120 and len(data["favorites"]) == 5
    entry = data["entries"][0]
    assert set(entry) >= {"anime_id", "title", "status", "progress", "rating_twenty", "updated_at"}
    human = run(cache, closed_port_url(), "library", "alice", "--offline")
    assert human.returncode == 0 and "offline" in human.stderr


def test_unknown_user_exits_2_with_one_line(tmp_path: Path, server: FakeKitsu) -> None:
    done = run(_cache(tmp_path), server.url, "fetch", "nobody-here")
    assert done.returncode == 2
    assert "nobody-here" in one_line_error(done)


def test_ambiguous_name_lists_both_ids(tmp_path: Path, server: FakeKitsu) -> None:
    done = run(_cache(tmp_path), server.url, "library", "sam")
    assert done.returncode == 2
    line = one_line_error(done)
    assert "1002" in line and "1003" in line


def test_unreachable_kitsu(tmp_path: Path, server: FakeKitsu) -> None:
    cache = _cache(tmp_path)
    assert run(cache, server.url, "fetch", "alice").returncode == 0
    dead = closed_port_url()
    done = run(cache, dead, "fetch", "1002")
    assert done.returncode == 1
    assert "Kitsu" in one_line_error(done)
    cached = run(cache, dead, "library", "alice", "--json")
    assert cached.returncode == 0 and len(json.loads(cached.stdout)["entries"]) == 120
    refetch = run(cache, dead, "fetch", "alice", "--json")
    assert refetch.returncode == 0 and json.loads(refetch.stdout)["offline"] is True


def test_hostile_strings_print_literally_and_survive_json(
    tmp_path: Path, server: FakeKitsu
) -> None:
    cache = _cache(tmp_path)
    assert run(cache, server.url, "fetch", "hostile").returncode == 0
    data = json.loads(run(cache, server.url, "library", "1004", "--json").stdout)
    assert data["user"]["name"] == HOSTILE_NAME
    assert HOSTILE_TITLE in {e["title"] for e in data["entries"]}
    human = run(cache, server.url, "library", "1004")
    assert human.returncode == 0
    assert "[bold]evil[/bold]\\x1b[31m" in human.stdout
    assert "[link=https://evil.example]click[/link]" in human.stdout
    assert "\x1b" not in human.stdout  # no raw escape reaches the terminal
    search = run(cache, server.url, "search", "hostile")
    assert "[bold]evil[/bold]" in search.stdout and "\x1b" not in search.stdout


def test_search_merges_kitsu_and_cache(tmp_path: Path, server: FakeKitsu) -> None:
    cache = _cache(tmp_path)
    assert run(cache, server.url, "fetch", "1002").returncode == 0
    done = run(cache, server.url, "search", "sam", "--json")
    assert done.returncode == 0, done.stderr
    users = {u["id"]: u for u in json.loads(done.stdout)["users"]}
    assert {"1002", "1003"} <= set(users)
    assert users["1002"]["cached"] is True and users["1003"]["cached"] is False
    offline = run(cache, closed_port_url(), "search", "sam", "--json")
    result = json.loads(offline.stdout)
    assert offline.returncode == 0 and result["offline"] is True
    assert [u["id"] for u in result["users"] if not u["sample"]] == ["1002"]


def test_fetch_survives_thirty_percent_faults(tmp_path: Path, server: FakeKitsu) -> None:
    clean_cache, faulty_cache = _cache(tmp_path / "clean"), _cache(tmp_path / "faulty", attempts=10)
    assert run(clean_cache, server.url, "fetch", "alice").returncode == 0
    server.faults = Faults(rate=0.3, kinds=("429", "503", "500"), seed=3)
    done = run(faulty_cache, server.url, "fetch", "alice", "--json")
    server.faults = None
    assert done.returncode == 0, done.stderr
    a = run(clean_cache, server.url, "library", "alice", "--json").stdout
    b = run(faulty_cache, server.url, "library", "alice", "--json").stdout
    assert json.loads(a)["entries"] == json.loads(b)["entries"]


def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    done = run(_cache(tmp_path), closed_port_url(), "recommend", "x", "-n", "zero")
    assert done.returncode == 2
    assert "not a whole number" in one_line_error(done)
    help_text = run(_cache(tmp_path), closed_port_url(), "--help")
    assert help_text.returncode == 0
    for command in ("search", "fetch", "library", "crawl", "train", "recommend", "evaluate"):
        assert command in help_text.stdout


# -- several users: every user that works is printed, one line per user that does not ---------


def _objects(done: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_fetch_several_users_keeps_going_past_a_bad_one(tmp_path: Path, server: FakeKitsu) -> None:
    done = run(_cache(tmp_path), server.url, "fetch", "alice", "nobody-here", "1002", "--json")
    assert done.returncode == 2  # the worst: an unknown user is bad input
    alice, nobody, sam = _objects(done)
    assert alice["user"]["id"] == "1001" and alice["entries"] == 120
    assert sam["user"]["id"] == "1002" and sam["entries"] == 15
    assert nobody["user"] == {"query": "nobody-here"}
    assert nobody["error"]["exit_code"] == 2 and "nobody-here" in nobody["error"]["message"]
    line = one_line_error(done)
    assert line.startswith("animerec: nobody-here: ")


def test_library_several_users_worst_exit_code(tmp_path: Path, server: FakeKitsu) -> None:
    cache = _cache(tmp_path)
    assert run(cache, server.url, "fetch", "alice").returncode == 0
    dead = closed_port_url()
    done = run(cache, dead, "library", "alice", "1002", "--json")  # 1002 was never fetched
    assert done.returncode == 1
    alice, missing = _objects(done)
    assert len(alice["entries"]) == 120
    assert missing["user"] == {"query": "1002"} and missing["error"]["exit_code"] == 1
    assert "1002" in one_line_error(done)
    human = run(cache, server.url, "library", "sam", "alice")  # ambiguous (exit 2), then alice
    assert human.returncode == 2
    assert "alice — 120 entries" in human.stdout
    errors = [x for x in human.stderr.splitlines() if x.startswith("animerec:")]
    assert len(errors) == 1 and "1002" in errors[0] and "1003" in errors[0]


def test_recommend_several_users_prints_the_good_one(tmp_path: Path, server: FakeKitsu) -> None:
    """`recommend good bad` used to print nothing for the good user."""
    cache = _cache(tmp_path)
    done = run(cache, server.url, "recommend", "alice", "nobody-here", "-n", "3", "--json")
    assert done.returncode == 2, done.stderr
    alice, nobody = _objects(done)
    assert alice["user"]["id"] == "1001" and len(alice["recommendations"]) == 3
    assert nobody == {
        "user": {"query": "nobody-here"},
        "error": {"message": "No Kitsu user matches 'nobody-here'.", "exit_code": 2},
    }
    human = run(cache, server.url, "recommend", "nobody-here", "alice", "-n", "3")
    assert human.returncode == 2 and "Recommendations for alice" in human.stdout
    assert [x for x in human.stderr.splitlines() if x.startswith("animerec:")] == [
        "animerec: nobody-here: No Kitsu user matches 'nobody-here'."
    ]


def test_every_user_failing_trains_nothing(tmp_path: Path, server: FakeKitsu) -> None:
    cache = _cache(tmp_path)
    done = run(cache, server.url, "recommend", "nobody-here", "sam", "--json")
    assert done.returncode == 2
    assert [o["error"]["exit_code"] for o in _objects(done)] == [2, 2]
    assert not list((cache / "models").glob("*.npz"))  # no model trained for nobody


def test_one_user_kitsu_fails_for_does_not_sink_the_others(
    tmp_path: Path, server: FakeKitsu
) -> None:
    """Case crawl-one-user-500 through `fetch A B C`: Kitsu answers its HTML 500 page (as
    recorded) for one user's library every time. Kitsu is up, so that user gets one error line
    and the users after it are still fetched from Kitsu, not refused as "offline"."""
    from urllib.parse import parse_qs, urlsplit

    raw = (CASES / "crawl-one-user-500" / "library-entries_user20007.http").read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    status = int(head.split()[1])
    real_handle = server.api.handle

    def handle(raw_path: str, accept: str | None, host: str) -> tuple[int, bytes]:
        query = parse_qs(urlsplit(raw_path).query)
        if urlsplit(raw_path).path.endswith("/library-entries") and query.get("filter[userId]") == [
            "1002"
        ]:
            return status, body
        return real_handle(raw_path, accept, host)

    server.api.handle = handle  # type: ignore[method-assign]
    done = run(_cache(tmp_path), server.url, "fetch", "alice", "1002", "1003", "--json")
    assert done.returncode == 1, done.stderr
    alice, sam, other_sam = _objects(done)
    assert alice["entries"] == 120 and other_sam["entries"] == 12
    assert other_sam["user"]["id"] == "1003" and not other_sam.get("offline")
    assert sam["user"] == {"query": "1002"} and sam["error"]["exit_code"] == 1
    assert "HTTP 500" in sam["error"]["message"]
    assert one_line_error(done).startswith("animerec: 1002: ")
