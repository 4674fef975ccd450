"""Snapshots of every screen and modal at 80x24 and at 120x40, on fixed data.

80x24 is the smallest terminal the app is laid out for: each shot there must keep its key
columns (title, reason or status) and its numbers whole. Deterministic by construction:
offline on the bundled sample population (no network timing) except the Kitsu modals, which
meet a fake Kitsu that never answers and are shown one fixed progress report; a model trained
once per session with a fixed random state (its training time pinned); no clock in the
header, cursor blink off, every worker awaited before the shot. ``snap_compare`` is a
synchronous fixture, so these tests are plain ``def``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers.tui import (
    FAST_NETWORK,
    QUICK_EVALUATION,
    make_app,
    recommendations_listed,
    sample_query,
    search,
    settings_for,
    settle,
    wait_for_screen,
    wait_until,
)
from textual.message import Message
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from animerec_tui.core import progress
from animerec_tui.core.recommend import service
from animerec_tui.core.records import User
from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu, Faults
from animerec_tui.fakekitsu.dataset import add_demo_franchises, sample_catalogue
from animerec_tui.tui.messages import CrawlProgress, FetchProgress
from animerec_tui.tui.screens.progress import CrawlScreen, FetchScreen
from animerec_tui.tui.session import Session

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
TRAINED_AT = "2026-01-01T12:00:00+00:00"
"""The saved model's training time in every shot (the template is trained at session start)."""


def _pin_training_time(cache_dir: Path) -> None:
    """The train modal shows when the saved model was trained: pin it in the model's JSON
    half (its checksum covers only the arrays)."""
    for meta in (cache_dir / "models").glob("*.json"):
        raw = json.loads(meta.read_text(encoding="utf-8"))
        raw["created_at"] = TRAINED_AT
        meta.write_text(json.dumps(raw), encoding="utf-8")


def _app(
    trained_dir: Path, open_core: Callable[[Settings], Core], **settings: Any
) -> tuple[Any, str]:
    _pin_training_time(trained_dir)
    core = open_core(settings_for(trained_dir, **settings))
    return make_app(core, evaluation_models=QUICK_EVALUATION), sample_query(core)


async def _no_blink(pilot: Pilot[Any]) -> None:
    """Wait for the first screen to be composed, then stop the input cursor blinking."""
    await wait_until(pilot, lambda: bool(pilot.app.screen.query("#query")), what="search screen")
    await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


