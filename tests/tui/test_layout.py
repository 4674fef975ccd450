"""Words and layout a fan reads: at 80x24 every screen keeps its key columns and whole numbers;
ratings, types and statuses read one way (issue 14.8).

The snapshot tests show each screen; these assert what must hold on it, so a change that cuts
a column at 80 columns fails here with a reason rather than as a changed picture.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.tui import (
    QUICK_EVALUATION,
    cell_texts,
    make_app,
    recommendations_listed,
    sample_query,
    search,
    settings_for,
    settle,
    shown_lines,
    wait_for_screen,
    wait_until,
)
from textual.widgets import DataTable

from animerec_tui.core.recommend.filters import LIBRARY_STATUS_LABELS, SUBTYPE_LABELS
from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings
from animerec_tui.tui.widgets.banner import OfflineBanner
from animerec_tui.tui.widgets.charts import BarChart, count
from animerec_tui.tui.widgets.columns import Column, fit, kitsu_rating, your_rating

SMALL = (80, 24)


def _fits(table: DataTable[Any]) -> bool:
    """Every column of ``table`` is drawn within its width (its scroll bar left aside)."""
    room = table.size.width - table.styles.scrollbar_size_vertical
    return sum(c.get_render_width(table) for c in table.columns.values()) <= room


def _keys(table: DataTable[Any]) -> list[str]:
    return [str(key.value) for key in table.columns]


def test_fit_drops_secondary_columns_then_shrinks_from_the_right() -> None:
    columns = (
        Column("title", "Title", 30, min_width=16, grow=True),
        Column("status", "Status", 9),
        Column("rating", "Your rating", 11, min_width=5, short="Yours"),
        Column("updated", "Updated", 10, drop_below=90),
    )
    wide = fit(columns, 120)
    assert [p.column.key for p in wide] == ["title", "status", "rating", "updated"]
    assert sum(p.width + 2 for p in wide) == 120  # the title takes what is left
    narrow = {p.column.key: p for p in fit(columns, 50)}
    assert list(narrow) == ["title", "status", "rating"]
    assert narrow["rating"].width == 5 and narrow["rating"].label == "Yours"  # shrunk first
    assert narrow["title"].width == 50 - 2 - 11 - 7  # cell padding: 1 each side
    tiny = {p.column.key: p.width for p in fit(columns, 20)}
    assert tiny == {"title": 16, "status": 9, "rating": 5}  # key columns never dropped


def test_ratings_and_counts_read_one_way() -> None:
    assert kitsu_rating(82.4).plain == "82%"
    assert your_rating(17).plain == "8.5"
    assert your_rating(None).plain == "–"
    assert [count(v) for v in (49.0, 54.5, 100.28, 75813)] == ["49", "54.5", "100.28", "75,813"]


async def test_offline_banner_wraps_its_reason_at_80_columns(
    seeded_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    """Kitsu refused: the banner's reason is long; at 80 columns it wraps instead of being cut
    after "Kitsu cannot be reached"."""
    core = open_core(settings_for(seeded_dir, offline=False, api_url="http://127.0.0.1:9"))
    app = make_app(core)
    async with app.run_test(size=SMALL) as pilot:
        await search(pilot, "alice")
        banner = app.screen.query_one(OfflineBanner)
        await wait_until(pilot, lambda: bool(banner.display), what="the banner")
        await pilot.pause()
        shown = " ".join(
            "".join(s.text for s in strip).strip()
            for strip in banner.render_lines(banner.region.reset_offset)
        )
        assert banner.size.height > 1
        assert " ".join(str(banner.render()).split()) in " ".join(shown.split())


async def test_every_screen_keeps_its_key_columns_at_80x24(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    core = open_core(settings_for(trained_dir))
    app = make_app(core, evaluation_models=QUICK_EVALUATION)
    user_id = sample_query(core)
    async with app.run_test(size=SMALL) as pilot:
        await search(pilot, "sample")
        results = app.screen.query_one("#results", DataTable)
        assert {"user", "where", "entries"} <= set(_keys(results)) and _fits(results)

        await search(pilot, user_id)
        await pilot.press("enter")
        await recommendations_listed(pilot)
        await pilot.press("f2")
        await wait_for_screen(pilot, "library")
        await settle(pilot)
        entries = app.screen.query_one("#entries", DataTable)
        assert _keys(entries) == ["title", "type", "status", "progress", "your_rating"]
        assert _fits(entries)
        assert not app.screen.query_one("#library-side").display  # the table takes the width
        assert any("Your rating" in line for line in shown_lines(app))
        assert set(cell_texts(entries, "type")) <= {*SUBTYPE_LABELS.values(), "–"}
        assert set(cell_texts(entries, "status")) <= set(LIBRARY_STATUS_LABELS.values())

        await pilot.press("f5")
        await wait_for_screen(pilot, "population")
        await wait_until(pilot, lambda: app.screen.stats is not None)
        await settle(pilot)
        stats = app.screen.stats
        totals = app.screen.query_one("#totals", DataTable)
        assert _fits(totals)
        text = "\n".join(shown_lines(app))
        for value in (stats.users, stats.anime, stats.entries, stats.rated_entries):
            assert f"{value:,}" in text  # whole, not "75,81"
        statuses = app.screen.query(BarChart).first()
        assert {label for label, _ in statuses.data} == set(LIBRARY_STATUS_LABELS.values())

        await pilot.press("f4")
        await wait_for_screen(pilot, "evaluation")
        await wait_until(pilot, lambda: app.screen.report is not None, timeout=90)
        await settle(pilot)
        metrics = app.screen.query_one("#metrics", DataTable)
        assert "coverage" in _keys(metrics) and _fits(metrics)

        await pilot.press("f3")
        await wait_for_screen(pilot, "train")
        await wait_until(pilot, lambda: bool(app.screen.query_one("#param-factors").value))
        dialog = app.screen.query_one(".dialog")
        assert dialog.region.right <= SMALL[0]  # the whole dialog, its border included
        assert not app.screen.query_one("#train-bar").display  # nothing runs yet
