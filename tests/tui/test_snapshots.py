"""Snapshots of the main screens at 120x40, offline on the bundled sample population.

Deterministic by construction: offline (no network timing), a model trained once per session
with a fixed random state, no clock in the header, cursor blink off, every worker awaited
before the shot. ``snap_compare`` is a synchronous fixture, so these tests are plain ``def``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.tui import (
    QUICK_EVALUATION,
    SIZE,
    make_app,
    sample_query,
    search,
    settings_for,
    settle,
    wait_for_screen,
    wait_until,
)
from textual.pilot import Pilot
from textual.widgets import Input

from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings


def _app(trained_dir: Path, open_core: Callable[[Settings], Core]) -> tuple[Any, str]:
    core = open_core(settings_for(trained_dir))
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
    await wait_for_screen(pilot, "recommendations", timeout=60)
    await settle(pilot)


def test_snapshot_search(
    snap_compare: Any, trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    app, _ = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _no_blink(pilot)
        await search(pilot, "sample")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_recommendations(
    snap_compare: Any, trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    app, user_id = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _open_recommendations(pilot, user_id)
        await pilot.press("down", "down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_library(
    snap_compare: Any, trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    app, user_id = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _open_recommendations(pilot, user_id)
        await pilot.press("f2")
        await wait_for_screen(pilot, "library")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_evaluation(
    snap_compare: Any, trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    app, _ = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _no_blink(pilot)
        await pilot.press("f4")
        await wait_for_screen(pilot, "evaluation")
        await wait_until(pilot, lambda: pilot.app.screen.report is not None, timeout=90)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_population(
    snap_compare: Any, trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    app, _ = _app(trained_dir, open_core)

    async def run_before(pilot: Pilot[Any]) -> None:
        await _no_blink(pilot)
        await pilot.press("f5")
        await wait_for_screen(pilot, "population")
        await wait_until(pilot, lambda: pilot.app.screen.stats is not None)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
