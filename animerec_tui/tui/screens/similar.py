"""Anime similar to one anime: the nearest by the model's item factors, a franchise once.

Opened by a key on any anime row (recommendations, the library, this screen itself) through
:func:`open_similar`; the session's filters apply. The core's
:func:`~animerec_tui.core.recommend.similar.similar` runs in a thread worker (it loads the
saved model when the session has none yet); escape goes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Label, Static
from textual.worker import Worker, WorkerState

from animerec_tui.tui.messages import SimilarReady, Steered
from animerec_tui.tui.screens.anime_rows import (
    franchise_note,
    highlighted_key,
    names_of,
    similar_binding,
    type_label,
)
from animerec_tui.tui.screens.base import AnimerecScreen
from animerec_tui.tui.session import Session
from animerec_tui.tui.text import clean, inert, join_inert, number

if TYPE_CHECKING:
    from animerec_tui.core.recommend.similar import Similar

SHOWN = 20
"""Similar anime listed."""


@dataclass(frozen=True)
class _Own:
    """The asked anime with its own franchise, for :func:`names_of`."""

    franchise: list[str]


def open_similar(screen: AnimerecScreen, anime_id: str | None) -> None:
    """Push the similar-anime screen for ``anime_id`` (nothing when no row is highlighted)."""
    if anime_id is not None:
        screen.app.push_screen(SimilarScreen(screen.session, anime_id))


class SimilarScreen(AnimerecScreen):
    DEFAULT_CSS = """
    #similar-status { height: 1; padding: 0 1; color: $text-muted; }
    #similar-notice { height: auto; padding: 0 1; color: $warning; }
    #similar { height: 1fr; }
    #similar-detail-pane { height: 8; border-top: solid $primary 50%; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        similar_binding("similar-again"),
    ]

    def __init__(self, session: Session, anime_id: str) -> None:
        super().__init__(session, id="similar")
        self.anime_id = anime_id
        self.result: Similar | None = None
        """What the core found, once computed."""
        self.names: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Label("finding similar anime…", id="similar-status")
        yield Label("", id="similar-notice")
        yield DataTable(id="similar", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="similar-detail-pane"):
            yield Static("", id="similar-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#similar", DataTable)
        for key, label, width in (
            ("rank", "#", 3),
            ("title", "Title", 44),
            ("type", "Type", 7),
            ("episodes", "Eps", 5),
            ("score", "Similarity", 10),
        ):
            right = key in {"rank", "episodes", "score"}
            table.add_column(
                Text(label, justify="right" if right else "left"), key=key, width=width
            )
        self.compute()

    @work(thread=True, group="similar", exclusive=True, exit_on_error=False, name="similar")
    def compute(self) -> None:
        from animerec_tui.core.recommend import service
        from animerec_tui.core.recommend.similar import similar

        cache, settings = self.core.cache, self.core.settings
        model = self.session.model or service.load(cache, settings)
        result = similar(
            cache, settings, self.anime_id, n=SHOWN, filters=self.session.filters, model=model
        )
        language = settings.display.title_language
        names = names_of(cache, [*result.rows, _Own([self.anime_id, *result.franchise])], language)
        self.deliver(SimilarReady(result, names))

    @on(SimilarReady)
    def ready(self, message: SimilarReady) -> None:
        result = message.result
        self.result, self.names = result, message.names
        self.sub_title = f"like {clean(result.anime.display_title)}"
        table = self.query_one("#similar", DataTable)
        with self.app.batch_update():
            table.clear()
            for row in result.rows:
                title = inert(row.title)
                title.append(franchise_note(row.franchise), style="dim")
                table.add_row(
                    number(row.rank),
                    title,
                    inert(type_label(row.anime)),
                    number(row.anime.episode_count if row.anime else None),
                    number(row.score, "{:.3f}"),
                    key=row.anime_id,
                )
        filters = self.session.filters
        narrowed = filters.describe() if filters is not None else ""
        self.query_one("#similar-status", Label).update(
            clean(
                f"{len(result.rows)} anime like {result.anime.display_title}"
                + (f" · {narrowed}" if narrowed else "")
                + " · nearest by the model's item factors"
                + ("" if result.notice else ", each franchise once")
            )
        )
        own = [self.names.get(a, f"anime {a}") for a in result.franchise]
        lines = [result.notice or ""]
        if own:
            lines.append(f"Its own franchise (not listed): {'; '.join(own)}")
        notice = self.query_one("#similar-notice", Label)
        notice.update(clean("\n".join(line for line in lines if line)))
        notice.display = any(lines)
        if result.rows:
            table.move_cursor(row=0, animate=False)
        self._show_detail(highlighted_key(table))
        table.focus()

    def worker_stopped(self, worker: Worker[None], state: WorkerState) -> None:
        """The App's notification says why (not in the model, not cached); the status too."""
        if state == WorkerState.ERROR:
            self.query_one("#similar-status", Label).update(
                clean(f"No similar anime: {worker.error}")
            )

    @on(DataTable.RowHighlighted, "#similar")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(str(event.row_key.value) if event.row_key else None)

    def _show_detail(self, anime_id: str | None) -> None:
        detail = self.query_one("#similar-detail", Static)
        result = self.result
        rows = result.rows if result is not None else []
        row = next((r for r in rows if r.anime_id == anime_id), None)
        if row is None:
            detail.update(Text("Nothing similar passes the filters." if result else ""))
            return
        out = join_inert([(row.title, "bold"), (f"   similarity {row.score:.3f}", "dim")])
        mates = [self.names.get(a, f"anime {a}") for a in row.franchise[1:]]
        if mates:
            out.append("\nSame franchise: ", style="bold")
            out.append(clean("; ".join(mates)))
        synopsis = row.anime.synopsis if row.anime is not None else None
        if synopsis:
            out.append("\n\n" + clean(synopsis, multiline=True))
        detail.update(out)

    def action_similar(self) -> None:
        open_similar(self, highlighted_key(self.query_one("#similar", DataTable)))

    @on(Steered)
    def steered(self) -> None:
        self.compute()
