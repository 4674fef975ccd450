"""One user's cached library: entries by status, with the status mix as a bar chart.

Reading is a quick SQLite query, but it still runs in a worker so a 10,000-entry library never
stalls the first paint of the screen.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Label, Static

from animerec_tui.core.recommend.filters import library_label, subtype_label
from animerec_tui.core.records import STATUSES, Library, User
from animerec_tui.tui.messages import LibraryLoaded, LibraryRefreshed, RefreshLibrary
from animerec_tui.tui.screens.anime_rows import highlighted_key, similar_binding
from animerec_tui.tui.screens.base import AnimerecScreen
from animerec_tui.tui.screens.similar import open_similar
from animerec_tui.tui.session import Session
from animerec_tui.tui.text import clean, inert
from animerec_tui.tui.widgets.banner import OfflineBanner
from animerec_tui.tui.widgets.charts import BarChart
from animerec_tui.tui.widgets.columns import NARROW, YOUR_RATING, Column, FittedTable, your_rating

COLUMNS = (
    Column("title", "Title", 30, min_width=16, grow=True),
    Column("type", "Type", 7),
    Column("status", "Status", 9),
    Column("progress", "Progress", 8, right=True),
    YOUR_RATING,
    Column("updated", "Updated", 10, drop_below=96),  # only where the title keeps its 30
)
FILTERS: tuple[str | None, ...] = (None, *STATUSES)


def hidden_note(library: Library) -> str:
    """`` · N hidden adult titles`` when Kitsu withheld some of the library's anime."""
    return f" · {library.hidden_note}" if library.withheld else ""


class LibraryScreen(AnimerecScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "s",
            "cycle_status",
            "Status",
            id="library-status",
            tooltip="Show one status at a time",
        ),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            id="library-refresh",
            tooltip="Re-fetch this library from Kitsu",
        ),
        similar_binding("library-similar"),
    ]

    def __init__(self, session: Session, user: User) -> None:
        super().__init__(session, id="library")
        self.user = user
        self.library: Library | None = None
        self.status_filter: str | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield OfflineBanner(self.session.link)
        yield Label("reading the cache…", id="library-status-line")
        with Horizontal():
            yield FittedTable(COLUMNS, id="entries", zebra_stripes=True)
            with VerticalScroll(id="library-side"):
                yield BarChart(title="Entries by status", id="status-chart")
                yield Static("", id="favorites")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"library of {clean(self.user.label)}"
        self.load()

    def on_resize(self, event: events.Resize) -> None:
        """Below :data:`NARROW` columns the entries take the whole width (the status mix is
        in the status line, the chart and favourites come back on a wider terminal)."""
        self.query_one("#library-side").display = event.size.width >= NARROW

    @on(FittedTable.ColumnsChanged, "#entries")
    def refit(self) -> None:
        if self.library is not None:
            self._render_rows()

    @work(thread=True, group="library", exclusive=True, exit_on_error=False, name="library")
    def load(self) -> None:
        self.deliver(LibraryLoaded(self.core.cache.library(self.user.id)))

    @on(LibraryLoaded)
    def loaded(self, message: LibraryLoaded) -> None:
        self.library = message.library
        if self.library is None:
            self.query_one("#library-status-line", Label).update(
                "This user's library is not cached yet."
            )
            return
        counts = self.library.status_counts
        self.query_one("#status-chart", BarChart).data = tuple(
            (library_label(s), float(counts.get(s, 0))) for s in STATUSES
        )
        self._render_favorites()
        self._render_rows()

    def _render_favorites(self) -> None:
        assert self.library is not None
        out = Text("\nFavorites\n", style="bold")
        if not self.library.favorites:
            out.append("none", style="dim")
        for fav in self.library.favorites[:15]:
            anime = self.library.anime.get(fav.anime_id)
            out.append("• " + clean(anime.display_title if anime else fav.anime_id) + "\n")
        self.query_one("#favorites", Static).update(out)

    def _render_rows(self) -> None:
        assert self.library is not None
        table = self.query_one("#entries", FittedTable)
        entries = [e for e in self.library.entries if self.status_filter in (None, e.status)]
        with self.app.batch_update():
            table.clear()
            for entry in entries:
                anime = self.library.anime.get(entry.anime_id)
                episodes = anime.episode_count if anime else None
                progress = f"{entry.progress or 0}/{episodes if episodes else '?'}"
                table.add_cells(
                    {
                        "title": inert(anime.display_title if anime else f"anime {entry.anime_id}"),
                        "type": inert(subtype_label(anime.subtype if anime else None) or "–"),
                        "status": inert(library_label(entry.status)),
                        "progress": inert(progress, justify="right"),
                        YOUR_RATING.key: your_rating(entry.rating_twenty),
                        "updated": inert((entry.updated_at or "")[:10]),
                    },
                    key=entry.anime_id,
                )
        total = len(self.library.entries)
        which = library_label(self.status_filter) or "all statuses"
        self.query_one("#library-status-line", Label).update(
            f"{len(entries):,} of {total:,} entries · {which} · "
            f"{len(self.library.favorites)} favorites{hidden_note(self.library)}"
        )
        if entries:
            table.move_cursor(row=0)
        table.focus()

    def action_cycle_status(self) -> None:
        self.status_filter = FILTERS[(FILTERS.index(self.status_filter) + 1) % len(FILTERS)]
        if self.library is not None:
            self._render_rows()

    def action_refresh(self) -> None:
        self.post_message(RefreshLibrary(self.user))

    def action_similar(self) -> None:
        open_similar(self, highlighted_key(self.query_one("#entries", FittedTable)))

    @on(LibraryRefreshed)
    def refreshed(self) -> None:
        self.load()