async def _open_recommendations(pilot: Pilot[Any], user_id: str) -> None:
    await _no_blink(pilot)
    await search(pilot, user_id)
    await pilot.press("enter")
    await recommendations_listed(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_search(
    snap_compare: Any,
    trained_dir: Path,
    open_core: Callable[[Settings], Core],
    size: tuple[int, int],
) -> None:
    app, _ = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _no_blink(pilot)
        await search(pilot, "sample")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_recommendations(
    snap_compare: Any,
    trained_dir: Path,
    open_core: Callable[[Settings], Core],
    size: tuple[int, int],
) -> None:
    app, user_id = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _open_recommendations(pilot, user_id)
        await pilot.press("down", "down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def _cache_demo_relations(cache_dir: Path, user_id: str) -> None:
    """The fake Kitsu's demo franchises (title stems of the sample's own anime) for the user's
    library and best candidates, fetched once through the real client, so that the offline
    shot shows a grouped list."""
    ds = Dataset(seed=9)
    ds.add_catalogue(sample_catalogue(10_000))
    for record in ds.anime.values():
        record.update(ageRating="PG", nsfw=False)
    add_demo_franchises(ds)
    with FakeKitsu(ds) as kitsu:
        core = Core.open(settings_for(cache_dir, offline=False, api_url=kitsu.url))
        try:
            model = service.load(core.cache, core.settings)
            wanted = service.franchise_candidates(core.cache, core.settings, user_id, model=model)
            assert asyncio.run(core.ensure_relations(wanted)) > 0
        finally:
            core.close()


def test_snapshot_recommendations_grouped(
    snap_compare: Any, trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    """The README's screenshot: franchises grouped ("+N in franchise"), the Continue table."""
    user_id = sample_query(open_core(settings_for(trained_dir)))
    _cache_demo_relations(trained_dir, user_id)
    app, _ = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _open_recommendations(pilot, user_id)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_library(
    snap_compare: Any,
    trained_dir: Path,
    open_core: Callable[[Settings], Core],
    size: tuple[int, int],
) -> None:
    app, user_id = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _open_recommendations(pilot, user_id)
        await pilot.press("f2")
        await wait_for_screen(pilot, "library")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_evaluation(
    snap_compare: Any,
    trained_dir: Path,
    open_core: Callable[[Settings], Core],
    size: tuple[int, int],
) -> None:
    app, _ = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _no_blink(pilot)
        await pilot.press("f4")
        await wait_for_screen(pilot, "evaluation")
        await wait_until(pilot, lambda: pilot.app.screen.report is not None, timeout=90)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_population(
    snap_compare: Any,
    trained_dir: Path,
    open_core: Callable[[Settings], Core],
    size: tuple[int, int],
) -> None:
    app, _ = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _no_blink(pilot)
        await pilot.press("f5")
        await wait_for_screen(pilot, "population")
        await wait_until(pilot, lambda: pilot.app.screen.stats is not None)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_train_modal(
    snap_compare: Any,
    trained_dir: Path,
    open_core: Callable[[Settings], Core],
    size: tuple[int, int],
) -> None:
    """F3: the saved model and the parameter form, before anything runs."""
    app, _ = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _no_blink(pilot)
        await pilot.press("f3")
        await wait_for_screen(pilot, "train")
        await wait_until(
            pilot, lambda: bool(pilot.app.screen.query_one("#param-factors", Input).value)
        )
        await settle(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def _kitsu_app(trained_dir: Path, open_core: Callable[[Settings], Core], kitsu: FakeKitsu) -> Any:
    """The app online against a fake Kitsu that reads every request and never answers: a
    modal's worker stays waiting while the shot is taken."""
    kitsu.faults = Faults(rate=1.0, kinds=("hang",), seed=1)
    patient = replace(FAST_NETWORK, timeout=120.0)  # the shot comes long before it gives up
    app, _ = _app(trained_dir, open_core, offline=False, api_url=kitsu.url, network=patient)
    return app


ALICE = User(id="1001", name="alice", slug="alice")
MODALS: dict[str, tuple[Callable[[Session], Screen[Any]], Callable[[], Message]]] = {
    "fetch": (
        lambda session: FetchScreen(session, ALICE),
        lambda: FetchProgress(
            progress.LibraryProgress(
                entries_done=1_200, entries_total=4_821, pages_done=6, pages_total=25
            )
        ),
    ),
    "crawl": (
        lambda session: CrawlScreen(session, around=ALICE, max_users=1_000),
        lambda: CrawlProgress(
            progress.CrawlProgress(
                users_done=412, users_target=1_000, requests=12_345, elapsed=754.0, eta=1_076.0
            )
        ),
    ),
}
"""Each Kitsu modal, and the one progress report it is shown."""


@pytest.mark.parametrize("modal", list(MODALS))
@pytest.mark.parametrize("size", SIZES)
def test_snapshot_kitsu_modal(
    snap_compare: Any,
    trained_dir: Path,
    open_core: Callable[[Settings], Core],
    kitsu: FakeKitsu,
    size: tuple[int, int],
    modal: str,
) -> None:
    """The fetch and crawl modals while Kitsu is being asked, after one progress report."""
    app = _kitsu_app(trained_dir, open_core, kitsu)
    make_screen, make_report = MODALS[modal]

    async def run_before(pilot: Pilot[Any]) -> None:
        await _no_blink(pilot)
        await pilot.app.push_screen(make_screen(app.session))
        await wait_for_screen(pilot, modal)
        pilot.app.screen.post_message(make_report())
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
