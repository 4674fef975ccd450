"""What the screens listing anime (recommendations, similar anime, picks) show the same way:
a franchise's other entries, scores or a percentage match, types, the niche dial's next step.

The core's filters and niche modules import numpy, so they are imported inside the helpers:
these run once a list is shown, when the recommender is loaded anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from animerec_tui.core.records import Anime
from animerec_tui.tui.text import number

CellT = TypeVar("CellT")

if TYPE_CHECKING:
    from animerec_tui.core.cache import Cache
    from animerec_tui.core.recommend.filters import RecommendFilters
    from animerec_tui.tui.session import Session

NO_REASON = (
    "With so little in the library nothing you watched explains a title: scores are a "
    "percentage match. Press a to pick a few titles you like; the list starts from them."
)
"""The detail pane's line for an empty or tiny library (no "because")."""


class Grouped(Protocol):
    """A shown row that stands for a franchise: its id first, then the franchise-mates."""

    @property
    def franchise(self) -> list[str]: ...


def franchise_note(franchise: Sequence[str]) -> str:
    """What a row's title cell adds when the row stands for several entries of a franchise."""
    more = len(franchise) - 1
    return f"  +{more} in franchise" if more > 0 else ""


def names_of(cache: Cache, rows: Iterable[Grouped], language: str) -> dict[str, str]:
    """Titles (in ``language``) of every anime the rows name besides themselves, by id;
    an anime the cache does not describe is left out (shown as ``anime <id>``)."""
    ids = {a for row in rows for a in row.franchise[1:]}
    if not ids:
        return {}
    return {a: record.title_in(language) for a, record in cache.get_anime(ids).items()}


def score_cell(score: float, match: float | None) -> Text:
    """The score column: the percentage match when the core gives one (an empty or tiny
    library, the popularity fallback), else the model's score."""
    if match is not None:
        return number(match, "{:.0f}%")
    return number(float(score), "{:.3f}")


def type_label(anime: Anime | None) -> str:
    """An anime's type as every face spells it (``Movie``), a dash when unknown."""
    from animerec_tui.core.recommend.filters import subtype_label

    return subtype_label(anime.subtype) if anime is not None and anime.subtype else "–"


def steering(session: Session) -> tuple[RecommendFilters | None, float]:
    """The session's filters and the niche dial's next step (after the last: back to the
    first), as a :class:`~animerec_tui.tui.messages.Steer` carries them."""
    from animerec_tui.core.recommend.niche import DIAL_STEPS

    steps = list(DIAL_STEPS)
    later = [step for step in steps if step > session.niche + 1e-9]
    return session.filters, later[0] if later else steps[0]


def highlighted_key(table: DataTable[CellT]) -> str | None:
    """The row key (an anime id) under a table's cursor, None when the table is empty."""
    if table.row_count == 0:
        return None
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


def similar_binding(binding_id: str) -> Binding:
    """The ``l`` key every anime list offers: anime similar to the highlighted row."""
    return Binding(
        "l", "similar", "Like this", id=binding_id, tooltip="Anime similar to the highlighted one"
    )
