"""Start from a few titles: search anime, mark the ones the user likes.

For an empty or tiny library, where the model has little or nothing to go on. Liked picks are
stored per user (:mod:`animerec_tui.core.cache.picks`) and the recommender folds them in as
positive signal, so the recommendations list starts from them as soon as this screen closes.
The search is the core's (:meth:`~animerec_tui.core.services.Core.search_anime`: the cache
first, then Kitsu when online).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from animerec_tui.core.records import Anime, User
from animerec_tui.tui.messages import AnimeFound, PicksSaved
from animerec_tui.tui.screens.anime_rows import highlighted_key, type_label
from animerec_tui.tui.screens.base import WorkerAware
from animerec_tui.tui.session import Session
from animerec_tui.tui.text import clean, inert, without_controls

FOUND = 20
"""Anime one search lists."""


def _liked_anime(session: Session, user: User) -> list[Anime]:
    """The user's liked picks as anime records (an id the cache does not describe: by id)."""
    from animerec_tui.core.cache.picks import liked

    ids = [pick.anime_id for pick in liked(session.core.cache, user.id)]
    known = session.core.cache.get_anime(ids)
    return [known.get(a) or Anime(id=a, title=f"anime {a}") for a in ids]


class PicksScreen(WorkerAware, Screen[bool]):
    """Search anime, enter (or space) likes or unlikes the highlighted one; escape goes back
    and says whether anything changed (the recommendations then list again)."""

    DEFAULT_CSS = """
    #picks-help { height: auto; padding: 0 1; color: $text-muted; }
    #picks-query { margin: 0 1; }
    #picks-results { height: 1fr; }
    #picks-liked { height: auto; max-height: 6; padding: 0 1; border-top: solid $primary 50%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="picks-back", tooltip="Back: recommend from them"),
        Binding(
            "space",
            "like",
            "Like",
            id="picks-like",
            tooltip="Like the highlighted anime, or unlike it",
        ),
        Binding("slash", "focus_query", "Search", id="picks-search", tooltip="Search anime"),
    ]

    def __init__(self, session: Session, user: User) -> None:
        super().__init__(id="picks")
        self.session = session
        self.user = user
        self.found: list[Anime] = []
        self.liked: list[Anime] = []
        self.changed = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Label(
            "Search anime by title, then enter or space on the ones you like: "
            "recommendations start from them.",
            id="picks-help",
        )
        yield Input(placeholder="anime title, e.g. Cowboy Bebop", id="picks-query")
        yield DataTable(id="picks-results", cursor_type="row", zebra_stripes=True)
        yield Static("", id="picks-liked")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"titles {clean(self.user.label)} likes"
        table = self.query_one("#picks-results", DataTable)
        table.add_column("Title", key="title", width=46)
        table.add_column("Type", key="type", width=7)
        table.add_column("Year", key="year", width=5)
        table.add_column("Liked", key="liked", width=6)
        self.query_one("#picks-query", Input).focus()
        self.load_liked()

    # -- workers -----------------------------------------------------------------------------

    @work(group="picks-search", exclusive=True, exit_on_error=False, name="anime-search")
    async def find(self, query: str) -> None:
        anime = await self.core.search_anime(query, limit=FOUND)
        if not anime and anime.offline and anime.note:  # only the cache was searched: say why
            self.notify(clean(anime.note), severity="warning", markup=False, timeout=4)
        self.deliver(AnimeFound(list(anime), self.liked))

    @work(thread=True, group="picks", exclusive=True, exit_on_error=False, name="picks")
    def load_liked(self) -> None:
        self.deliver(PicksSaved(_liked_anime(self.session, self.user)))

    @work(thread=True, group="picks", exit_on_error=False, name="pick")
    def toggle(self, anime_id: str, like: bool) -> None:
        from animerec_tui.core.cache.picks import like as like_anime
        from animerec_tui.core.cache.picks import unlike

        (like_anime if like else unlike)(self.core.cache, self.user.id, [anime_id])
        self.deliver(PicksSaved(_liked_anime(self.session, self.user)))

    # -- results -----------------------------------------------------------------------------

    @on(AnimeFound)
    def found_anime(self, message: AnimeFound) -> None:
        self.found = message.anime
        self._render_found()
        table = self.query_one("#picks-results", DataTable)
        if self.found:
            table.move_cursor(row=0, animate=False)
            table.focus()
        else:
            self.notify("No anime matches that title.", severity="warning", timeout=3)

    @on(PicksSaved)
    def saved(self, message: PicksSaved) -> None:
        self.liked = message.liked
        self._render_found()
        out = Text("Liked: ", style="bold")
        out.append(clean("; ".join(a.display_title for a in self.liked)) or "nothing yet")
        self.query_one("#picks-liked", Static).update(out)

    def _render_found(self) -> None:
        liked = _ids(self.liked)
        table = self.query_one("#picks-results", DataTable)
        keep = highlighted_key(table)
        with self.app.batch_update():
            table.clear()
            for anime in self.found:
                table.add_row(
                    inert(anime.display_title),
                    inert(type_label(anime)),
                    inert((anime.start_date or "")[:4] or "–"),
                    Text("liked" if anime.id in liked else "", style="bold green"),
                    key=anime.id,
                )
        ids = [a.id for a in self.found]
        if keep in ids:
            table.move_cursor(row=ids.index(keep), animate=False)

    # -- actions -----------------------------------------------------------------------------

    @on(Input.Submitted, "#picks-query")
    def search(self, event: Input.Submitted) -> None:
        query = without_controls(event.value).strip()
        if query:
            self.find(query)

    @on(DataTable.RowSelected, "#picks-results")
    def selected(self) -> None:
        self.action_like()

    def action_like(self) -> None:
        anime_id = highlighted_key(self.query_one("#picks-results", DataTable))
        if anime_id is None:
            return
        self.changed = True
        self.toggle(anime_id, anime_id not in _ids(self.liked))

    def action_focus_query(self) -> None:
        self.query_one("#picks-query", Input).focus()

    def action_back(self) -> None:
        self.dismiss(self.changed)


def _ids(anime: Iterable[Anime]) -> set[str]:
    return {a.id for a in anime}
