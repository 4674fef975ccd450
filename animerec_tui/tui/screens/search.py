"""The first screen: find a user by name, slug or id, then open their recommendations.

Offline-first: cached and sample matches are shown at once from SQLite (and take the keys:
Enter opens one while Kitsu is still being asked), then Kitsu's matches are merged in when the
async search worker returns (or the offline banner goes up). While it waits, the status line
counts the seconds and attempts; the wait is bounded by ``network.search_deadline``, and after
a failure Kitsu is not asked again during ``network.cooldown`` unless ctrl+r says so.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Label
from textual.worker import Worker, WorkerState

from animerec_tui.core.records import SAMPLE_NAME_PREFIX, SAMPLE_PREFIX, User
from animerec_tui.tui.messages import ConnectivityChanged, OpenUser, SearchDone
from animerec_tui.tui.screens.base import WorkerAware
from animerec_tui.tui.session import Session
from animerec_tui.tui.text import inert, number, without_controls
from animerec_tui.tui.widgets.banner import OfflineBanner
from animerec_tui.tui.widgets.columns import NARROW, Column, FittedTable

HINT = "Type a Kitsu name, slug or id (or 'sample') and press Enter."
COLUMNS = (
    Column("user", "User", 28, min_width=14, grow=True),
    Column("id", "Id", 16, min_width=12),
    Column("slug", "Slug", 22, drop_below=NARROW),
    Column("where", "Where", 12),
    Column("entries", "Entries", 7, right=True),
)


def asks_kitsu(query: str) -> bool:
    """Whether ``Core.search`` sends this query to Kitsu (sample ids and names never go)."""
    return not query.strip().startswith((SAMPLE_PREFIX, SAMPLE_NAME_PREFIX))


class SearchInput(Input):
    """The query field; its Enter is listed in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Search", id="search-submit")
    ]

    def validate_value(self, value: str) -> str:
        """Drop control characters, whichever way they came in (a paste, mostly).

        Input draws its value as is, so a pasted escape sequence would reach the terminal raw;
        no Kitsu name, slug or id needs one.
        """
        return without_controls(value)

    _typed: str | None = None

    def start_with(self, text: str) -> None:
        """Take the keys with ``text`` as a new query, the cursor after it (not selected, as
        focusing would otherwise select it and the next key replace it)."""
        self._typed = text
        self.focus()

    def on_focus(self, event: events.Focus) -> None:
        typed, self._typed = self._typed, None
        if typed is not None:  # after Input's own focus handler, which selects all
            self.call_next(self._take, typed)

    def _take(self, typed: str) -> None:
        self.value = typed
        self.cursor_position = len(typed)  # also clears the selection focusing made


