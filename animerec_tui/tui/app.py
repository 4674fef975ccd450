"""The animerec Textual app: wiring, navigation, the open-user flow, the one failure handler.

The app gets its :class:`~animerec_tui.core.services.Core` injected (tests hand it one over a
temporary cache pointed at the fake Kitsu server) and hands every screen the typed
:class:`~animerec_tui.tui.session.Session`; screens ask for things in messages
(:mod:`animerec_tui.tui.messages`) handled here with ``@on``. Start-up stays light: this module
imports Textual and the UI-free core records only; the recommender, population statistics and
crawler are imported inside workers, after the search screen has painted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from animerec_tui.core.errors import AnimerecError, Cancelled, KitsuUnavailable
from animerec_tui.core.records import User
from animerec_tui.tui import flow
from animerec_tui.tui.commands import APP_BINDINGS, binding_commands
from animerec_tui.tui.messages import (
    ConnectivityChanged,
    OpenUser,
    RefreshLibrary,
    Steer,
    Steered,
    WorkerFailed,
)
from animerec_tui.tui.screens.search import SearchScreen
from animerec_tui.tui.session import Link, Session
from animerec_tui.tui.text import clean
from animerec_tui.tui.widgets.banner import OfflineBanner

if TYPE_CHECKING:
    from animerec_tui.core.recommend.service import LoadedModel
    from animerec_tui.core.services import Core
    from animerec_tui.core.settings import Settings

SCREEN_OF_ACTION = {
    "search": "search",
    "library": "library",
    "evaluate": "evaluation",
    "population": "population",
}
"""Navigation actions and the screen each leads to (hidden while that screen is shown)."""


class AnimerecApp(App[int]):
    """Keyboard-first anime recommendations for Kitsu users."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "animerec"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = APP_BINDINGS

    def __init__(
        self,
        core: Core,
        *,
        model: LoadedModel | None = None,
        evaluation_models: Sequence[str] | None = None,
        crawl_users: int | None = None,
    ) -> None:
        super().__init__()
        models = tuple(evaluation_models) if evaluation_models else None
        self.session = Session(core, model, evaluation_models=models, crawl_users=crawl_users)

    def get_default_screen(self) -> Screen[None]:
        return SearchScreen(self.session)

    def on_mount(self) -> None:
        """Say so when Core.open found the cache damaged: the user's data seems gone, and the
        damaged file (kept, moved aside) is where to look for it."""
        recovered = self.session.core.cache.recovered_from
        if recovered is not None:
            self.notify(
                clean(
                    f"The cache was damaged: it was moved aside to {recovered} and a fresh "
                    "cache was started with the sample population."
                ),
                title="Cache damaged",
                severity="warning",
                markup=False,
                timeout=20,
            )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide navigation keys that would lead to the screen already shown."""
        return self.screen.id != SCREEN_OF_ACTION.get(action, "")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        system = list(super().get_system_commands(screen))
        taken = {command.title for command in system}
        yield from (c for c in binding_commands(self, screen) if c.title not in taken)
        yield from system

    # -- one place for failures --------------------------------------------------------------

    def report_failure(self, worker: Worker[None]) -> None:
        """Every failed worker ends up here (screens send theirs up): notify, never crash."""
        error = worker.error
        if isinstance(error, Cancelled):
            self.notify(clean(error), severity="warning", markup=False)
        elif isinstance(error, AnimerecError):
            if isinstance(error, KitsuUnavailable):
                offline = ConnectivityChanged.unreachable(self.session.connectivity, None)
                self.connectivity_changed(offline)
            self.notify(clean(error), title="animerec", severity="error", markup=False)
        else:
            self.log.error("worker failed", worker=worker.name, error=repr(error))
            self.notify(
                clean(f"Unexpected error in {worker.name or 'a task'}: {error!r}"),
                title="animerec bug",
                severity="error",
                markup=False,
                timeout=10,
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.report_failure(event.worker)

    @on(WorkerFailed)
    def worker_failed(self, message: WorkerFailed) -> None:
        self.report_failure(message.worker)

    @on(ConnectivityChanged)
    def connectivity_changed(self, message: ConnectivityChanged) -> None:
        """The one place the banner's state changes: every screen's banner shows it."""
        was = self.session.link
        note = clean(message.note) if message.note else was.note
        link = Link(message.status, message.offline, note if message.offline else "")
        self.session.link = link
        if was.offline and not link.offline:
            self.notify("Kitsu answers again: back online.", timeout=3)
        for screen in self.screen_stack:
            for banner in screen.query(OfflineBanner):
                banner.show(link)

    # -- the flow ----------------------------------------------------------------------------

    @on(OpenUser)
    def open_user(self, message: OpenUser) -> None:
        """Search -> Enter: library (fetched or cached) -> model (loaded or trained) -> recs."""
        self.session.current_user = message.user
        self.run_flow(message.user)

    @work(group="flow", exclusive=True, exit_on_error=False, name="flow")
    async def run_flow(self, user: User) -> None:
        await flow.open_recommendations(self, self.session, user)

    @work(group="flow", exclusive=True, exit_on_error=False, name="library-flow")
    async def run_library(self, user: User) -> None:
        await flow.open_library(self, self.session, user)

    @on(RefreshLibrary)
    def refresh_library(self, message: RefreshLibrary) -> None:
        flow.refresh_library(self, self.session, message.user)

    @on(Steer)
    def steer(self, message: Steer) -> None:
        """Filters and niche chosen for the session: the screens shown list again."""
        self.session.filters, self.session.niche = message.filters, message.niche
        for screen in self.screen_stack:
            screen.post_message(Steered())

    # -- navigation --------------------------------------------------------------------------

    def action_search(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, SearchScreen):
            self.pop_screen()
        self.screen.query_one("#query").focus()

    def action_library(self) -> None:
        user = self.session.current_user
        if isinstance(self.screen, SearchScreen):
            user = self.screen.highlighted_user() or user
        if user is None:
            self.notify("Pick a user first (search, then highlight one).", severity="warning")
        elif self.screen.id != "library":
            self.session.current_user = user
            self.run_library(user)

    def action_train(self) -> None:
        flow.train(self, self.session)

    def action_evaluate(self) -> None:
        from animerec_tui.tui.screens.evaluation import EvaluationScreen

        if self.screen.id != "evaluation":
            self.push_screen(EvaluationScreen(self.session))

    def action_population(self) -> None:
        from animerec_tui.tui.screens.population import PopulationScreen

        if self.screen.id != "population":
            self.push_screen(PopulationScreen(self.session))


def run_app(settings: Settings) -> int:
    """Entry point for ``animerec`` with no command."""
    from animerec_tui.core.services import Core

    core = Core.open(settings)
    try:
        app = AnimerecApp(core)
        app.run()
        return app.return_code or 0
    finally:
        core.close()
