"""What every animerec screen shares: the session it is handed, worker failures sent up to the
App, escape goes back.

``Worker.StateChanged`` does not bubble, so each screen turns its workers' errors into a
:class:`~animerec_tui.tui.messages.WorkerFailed` message for the App (the one place failures
become notifications) and calls :meth:`WorkerAware.worker_stopped` on error or cancellation.
Success is not handled here: a worker ends by posting a typed result message
(:meth:`WorkerAware.deliver`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerError, WorkerState, get_current_worker

from animerec_tui.tui.messages import WorkerFailed
from animerec_tui.tui.session import Session

if TYPE_CHECKING:
    from animerec_tui.core.services import Core


if TYPE_CHECKING:
    _Node = DOMNode
else:
    # A plain mixin at run time: Textual collects DEFAULT_CSS and CSS type names along the
    # first DOMNode base of each class, so a DOMNode mixin listed first would hide Screen's.
    _Node = object


class WorkerAware(_Node):
    """Mixin for screens: the session, failures up to the App, results delivered by message."""

    session: Session

    @property
    def core(self) -> Core:
        return self.session.core

    def deliver(self, message: Message) -> None:
        """Post a worker's result, unless the worker was cancelled meanwhile (a newer one of
        the same exclusive group replaced it: its result would be stale)."""
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.post_message(WorkerFailed(event.worker))  # a modal may close at once
        if event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.worker_stopped(event.worker, event.state)

    def worker_stopped(self, worker: Worker[None], state: WorkerState) -> None:
        """Override to react when one of this screen's workers fails or is cancelled."""


class AnimerecScreen(WorkerAware, Screen[None]):
    """A full screen pushed over the search screen; escape returns to the previous one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back", tooltip="Go back")
    ]

    def __init__(self, session: Session, *, id: str) -> None:
        super().__init__(id=id)
        self.session = session

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


T = TypeVar("T")


class AnimerecModal(WorkerAware, ModalScreen[T], Generic[T]):
    """A modal for long work (download, training, crawl): escape cancels it."""

    def __init__(self, session: Session, *, id: str) -> None:
        super().__init__(id=id, classes="progress-modal")
        self.session = session

    async def close_with(self, result: T) -> None:
        """Dismiss with a worker's result once that worker has returned.

        The result message can arrive while its thread is still returning, and a screen's
        workers are cancelled when it closes: dismissing at once would end a finished worker
        as cancelled (and call :meth:`worker_stopped` on a closed modal).
        """
        for worker in [w for w in self.workers if w.node is self and w.is_running]:
            try:
                await worker.wait()
            except WorkerError:  # failed or cancelled: worker_stopped has it
                return
        self.dismiss(result)