class ResultsTable(FittedTable):
    """The results; Enter on a row opens that user (listed in the footer)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="results-open")
    ]


class SearchScreen(WorkerAware, Screen[None]):
    """Search field on top, merged Kitsu + cache results below."""

    AUTO_FOCUS = "#query"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "New search", id="focus-search", tooltip="Edit the query"),
        Binding("escape", "focus_search", "Search", show=False),
        Binding(
            "ctrl+r",
            "retry_kitsu",
            "Retry Kitsu",
            show=False,
            id="retry-kitsu",
            tooltip="Ask Kitsu again now, even while it is taken as unreachable",
        ),
        Binding(
            "ctrl+o",
            "open_selected",
            "Open user",
            show=False,
            id="open-user",
            tooltip="Fetch, train if needed and show recommendations for the highlighted user",
        ),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(id="search")
        self.session = session
        self.users: dict[str, User] = {}
        self._pending: str | None = None  # the query a running search worker asks Kitsu
        self._cached_note = ""
        self._rows: list[tuple[User, bool, bool, str]] = []  # what the table shows
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield OfflineBanner(self.session.link)
        with Vertical(id="search-box"):
            yield SearchInput(placeholder="user name, slug or id", id="query")
            yield Label(HINT, id="search-status")
        yield ResultsTable(COLUMNS, id="results", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "search"

    # -- actions -----------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#query", Input).focus()

    def on_key(self, event: events.Key) -> None:
        """Typing while the results have the keys starts a new query with that text, instead
        of the keys going nowhere."""
        if not isinstance(self.focused, ResultsTable) or not event.is_printable:
            return
        if event.character is None or event.character == "/":
            return
        self.query_one("#query", SearchInput).start_with(event.character)
        event.stop()
        event.prevent_default()

    def action_retry_kitsu(self) -> None:
        """Explicit retry: end the cool-down and search the current query again."""
        if self.core.settings.offline:
            self.notify("Offline mode is on: Kitsu is never asked.", severity="warning")
            return
        self.session.retry_kitsu()
        query = self.query_one("#query", Input).value.strip()
        if query:
            self._start(query)
        else:
            self.notify("Kitsu will be asked at the next search.", timeout=3)

    def action_open_selected(self) -> None:
        user = self.highlighted_user()
        if user is None:
            self.notify("Search for a user first, then pick one.", severity="warning")
            return
        self.post_message(OpenUser(user))

    def highlighted_user(self) -> User | None:
        table = self.query_one("#results", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.users.get(str(key.value))

    # -- searching ---------------------------------------------------------------------------

    @on(Input.Submitted, "#query")
    def submitted(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if not query:
            self.notify("Type a name, slug or id first.", severity="warning")
            return
        if query == self._pending and self.highlighted_user() is not None:
            self.action_open_selected()  # Enter again while Kitsu is asked: open the match
            return
        self._start(query)

    def _start(self, query: str) -> None:
        self._show_cached(query)
        self.search(query)

    def _show_cached(self, query: str) -> None:
        """Cached matches first, instantly: they need neither the network nor a worker."""
        cache = self.core.cache
        cached_ids = cache.cached_user_ids()
        rows = [
            (u, u.id in cached_ids, u.is_sample, "cache")
            for u in cache.search_users(query)
            if u.id in cached_ids or u.is_sample
        ]
        self._fill(rows)
        state = self.core.connectivity.status().state
        if not asks_kitsu(query):
            status = "sample users are never looked up on Kitsu"
        elif state == "offline":
            status = "offline: cached users only"
        elif state == "cooling":
            status = "Kitsu is taken as unreachable for now: cached users only · ctrl+r retries"
        else:
            status = "searching Kitsu…"
        self._cached_note = f"{len(rows)} cached match(es) for {query!r}"
        self.query_one("#search-status", Label).update(inert(f"{self._cached_note}; {status}"))
        if rows:  # keys act on the cached matches at once: Enter opens the highlighted one
            self.query_one("#results", DataTable).focus()

    def _tick(self) -> None:
        """While Kitsu is asked: seconds waited, attempt number, the last failure's reason."""
        wait = self.core.connectivity.wait
        if wait is not None and wait.what == "search" and self._pending is not None:
            self.query_one("#search-status", Label).update(
                inert(f"{self._cached_note}; {wait.describe()}")
            )

    @work(group="search", exclusive=True, exit_on_error=False, name="search")
    async def search(self, query: str) -> None:
        self._pending = query
        if self._ticker is None:
            self._ticker = self.set_interval(0.5, self._tick)
        try:
            result = await self.core.search(query)
        finally:
            if self._pending == query:
                self._pending = None
        self.post_message(SearchDone(result))

    @on(SearchDone)
    def searched(self, message: SearchDone) -> None:
        self._stop_ticker()
        result, query = message.result, message.result.query
        connectivity = self.core.connectivity
        if result.offline:
            self.post_message(ConnectivityChanged.unreachable(connectivity, result.note))
        elif asks_kitsu(query):
            self.post_message(ConnectivityChanged.now(connectivity))
        cached_ids = self.core.cache.cached_user_ids()
        self._fill([(h.user, h.user.id in cached_ids, h.sample, h.source) for h in result.hits])
        where = "cache and Kitsu" if not result.offline else "cache (offline)"
        status = f"{len(result.hits)} user(s) match {query!r} in the {where}."
        if not result.hits:
            status += " Try another spelling, an id, or 'sample'."
        self.query_one("#search-status", Label).update(inert(status))
        if result.hits and not isinstance(self.app.focused, ResultsTable):
            self.query_one("#results", DataTable).focus()

    def _fill(self, rows: list[tuple[User, bool, bool, str]]) -> None:
        self._rows = rows
        table = self.query_one("#results", ResultsTable)
        keep = self.highlighted_user()  # Kitsu's answer must not move the cursor under Enter
        self.users = {}
        with self.app.batch_update():
            table.clear()
            for user, cached, sample, source in rows:
                if user.id in self.users:
                    continue
                self.users[user.id] = user
                state = self.core.cache.sync_state(user.id) if cached else None
                if sample:
                    where = Text("sample", style="magenta")
                elif cached:
                    where = Text("cached", style="green")
                else:
                    where = Text("kitsu", style="cyan")
                if "kitsu" in source and cached and not sample:
                    where = Text("kitsu+cached", style="green")
                table.add_cells(
                    {
                        "user": inert(user.name or user.slug or user.id, "bold" if cached else ""),
                        "id": inert(user.id),
                        "slug": inert(user.slug or ""),
                        "where": where,
                        "entries": number(state.entry_count if state else None),
                    },
                    key=user.id,
                )
        if table.row_count:
            row = table.get_row_index(keep.id) if keep and keep.id in self.users else 0
            table.move_cursor(row=row)

    @on(FittedTable.ColumnsChanged, "#results")
    def refit(self) -> None:
        self._fill(self._rows)

    @on(DataTable.RowSelected, "#results")
    def selected(self, event: DataTable.RowSelected) -> None:
        user = self.users.get(str(event.row_key.value))
        if user is not None:
            self.post_message(OpenUser(user))

    def _stop_ticker(self) -> None:
        if self._pending is None and self._ticker is not None:  # no search is waiting
            self._ticker.stop()
            self._ticker = None

    def worker_stopped(self, worker: Worker[None], state: WorkerState) -> None:
        self._stop_ticker()
        if state == WorkerState.ERROR:
            self.query_one("#search-status", Label).update("Search failed; see the notification.")
