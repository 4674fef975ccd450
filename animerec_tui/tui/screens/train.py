"""Train (or load) the model (ALS blended with EASE by default), with a progress bar per
ALS iteration and the loss plotted.

Two uses: the search flow pushes it in *auto* mode (load the saved model, or train one with the
effective parameters when none exists) and dismisses with the loaded model; F3 opens it in
*manual* mode with a parameter form (defaults from the cache's tuned configuration).

Training runs in a thread worker. Escape sets a ``threading.Event`` the recommender checks every
iteration; it raises ``Cancelled`` and the previously saved model stays in place. We do not call
``worker.cancel()`` for a running thread: that would mark the worker cancelled while the thread
kept training in the background.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Label, ProgressBar
from textual.worker import Worker, WorkerState

from animerec_tui.core.progress import FitProgress
from animerec_tui.tui.background import background_priority
from animerec_tui.tui.messages import ModelReady, ModelStatusRead, TrainProgress
from animerec_tui.tui.screens.base import AnimerecModal
from animerec_tui.tui.session import Session
from animerec_tui.tui.text import inert
from animerec_tui.tui.widgets.charts import LossPlot

if TYPE_CHECKING:
    from animerec_tui.core.recommend.service import LoadedModel
    from animerec_tui.core.settings import ModelParams

FORM_FIELDS: tuple[tuple[str, str, Literal["integer", "number"]], ...] = (
    ("factors", "Factors", "integer"),
    ("regularization", "Regularization", "number"),
    ("alpha", "Alpha", "number"),
    ("iterations", "Iterations", "integer"),
)


class TrainScreen(AnimerecModal["LoadedModel | None"]):
    """Dismisses with the loaded model (``service.load_or_train`` result) or ``None``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+t", "train", "Train", id="train-start", tooltip="Train with these parameters"
        ),
        Binding("ctrl+l", "load", "Load saved", id="train-load", tooltip="Use the saved model"),
        Binding(
            "escape",
            "cancel",
            "Cancel / close",
            id="train-cancel",
            tooltip="Stop training (the saved model is kept) or close",
        ),
    ]

    def __init__(self, session: Session, *, auto: bool = False) -> None:
        super().__init__(session, id="train")
        self.auto = auto
        self.cancel_event = threading.Event()
        self.params: ModelParams | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            title = "Preparing the recommender" if self.auto else "Train the model"
            yield Label(title, classes="title", id="train-title")
            yield Label("reading the saved model…", id="model-status")
            with Horizontal(id="train-form"):
                for name, label, kind in FORM_FIELDS:
                    with Vertical(classes="field"):
                        yield Label(label)
                        yield Input(id=f"param-{name}", type=kind, disabled=True)
            yield ProgressBar(total=None, show_eta=False, id="train-bar")
            yield LossPlot(id="loss")
            hint = "escape cancels" if self.auto else "enter or ctrl+t trains · escape closes"
            yield Label(hint, classes="hint", id="train-hint")
        yield Footer(compact=True)

    def on_unmount(self) -> None:
        self.cancel_event.set()  # the app is closing: do not leave a fit running behind it

    def on_mount(self) -> None:
        self.query_one("#train-form").display = not self.auto
        self._show_progress(self.auto)  # in the form, nothing runs until enter
        if self.auto:
            self.running = True
            self.load_or_train()
        else:
            self.read_status()

    # -- workers -----------------------------------------------------------------------------

    def _progress(self, report: FitProgress) -> None:
        self.post_message(TrainProgress(report))

    @work(thread=True, group="train", exclusive=True, exit_on_error=False, name="train-status")
    def read_status(self) -> None:
        """Effective parameters and the saved model, off the UI thread (heavy imports)."""
        from animerec_tui.core.errors import ModelError
        from animerec_tui.core.recommend import service

        params = service.effective_params(self.core.cache, self.core.settings)
        try:
            saved: LoadedModel | None = service.load(self.core.cache, self.core.settings)
        except ModelError:
            saved = None
        self.deliver(ModelStatusRead(params, saved))

    @work(thread=True, group="train", exclusive=True, exit_on_error=False, name="load-or-train")
    def load_or_train(self) -> None:
        from animerec_tui.core.recommend import service

        with background_priority():
            loaded = service.load_or_train(
                self.core.cache,
                self.core.settings,
                progress=self._progress,
                cancel=self.cancel_event,
                track_loss=True,
            )
        self.deliver(ModelReady(loaded))

    @work(thread=True, group="train", exclusive=True, exit_on_error=False, name="train")
    def train(self, params: ModelParams) -> None:
        from animerec_tui.core.recommend import service

        with background_priority():
            result = service.train(
                self.core.cache,
                self.core.settings,
                params=params,
                progress=self._progress,
                cancel=self.cancel_event,
                track_loss=True,
            )
            loaded = service.load_or_train(self.core.cache, self.core.settings)
        self.deliver(ModelReady(loaded, result))

    # -- UI ----------------------------------------------------------------------------------

    def _show_progress(self, shown: bool) -> None:
        """The bar and the loss plot, only while something runs: before that a moving bar
        and "waiting for the first iteration" would say training had started."""
        self.query_one("#train-bar", ProgressBar).display = shown
        self.query_one("#loss", LossPlot).display = shown

    def on_train_progress(self, message: TrainProgress) -> None:
        iteration, total = message.report.done, message.report.total or 0
        if self.auto and iteration <= 1:
            self.query_one("#train-title", Label).update("Training the model")
            self.query_one("#model-status", Label).update(
                "No usable saved model: training one on the cached population."
            )
        self.query_one("#train-bar", ProgressBar).update(total=total, progress=iteration)
        self.query_one("#loss", LossPlot).add(iteration, total, message.report.loss)

    @on(ModelStatusRead)
    def _show_status(self, message: ModelStatusRead) -> None:
        self.params = params = message.params
        saved = message.saved
        for name, _label, _kind in FORM_FIELDS:
            field = self.query_one(f"#param-{name}", Input)
            field.value = str(getattr(params, name))
            field.disabled = False
        self.query_one("#param-factors", Input).focus()
        status = self.query_one("#model-status", Label)
        if saved is None:
            status.update("No saved model yet: train one.")
        elif saved.stale:
            status.update(
                inert(f"{_describe(saved)} — STALE: the cache changed since training; retrain.")
            )
            status.add_class("warning")
        else:
            status.update(inert(_describe(saved)))

    def _form_params(self) -> ModelParams | None:
        if self.params is None:
            return None
        values: dict[str, float] = {}
        for name, label, kind in FORM_FIELDS:
            raw = self.query_one(f"#param-{name}", Input).value.strip()
            try:
                value = int(raw) if kind == "integer" else float(raw)
            except ValueError:
                self.notify(f"{label} must be a number.", severity="error")
                return None
            if value <= 0 and name != "regularization":
                self.notify(f"{label} must be greater than 0.", severity="error")
                return None
            values[name] = value
        return replace(
            self.params,
            factors=int(values["factors"]),
            regularization=values["regularization"],
            alpha=values["alpha"],
            iterations=int(values["iterations"]),
        )

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_train()

    def action_train(self) -> None:
        if self.running or self.auto:
            return
        params = self._form_params()
        if params is None:
            return
        self.running = True
        self.cancel_event.clear()
        self._show_progress(True)
        self.query_one("#loss", LossPlot).reset()
        self.query_one("#train-bar", ProgressBar).update(total=params.iterations, progress=0)
        self.query_one("#train-hint", Label).update("training… escape cancels")
        self.train(params)

    def action_load(self) -> None:
        if self.running:
            return
        self.running = True
        self._show_progress(True)
        self.query_one("#train-hint", Label).update("loading the saved model…")
        self.load_or_train()

    def action_cancel(self) -> None:
        if self.running:
            self.cancel_event.set()
            self.query_one("#train-hint", Label).update("cancelling after this iteration…")
            return
        self.dismiss(None)

    @on(ModelReady)
    async def ready(self, message: ModelReady) -> None:
        self.running = False
        if message.trained is not None:
            summary = message.trained.summary()
            self.notify(inert(summary).plain, title="Training done", markup=False)
        await self.close_with(message.model)

    def worker_stopped(self, worker: Worker[None], state: WorkerState) -> None:
        if worker.name == "train-status":
            return
        self.running = False
        if self.auto:
            self.dismiss(None)
        else:
            self._show_progress(False)
            self.query_one("#train-hint", Label).update(
                "not trained; the saved model is unchanged · enter trains · escape closes"
            )


def _describe(saved: LoadedModel) -> str:
    """One line about a saved model: when it was trained, on how many users, its size."""
    meta = saved.meta
    parts = ["Saved model"]
    if meta.created_at:
        parts.append(f"trained {meta.created_at[:19].replace('T', ' ')}")
    if meta.user_ids:
        parts.append(f"on {len(meta.user_ids):,} users")
    params = meta.params if meta.kind in ("als", "blend") else meta.model
    if params.get("factors"):
        parts.append(f"({params['factors']} factors, {params.get('iterations', '?')} iterations)")
    return " ".join(parts) + "."
