"""The cached population the model learns from: totals, status mix, library sizes, activity.

Rendering walks the fields of the core's ``PopulationStats``: scalar fields go into the totals
table, a mapping of counts becomes a bar chart, a mapping of records becomes a table. New
fields added to the core's overview therefore show up here without a TUI change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Label

from animerec_tui.core.recommend.filters import library_label
from animerec_tui.core.records import User
from animerec_tui.tui.background import background_priority
from animerec_tui.tui.messages import PopulationCounted
from animerec_tui.tui.screens.base import AnimerecScreen
from animerec_tui.tui.session import CRAWL_USERS, Session
from animerec_tui.tui.text import inert
from animerec_tui.tui.widgets.banner import OfflineBanner
from animerec_tui.tui.widgets.charts import BarChart, count

if TYPE_CHECKING:
    from animerec_tui.core.population.crawl import CrawlSummary
    from animerec_tui.core.population.stats import PopulationStats


KEY_LABELS: Mapping[str, Callable[[str], str]] = {"status_counts": library_label}
"""How the keys of a counted mapping read (statuses spelled as everywhere else)."""


def _title(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class PopulationScreen(AnimerecScreen):
    DEFAULT_CSS = """
    #population-origin { width: 100%; height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reload", "Reload", id="population-reload", tooltip="Recount"),
        Binding(
            "c",
            "crawl",
            "Crawl",
            id="population-crawl",
            tooltip=f"Grow the population by {CRAWL_USERS} Kitsu users",
        ),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(session, id="population")
        self.stats: PopulationStats | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield OfflineBanner(self.session.link)
        yield Label("counting…", id="population-status")
        yield Label("", id="population-origin")
        with Horizontal(id="population-body"):
            with Vertical(id="population-left"):
                yield DataTable(id="totals", cursor_type="row", show_header=False)
                yield VerticalScroll(id="population-tables")
            yield VerticalScroll(id="population-charts")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "population"
        totals = self.query_one("#totals", DataTable)
        totals.add_column("What", key="what", width=14)
        totals.add_column("Count", key="count", width=9)
        self.action_reload()

    @work(thread=True, group="population", exclusive=True, exit_on_error=False, name="stats")
    def load(self) -> None:
        from animerec_tui.core.population.stats import population_stats

        with background_priority():
            stats = population_stats(self.core.cache)
        self.deliver(PopulationCounted(stats))

    @on(PopulationCounted)
    async def counted(self, message: PopulationCounted) -> None:
        stats = message.stats
        totals = self.query_one("#totals", DataTable)
        charts = self.query_one("#population-charts", VerticalScroll)
        tables = self.query_one("#population-tables", VerticalScroll)
        await charts.remove_children()
        await tables.remove_children()
        totals.clear()
        new_charts: list[BarChart] = []
        new_tables: list[tuple[str, DataTable[Text]]] = []
        for field in fields(stats):
            key, value = field.name, getattr(stats, field.name)
            if _is_number(value):
                totals.add_row(inert(_title(key)), inert(count(value), justify="right"), key=key)
            elif isinstance(value, dict) and value and all(_is_number(v) for v in value.values()):
                key_label = KEY_LABELS.get(key, str)
                new_charts.append(
                    BarChart(
                        [(key_label(str(k)), float(v)) for k, v in value.items()],
                        title=_title(key),
                        value_format=count,
                        classes="population-chart",
                    )
                )
            elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                new_tables.append(self._records_table(key, value))
            elif isinstance(value, dict) and value:
                new_tables.append(self._mapping_table(key, value))
        await charts.mount_all(new_charts)
        for label, table in new_tables:
            await tables.mount(Label(label, classes="section-title"))
            await tables.mount(table)
        self.query_one("#population-status", Label).update(
            f"{stats.users:,} users in the cache · c crawls more from Kitsu · ctrl+r recounts"
        )
        learned = stats.learned_from
        origin = self.query_one("#population-origin", Label)
        origin.update(f"The model {learned}" if learned else "")
        self.stats = stats  # rendered

    def _records_table(
        self, key: str, rows: list[dict[str, object]]
    ) -> tuple[str, DataTable[Text]]:
        table: DataTable[Text] = DataTable(cursor_type="row", classes="records")
        columns: list[str] = []
        for row in rows:
            columns.extend(c for c in row if c not in columns)
        for column in columns:
            table.add_column(_title(column), key=column or "field")
        for row in rows:
            cells: list[Text] = []
            for column in columns:
                value = row.get(column)
                if isinstance(value, int | float) and _is_number(value):
                    cells.append(inert(count(value), justify="right"))
                else:
                    cells.append(inert("" if value is None else value))
            table.add_row(*cells)
        table.styles.height = min(len(rows) + 2, 12)
        return _title(key), table

    def _mapping_table(
        self, key: str, mapping: Mapping[str, object]
    ) -> tuple[str, DataTable[Text]]:
        """A mapping of records (``activity_segments``: segment -> its statistics) with one
        column per record and one row per statistic: a few narrow columns fit an 80-column
        terminal, where one column per statistic would run off the right."""
        records = {str(k): v if isinstance(v, dict) else {"value": v} for k, v in mapping.items()}
        fields_: list[str] = []
        for record in records.values():
            fields_.extend(f for f in record if f not in fields_)
        rows = [
            {"": _title(f), **{name: record.get(f) for name, record in records.items()}}
            for f in fields_
        ]
        return self._records_table(key, rows)

    def action_reload(self) -> None:
        self.query_one("#population-status", Label).update(Text("counting…"))
        self.load()

    def action_crawl(self) -> None:
        from animerec_tui.tui.screens.progress import start_crawl

        def done(summary: CrawlSummary | None) -> None:
            if summary is not None:
                self.action_reload()

        start_crawl(self, _kitsu_user(self.session.current_user), done)


def _kitsu_user(user: User | None) -> User | None:
    """Crawl around the current user only when it is a real Kitsu user (not a sample one)."""
    return user if user is not None and not user.is_sample else None
