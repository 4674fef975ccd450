"""``animerec recommend`` as a fan steers it: franchises, --continue, --all-entries, filters,
--niche, percent match, and bad values (a real process against the fake Kitsu).

The fake's franchises here are its demo data (:func:`add_demo_franchises`: title stems of the
small population's catalogue) plus one explicit sequel chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import closed_port_url, run_cli
from helpers.population import build_small_dataset

from animerec_tui.fakekitsu import Dataset, FakeKitsu
from animerec_tui.fakekitsu.dataset import add_demo_franchises


@pytest.fixture(scope="module")
def server() -> Iterator[FakeKitsu]:
    ds: Dataset = build_small_dataset()
    add_demo_franchises(ds)
    with FakeKitsu(ds, latency=0.0) as kitsu:
        yield kitsu


@pytest.fixture(scope="module")
def fetched(server: FakeKitsu, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding alice and the fake's population (fetched through the CLI)."""
    cache = tmp_path_factory.mktemp("discovery") / "cache"
    users = ["1001", *sorted(u for u in server.dataset.users if u.isdigit() and int(u) >= 5000)]
    done = run_cli(cache, server.url, "fetch", *users, "--json", timeout=300)
    assert done.returncode in (0, 2), done.stderr  # a missing population id is a 404 (exit 2)
    return cache


@pytest.fixture(scope="module")
def sample_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with only the bundled sample, shared so the model is trained once."""
    return tmp_path_factory.mktemp("sample") / "cache"


def _json(done: Any) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    result: dict[str, Any] = json.loads(lines[0])
    return result


def test_recommend_groups_franchises_and_continue_lists_the_rest(
    fetched: Path, server: FakeKitsu
) -> None:
    ds = server.dataset
    franchise_of: dict[str, set[str]] = {}
    for rel in ds.relations.values():
        if rel["sourceType"] == rel["destinationType"] == "Anime" and rel["role"] != "adaptation":
            a, b = rel["sourceId"], rel["destinationId"]
            merged = franchise_of.get(a, {a}) | franchise_of.get(b, {b})
            for m in merged:
                franchise_of[m] = merged
    seen = {e["animeId"] for e in ds.entries["1001"]}
    seen |= {f["itemId"] for f in ds.favorites.get("1001", []) if f["itemType"] == "Anime"}

    found = _json(run_cli(fetched, server.url, "recommend", "alice", "-n", "30", "--json"))
    assert found["grouped"] is True and found["relations_notice"] is None
    rows = found["recommendations"]
    assert len(rows) == 30
    members: list[str] = []
    for row in rows:
        assert row["franchise"][0] == row["anime_id"]
        assert set(row["franchise"]) == franchise_of.get(row["anime_id"], {row["anime_id"]})
        assert not set(row["franchise"]) & seen  # never a later entry of a started franchise
        members += row["franchise"]
    assert len(members) == len(set(members))  # no franchise twice
    assert any(len(row["franchise"]) > 1 for row in rows)

    cont = _json(run_cli(fetched, server.url, "recommend", "alice", "--continue", "--json"))
    assert cont["list"] == "continue" and cont["recommendations"]
    for row in cont["recommendations"]:
        assert row["anime_id"] not in seen and set(row["franchise"]) & seen
        assert row["because"] == [] and row["how"]

    flat = _json(
        run_cli(fetched, server.url, "recommend", "alice", "-n", "30", "--all-entries", "--json")
    )
    assert flat["grouped"] is False
    flat_ids = [r["anime_id"] for r in flat["recommendations"]]
    assert any(franchise_of.get(a, {a}) & seen for a in flat_ids)  # later entries come back

    table = run_cli(fetched, server.url, "recommend", "alice", "-n", "30")
    assert table.returncode == 0, table.stderr
    assert "more in the franchise" in table.stdout


def test_offline_sample_says_there_is_no_relation_data(sample_cache: Path) -> None:
    done = run_cli(sample_cache, closed_port_url(), "--offline", "recommend", "sample-72562")
    assert done.returncode == 0, done.stderr
    assert "no franchise data" in done.stderr and "not grouped" in done.stderr
    as_json = run_cli(
        sample_cache, closed_port_url(), "--offline", "recommend", "sample-72562", "--json"
    )
    data = _json(as_json)
    assert data["grouped"] is False and "no franchise data" in data["relations_notice"]
    assert all(r["franchise"] == [r["anime_id"]] for r in data["recommendations"])
    assert all(r["match"] is None for r in data["recommendations"])


def test_filters_niche_and_notices_through_the_cli(sample_cache: Path) -> None:
    cache, api = sample_cache, closed_port_url()
    base = ("--offline", "recommend", "sample-72562", "-n", "10", "--json")
    plain = _json(run_cli(cache, api, *base))["recommendations"]
    comedy = _json(run_cli(cache, api, *base, "--genre", "Comedy", "--exclude-genre", "drama"))
    niche = _json(run_cli(cache, api, *base, "--niche", "1"))["recommendations"]
    assert [r["anime_id"] for r in niche] != [r["anime_id"] for r in plain]
    assert comedy["recommendations"] and comedy["filters_notice"] is None
    # the sample's anime have no airing status: nothing passes, and the notice says why
    airing = run_cli(cache, api, *base[:-1], "--status", "airing")
    assert airing.returncode == 0, airing.stderr
    assert "airing status is not known yet" in airing.stderr


@pytest.mark.parametrize(
    ("option", "value", "needles"),
    [
        ("--status", "bogus", ("'bogus'", "current", "finished", "upcoming", "unreleased", "tba")),
        ("--year", "20-30", ("'20-30'", "1900..2100")),
        ("--year", "2010-2000", ("FROM is after TO",)),
        ("--episodes", "lots", ("'lots'", "FROM-TO")),
        ("--genre", "Comdy", ("'Comdy'", "Comedy", "Action")),
        ("--niche", "1.5", ("'1.5'", "0 to 1")),
        ("--type", "film", ("'film'", "TV", "movie", "OVA")),
    ],
)
def test_bad_filter_values_exit_2_listing_the_valid_ones(
    tmp_path: Path, option: str, value: str, needles: tuple[str, ...]
) -> None:
    done = run_cli(
        tmp_path / "c", closed_port_url(), "--offline", "recommend", "sample-72562", option, value
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0]
    assert done.stdout == ""
