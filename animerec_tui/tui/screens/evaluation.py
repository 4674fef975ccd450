"""Held-out evaluation: ALS beside the baselines, one table at K, a chart comparing them.

Evaluation trains several models, so it runs in a thread worker with a progress bar; leaving the
screen sets the cancel event so the thread stops at its next check instead of running on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Static
from textual.worker import Worker, WorkerState

from animerec_tui.core import progress
from animerec_tui.tui.background import background_priority
from animerec_tui.tui.messages import EvaluationDone, StepProgress
from animerec_tui.tui.screens.base import AnimerecScreen
from animerec_tui.tui.session import Session
from animerec_tui.tui.text import inert, number
from animerec_tui.tui.widgets.banner import OfflineBanner
from animerec_tui.tui.widgets.charts import BarChart

if TYPE_CHECKING:
    from animerec_tui.core.recommend.evaluate import EvaluationReport, ModelScore

METRICS: tuple[tuple[str, str], ...] = (
    ("precision", "Precision"),
    ("recall", "Recall"),
    ("map", "MAP"),
    ("ndcg", "NDCG"),
    ("auc", "AUC"),
    ("coverage", "Coverage"),
)
K_CHOICES = (5, 10, 20)


class EvaluationScreen(AnimerecScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "c",
            "cycle_metric",
            "Metric",
            id="eval-metric",
            tooltip="Compare the models on another metric",
        ),
        Binding("k", "cycle_k", "Change K", id="eval-k", tooltip="Evaluate at another K"),
        Binding("ctrl+r", "rerun", "Re-run", id="eval-rerun", tooltip="Evaluate again"),
    ]

    def __init__(self, session: Session, k: int = 10) -> None:
        super().__init__(session, id="evaluation")
        self.k = k
        self.metric = "ndcg"
        self.report: EvaluationReport | None = None
        self.cancel_event = threading.Event()
        self.running = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield OfflineBanner(self.session.link)
        yield Label("", id="eval-status")
        yield ProgressBar(total=None, show_eta=False, id="eval-bar")
        yield DataTable(id="metrics", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="eval-lower"):
            yield BarChart(id="eval-chart", value_format="{:.4f}")
            with VerticalScroll(id="protocol-pane"):
                yield Static("", id="protocol")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "evaluation"
        known = self.session.evaluations.get((self.core.cache.fingerprint(), self.k))
        if known is None:
            self.action_rerun()
        else:  # same cache, same K: the report cannot have changed
            self.report = known
            self.query_one("#eval-bar", ProgressBar).display = False
            self._render_report()

    def on_unmount(self) -> None:
        self.cancel_event.set()

    @work(thread=True, group="evaluate", exclusive=True, exit_on_error=False, name="evaluate")
    def evaluate(self, k: int) -> None:
        def report(step: progress.StepProgress) -> None:
            self.post_message(StepProgress(step))

        key = (self.core.cache.fingerprint(), k)
        with background_priority():
            done = self._run(k, report)
        self.session.evaluations[key] = done
        self.deliver(EvaluationDone(done))

    def _run(self, k: int, report: Callable[[progress.StepProgress], None]) -> EvaluationReport:
        from animerec_tui.core.recommend.evaluate import MODELS, evaluate

        chosen = self.session.evaluation_models
        models = MODELS if chosen is None else chosen
        cache, settings = self.core.cache, self.core.settings
        return evaluate(
            cache, settings, k=k, progress=report, cancel=self.cancel_event, models=models
        )

    def on_step_progress(self, message: StepProgress) -> None:
        step = message.report
        self.query_one("#eval-bar", ProgressBar).update(total=step.total, progress=step.done)
        if step.what:
            self.query_one("#eval-status", Label).update(
                inert(f"Evaluating at K={self.k}: {step.what}")
            )

    def _finished(self) -> None:
        self.running = False
        self.query_one("#eval-bar", ProgressBar).display = False

    def worker_stopped(self, worker: Worker[None], state: WorkerState) -> None:
        self._finished()
        self.query_one("#eval-status", Label).update(
            "Evaluation did not finish · ctrl+r tries again"
        )

    @on(EvaluationDone)
    def evaluated(self, message: EvaluationDone) -> None:
        self._finished()
        self.report = message.report
        self._render_report()

    def _render_report(self) -> None:
        assert self.report is not None
        k = self.report.k
        models = self.report.models
        table = self.query_one("#metrics", DataTable)
        with self.app.batch_update():
            table.clear(columns=True)
            # sized to their labels and "0.1234": the 6 metrics fit an 80-column terminal
            table.add_column(
                "Model", key="name", width=max((len(m.name) for m in models), default=5)
            )
            for key, label in METRICS:
                title = f"{label}@{k}" if key in {"precision", "recall", "map", "ndcg"} else label
                table.add_column(Text(title, justify="right"), key=key, width=max(len(title), 6))
            best = {
                key: max(_metric(m, key) for m in models) if models else 0.0 for key, _ in METRICS
            }
            for model in models:
                cells: list[Text] = [inert(model.name, "bold")]
                for key, _ in METRICS:
                    value = _metric(model, key)
                    cell = number(value, "{:.4f}")
                    if value == best[key] and len(models) > 1:
                        cell.stylize("bold green")
                    cells.append(cell)
                table.add_row(*cells, key=model.name)
        self.query_one("#protocol", Static).update(
            Text("Protocol\n", style="bold") + inert(self.report.protocol, multiline=True)
        )
        scope = f" · {self.report.users:,} test users"
        self.query_one("#eval-status", Label).update(
            f"{len(models)} models at K={k}{scope} · best in green"
        )
        self._render_chart()
        table.focus()

    def _render_chart(self) -> None:
        if self.report is None:
            return
        label = dict(METRICS)[self.metric]
        k = self.report.k
        chart = self.query_one("#eval-chart", BarChart)
        chart.title = f"{label}@{k} by model" if self.metric != "auc" else f"{label} by model"
        chart.data = tuple((m.name, _metric(m, self.metric)) for m in self.report.models)

    def action_cycle_metric(self) -> None:
        keys = [k for k, _ in METRICS]
        self.metric = keys[(keys.index(self.metric) + 1) % len(keys)]
        self._render_chart()

    def action_cycle_k(self) -> None:
        self.k = (
            K_CHOICES[(K_CHOICES.index(self.k) + 1) % len(K_CHOICES)]
            if (self.k in K_CHOICES)
            else 10
        )
        self.action_rerun()

    def action_rerun(self) -> None:
        if self.running:
            self.notify("Already evaluating; wait for it to finish.", severity="warning")
            return
        self.running = True
        self.cancel_event.clear()
        bar = self.query_one("#eval-bar", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.query_one("#eval-status", Label).update(
            f"Evaluating every model at K={self.k} on held-out entries…"
        )
        self.evaluate(self.k)


def _metric(score: ModelScore, key: str) -> float:
    """One of METRICS of a model's scores, as the table and the chart show it (6 places, as
    the report is written)."""
    value: float = getattr(score, key)
    return round(value, 6)
