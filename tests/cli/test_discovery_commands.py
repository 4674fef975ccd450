"""``similar``, ``anime``, ``hide``, ``unhide`` and ``hidden`` as a person runs them: real
processes against the fake Kitsu, franchises from its media relationships (``Dataset.link``).

The fake's catalogue has two franchises everyone in a small fan club watches ("Star Voyage":
a TV series, its sequel and a film; "Moon Song": a TV series and its sequel), two anime that
share a title, and one anime nobody lists. The model is trained once per module (small
factors, so it takes seconds) and each test works on its own copy of that cache.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import closed_port_url, run_cli

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.relations import save_relations
from animerec_tui.core.kitsu import KitsuClient
from animerec_tui.core.kitsu.relations import fetch_relations
from animerec_tui.fakekitsu import Dataset, FakeKitsu

STAR = ["80001", "80002", "80003"]  # TV, its sequel, a film (side story)
MOON = ["80011", "80012"]  # TV and its sequel
TWINS = ["80021", "80022"]  # two anime titled "Twin Stars"
UNWATCHED = "80031"
FANS = [str(2000 + i) for i in range(40)]
SETTINGS = (
    "[network]\nbackoff_base = 0.01\nbackoff_max = 0.05\ntimeout = 5.0\nmax_attempts = 2\n"
    "[model]\nfactors = 16\niterations = 4\nease_max_items = 800\n"
)


def _dataset() -> Dataset:
    ds = Dataset(seed=17)
    ds.add_anime(n=150)
    titles = {
        STAR[0]: ("Star Voyage", "TV", "2001-04-01"),
        STAR[1]: ("Star Voyage 2nd Season", "TV", "2003-04-01"),
        STAR[2]: ("Star Voyage Movie", "movie", "2004-08-01"),
        MOON[0]: ("Moon Song", "TV", "2005-01-01"),
        MOON[1]: ("Moon Song: Encore", "TV", "2007-01-01"),
        TWINS[0]: ("Twin Stars", "TV", "1999-01-01"),
        TWINS[1]: ("Twin Stars", "TV", "2019-01-01"),
        UNWATCHED: ("Nobody Watches This", "OVA", "2010-01-01"),
    }
    for anime_id, (title, subtype, start) in titles.items():
        ds.add_anime_record(
            anime_id,
            canonicalTitle=title,
            slug=title.lower().replace(" ", "-").replace(":", ""),
            subtype=subtype,
            startDate=start,
            ageRating="PG",
            nsfw=False,
        )
    ds.link(STAR[0], STAR[1], "sequel", "prequel")
    ds.link(STAR[0], STAR[2], "side_story", "parent_story")
    ds.link(MOON[0], MOON[1], "sequel", "prequel")
    for i, fan in enumerate(FANS):
        ds.add_user(id=fan, name=f"fan{i}", slug=f"fan{i}", entries=12)
        for anime_id in [*STAR, *MOON, TWINS[i % 2]]:
            ds.give_anime(user_id=fan, anime_id=anime_id, status="completed", ratingTwenty=16)
    ds.give_anime(user_id=FANS[3], anime_id=TWINS[1], status="on_hold", ratingTwenty=None)
    ds.anime[STAR[2]]["averageRating"] = "81.37"
    return ds


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return _dataset()


@pytest.fixture(scope="module")
def kitsu(dataset: Dataset) -> Iterator[FakeKitsu]:
    with FakeKitsu(dataset, latency=0.0) as server:
        yield server


def run(cache: Path, api: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cache, api, *args, timeout=300)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.strip().splitlines() if line.startswith("animerec:")]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


async def _cache_relations(db: Path, api: str, ids: list[str]) -> None:
    """The fake's relations, fetched and cached as the core does when online."""
    async with KitsuClient(api) as client:
        got = await fetch_relations(client, ids)
    with Cache(db) as cache:
        save_relations(cache, got.fetched, got.relations, fetched_at="2026-01-01T00:00:00Z")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, kitsu: FakeKitsu) -> Path:
    """A cache with the fan club fetched, relations cached and a model trained."""
    cache = tmp_path_factory.mktemp("trained") / "cache"
    cache.mkdir()
    (cache / "settings.toml").write_text(SETTINGS)
    done = run(cache, kitsu.url, "fetch", *FANS, "--json")
    assert done.returncode == 0, done.stderr
    ids = [*STAR, *MOON, *TWINS, UNWATCHED]
    asyncio.run(_cache_relations(cache / "animerec.sqlite3", kitsu.url, ids))
    done = run(cache, kitsu.url, "train", "--json")
    assert done.returncode == 0, done.stderr
    return cache


