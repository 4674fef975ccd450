"""The bundled sample: seeds a fresh cache quickly, once, with ids that cannot be Kitsu's."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from animerec_tui.core.cache import Cache
from animerec_tui.core.population.sample import load_sample, seed, seed_if_empty
from animerec_tui.core.records import Library, LibraryEntry, User

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    with Cache(tmp_path / "c" / "animerec.sqlite3") as c:
        yield c


def test_seed_new_cache_is_fast_and_idempotent(cache: Cache) -> None:
    before = cache.fingerprint()
    load_sample.cache_clear()  # time the whole thing: decompress, decode, insert
    # CPU time, not wall time: the budget is for the work, not for a loaded CI machine.
    started, wall = time.process_time(), time.perf_counter()
    assert seed_if_empty(cache) is True
    elapsed, wall = time.process_time() - started, time.perf_counter() - wall
    assert elapsed < 2.0, f"seeding took {elapsed:.2f}s of CPU"
    assert wall < 10.0, f"seeding took {wall:.2f}s"
    after = cache.fingerprint()
    assert after != before
    counts = load_sample()["manifest"]["counts"]
    n_users = cache.query("SELECT COUNT(*) FROM users")[0][0]
    n_entries = cache.query("SELECT COUNT(*) FROM entries")[0][0]
    assert (n_users, n_entries) == (counts["users"], counts["entries"])
    assert seed_if_empty(cache) is False
    assert seed(cache) is False  # already there: no duplicate, no error
    assert cache.fingerprint() == after
    assert cache.query("SELECT COUNT(*) FROM entries")[0][0] == n_entries


def test_sample_users_are_prefixed_flagged_and_searchable(cache: Cache) -> None:
    seed(cache)
    rows = cache.query("SELECT id, name, slug, sample FROM users")
    assert rows and all(r["id"].startswith("sample:") for r in rows)
    assert all(r["name"] == "sample-" + r["id"].removeprefix("sample:") for r in rows)
    assert all(r["slug"] is None and r["sample"] == 1 for r in rows)
    states = cache.query("SELECT DISTINCT source FROM sync_state")
    assert [r[0] for r in states] == ["sample"]
    found = cache.search_users("72563")
    assert [u.id for u in found] == ["sample:72563"]
    assert found[0].is_sample and found[0].label == "sample-72563 (sample)"
    assert cache.users_named("sample-72562")[0].id == "sample:72562"


def test_sample_library_reads_back(cache: Cache) -> None:
    seed(cache)
    lib = cache.library("sample:72563")
    assert lib is not None
    assert len(lib.entries) == cache.sync_state("sample:72563").entry_count  # type: ignore[union-attr]
    assert set(lib.status_counts) == {"completed"}  # the shipped sample is the CC0 ratings only
    rated = [e for e in lib.entries if e.rating_twenty is not None]
    assert rated and all(2 <= e.rating_twenty <= 20 and e.rating_twenty % 2 == 0 for e in rated)  # type: ignore[operator]
    assert all(e.updated_at is None or e.updated_at.endswith("Z") for e in lib.entries)
    titled = [lib.anime[e.anime_id] for e in lib.entries if lib.anime[e.anime_id].title]
    assert titled and all("&#" not in a.title for a in titled)  # type: ignore[operator]
    assert any(a.genres for a in titled) and any(a.subtype == "TV" for a in titled)
    # A rating-list user: completed entries whose progress is the episode count.
    lib2 = cache.library("sample:72562")
    assert lib2 is not None and set(lib2.status_counts) == {"completed"}
    assert (
        cache.interaction_arrays()["uid"].size == cache.query("SELECT COUNT(*) FROM entries")[0][0]
    )


def test_seed_does_not_clobber_kitsu_data(cache: Cache) -> None:
    user = User(id="1", name="kitsu-person", slug="kp")
    entry = LibraryEntry("1", "1", "completed", progress=26)
    cache.save_library(Library(user, [entry], [], {}), synced_at="t")
    assert seed_if_empty(cache) is False  # someone's own cache is never topped up silently
    assert seed(cache) is True
    assert cache.library("1").entries == [entry]  # type: ignore[union-attr]
    assert cache.query("SELECT COUNT(*) FROM users WHERE sample = 0")[0][0] == 1


def test_manifest_records_source_licence_and_drops() -> None:
    manifest = load_sample()["manifest"]
    assert manifest["dropped"]["unmapped_total"] > 0
    assert "CC0" in json.dumps(manifest["source_files"])
    assert (REPO / "animerec_tui" / "data" / "SAMPLE.md").is_file()


def _write_sources(folder: Path) -> None:
    """A tiny copy of the real sources' shapes (the tests never read ../shared)."""
    folder.mkdir(parents=True)
    (folder / "mal_anime.csv").write_text(
        "anime_id,name,genre,type,episodes,rating,members\n"
        '1,Cowboy Bebop,"Action, Sci-Fi",TV,26,8.82,486824\n'
        "5,[bold]Markup[/bold],Drama,Movie,1,8.4,137636\n"
        "6,Trigun,Action,TV,Unknown,8.32,283069\n"
        "99,No Kitsu Id,Comedy,OVA,2,6.0,100\n"
    )
    (folder / "mal_ratings.csv").write_text(
        "user_id,mal_anime_id,rating\n1,1,10\n1,5,-1\n1,99,7\n2,1,6\n2,6,8\n"
    )
    (folder / "anime_id_map.json").write_text(
        json.dumps(
            [
                {"mal_id": 1, "kitsu_id": 1},
                {"mal_id": 5, "kitsu_id": 9},
                {"mal_id": 6, "kitsu_id": 12},
                {"mal_id": 99},
            ]
        )
    )


def test_build_script_maps_sources_and_is_rerunnable(tmp_path: Path) -> None:
    source = tmp_path / "sources"
    _write_sources(source)
    script = str(REPO / "scripts" / "build_sample.py")
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        cmd = [sys.executable, script, str(source), "--out", str(out)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        outputs.append(json.loads(gzip.decompress((out / "sample.json.gz").read_bytes())))
        assert (out / "SAMPLE.md").is_file()
    first, second = outputs
    assert first["users"] == second["users"] and first["entries"] == second["entries"]
    manifest = first["manifest"]
    assert manifest["counts"]["users"] == 2 and manifest["counts"]["entries"] == 4
    assert manifest["dropped"]["unmapped_total"] == 1  # MAL 99 has no Kitsu id
    entries = first["entries"]
    pairs = {
        (u, a): r
        for u, a, r in zip(
            entries["user"], entries["anime_id"], entries["rating_twenty"], strict=True
        )
    }
    assert sorted(pairs.values(), key=lambda r: (r is None, r)) == [12, 16, 20, None]
    assert set(entries["status"]) == {"completed"}
    anime = dict(zip(first["anime"]["id"], first["anime"]["title"], strict=True))
    assert anime[9] == "[bold]Markup[/bold]" and anime[1] == "Cowboy Bebop"
    episodes = dict(zip(first["anime"]["id"], first["anime"]["episode_count"], strict=True))
    assert episodes[12] is None and episodes[1] == 26
