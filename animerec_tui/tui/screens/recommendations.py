"""A user's recommendations: a keyed table, a "continue" list, a detail pane; sort, filters,
the niche dial, "not interested", similar anime and liked picks on demand.

Rows are keyed by anime id, so the highlighted title survives a re-sort, a filter change or
"more results" (we re-select it by key). A franchise shows once, as its entry point, with the
rest of it named in its row; later entries of franchises the user started are in their own
"continue" table. Recommendations are computed in a thread worker: the recommender imports
numpy/implicit and scores every anime, which must not block key presses. The filters and the
niche dial live in the :class:`~animerec_tui.tui.session.Session` (changed by the App on a
:class:`~animerec_tui.tui.messages.Steer`), so they hold for every list of the session.
"""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Collapsible, DataTable, Footer, Header, Label, Static

from animerec_tui.core.recommend.filters import SUBTYPES
from animerec_tui.core.records import User
from animerec_tui.tui.messages import (
    LibraryRefreshed,
    RecommendationsReady,
    RefreshLibrary,
    Steer,
    Steered,
)
from animerec_tui.tui.screens.anime_rows import (
    NO_REASON,
    franchise_note,
    highlighted_key,
    names_of,
    score_cell,
    similar_binding,
    steering,
    type_label,
)
from animerec_tui.tui.screens.base import AnimerecScreen
from animerec_tui.tui.screens.similar import open_similar
from animerec_tui.tui.session import Session
from animerec_tui.tui.text import clean, inert, join_inert, number
from animerec_tui.tui.widgets.banner import OfflineBanner
from animerec_tui.tui.widgets.columns import (
    KITSU_RATING,
    NARROW,
    Column,
    FittedTable,
    kitsu_rating,
)

if TYPE_CHECKING:
    from animerec_tui.core.population.crawl import CrawlSummary
    from animerec_tui.core.population.provenance import Provenance
    from animerec_tui.core.recommend.filters import RecommendFilters
    from animerec_tui.core.recommend.service import LoadedModel, Recommendation, Recommendations

Rows = list["Recommendation"]
TYPES: tuple[str | None, ...] = (None, *SUBTYPES)
"""What ``t`` steps through (Kitsu's subtypes; None: every type); the filter panel (``f``)
picks several at once."""
PAGE = 20
CONTINUE_TITLE = "Continue: the next entries of franchises you started"
TALL = 32
"""Terminal rows from which the "continue" table opens unfolded (below: one line, enter
on it unfolds it), so the recommendations keep their rows at 80x24."""

# At 80 columns: rank, title, type, Kitsu rating and the reason; episodes and score from 100.
COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("rank", "#", 3, right=True),
        Column("title", "Title", 38, min_width=20),
        Column("type", "Type", 7),
        Column("episodes", "Eps", 5, right=True, drop_below=NARROW),
        KITSU_RATING,
        Column("score", "Score", 7, right=True, drop_below=NARROW),
        Column("because", "Because you watched", 24, min_width=12, grow=True),
    )
}


def _sort_value(rec: Recommendation, column: str) -> str | float:
    """A comparable value per column; missing values sort last whatever the direction."""
    anime = rec.anime
    match column:
        case "rank":
            return rec.rank
        case "title":
            return clean(rec.title).casefold()
        case "type":
            return (anime.subtype or "~") if anime else "~"
        case "episodes":
            return anime.episode_count if anime and anime.episode_count is not None else -1
        case "kitsu_rating":
            return anime.average_rating if anime and anime.average_rating is not None else -1.0
        case "score":
            return float(rec.score if rec.match is None else rec.match)
        case _:
            return clean("; ".join(rec.because)).casefold()


DESCENDING_FIRST = {"episodes", "kitsu_rating", "score"}


