"""``fetch --refresh``: only what changed since the last sync, full fetch when entries vanish."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from animerec_tui.core.services import Core
from animerec_tui.core.settings import NetworkSettings, Settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu

FAST = NetworkSettings(backoff_base=0.01, backoff_max=0.02, max_attempts=3, timeout=5.0)


def _core(tmp_path: Path, url: str) -> Core:
    return Core.open(Settings(cache_dir=tmp_path, api_url=url, network=FAST), seed=False)


def _statuses(core: Core, user_id: str) -> dict[str, str]:
    library = core.cache.library(user_id)
    assert library is not None
    return {e.anime_id: e.status for e in library.entries}


async def test_refresh_is_incremental_then_full_when_entries_are_removed(
    tmp_path: Path, dataset: Dataset, kitsu: FakeKitsu
) -> None:
    core = _core(tmp_path, kitsu.url)
    first = await core.fetch("alice")
    assert first.mode == "full" and first.entries == 120

    with dataset.lock:
        touched = dataset.touch_entries("1001", 3)
        for entry in touched:
            entry["status"] = "dropped" if entry["status"] != "dropped" else "completed"
    expected = {e["animeId"]: e["status"] for e in touched}
    kitsu.reset_stats()
    refreshed = await core.fetch("alice", refresh=True)
    assert refreshed.mode == "incremental"
    assert refreshed.entries == 120
    statuses = _statuses(core, "1001")
    assert {a: statuses[a] for a in expected} == expected
    entry_requests = [
        p for _, p, _ in kitsu.log if "filter%5Bsince%5D" in p or "filter[since]" in p
    ]
    assert entry_requests, kitsu.log  # the change set was asked for with filter[since]
    # the recorded status mix is the whole library's, not the change set's
    state = core.cache.sync_state("1001")
    assert state is not None and state.entry_count == 120
    assert state.status_counts == dict(Counter(statuses.values()))

    gone = dataset.remove_entries("1001", 2)
    again = await core.fetch("alice", refresh=True)
    assert again.mode == "full"  # counts showed removals: only a full fetch can tell which
    assert again.entries == 118
    assert not {e["animeId"] for e in gone} & set(_statuses(core, "1001"))
    core.close()


async def test_refresh_of_uncached_user_is_a_full_fetch(
    tmp_path: Path, dataset: Dataset, kitsu: FakeKitsu
) -> None:
    core = _core(tmp_path, kitsu.url)
    result = await core.fetch("1002", refresh=True)
    assert result.mode == "full" and result.entries == 15
    core.close()


# -- Kitsu's clock -------------------------------------------------------------------------------


async def test_refresh_uses_kitsus_clock_when_it_runs_30_minutes_behind(tmp_path: Path) -> None:
    """filter[since] is compared with Kitsu's own updated_at: a watermark from this machine's
    clock (30 minutes ahead of Kitsu's) would skip the change made just after the fetch."""
    ds = Dataset(seed=3, clock_offset=-30 * 60)
    ds.add_anime(n=200)
    ds.add_user(id="1001", name="alice", slug="alice", entries=40, favorites=2)
    planned = next(e for e in ds.entries["1001"] if e["status"] == "planned")
    with FakeKitsu(ds) as kitsu:
        core = _core(tmp_path, kitsu.url)
        assert (await core.fetch("alice")).mode == "full"
        ds.give_anime("1001", planned["animeId"], status="completed", updatedAt=ds.now_iso())
        refreshed = await core.fetch("alice", refresh=True)
        assert refreshed.mode == "incremental"
        assert _statuses(core, "1001")[planned["animeId"]] == "completed"
        core.close()


async def test_empty_library_watermark_is_kitsus_date_header(tmp_path: Path) -> None:
    """No entry to take updatedAt from: the watermark is the answer's Date header (Kitsu's
    clock), so an anime added later is still found by an incremental refresh."""
    ds = Dataset(seed=4, clock_offset=-30 * 60)
    ds.add_anime(n=50)
    ds.add_user(id="1005", name="newbie", slug="newbie", entries=0)
    with FakeKitsu(ds) as kitsu:
        core = _core(tmp_path, kitsu.url)
        await core.fetch("newbie")
        state = core.cache.sync_state("1005")
        assert state is not None and state.watermark is not None
        ds.give_anime("1005", "7", status="current", progress=1, updatedAt=ds.now_iso())
        refreshed = await core.fetch("newbie", refresh=True)
        assert (refreshed.mode, refreshed.entries) == ("incremental", 1)
        core.close()
