"""Tables whose columns fit the terminal: key columns stay, secondary ones go when it is narrow.

Textual has no media queries and a ``DataTable`` column has a fixed width, so a table laid out
for 120 columns pushes its right-hand columns off an 80-column terminal. :class:`FittedTable`
takes its columns as :class:`Column` specs and lays them out for its own width whenever it is
resized: a column with ``drop_below`` is left out when the table is narrower than that, a
column with ``min_width`` shrinks (long values end in "…", a label longer than the column
gives way to its ``short`` one), and the ``grow`` column takes the cells left over. When the
layout changes it posts :class:`FittedTable.ColumnsChanged`: removing a column drops its cells,
so the screen fills its rows again, building each row as a mapping of column key to cell
(:meth:`FittedTable.add_cells`; cells of columns not shown are ignored).

The two ratings a fan meets are labelled apart here, once for every screen:
:data:`KITSU_RATING` (Kitsu's community average, a percentage) and :data:`YOUR_RATING` (the
user's own rating out of 10, Kitsu's ``ratingTwenty`` / 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.events import Resize
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from animerec_tui.tui.text import number

NARROW = 100
"""Tables narrower than this many cells (an 80-column terminal) leave out secondary columns."""


@dataclass(frozen=True)
class Column:
    """One column of a :class:`FittedTable`.

    ``width``: cells of content it asks for (the table adds its cell padding on both sides);
    ``min_width``: how far it may shrink when the row does not fit (None: it never shrinks);
    ``grow``: it takes the cells the others leave (at least ``width``); ``drop_below``: not
    shown in a table narrower than this many cells, its scroll bar aside (0: always shown);
    ``short``: its label when it is narrower than ``label``; ``right``: right-aligned.
    """

    key: str
    label: str
    width: int
    min_width: int | None = None
    grow: bool = False
    drop_below: int = 0
    short: str = ""
    right: bool = False


KITSU_RATING = Column("kitsu_rating", "Kitsu rating", 12, min_width=5, short="Kitsu", right=True)
"""Kitsu's average rating of an anime over all its users (``averageRating``, 0-100 %)."""
YOUR_RATING = Column("your_rating", "Your rating", 11, min_width=5, short="Yours", right=True)
"""The user's own rating of a library entry, out of 10."""


def kitsu_rating(average: float | None) -> Text:
    """A :data:`KITSU_RATING` cell: ``82.4`` -> ``82%`` (Kitsu's ``averageRating`` is a
    percentage), a dash when Kitsu has none."""
    return number(average, "{:.0f}%")


def your_rating(rating_twenty: int | None) -> Text:
    """A :data:`YOUR_RATING` cell: Kitsu's ``ratingTwenty`` (2-20) as ``8.5``/10 (``–`` when
    the entry is not rated)."""
    return number(rating_twenty / 2 if rating_twenty else None, "{:.1f}")


@dataclass(frozen=True)
class Placed:
    """A column as laid out: shown with this content width and label."""

    column: Column
    width: int
    label: str


def fit(columns: Sequence[Column], width: int, padding: int = 1) -> tuple[Placed, ...]:
    """The columns shown in a table ``width`` cells wide (scroll bar excluded), each with its
    width: dropped ones left out; while the row is too wide, shrinkable ones shrunk from the
    right, the ``grow`` column last; then the ``grow`` column widened to fill the rest. The key
    columns (no ``drop_below``) are always there, even if the row is then wider than the
    table. A column narrower than its label shows its ``short`` one."""
    shown = [c for c in columns if width >= c.drop_below]
    widths = {c.key: c.width for c in shown}
    spare = width - sum(w + 2 * padding for w in widths.values())
    order = [c for c in reversed(shown) if not c.grow] + [c for c in shown if c.grow]
    for c in order:
        if spare >= 0:
            break
        if c.min_width is not None:
            cut = min(widths[c.key] - c.min_width, -spare)
            widths[c.key] -= cut
            spare += cut
    for c in shown:
        if c.grow and spare > 0:
            widths[c.key] += spare
            spare = 0
    return tuple(
        Placed(c, widths[c.key], c.short if c.short and widths[c.key] < len(c.label) else c.label)
        for c in shown
    )


class FittedTable(DataTable[Text]):
    """A DataTable laid out from :class:`Column` specs for its current width."""

    class ColumnsChanged(Message):
        """The shown columns changed (the table was resized): fill the rows again."""

        def __init__(self, table: FittedTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> FittedTable:
            return self.table

    def __init__(
        self,
        columns: Iterable[Column],
        *,
        id: str | None = None,
        classes: str | None = None,
        zebra_stripes: bool = False,
        show_header: bool = True,
    ) -> None:
        super().__init__(
            id=id,
            classes=classes,
            cursor_type="row",
            zebra_stripes=zebra_stripes,
            show_header=show_header,
        )
        self.specs = tuple(columns)
        self.placed: tuple[Placed, ...] = ()

    @property
    def shown(self) -> tuple[str, ...]:
        """Keys of the columns shown now, in order."""
        return tuple(p.column.key for p in self.placed)

    def on_mount(self) -> None:
        self._lay_out(max(self.size.width, NARROW))

    def on_resize(self, event: Resize) -> None:
        had_rows = self.row_count > 0
        if self._lay_out(event.size.width) and had_rows:
            self.post_message(self.ColumnsChanged(self))

    def _lay_out(self, width: int) -> bool:
        room = width - self.styles.scrollbar_size_vertical
        placed = fit(self.specs, room, self.cell_padding)
        if placed == self.placed:
            return False
        self.placed = placed
        self.clear(columns=True)
        for p in placed:
            label = Text(p.label, justify="right" if p.column.right else "left")
            self.add_column(label, key=p.column.key, width=p.width)
        return True

    def add_cells(self, cells: Mapping[str, Text], key: str) -> RowKey:
        """Add a row from column key -> cell; a long text cell ends in "…" where it is cut."""
        row: list[Text] = []
        for p in self.placed:
            cell = cells.get(p.column.key, Text(""))
            cell.no_wrap = True
            cell.overflow = "ellipsis"
            row.append(cell)
        return self.add_row(*row, key=key)
