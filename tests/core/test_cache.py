"""The SQLite cache: atomic library writes, shared access, damage reported clearly."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from animerec_tui.core.cache import Cache
from animerec_tui.core.errors import CacheError
from animerec_tui.core.records import Anime, Favorite, Library, LibraryEntry, User

HOSTILE = "[bold]x[/bold] [link=https://evil.example]y[/link] \x1b[31mred\x1b[0m"


def make_library(user_id: str, anime_ids: list[int], status: str = "completed") -> Library:
    user = User(id=user_id, name=f"user{user_id}", slug=None)
    entries = [
        LibraryEntry(user_id, str(a), status, id=f"{user_id}-{a}", rating_twenty=(a % 19) + 2)  # type: ignore[arg-type]
        for a in anime_ids
    ]
    anime = {str(a): Anime(id=str(a), title=f"Title {a}", subtype="TV") for a in anime_ids}
    favs = [Favorite(user_id, str(anime_ids[0]), fav_rank=1)] if anime_ids else []
    return Library(user=user, entries=entries, favorites=favs, anime=anime)


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    with Cache(tmp_path / "c" / "animerec.sqlite3") as c:
        yield c


def test_round_trip_preserves_hostile_strings(cache: Cache) -> None:
    lib = make_library("42", [1, 2, 3])
    lib.anime["2"] = Anime(id="2", title=HOSTILE, titles={"en": HOSTILE})
    lib.user = User(id="42", name=HOSTILE, slug=None)
    cache.save_library(lib, synced_at="2026-01-01T00:00:00Z")
    back = cache.library("42")
    assert back is not None
    assert back.user.name == HOSTILE
    assert back.anime["2"].title == HOSTILE and back.anime["2"].titles == {"en": HOSTILE}
    assert sorted(e.anime_id for e in back.entries) == ["1", "2", "3"]
    assert [f.anime_id for f in back.favorites] == ["1"]


def test_failed_write_keeps_previous_library(cache: Cache) -> None:
    cache.save_library(make_library("7", [1, 2, 3]), synced_at="t1")
    before = cache.fingerprint()
    broken = make_library("7", [4, 5, 6])
    broken.entries.append(LibraryEntry("7", "9", "not-a-status"))  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        cache.save_library(broken, synced_at="t2")
    back = cache.library("7")
    assert back is not None and sorted(e.anime_id for e in back.entries) == ["1", "2", "3"]
    assert cache.sync_state("7").synced_at == "t1"  # type: ignore[union-attr]
    assert cache.fingerprint() == before


def test_refetch_replaces_removed_entries(cache: Cache) -> None:
    cache.save_library(make_library("7", [1, 2, 3]), synced_at="t1")
    cache.save_library(make_library("7", [2, 3]), synced_at="t2")
    assert sorted(e.anime_id for e in cache.library("7").entries) == ["2", "3"]  # type: ignore[union-attr]
    assert cache.sync_state("7").entry_count == 2  # type: ignore[union-attr]


def test_merge_detects_removed_entries_and_rolls_back(cache: Cache) -> None:
    cache.save_library(make_library("7", [1, 2, 3]), synced_at="t1")
    change = make_library("7", [3, 4])
    cache.merge_library(change, synced_at="t2", total_entries=4)
    assert sorted(e.anime_id for e in cache.library("7").entries) == ["1", "2", "3", "4"]  # type: ignore[union-attr]
    with pytest.raises(CacheError):
        cache.merge_library(make_library("7", [5]), synced_at="t3", total_entries=4)
    assert cache.sync_state("7").synced_at == "t2"  # type: ignore[union-attr]
    assert len(cache.library("7").entries) == 4  # type: ignore[union-attr]


def test_fingerprint_changes_with_writes_and_names_the_cache(tmp_path: Path) -> None:
    with Cache(tmp_path / "a.sqlite3") as a, Cache(tmp_path / "b.sqlite3") as b:
        assert a.cache_id != b.cache_id
        f0 = a.fingerprint()
        a.save_library(make_library("1", [1]), synced_at="t")
        assert a.fingerprint() != f0
        assert a.fingerprint().split(":")[0] == a.cache_id


def test_wal_mode_and_private_files(tmp_path: Path) -> None:
    path = tmp_path / "new" / "animerec.sqlite3"
    with Cache(path) as c:
        c.save_library(make_library("1", [1]), synced_at="t")
        assert c.query("PRAGMA journal_mode")[0][0] == "wal"
        assert int(c.query("PRAGMA busy_timeout")[0][0]) >= 5000
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_two_connections_share_one_cache(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    with Cache(path) as writer, Cache(path) as reader:
        writer.save_library(make_library("1", [1, 2]), synced_at="t")
        assert reader.library("1") is not None
        with writer.transaction():  # a long write does not break reads (WAL)
            assert reader.cached_user_ids() == {"1"}


def test_damaged_file_is_reported_not_crashed(tmp_path: Path) -> None:
    path = tmp_path / "animerec.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError) as info:
        Cache(path)
    assert "damaged" in str(info.value) and "\n" not in str(info.value)
    assert path.exists()  # nothing deleted silently


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "animerec.sqlite3"
    Cache(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 999")
    db.close()
    with pytest.raises(CacheError, match="newer animerec"):
        Cache(path)


def test_interaction_arrays_skip_users_without_library(cache: Cache) -> None:
    cache.save_users([User(id="99", name="seen-in-search")])
    cache.save_library(make_library("1", [10, 11]), synced_at="t")
    arrays = cache.interaction_arrays()
    assert sorted(arrays["anime_id"].tolist()) == [10, 11]
    assert arrays["fav_anime_id"].tolist() == [10]
    assert set(cache.user_ids().values()) == {"1"}


def test_search_users_escapes_like_wildcards(cache: Cache) -> None:
    cache.save_users([User(id="1", name="100%_real"), User(id="2", name="1000 real")])
    assert [u.id for u in cache.search_users("100%")] == ["1"]
    assert [u.id for u in cache.search_users("%")] == ["1"]


def test_schema_1_cache_moves_untitled_stub_entries_to_hidden_adult(tmp_path: Path) -> None:
    """Older caches kept an id-only stub for an anime Kitsu linked but never described (a
    hidden adult anime) and listed it as "anime N": the migration makes those hidden."""
    from animerec_tui.core.cache.schema import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.executescript(
        """
        PRAGMA user_version = 1;
        INSERT INTO meta VALUES ('cache_id', 'x'), ('data_version', '0');
        INSERT INTO users (uid, id, name) VALUES (1, '7', 'seven');
        INSERT INTO anime (id, title, slug) VALUES (10, 'Shown', 'shown');
        INSERT INTO anime (id) VALUES (11);
        INSERT INTO entries (uid, anime_id, status, entry_id, updated_at)
            VALUES (1, 10, 1, 'e10', '2020-01-01T00:00:00.000Z'),
                   (1, 11, 1, 'e11', '2020-01-02T00:00:00.000Z');
        INSERT INTO sync_state (uid, synced_at, entry_count, favorite_count)
            VALUES (1, '2026-01-01T00:00:00Z', 2, 0);
        """
    )
    db.close()
    with Cache(path) as cache:
        library = cache.library("7")
        assert library is not None
        assert [e.anime_id for e in library.entries] == ["10"]
        assert [(w.id, w.anime_id) for w in library.withheld] == [("e11", "11")]
        assert cache.get_anime(["11"])["11"].adult
        state = cache.sync_state("7")
        assert state is not None and (state.entry_count, state.withheld_count) == (1, 1)
        assert state.watermark is None  # unknown: the next refresh is a full fetch
        assert 11 not in cache.interaction_arrays()["anime_id"].tolist()
