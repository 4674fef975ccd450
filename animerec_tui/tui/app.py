"""The animerec Textual app: wiring, navigation, the search -> recommendations flow.

The app gets its :class:`~animerec_tui.core.services.Core` injected (tests hand it one over a
temporary cache pointed at the fake Kitsu server). Start-up stays light: this module imports
Textual and the UI-free core records only; the recommender, population statistics and crawler
are imported inside workers, after the search screen has painted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from animerec_tui.core.errors import AnimerecError, Cancelled, KitsuUnavailable
from animerec_tui.core.records import User
from animerec_tui.tui.commands import binding_commands
from animerec_tui.tui.screens.search import SearchScreen
from animerec_tui.tui.text import clean

if TYPE_CHECKING:
    from animerec_tui.core.services import Core
    from animerec_tui.core.settings import Settings


class AnimerecApp(App[int]):
    """Keyboard-first anime recommendations for Kitsu users."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "animerec"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True, tooltip="Quit animerec"),
        Binding("ctrl+c", "help_quit", show=False, system=True),
        Binding(
            "f2",
            "library",
            "Library",
            id="library",
            tooltip="The library of the current (or highlighted) user",
        ),
        Binding(
            "f3",
            "train",
            "Train",
            id="train",
            tooltip="Train the model (parameters, progress, loss) or load the saved one",
        ),
        Binding(
            "f4",
            "evaluate",
            "Eval",
            id="evaluate",
            tooltip="Held-out evaluation: ALS beside the baselines",
        ),
        Binding(
            "f5",
            "population",
            "Population",
            id="population",
            tooltip="The cached population the model learns from",
        ),
        Binding(
            "f6", "search", "Search users", id="search", show=False, tooltip="Back to the search"
        ),
    ]

    offline: reactive[bool] = reactive(False)
    offline_note: reactive[str] = reactive("")

    def __init__(
        self,
        core: Core,
        *,
        model: Any = None,
        evaluation_models: Sequence[str] | None = None,
        crawl_users: int | None = None,
    ) -> None:
        super().__init__()
        self.core = core
        self.crawl_users = crawl_users
        """Users one crawl from the Population screen adds (None: the screen's default)."""
        self.evaluation_models = tuple(evaluation_models) if evaluation_models else None
        """Which models the Evaluation screen compares (None: all the core knows)."""
        self.evaluations: dict[tuple[str, int], dict[str, Any]] = {}
        """Evaluation reports by (cache fingerprint, K): re-opening the screen is instant."""
        self.model: Any = model
        """The loaded recommender (``service.load_or_train`` result), kept for the session."""
        self.current_user: User | None = None
        self.stale_warned = False
        self.set_reactive(AnimerecApp.offline, core.offline)

    def get_default_screen(self) -> Screen[Any]:
        return SearchScreen()

    def on_mount(self) -> None:
        """Say so when Core.open found the cache damaged: the user's data seems gone, and the
        damaged file (kept, moved aside) is where to look for it."""
        recovered = self.core.cache.recovered_from
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
        here = {
            "search": "search",
            "library": "library",
            "evaluate": "evaluation",
            "population": "population",
        }
        return not (action in here and self.screen.id == here[action])

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        system = list(super().get_system_commands(screen))
        taken = {command.title for command in system}
        yield from (c for c in binding_commands(self, screen) if c.title not in taken)
        yield from system

    # -- one place for failures --------------------------------------------------------------

    def report_failure(self, worker: Worker[Any]) -> None:
        """Every failed worker ends up here (screens forward theirs): notify, never crash."""
        error = worker.error
        if isinstance(error, Cancelled):
            self.notify(clean(error), severity="warning", markup=False)
        elif isinstance(error, AnimerecError):
            if isinstance(error, KitsuUnavailable):
                self.go_offline(None)
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

    def go_offline(self, note: str | None) -> None:
        self.offline = True
        if note:
            self.offline_note = clean(note)

    def retry_online(self) -> None:
        """An explicit retry (ctrl+r: refresh, "retry Kitsu" on the search screen; a crawl):
        end the cool-down and ask Kitsu at once.

        After a failure the core's :class:`~animerec_tui.core.connectivity.Connectivity`
        takes Kitsu as unreachable for ``network.cooldown`` seconds, so searches and opening
        users serve the cache without waiting again; only an explicit retry cuts that short.
        Offline mode chosen in the settings is kept. The banner stays up until Kitsu really
        answers (:meth:`back_online`).
        """
        self.core.connectivity.retry_now()

    def back_online(self) -> None:
        """Kitsu answered after a fall-back to the cache: lower the offline banner."""
        if self.offline and not self.core.offline:
            self.offline = False
            self.offline_note = ""
            self.notify("Kitsu answers again: back online.", timeout=3)

    # -- the flow ----------------------------------------------------------------------------

    def open_user(self, user: User) -> None:
        """Search -> Enter: library (fetched or cached) -> model (loaded or trained) -> recs."""
        self.current_user = user
        self.run_flow(user)

    async def ensure_library(self, user: User) -> bool:
        """Fetch the library with a progress modal unless the cache already has it."""
        from animerec_tui.tui.screens.progress import FetchScreen

        if self.core.cache.has_library(user.id):
            return True
        connectivity = self.core.connectivity
        if not connectivity.may_ask():  # offline mode, or cooling down: no new wait
            status = connectivity.status()
            if status.state == "cooling":
                self.go_offline(status.describe())
                why = "Kitsu is not asked again yet (ctrl+r on the search screen retries now)"
            else:
                why = "offline mode is on"
            self.notify(
                clean(f"{user.label} is not in the cache, and {why}."),
                severity="error",
                markup=False,
            )
            return False
        return await self.push_screen_wait(FetchScreen(user)) is not None

    async def ensure_model(self) -> Any:
        from animerec_tui.tui.screens.train import TrainScreen

        if self.model is None:
            self.model = await self.push_screen_wait(TrainScreen(auto=True))
        return self.model

    @work(group="flow", exclusive=True, exit_on_error=False, name="flow")
    async def run_flow(self, user: User) -> None:
        from animerec_tui.tui.screens.recommendations import RecommendationsScreen

        if not await self.ensure_library(user):
            return
        model = await self.ensure_model()
        if model is None:
            return
        await self.push_screen(RecommendationsScreen(user, model))

    @work(group="flow", exclusive=True, exit_on_error=False, name="library-flow")
    async def run_library(self, user: User) -> None:
        from animerec_tui.tui.screens.library import LibraryScreen

        if await self.ensure_library(user):
            await self.push_screen(LibraryScreen(user))

    def refresh_user(self, user: User, then: Callable[[], object]) -> None:
        """Re-fetch a cached user's library (incrementally), then let the screen reload."""
        from animerec_tui.tui.screens.progress import FetchScreen

        if not user.is_sample:
            self.retry_online()
        if self.core.offline or user.is_sample:
            why = "a sample user is never fetched" if user.is_sample else "offline mode is on"
            self.notify(f"Nothing to refresh: {why}.", severity="warning")
            return

        def done(result: Any) -> None:
            if result is None:
                return  # cancelled or failed: already said in a notification
            if result.offline:  # Kitsu failed and the core served the cache instead
                self.notify(
                    clean(
                        f"Could not refresh {user.label}: Kitsu cannot be reached. "
                        "The cached library is unchanged."
                    ),
                    severity="warning",
                    markup=False,
                )
                return
            self.notify(
                f"{result.entries:,} entries, {result.favorites} favorites "
                f"({result.mode}, {result.requests} requests, {result.seconds:.1f}s)."
            )
            then()

        self.push_screen(FetchScreen(user, refresh=True), done)

    # -- navigation --------------------------------------------------------------------------

    def _on_top(self, screen_id: str) -> bool:
        return self.screen.id == screen_id

    def action_search(self) -> None:
        while len(self.screen_stack) > 1 and not isinstance(self.screen, SearchScreen):
            self.pop_screen()
        self.screen.query_one("#query").focus()

    def action_library(self) -> None:
        user = self.current_user
        if isinstance(self.screen, SearchScreen):
            user = self.screen.highlighted_user() or user
        if user is None:
            self.notify("Pick a user first (search, then highlight one).", severity="warning")
            return
        if self._on_top("library"):
            return
        self.current_user = user
        self.run_library(user)

    def action_train(self) -> None:
        from animerec_tui.tui.screens.recommendations import RecommendationsScreen
        from animerec_tui.tui.screens.train import TrainScreen

        def trained(loaded: Any) -> None:
            if loaded is not None and isinstance(self.screen, RecommendationsScreen):
                self.screen.use_model(loaded)

        self.push_screen(TrainScreen(), trained)

    def action_evaluate(self) -> None:
        from animerec_tui.tui.screens.evaluation import EvaluationScreen

        if not self._on_top("evaluation"):
            self.push_screen(EvaluationScreen())

    def action_population(self) -> None:
        from animerec_tui.tui.screens.population import PopulationScreen

        if not self._on_top("population"):
            self.push_screen(PopulationScreen())


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
