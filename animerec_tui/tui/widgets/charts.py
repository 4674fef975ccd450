"""Charts drawn with block characters: no plotting library needed in the terminal.

``BarChart`` draws labelled horizontal bars scaled to the widget's width; ``LossPlot`` is a
Sparkline of the training loss with the latest value beside it. Both take plain data and build
inert ``Text``, so labels coming from users or Kitsu cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import Label, Sparkline, Static

from animerec_tui.tui.text import clean

_EIGHTHS = " ▏▎▍▌▋▊▉█"
PALETTE = ("#5fafff", "#87d787", "#ffaf5f", "#d787d7", "#ff8787", "#87d7d7", "#d7d787")


def count(value: float) -> str:
    """A count or a statistic of counts, without padding decimals: ``49`` for ``49.0``,
    ``54.5``, ``100.28`` (at most two places)."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0")


def bar(fraction: float, width: int) -> str:
    """A bar ``fraction`` of ``width`` cells long, with eighth-cell resolution at the tip."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


class BarChart(Static):
    """Horizontal bars, one per (label, value); redrawn when the data or the width changes."""

    DEFAULT_CSS = """
    BarChart { height: auto; width: 1fr; }
    """

    data: reactive[tuple[tuple[str, float], ...]] = reactive((), init=False)

    def __init__(
        self,
        data: Sequence[tuple[str, float]] = (),
        *,
        title: str = "",
        value_format: str | Callable[[float], str] = "{:,.0f}",
        colors: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        self.value_format = value_format
        self.multicolor = colors
        self.set_reactive(BarChart.data, tuple(data))

    def on_mount(self) -> None:
        self._draw()

    def watch_data(self) -> None:
        self._draw()

    def on_resize(self, event: Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        width = self.content_region.width or 60
        out = Text()
        if self.title:
            out.append(clean(self.title) + "\n", style="bold")
        if not self.data:
            out.append("no data", style="dim")
            self.update(out)
            return
        labels = [clean(label) for label, _ in self.data]
        shown_as = self.value_format
        values = [
            shown_as(value) if callable(shown_as) else shown_as.format(value)
            for _, value in self.data
        ]
        label_w = min(max(len(s) for s in labels), max(width // 3, 4))
        value_w = max(len(v) for v in values)
        room = max(width - label_w - value_w - 3, 4)
        top = max((v for _, v in self.data), default=0) or 1
        for i, ((_, value), label, shown) in enumerate(zip(self.data, labels, values, strict=True)):
            color = PALETTE[i % len(PALETTE)] if self.multicolor else PALETTE[0]
            if i:
                out.append("\n")
            out.append(label[:label_w].ljust(label_w) + " ")
            drawn = bar(value / top, room)
            out.append(drawn, style=color)
            out.append(" " * (room - len(drawn)) + " " + shown.rjust(value_w), style="bold")
        self.update(out)


class LossPlot(Vertical):
    """The training loss as it goes: a sparkline plus the first, latest and best values."""

    DEFAULT_CSS = """
    LossPlot { height: auto; }
    LossPlot > Sparkline { height: 4; margin: 0 0 0 0; }
    LossPlot > Label { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Label("loss: waiting for the first iteration", id="loss-label")
        yield Sparkline([], id="loss-spark")

    _losses: tuple[float, ...] = ()

    def reset(self) -> None:
        self._losses = ()
        self.query_one("#loss-spark", Sparkline).data = []
        self.query_one("#loss-label", Label).update("loss: waiting for the first iteration")

    def add(self, iteration: int, total: int, loss: float | None) -> None:
        label = self.query_one("#loss-label", Label)
        if loss is None:
            label.update(f"iteration {iteration}/{total} (loss not reported)")
            return
        self._losses = losses = (*self._losses, float(loss))
        self.query_one("#loss-spark", Sparkline).data = list(losses)
        label.update(
            f"loss {losses[-1]:.5g}   first {losses[0]:.5g}   best {min(losses):.5g}"
            f"   ({len(losses)} of {total} iterations)"
        )
