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
from dataclasses import fields, replace
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, Label, ProgressBar
from textual.worker import Worker, WorkerState

from animerec_tui.core.progress import FitProgress
from animerec_tui.tui.background import background_priority
from animerec_tui.tui.messages import TrainProgress
from animerec_tui.tui.screens.base import AnimerecModal
from animerec_tui.tui.text import inert
from animerec_tui.tui.widgets.charts import LossPlot

FORM_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("factors", "Factors", "integer"),
    ("regularization", "Regularization", "number"),
    ("alpha", "Alpha", "number"),
    ("iterations", "Iterations", "integer"),
)


class TrainScreen(AnimerecModal[Any]):
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

    def __init__(self, *, auto: bool = False) -> None:
        super().__init__(id="train", classes="progress-modal")
        self.auto = auto
        self.cancel_event = threading.Event()
        self.params: Any = None
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
                        yield Input(id=f"param-{name}", type=kind, disabled=True)  # type: ignore[arg-type]
            yield ProgressBar(total=None, show_eta=False, id="train-bar")
            yield LossPlot(id="loss")
            hint = "escape cancels" if self.auto else "enter or ctrl+t trains · escape closes"
            yield Label(hint, classes="hint", id="train-hint")
        yield Footer(compact=True)

    def on_unmount(self) -> None:
        self.cancel_event.set()  # the app is closing: do not leave a fit running behind it

    def on_mount(self) -> None:
        self.query_one("#train-form").display = not self.auto
        if self.auto:
            self.running = True
            self.load_or_train()
        else:
            self.read_status()

    # -- workers -----------------------------------------------------------------------------

    def _progress(self, report: FitProgress) -> None:
        self.post_message(TrainProgress(report.done, report.total or 0, report.loss))

    @work(thread=True, group="train", exclusive=True, exit_on_error=False, name="train-status")
    def read_status(self) -> tuple[Any, dict[str, Any] | None]:
        """Effective parameters and the saved model's info, off the UI thread (heavy imports)."""
        from animerec_tui.core.errors import ModelError
        from animerec_tui.core.recommend import service

        params = service.effective_params(self.core.cache, self.core.settings)
        try:
            info = service.load(self.core.cache, self.core.settings).info
        except ModelError:
            info = None
        return params, info

    @work(thread=True, group="train", exclusive=True, exit_on_error=False, name="load-or-train")
    def load_or_train(self) -> Any:
        from animerec_tui.core.recommend import service

        with background_priority():
            return service.load_or_train(
                self.core.cache,
                self.core.settings,
                progress=self._progress,
                cancel=self.cancel_event,
                track_loss=True,
            )

    @work(thread=True, group="train", exclusive=True, exit_on_error=False, name="train")
    def train(self, params: Any) -> Any:
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
        return result, loaded

    # -- UI ----------------------------------------------------------------------------------

    def on_train_progress(self, message: TrainProgress) -> None:
        if self.auto and message.iteration <= 1:
            self.query_one("#train-title", Label).update("Training the model")
            self.query_one("#model-status", Label).update(
                "No usable saved model: training one on the cached population."
            )
        self.query_one("#train-bar", ProgressBar).update(
            total=message.total, progress=message.iteration
        )
        self.query_one("#loss", LossPlot).add(message.iteration, message.total, message.loss)

    def _show_status(self, params: Any, info: dict[str, Any] | None) -> None:
        self.params = params
        for name, _label, _kind in FORM_FIELDS:
            field = self.query_one(f"#param-{name}", Input)
            field.value = str(getattr(params, name))
            field.disabled = False
        self.query_one("#param-factors", Input).focus()
        status = self.query_one("#model-status", Label)
        if info is None:
            status.update("No saved model yet: train one.")
        elif info.get("stale"):
            status.update(
                inert(f"{_describe(info)} — STALE: the cache changed since training; retrain.")
            )
            status.add_class("warning")
        else:
            status.update(inert(_describe(info)))

    def _form_params(self) -> Any | None:
        if self.params is None:
            return None
        values: dict[str, Any] = {}
        kinds = {f.name: type(getattr(self.params, f.name)) for f in fields(self.params)}
        for name, label, _kind in FORM_FIELDS:
            raw = self.query_one(f"#param-{name}", Input).value.strip()
            try:
                value = kinds[name](raw)
            except ValueError:
                self.notify(f"{label} must be a number.", severity="error")
                return None
            if value <= 0 and name != "regularization":
                self.notify(f"{label} must be greater than 0.", severity="error")
                return None
            values[name] = value
        return replace(self.params, **values)

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
        self.query_one("#loss", LossPlot).reset()
        self.query_one("#train-bar", ProgressBar).update(total=params.iterations, progress=0)
        self.query_one("#train-hint", Label).update("training… escape cancels")
        self.train(params)

    def action_load(self) -> None:
        if self.running:
            return
        self.running = True
        self.query_one("#train-hint", Label).update("loading the saved model…")
        self.load_or_train()

    def action_cancel(self) -> None:
        if self.running:
            self.cancel_event.set()
            self.query_one("#train-hint", Label).update("cancelling after this iteration…")
            return
        self.dismiss(None)

    def worker_finished(self, worker: Worker[Any], state: WorkerState) -> None:
        if worker.name == "train-status":
            if state == WorkerState.SUCCESS:
                params, info = worker.result  # type: ignore[misc]
                self._show_status(params, info)
            return
        self.running = False
        if state != WorkerState.SUCCESS:
            if self.auto:
                self.dismiss(None)
            else:
                self.query_one("#train-hint", Label).update(
                    "not trained; the saved model is unchanged · enter trains · escape closes"
                )
            return
        if worker.name == "train":
            result, loaded = worker.result  # type: ignore[misc]
            summary = result.summary() if hasattr(result, "summary") else "Model trained."
            self.notify(inert(summary).plain, title="Training done", markup=False)
        else:
            loaded = worker.result
        self.animerec.model = loaded
        self.dismiss(loaded)


def _describe(info: dict[str, Any]) -> str:
    """One line about a saved model from its info dict (tolerant of missing keys)."""
    parts = ["Saved model"]
    if info.get("created_at"):
        parts.append(f"trained {str(info['created_at'])[:19].replace('T', ' ')}")
    if info.get("users"):
        parts.append(f"on {info['users']:,} users")
    params = info.get("params") or {}
    if isinstance(params, dict) and params.get("factors"):
        parts.append(f"({params['factors']} factors, {params.get('iterations', '?')} iterations)")
    return " ".join(parts) + "."
