"""Every screen reachable by the keys in its footer, fully offline, on the sample population."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from helpers.tui import (
    QUICK_EVALUATION,
    SIZE,
    cell_texts,
    make_app,
    recommendations_listed,
    sample_query,
    search,
    settings_for,
    settle,
    wait_for_screen,
    wait_until,
)
from textual.command import CommandPalette
from textual.widgets import DataTable, Footer

from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings
from animerec_tui.tui.widgets.banner import OfflineBanner
from animerec_tui.tui.widgets.charts import BarChart


def footer_keys(app: object) -> set[str]:
    """Keys the footer shows right now (the active bindings marked for display)."""
    screen = app.screen  # type: ignore[attr-defined]
    screen.query_one(Footer)
    return {
        key
        for key, active in screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


async def test_offline_sample_user_recommendations_library_evaluation(
    seeded_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    """No network at all: a sample user's recommendations, library and the evaluation."""
    core = open_core(settings_for(seeded_dir, api_url="http://127.0.0.1:9"))
    app = make_app(core, evaluation_models=QUICK_EVALUATION)  # EASE alone takes ~15 s here
    user_id = sample_query(core)
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.query_one(OfflineBanner).display
        assert {"f2", "f3", "f4", "f5", "ctrl+q"} <= footer_keys(app)
        await search(pilot, user_id)
        await pilot.press("enter")
        recs = await recommendations_listed(pilot)
        assert recs.row_count == 20 and recs.cursor_row == 0
        assert {"s", "o", "t", "p", "m", "escape"} <= footer_keys(app)

        await pilot.press("m")  # more on demand
        await settle(pilot)
        assert recs.row_count == 40
        scores = [float(s) for s in cell_texts(recs, "score")]
        await pilot.press(
            "s", "s", "s", "s", "s"
        )  # rank -> title -> type -> eps -> rating -> score
        await settle(pilot)
        assert [float(s) for s in cell_texts(recs, "score")] == sorted(scores, reverse=True)
        await pilot.press("o")
        await settle(pilot)
        assert [float(s) for s in cell_texts(recs, "score")] == sorted(scores)
        await pilot.press("t")  # type filter: TV only
        await settle(pilot)
        assert set(cell_texts(recs, "type")) <= {"TV"}
        await pilot.press("p")  # planned titles shown (marked)
        await settle(pilot)
        assert app.screen.hide_planned is False  # type: ignore[attr-defined]

        await pilot.press("f2")
        await wait_for_screen(pilot, "library")
        await settle(pilot)
        entries = app.screen.query_one("#entries", DataTable)
        assert entries.row_count == core.cache.sync_state(user_id).entry_count
        chart = app.screen.query_one("#status-chart", BarChart)
        assert sum(v for _, v in chart.data) == entries.row_count
        await pilot.press("s")  # completed only
        await settle(pilot)
        assert set(cell_texts(entries, "status")) <= {"Completed"}
        await pilot.press("escape")
        await wait_for_screen(pilot, "recommendations")

        await pilot.press("f4")
        await wait_for_screen(pilot, "evaluation")
        await wait_until(pilot, lambda: app.screen.report is not None, timeout=90)  # type: ignore[attr-defined]
        await settle(pilot)
        metrics = app.screen.query_one("#metrics", DataTable)
        names = cell_texts(metrics, "name")
        assert "als" in names and len(names) >= 2
        assert "NDCG@10" in [str(c.label) for c in metrics.columns.values()]
        assert app.screen.query_one("#eval-chart", BarChart).data
        assert "holdout" in str(app.screen.query_one("#protocol").render()).lower()
        await pilot.press("escape")
        await wait_for_screen(pilot, "recommendations")
        await pilot.press("escape")
        await wait_for_screen(pilot, "search")


async def test_population_screen(trained_dir: Path, open_core: Callable[[Settings], Core]) -> None:
    core = open_core(settings_for(trained_dir))
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for_screen(pilot, "population")
        await wait_until(pilot, lambda: app.screen.stats is not None)  # type: ignore[attr-defined]
        await settle(pilot)
        totals = app.screen.query_one("#totals", DataTable)
        assert totals.row_count >= 3
        assert app.screen.query(BarChart)
        await pilot.press("c")  # crawling needs Kitsu: offline says so instead
        await pilot.pause()
        assert any("offline" in m for m in app.messages())
        await pilot.press("escape")
        await wait_for_screen(pilot, "search")


async def test_train_screen_parameters_progress_and_loss(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    core = open_core(settings_for(trained_dir))
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for_screen(pilot, "train")
        factors = app.screen.query_one("#param-factors")
        await wait_until(pilot, lambda: not factors.disabled)
        assert factors.value == "16"  # settings (or tuned) defaults
        iterations = app.screen.query_one("#param-iterations")
        iterations.value = "4"
        await pilot.press("ctrl+t")
        await wait_for_screen(pilot, "search", timeout=60)
        await settle(pilot)
        assert app.session.model is not None
        assert app.session.model.info["params"]["iterations"] == 4
        assert any("Trained" in m for m in app.messages())


async def test_stale_model_warning(
    trained_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    from animerec_tui.core.records import Library, User

    core = open_core(settings_for(trained_dir))
    core.cache.save_library(
        Library(user=User(id="777", name="newcomer"), entries=[], favorites=[], anime={}),
        synced_at="2026-01-01T00:00:00Z",
    )
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for_screen(pilot, "train")
        status = app.screen.query_one("#model-status")
        await wait_until(pilot, lambda: "STALE" in str(status.render()))


async def test_command_palette_lists_main_actions(
    seeded_dir: Path, open_core: Callable[[Settings], Core]
) -> None:
    core = open_core(settings_for(seeded_dir))
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Train the model", "Evaluate the models", "Population overview", "Quit"):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"population", "enter")
        await wait_for_screen(pilot, "population")
        await settle(pilot)