@pytest.fixture
def cache(trained: Path) -> Path:
    """The trained cache, shared: ``similar`` only reads it (and caches what Kitsu
    describes); each hiding test uses a fan no other test hides for, on its own copy."""
    return trained


@pytest.fixture
def own_cache(trained: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "cache"
    shutil.copytree(trained, copy)
    return copy


# -- similar -------------------------------------------------------------------------------


def test_similar_groups_franchises_and_sets_its_own_apart(cache: Path, kitsu: FakeKitsu) -> None:
    done = run(cache, kitsu.url, "similar", "Star Voyage", "-n", "5", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["anime"]["anime_id"] == STAR[0] and data["anime"]["title"] == "Star Voyage"
    assert data["anime"]["franchise"] == STAR[1:]  # its own franchise, chronologically
    rows = data["similar"]
    assert 1 <= len(rows) <= 5
    assert all(set(r) >= {"rank", "anime_id", "title", "score", "franchise"} for r in rows)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    shown = [m for r in rows for m in r["franchise"]]
    assert not set(STAR) & set(shown)  # its own franchise is not in the list
    assert len(shown) == len(set(shown))  # a franchise appears once
    moon = [r for r in rows if set(MOON) & set(r["franchise"])]
    assert len(moon) == 1 and moon[0]["anime_id"] == MOON[0]
    assert moon[0]["franchise"] == MOON and moon[0]["rank"] == 1  # watched by the same fans


def test_similar_table_names_the_franchise(cache: Path, kitsu: FakeKitsu) -> None:
    done = run(cache, kitsu.url, "similar", "star-voyage-movie", "-n", "3")
    assert done.returncode == 0, done.stderr
    assert "Anime like Star Voyage Movie" in done.stdout
    assert "Moon Song: Encore" in done.stdout  # in Moon Song's row
    assert "Its own franchise" in done.stdout and "Star Voyage 2nd Season" in done.stdout


def test_similar_filters_apply(cache: Path, kitsu: FakeKitsu) -> None:
    done = run(cache, kitsu.url, "similar", MOON[0], "--type", "Movie", "--json", "-n", "4")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["similar"]
    assert rows and all(r["subtype"] == "movie" for r in rows)
    assert rows[0]["anime_id"] == STAR[2]  # the franchise's only film fronts its row


def test_similar_bad_filter_exits_2_listing_valid_values(cache: Path, kitsu: FakeKitsu) -> None:
    done = run(cache, kitsu.url, "similar", STAR[0], "--type", "film")
    assert done.returncode == 2
    line = one_line(done)
    assert "film" in line and "movie" in line and "OVA" in line


def test_similar_ambiguous_title_exits_2_listing_both(cache: Path, kitsu: FakeKitsu) -> None:
    done = run(cache, kitsu.url, "similar", "twin stars")
    assert done.returncode == 2 and done.stdout == ""
    line = one_line(done)
    assert all(f"(id {a})" in line for a in TWINS)
    chosen = run(cache, kitsu.url, "similar", TWINS[1], "--json")
    assert chosen.returncode == 0, chosen.stderr
    assert json.loads(chosen.stdout)["anime"]["anime_id"] == TWINS[1]


def test_similar_unknown_anime_exits_2(cache: Path, kitsu: FakeKitsu) -> None:
    done = run(cache, kitsu.url, "similar", "no such show at all")
    assert done.returncode == 2
    assert "no such show at all" in one_line(done)
    offline = run(cache, closed_port_url(), "similar", "99999999")
    assert offline.returncode == 2
    assert "99999999" in one_line(offline)


def test_similar_anime_nobody_lists_exits_1(cache: Path, kitsu: FakeKitsu) -> None:
    done = run(cache, kitsu.url, "similar", "Nobody Watches This")  # found on Kitsu, cached
    assert done.returncode == 1
    line = one_line(done)
    assert "Nobody Watches This" in line and "not in the model" in line


def test_similar_offline_works_from_the_cache(cache: Path) -> None:
    done = run(cache, closed_port_url(), "similar", "moon song", "--json", "--offline")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["anime"]["anime_id"] == MOON[0]
    assert data["similar"][0]["franchise"] == STAR  # fronted by the franchise's first entry


# -- anime ---------------------------------------------------------------------------------


def test_anime_search_online_then_offline(tmp_path: Path, kitsu: FakeKitsu) -> None:
    cache = tmp_path / "fresh"
    cache.mkdir()
    (cache / "settings.toml").write_text(SETTINGS)
    done = run(cache, kitsu.url, "anime", "star voyage", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)["anime"]
    assert [a["anime_id"] for a in found][:3] == STAR
    assert all(
        set(a) >= {"anime_id", "title", "subtype", "start_date", "slug", "url", "cached"}
        for a in found
    )
    assert not any(a["cached"] for a in found)
    assert found[0]["url"] == "https://kitsu.app/anime/star-voyage"
    offline = run(cache, kitsu.url, "anime", "star voyage", "--offline", "--json")
    assert offline.returncode == 0, offline.stderr
    again = json.loads(offline.stdout)
    assert again["offline"] is True
    assert [a["anime_id"] for a in again["anime"]][:3] == STAR  # the cache has them now
    assert all(a["cached"] for a in again["anime"])
    human = run(cache, closed_port_url(), "anime", "star voyage")
    assert human.returncode == 0 and "offline" in human.stderr
    assert "Star Voyage Movie" in human.stdout and "Movie" in human.stdout


def test_anime_search_nothing_found_is_not_an_error(cache: Path, kitsu: FakeKitsu) -> None:
    done = run(cache, kitsu.url, "anime", "zzzz qqqq")
    assert done.returncode == 0
    assert "No anime match" in done.stderr
    blank = run(cache, kitsu.url, "anime", "  ")
    assert blank.returncode == 2 and "No title given" in one_line(blank)


# -- hide, unhide, hidden --------------------------------------------------------------------


def test_hide_batch_applies_the_good_and_reports_each_bad(
    own_cache: Path, kitsu: FakeKitsu
) -> None:
    user = FANS[0]
    done = run(own_cache, kitsu.url, "hide", user, MOON[0], "no-such-anime", "twin stars", STAR[2])
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("animerec:")]
    assert len(errors) == 2 and "Traceback" not in done.stderr
    assert "no-such-anime" in errors[0] and all(f"(id {a})" in errors[1] for a in TWINS)
    assert "Moon Song" in done.stdout and "Star Voyage Movie" in done.stdout
    listed = run(own_cache, kitsu.url, "hidden", user, "--json")
    assert listed.returncode == 0, listed.stderr
    hidden = json.loads(listed.stdout)["hidden"]
    assert {h["anime_id"] for h in hidden} == {MOON[0], STAR[2]}
    assert all(h["hidden_at"].endswith("Z") and not h["with_franchise"] for h in hidden)
    assert {h["title"] for h in hidden} == {"Moon Song", "Star Voyage Movie"}


def test_hide_json_reports_errors_as_objects(own_cache: Path, kitsu: FakeKitsu) -> None:
    done = run(own_cache, kitsu.url, "hide", FANS[1], "nope-nope", MOON[1], "--json")
    assert done.returncode == 2
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["anime"] == {"query": "nope-nope"} and lines[0]["error"]["exit_code"] == 2
    assert [h["anime_id"] for h in lines[1]["hidden"]] == [MOON[1]]
    assert lines[1]["added"] == 1


def test_hide_franchise_then_unhide(own_cache: Path, kitsu: FakeKitsu) -> None:
    user = FANS[2]
    done = run(own_cache, kitsu.url, "hide", user, "star voyage", "--franchise")
    assert done.returncode == 0, done.stderr
    assert "franchise" in done.stdout
    hidden = json.loads(run(own_cache, kitsu.url, "hidden", user, "--json").stdout)["hidden"]
    assert [(h["anime_id"], h["with_franchise"]) for h in hidden] == [(STAR[0], True)]
    table = run(own_cache, kitsu.url, "hidden", user)
    assert "Star Voyage" in table.stdout and "yes" in table.stdout
    back = run(own_cache, kitsu.url, "unhide", user, STAR[0], MOON[0], "--json")
    assert back.returncode == 0, back.stderr
    data = json.loads(back.stdout)
    assert data["removed"] == 1
    assert [(u["anime_id"], u["was_hidden"]) for u in data["unhidden"]] == [
        (STAR[0], True),
        (MOON[0], False),
    ]
    assert json.loads(run(own_cache, kitsu.url, "hidden", user, "--json").stdout)["hidden"] == []
    empty = run(own_cache, kitsu.url, "hidden", user)
    assert empty.returncode == 0 and "hidden nothing" in empty.stderr


def test_hide_for_an_unknown_user_exits_2(own_cache: Path, kitsu: FakeKitsu) -> None:
    done = run(own_cache, kitsu.url, "hide", "nobody-at-all", STAR[0])
    assert done.returncode == 2
    assert "nobody-at-all" in one_line(done)


def test_hide_offline_for_a_cached_user(own_cache: Path) -> None:
    done = run(own_cache, closed_port_url(), "hide", "fan5", "moon song", "--offline")
    assert done.returncode == 0, done.stderr
    listed = run(own_cache, closed_port_url(), "hidden", "fan5", "--json", "--offline")
    assert [h["anime_id"] for h in json.loads(listed.stdout)["hidden"]] == [MOON[0]]


# -- the words tables use (issue 14.8) ---------------------------------------------------------


def test_library_spells_types_and_statuses_one_way_and_ratings_apart(
    cache: Path, kitsu: FakeKitsu
) -> None:
    done = run(cache, closed_port_url(), "library", FANS[3], "--offline")
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if "Title" in line)
    assert "Your rating" in header and "Kitsu rating" in header
    movie = next(line for line in done.stdout.splitlines() if "Star Voyage Movie" in line)
    assert "Completed" in movie and "Movie" in movie and "8/10" in movie and "81%" in movie
    held = next(line for line in done.stdout.splitlines() if "Twin Stars" in line)
    assert "On hold" in held
    assert "on_hold" not in done.stdout and "on hold" not in done.stdout
    assert " movie " not in done.stdout  # Kitsu's spelling stays in --json only
    data = json.loads(run(cache, closed_port_url(), "library", FANS[3], "--json").stdout)
    assert "on_hold" in {e["status"] for e in data["entries"]}  # JSON keeps Kitsu's values


@pytest.mark.parametrize("command", ["similar", "anime", "hide", "unhide", "hidden"])
def test_help_explains_with_examples(command: str, tmp_path: Path) -> None:
    done = run(tmp_path, closed_port_url(), command, "--help")
    assert done.returncode == 0
    assert "examples:" in done.stdout and f"animerec {command}" in done.stdout
