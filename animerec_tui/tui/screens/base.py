"""What every animerec screen shares: worker failures go to one place, escape goes back.

``Worker.StateChanged`` does not bubble, so each screen forwards its workers' state changes to
:meth:`AnimerecApp.report_failure` (the one place failures become notifications) and then to a
per-screen ``worker_finished`` hook that reacts to success or cancellation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

if TYPE_CHECKING:
    from animerec_tui.core.services import Core
    from animerec_tui.tui.app import AnimerecApp


class WorkerAware:
    """Mixin: route worker state changes to the app's failure handler, then to a hook."""

    @property
    def animerec(self) -> AnimerecApp:
        return cast("AnimerecApp", self.app)  # type: ignore[attr-defined]

    @property
    def core(self) -> Core:
        return self.animerec.core

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.animerec.report_failure(event.worker)
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.worker_finished(event.worker, event.state)

    def worker_finished(self, worker: Worker[Any], state: WorkerState) -> None:
        """Override to react when one of this screen's workers ends (any outcome)."""


class AnimerecScreen(WorkerAware, Screen[None]):
    """A full screen pushed over the search screen; escape returns to the previous one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back", tooltip="Go back")
    ]

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


T = TypeVar("T")


class AnimerecModal(WorkerAware, ModalScreen[T], Generic[T]):
    """A modal for long work (download, training, crawl): escape cancels it."""