class RecommendationsScreen(AnimerecScreen):
    DEFAULT_CSS = """
    #recs-origin { width: 100%; height: auto; padding: 0 1; color: $text-muted; }
    #recs-origin.-sample-only { color: $warning; }
    #recs-notice { width: 100%; height: auto; padding: 0 1; color: $warning; }
    #recs { min-height: 4; }
    #continue-box { height: auto; padding: 0; border: none; }
    #continue-box Contents { padding: 0; }
    #continue { height: auto; max-height: 6; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "cycle_sort", "Sort", id="recs-sort", tooltip="Sort by the next column"),
        Binding("o", "reverse", "Order", id="recs-reverse", tooltip="Reverse the order"),
        Binding(
            "t",
            "cycle_type",
            "Type",
            id="recs-type",
            tooltip="Show only TV, movies, OVA, ONA, specials or music",
        ),
        Binding(
            "p",
            "toggle_planned",
            "Planned",
            id="recs-planned",
            tooltip="Show or hide titles already on the user's planned list",
        ),
        Binding(
            "f",
            "filters",
            "Filters",
            id="recs-filters",
            tooltip="Genres in or out, years, episodes, airing status, types (for the session)",
        ),
        Binding(
            "n",
            "niche",
            "Niche",
            id="recs-niche",
            tooltip="Mainstream to niche: the next step of the dial (fewer blockbusters)",
        ),
        Binding(
            "x",
            "hide",
            "Not interested",
            id="recs-hide",
            tooltip="Never recommend the highlighted anime to this user again",
        ),
        Binding(
            "u",
            "undo_hide",
            "Undo not interested",
            id="recs-unhide",
            show=False,
            tooltip="Take back the last 'not interested' (recommend it again)",
        ),
        similar_binding("recs-similar"),
        Binding(
            "a",
            "picks",
            "Pick titles",
            id="recs-picks",
            tooltip="Search anime and mark the ones you like: recommendations start from them",
        ),
        Binding("m", "more", "More", id="recs-more", tooltip=f"{PAGE} more recommendations"),
        Binding(
            "c",
            "crawl",
            "Crawl",
            id="recs-crawl",
            tooltip="Learn from Kitsu users around this one, not only the 2016 sample",
        ),
        Binding(
            "ctrl+r",
            "refresh",
            "Refresh",
            id="recs-refresh",
            tooltip="Re-fetch the user's library from Kitsu and recommend again",
        ),
    ]

    def __init__(self, session: Session, user: User, model: LoadedModel) -> None:
        super().__init__(session, id="recommendations")
        self.user = user
        self.model = model
        self.n = PAGE
        self.hide_planned = True
        self.sort_column = "rank"
        self.sort_reverse = False
        self.relating = False
        """A relations fetch is under way (``relate``): later lists do not start another."""
        self.recs: list[Recommendation] = []
        self.spare: list[Recommendation] = []
        """The rows the same ranking gives after ``recs`` (``x`` moves the next one up)."""
        self.quick: list[Recommendation] | None = None
        """The list ``x`` showed at once (:func:`.hiding.list_after_hiding`), until the
        re-rank confirms it (then it is not drawn again)."""
        self.notice: str | None = None
        """Why the list is not personal (the popularity fallback), or None."""
        self.continued: list[Recommendation] = []
        """Later entries of franchises the user has started (their own table)."""
        self.relations_notice: str | None = None
        """Why franchises are not grouped (no relation data), or None."""
        self.fallback = False
        """Whether the list is the popularity fallback (``notice`` says why)."""
        self.filters_notice: str | None = None
        """What a filter could not check (anime whose airing status is unknown), or None."""
        self.names: dict[str, str] = {}
        """Titles of the anime the rows name (franchise-mates), by id."""
        self.hidden_here: list[tuple[str, str]] = []
        """(anime id, title) marked "not interested" on this screen, oldest first (``u``)."""
        self.before_hide: dict[str, tuple[Rows, Rows, Rows]] = {}
        """By anime hidden at once: (the list and spare rows before, the list after), so
        ``u`` can bring the list back at once while the list after is still the one shown."""
        self.by_id: dict[str, Recommendation] = {}
        self.planned: set[str] = set()
        self.origin: Provenance | None = None
        """What the model learned from."""

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield OfflineBanner(self.session.link)
        yield Label("", id="recs-status")
        yield Label("", id="recs-origin")
        yield Label("", id="recs-notice")
        yield FittedTable(COLUMNS.values(), id="recs", zebra_stripes=True)
        with Collapsible(title=CONTINUE_TITLE, id="continue-box"):
            yield DataTable(id="continue", cursor_type="row")
        with VerticalScroll(id="detail-pane"):
            yield Static("", id="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # While this screen is up, what exists so far (modules, Textual's objects, the model,
        # the cache's) is out of the cyclic collector's view: its full passes walked it in
        # ~100 ms, a stall a redraw after ``x`` showed (bench/hide.py). Given back on unmount.
        gc.freeze()
        self.sub_title = f"recommendations for {clean(self.user.label)}"
        self.query_one("#continue-box").display = False  # until a started franchise goes on
        later = self.query_one("#continue", DataTable)
        for key in ("title", "type", "episodes", "because"):
            column = COLUMNS[key]
            label = column.label if key != "because" else "Franchise"
            later.add_column(label, key=key, width=None if column.grow else column.width)
        if self.model.stale and not self.session.stale_warned:
            self.session.stale_warned = True  # once per session: the status line keeps saying it
            self.notify(
                "The model is older than the cache: press F3 to retrain with recent data.",
                severity="warning",
            )
        self.compute()

    def on_unmount(self) -> None:
        gc.unfreeze()  # what on_mount froze, this screen too, is collectable again

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer picking titles where the model has little to go on (an empty or tiny
        library: the core's notice says so), not in the footer elsewhere."""
        if action == "picks":
            return bool(self.fallback or self.notice)
        return True

    def use_model(self, model: LoadedModel) -> None:
        """A model was just trained (F3): recommend with it."""
        self.model = model
        self.compute()

    # -- data --------------------------------------------------------------------------------

    @work(thread=True, group="recommend", exclusive=True, exit_on_error=False, name="recommend")
    def compute(self, light: bool = False, unhide: str | None = None) -> None:
        """Recommend and deliver :class:`RecommendationsReady`.

        First stores as "not interested" every anime marked on this screen, as the marks
        stand when this runs (idempotent: a newer worker of the group cancels this one,
        maybe before it ran, and ``u`` may have taken one back since ``x``), and takes back
        ``unhide``. ``light``: the re-rank after ``x`` / ``u``, which reuses the planned ids
        and the model's provenance (they cannot have changed). The result names the marks it
        saw; :meth:`ready` drops one whose marks are no longer the screen's (a newer re-rank
        is on its way)."""
        from animerec_tui.core.cache import hidden
        from animerec_tui.core.describe import shown_top
        from animerec_tui.core.population.provenance import provenance
        from animerec_tui.core.recommend import service
        from animerec_tui.core.recommend.hiding import SPARE

        cache, settings = self.core.cache, self.core.settings
        marks = self.marks()
        if marks:
            hidden.hide(cache, self.user.id, marks)
        if unhide is not None:
            hidden.unhide(cache, self.user.id, [unhide])
        if not light:
            self.model.refresh_stale(cache)  # the cache may have changed since it was loaded
        last: list[Recommendations] = []

        def top(k: int) -> Recommendations:
            ranked = service.recommend(
                cache,
                settings,
                self.user.id,
                n=k,
                filters=self.session.filters,
                niche=self.session.niche,
                exclude_planned=self.hide_planned,
                model=self.model,
            )
            last[:] = [ranked]
            return ranked

        listed = shown_top(top, cache, self.n + SPARE, settings.display.title_language)
        recs, spare = listed[: self.n], listed[self.n :]
        ranked = last[0]
        planned, origin = self.planned, self.origin
        if not light or origin is None:
            library = cache.library(self.user.id)
            planned = (
                {e.anime_id for e in library.entries if e.status == "planned"} if library else set()
            )
            origin = provenance(cache, self.user.id)
        continued = list(ranked.continued)[: self.n]  # ranked for n + SPARE rows
        wanted: list[str] = []
        if not light and self.session.connectivity.may_ask():  # franchises: ask Kitsu next
            wanted = service.franchise_candidates(
                cache, settings, self.user.id, filters=self.session.filters, model=self.model
            )
        self.deliver(
            RecommendationsReady(
                recs,
                ranked.notice,
                planned,
                origin,
                spare=spare,
                continued=continued,
                relations_notice=ranked.relations_notice,
                names=names_of(cache, [*recs, *continued], settings.display.title_language),
                fallback=ranked.fallback is not None,
                filters_notice=ranked.filters_notice,
                relations_wanted=wanted,
                marks=marks,
            )
        )

    def marks(self) -> tuple[str, ...]:
        """Kitsu ids marked "not interested" on this screen, oldest first."""
        return tuple(anime_id for anime_id, _ in list(self.hidden_here))

    @work(group="describe", exclusive=True, exit_on_error=False, name="describe")
    async def describe(self) -> None:
        """Describe from Kitsu the shown anime known only from the sample, then show them."""
        if await self.core.describe(r.anime_id for r in [*self.recs, *self.continued]):
            self.compute()  # shows what Kitsu said, refilled if it hides some

    @work(group="relations", exclusive=True, exit_on_error=False, name="relations")
    async def relate(self, wanted: list[str]) -> None:
        """Fetch from Kitsu the relations grouping needs (never fetched ones only), then
        list again grouped; nothing to fetch (all known, offline) lists nothing new."""
        self.relating = True
        try:
            fetched = await self.core.ensure_relations(wanted)
        finally:
            self.relating = False
        if fetched:
            self.compute()

    @on(RecommendationsReady)
    def ready(self, message: RecommendationsReady) -> None:
        if message.marks != self.marks():  # x or u since: their re-rank follows
            return
        offered = self.check_action("picks", ())
        drawn = self.quick is not None and (message.recs, message.continued) == (
            self.quick,
            self.continued,
        )  # the re-rank after ``x`` gave the list already shown: not drawn again
        self.quick = None
        self.recs, self.spare, self.notice = message.recs, message.spare, message.notice
        self.planned, self.origin = message.planned, message.origin
        self.continued, self.relations_notice = message.continued, message.relations_notice
        self.fallback, self.filters_notice = message.fallback, message.filters_notice
        self.names = message.names
        self.by_id = {str(r.anime_id): r for r in [*self.recs, *self.continued]}
        if not drawn:
            self._render_rows()
            self._render_continued()
        if self.check_action("picks", ()) != offered:  # the footer's keys are built anew
            self.refresh_bindings()  # "pick titles" is offered for an empty or tiny library
        if not self.session.link.offline:
            self.describe()
            # A list that arrives while relations are on their way (the describe step lists
            # again) must not restart the fetch: exclusive workers cancel, and under load a
            # fetch restarted at every relisting never ends.
            if message.relations_wanted and not self.relating:
                self.relate(message.relations_wanted)

    # -- rendering ---------------------------------------------------------------------------

    def in_order(self) -> list[Recommendation]:
        rows = list(self.recs)
        if self.sort_column != "rank" or self.sort_reverse:
            rows.sort(key=lambda r: _sort_value(r, self.sort_column), reverse=self.sort_reverse)
        return rows

    @on(FittedTable.ColumnsChanged, "#recs")
    def refit(self) -> None:
        self._render_rows()

    def _render_rows(self, focus: str | None = None) -> None:
        """Fill the table; the cursor goes to ``focus`` (an anime id) if listed, else stays
        on the anime it was on, else, when that one was just marked "not interested", on the
        row it was in (the next one moved up), else on the first row."""
        table = self.query_one("#recs", FittedTable)
        keep = focus or self.highlighted_id()
        at = table.cursor_row if keep in self.marks() else 0
        rows = self.in_order()
        with self.app.batch_update():
            table.clear()
            for rec in rows:
                anime = rec.anime
                title = inert(rec.title)
                if rec.anime_id in self.planned:
                    title.append("  planned", style="italic dim")
                title.append(franchise_note(rec.franchise), style="dim")
                table.add_cells(
                    {
                        "rank": number(rec.rank),
                        "title": title,
                        "type": inert(type_label(anime)),
                        "episodes": number(anime.episode_count if anime else None),
                        KITSU_RATING.key: kitsu_rating(anime.average_rating if anime else None),
                        "score": score_cell(rec.score, rec.match),
                        "because": inert("; ".join(rec.because), "dim"),
                    },
                    key=str(rec.anime_id),
                )
        if rows:
            ids = [str(r.anime_id) for r in rows]
            row = ids.index(keep) if keep in ids else min(at, len(ids) - 1)
            table.move_cursor(row=row, animate=False)
        self._update_status(len(rows))
        self._show_detail(self.highlighted_id())
        table.focus()

    def _render_continued(self) -> None:
        """The "continue" table: shown only when the user has started franchises to go on."""
        table = self.query_one("#continue", DataTable)
        with self.app.batch_update():
            table.clear()
            for rec in self.continued:
                anime = rec.anime
                mates = [self.names.get(a, f"anime {a}") for a in rec.franchise[1:]]
                table.add_row(
                    inert(rec.title),
                    inert(type_label(anime)),
                    number(anime.episode_count if anime else None),
                    inert("; ".join(mates), "dim"),
                    key=str(rec.anime_id),
                )
        box = self.query_one("#continue-box", Collapsible)
        if self.continued and not box.display:  # first shown: folded on a short terminal
            box.collapsed = self.app.size.height < TALL
        box.display = bool(self.continued)
        box.title = f"{CONTINUE_TITLE} ({len(self.continued)})"
        tiny = None if self.fallback else self.notice  # the fallback's is in the status line
        lines = [line for line in (tiny, self.relations_notice, self.filters_notice) if line]
        self.query_one("#recs-notice", Label).update(clean("\n".join(lines)))
        self.query_one("#recs-notice").display = bool(lines)

    def _update_status(self, shown: int) -> None:
        arrow = "↓" if self.sort_reverse else "↑"
        filters = self.session.filters
        parts = [
            f"{shown} of top {self.n}",
            (filters.describe() if filters is not None else "") or "no filters",
            f"niche {self.session.niche:g}" if self.session.niche else "mainstream",
            f"sort: {COLUMNS[self.sort_column].label} {arrow}",
            "planned hidden" if self.hide_planned else "planned shown",
        ]
        if self.hidden_here:
            parts.append(f"not interested: {clean(self.hidden_here[-1][1])} (u takes it back)")
        if self.model.stale:
            parts.append("model is stale (F3 retrains)")
        if self.session.link.offline:
            parts.append("offline")
        if self.fallback:  # why: in the detail pane
            parts.insert(0, "Not personal: the most popular anime")
        self.query_one("#recs-status", Label).update(" · ".join(parts))
        self._update_origin()

    def _update_origin(self) -> None:
        """Say what the model learned from; with only the 2016 sample, offer the crawl."""
        label = self.query_one("#recs-origin", Label)
        if self.origin is None:
            label.update("")
            return
        line = "The model " + self.origin.summary()
        if self.origin.sample_only:
            line += ". It knows nothing newer than 2016: "
            who = "" if self.user.is_sample else f" around {clean(self.user.label)}"
            line += f"c crawls {self._crawl_users()} Kitsu users{who} ({self._crawl_time()})."
        label.set_class(self.origin.sample_only, "-sample-only")
        label.update(line)

    def _crawl_users(self) -> int:
        return self.session.crawl_target

    def _crawl_time(self) -> str:
        from animerec_tui.core.population.provenance import crawl_seconds, duration

        rate = self.core.settings.crawl.requests_per_second
        seconds = crawl_seconds(self.core.settings, self._crawl_users())
        return f"{duration(seconds)} at {rate:g} requests/s"

    def highlighted_id(self) -> str | None:
        return highlighted_key(self.query_one("#recs", DataTable))

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The detail pane follows the table in use (the "continue" one only once focused)."""
        # Read the cursor now rather than the event's row: refilling the table (a re-rank,
        # a resize) queues a highlight of row 0 that may arrive after the cursor moved on.
        if event.data_table.id == "recs" or event.data_table.has_focus:
            self._show_detail(highlighted_key(event.data_table))

    @on(events.DescendantFocus)
    def table_focused(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, DataTable):
            self._show_detail(highlighted_key(event.widget))

    def _show_detail(self, anime_id: str | None) -> None:
        detail = self.query_one("#detail", Static)
        rec = self.by_id.get(anime_id) if anime_id else None
        if rec is None:
            detail.update(Text("No recommendations yet." if not self.recs else ""))
            return
        anime = rec.anime
        facts: list[str] = []
        if anime is not None:
            if anime.subtype:
                facts.append(type_label(anime))
            if anime.episode_count:
                facts.append(f"{anime.episode_count} episodes")
            if anime.average_rating is not None:
                facts.append(f"Kitsu rating {anime.average_rating:.0f}%")
            if anime.start_date:
                facts.append(f"started {anime.start_date}")
            if anime.popularity_rank:
                facts.append(f"popularity #{anime.popularity_rank}")
        shown = f"{rec.match:.0f}% match" if rec.match is not None else f"score {rec.score:.3f}"
        rank = f"#{rec.rank} " if rec in self.recs else "Continue: "
        out = join_inert([(rank, "bold"), (rec.title, "bold"), (f"   {shown}", "dim")])
        other_titles = [
            (label, anime.titles[key])
            for label, key in (("English", "en"), ("Romaji", "en_jp"))
            if anime is not None and anime.titles.get(key) and anime.titles[key] != rec.title
        ]
        for label, text in other_titles:
            out.append(f"\n{label}: ", style="dim")
            out.append(clean(text))
        if facts:
            out.append("\n" + " · ".join(facts), style="dim")
        if anime is not None and anime.url:
            out.append("\n" + clean(anime.url), style="underline dim")
        if anime is not None and anime.genres:
            out.append("\n" + clean(", ".join(anime.genres)), style="italic")
        mates = [self.names.get(a, f"anime {a}") for a in rec.franchise[1:]]
        if mates:
            out.append("\nSame franchise: ", style="bold")
            out.append(clean("; ".join(mates)))
        if self.fallback:  # the popularity fallback: nothing the user watched explains it
            out.append("\n\nWhy: ", style="bold")
            out.append(clean(f"not personal: {self.notice}"))
            out.append("\n" + clean(NO_REASON), style="dim")
        elif rec.because:
            out.append("\n\nBecause you watched: ", style="bold")
            out.append(clean("; ".join(rec.because)))
            if rec.how:
                out.append("\nHow: " + clean(rec.how), style="dim")
        else:
            out.append("\n\nWhy: ", style="bold")
            out.append(clean(rec.how or "no single title you watched stands out as the reason"))
        synopsis = anime.synopsis if anime is not None else None
        out.append("\n\n")
        out.append(
            clean(synopsis, multiline=True)
            if synopsis
            else "No synopsis in the cache (Kitsu describes it when online)."
        )
        detail.update(out)

    @on(DataTable.HeaderSelected, "#recs")
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = column
            self.sort_reverse = column in DESCENDING_FIRST
        self._render_rows()

    # -- actions -----------------------------------------------------------------------------

    def action_cycle_sort(self) -> None:
        keys = list(COLUMNS)
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.sort_reverse = self.sort_column in DESCENDING_FIRST
        self._render_rows()

    def action_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._render_rows()

    def action_cycle_type(self) -> None:
        """One type at a time (the filter panel picks several): the session's filters change."""
        from animerec_tui.core.recommend.filters import RecommendFilters, subtype_label

        filters = self.session.filters or RecommendFilters()
        now = filters.subtypes[0] if len(filters.subtypes) == 1 else None
        following = TYPES[(TYPES.index(now) + 1) % len(TYPES)] if now in TYPES else TYPES[1]
        self.notify(f"Type: {subtype_label(following) or 'all'}", timeout=1.5)
        subtypes = () if following is None else (following,)
        self.post_message(Steer(replace(filters, subtypes=subtypes), self.session.niche))

    def action_filters(self) -> None:
        """The filter panel: what it applies holds for the session (the App stores it)."""
        from animerec_tui.tui.screens.filters import FilterPanel

        def chosen(filters: RecommendFilters | None) -> None:
            if filters is not None:
                self.post_message(Steer(filters, self.session.niche))

        self.app.push_screen(FilterPanel(self.session.filters), chosen)

    def action_niche(self) -> None:
        """The next step of the mainstream-to-niche dial (after the last: back to 0)."""
        filters, niche = steering(self.session)
        self.notify(f"Niche {niche:g}" if niche else "Mainstream (niche 0)", timeout=1.5)
        self.post_message(Steer(filters, niche))

    @on(Steered)
    def steered(self) -> None:
        self.compute()

    def action_hide(self) -> None:
        """Not interested: stored for the user, and the rest re-ranked at once (said in the
        status line: a toast would cost the re-rank tens of milliseconds)."""
        anime_id = self.focused_id()
        rec = self.by_id.get(anime_id) if anime_id else None
        if rec is None:
            return
        from animerec_tui.core.recommend.hiding import list_after_hiding

        self.hidden_here.append((rec.anime_id, rec.title))
        quick = list_after_hiding(
            self.recs, self.spare, rec.anime_id, self.planned, niche=self.session.niche
        )
        if quick is None:
            self.compute(light=True)
            return
        self.before_hide[rec.anime_id] = (self.recs, self.spare, quick[0])
        self._show_at_once(*quick)

    def action_undo_hide(self) -> None:
        """Take back the last "not interested" of this screen: the list from before it comes
        back at once when nothing else changed it since (the re-rank confirms it)."""
        if not self.hidden_here:
            self.notify("Nothing hidden here to take back.", timeout=2)
            return
        anime_id, _ = self.hidden_here.pop()
        before = self.before_hide.pop(anime_id, None)
        if before is not None and before[2] == self.recs:
            self._show_at_once(before[0], before[1], unhide=anime_id)  # cursor on it again
        else:
            self.compute(light=True, unhide=anime_id)

    def _show_at_once(self, recs: Rows, spare: Rows, unhide: str | None = None) -> None:
        """Draw the list a re-rank will give now, then run that re-rank (it stores the marks
        and confirms the list) once the list is drawn: a worker running meanwhile would slow
        the drawing (one interpreter lock)."""
        self.recs, self.spare = recs, spare
        self.quick = recs
        self.by_id = {str(r.anime_id): r for r in [*self.recs, *self.continued]}
        self._render_rows(focus=unhide)
        self.call_after_refresh(self.compute, light=True, unhide=unhide)

    def action_similar(self) -> None:
        open_similar(self, self.focused_id())

    def action_picks(self) -> None:
        """Search anime and like some: the list starts from them once back."""
        from animerec_tui.tui.screens.picks import PicksScreen

        def back(changed: bool | None) -> None:
            if changed:
                self.compute()

        self.app.push_screen(PicksScreen(self.session, self.user), back)

    def focused_id(self) -> str | None:
        """The anime highlighted in the table that has focus (recommendations or continue)."""
        if isinstance(self.focused, DataTable) and self.focused.id == "continue":
            return highlighted_key(self.focused)
        return self.highlighted_id()

    def action_toggle_planned(self) -> None:
        self.hide_planned = not self.hide_planned
        self.notify("Planned titles " + ("hidden" if self.hide_planned else "shown"), timeout=1.5)
        self.compute()

    def action_more(self) -> None:
        self.n += PAGE
        self.compute()

    def action_crawl(self) -> None:
        """Crawl the Kitsu users around this user, then recommend again (retrain with F3)."""
        from animerec_tui.tui.screens.progress import start_crawl

        def done(summary: CrawlSummary | None) -> None:
            if summary is not None:
                self.notify("Crawl done: press F3 to retrain on the new users.")
                self.compute()

        start_crawl(self, None if self.user.is_sample else self.user, done)

    def action_refresh(self) -> None:
        self.post_message(RefreshLibrary(self.user))

    @on(LibraryRefreshed)
    def refreshed(self) -> None:
        self.compute()
