"""The filter panel: genres in and out, start years, episode counts, airing status, types.

A modal over the recommendations; it dismisses with a
:class:`~animerec_tui.core.recommend.filters.RecommendFilters` built by the core's own
:meth:`~animerec_tui.core.recommend.filters.RecommendFilters.parse` (the CLI's rules, one
vocabulary), or None when cancelled. Input the core refuses stays in the panel, with the core's
one-line reason under the fields and the field marked: nothing is applied until it parses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList

from animerec_tui.core.errors import BadInput
from animerec_tui.tui.text import clean, without_controls

if TYPE_CHECKING:
    from animerec_tui.core.recommend.filters import RecommendFilters

FIELDS: dict[str, tuple[str, str, str]] = {
    "genres": ("--genre", "Genres", "all of these, e.g. Comedy, Romance"),
    "exclude": ("--exclude-genre", "Not genres", "none of these, e.g. Horror"),
    "years": ("--year", "Start years", "FROM-TO, FROM-, -TO or one year"),
    "episodes": ("--episodes", "Episodes", "FROM-TO, e.g. 1-13"),
}
"""Input id -> (the CLI option the core names in its errors, label, placeholder)."""


def _bounds(bounds: tuple[int | None, int | None]) -> str:
    lo, hi = bounds
    if lo is None and hi is None:
        return ""
    if lo == hi:
        return str(lo)
    return f"{'' if lo is None else lo}-{'' if hi is None else hi}"


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class FilterPanel(ModalScreen["RecommendFilters | None"]):
    """Choose the filters; enter (in a field), ctrl+s or Apply applies, ctrl+r clears them
    all, escape cancels."""

    DEFAULT_CSS = """
    FilterPanel { align: center middle; }
    FilterPanel > #filter-box {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; padding: 0 1; background: $surface;
    }
    FilterPanel .filter-row { height: 1; }
    FilterPanel .filter-row > Label { width: 13; }
    FilterPanel .filter-row > Input { width: 1fr; }
    FilterPanel Input.-refused { color: $error; text-style: bold; }
    FilterPanel #filter-lists { height: auto; }
    FilterPanel SelectionList { width: 1fr; height: auto; max-height: 8; }
    FilterPanel .hint { color: $text-muted; margin-bottom: 1; }
    FilterPanel #filter-lists { margin-top: 1; }
    FilterPanel #filter-error { color: $error; height: auto; width: 100%; }
    FilterPanel #filter-buttons { height: 1; margin-top: 1; }
    FilterPanel #filter-buttons > Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="filters-cancel", tooltip="Keep the filters"),
        Binding("ctrl+s", "apply", "Apply", id="filters-apply", tooltip="Apply and re-rank"),
        Binding("ctrl+r", "clear", "Clear", id="filters-clear", tooltip="No filters: every anime"),
    ]

    def __init__(self, current: RecommendFilters | None) -> None:
        super().__init__(id="filters")
        self.current = current

    def compose(self) -> ComposeResult:
        from animerec_tui.core.recommend.filters import (
            AIRING_STATUSES,
            SUBTYPES,
            RecommendFilters,
            airing_label,
            subtype_label,
        )

        now = self.current or RecommendFilters()
        values = {
            "genres": ", ".join(now.genres),
            "exclude": ", ".join(now.exclude_genres),
            "years": _bounds(now.years),
            "episodes": _bounds(now.episodes),
        }
        with Vertical(id="filter-box"):
            yield Label("[b]Filters[/b]: they all combine and hold for the session")
            yield Label(
                "enter or ctrl+s applies · ctrl+r clears all · escape cancels", classes="hint"
            )
            for key, (_, label, hint) in FIELDS.items():
                with Horizontal(classes="filter-row"):
                    yield Label(label)
                    yield Input(values[key], placeholder=hint, id=f"filter-{key}", compact=True)
            with Horizontal(id="filter-lists"):
                yield SelectionList[str](
                    *((airing_label(s), s, s in now.statuses) for s in AIRING_STATUSES),
                    id="filter-statuses",
                )
                yield SelectionList[str](
                    *((subtype_label(s), s, s in now.subtypes) for s in SUBTYPES),
                    id="filter-subtypes",
                )
            yield Label("", id="filter-error")
            with Horizontal(id="filter-buttons"):
                yield Button("Apply", id="filter-apply", variant="primary", compact=True)
                yield Button("Clear", id="filter-clear", compact=True)
                yield Button("Cancel", id="filter-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#filter-statuses", SelectionList).border_title = "Airing status"
        self.query_one("#filter-subtypes", SelectionList).border_title = "Types"
        self.query_one("#filter-genres", Input).focus()

    def parsed(self) -> RecommendFilters:
        """The panel's fields as filters; raises BadInput (the core's message) when refused."""
        from animerec_tui.core.recommend.filters import RecommendFilters

        def text(key: str) -> str:
            return without_controls(self.query_one(f"#filter-{key}", Input).value).strip()

        return RecommendFilters.parse(
            genres=_names(text("genres")),
            exclude_genres=_names(text("exclude")),
            year=text("years") or None,
            episodes=text("episodes") or None,
            statuses=self.query_one("#filter-statuses", SelectionList).selected,
            subtypes=self.query_one("#filter-subtypes", SelectionList).selected,
        )

    def refuse(self, error: BadInput) -> None:
        """Say what is wrong under the fields, in the panel's words, and mark the field."""
        message = str(error)
        for key, (option, label, _) in FIELDS.items():
            wrong = message.startswith(option + " ") and not (
                key == "genres" and message.startswith("--genre and")
            )
            self.query_one(f"#filter-{key}", Input).set_class(wrong, "-refused")
            message = message.replace(option + " ", label + " ")
        self.query_one("#filter-error", Label).update(clean(message))

    # -- actions -----------------------------------------------------------------------------

    def action_apply(self) -> None:
        try:
            filters = self.parsed()
        except BadInput as error:
            self.refuse(error)
            return
        self.dismiss(filters)

    def action_clear(self) -> None:
        from animerec_tui.core.recommend.filters import RecommendFilters

        self.dismiss(RecommendFilters())

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_apply()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        action = {"filter-apply": self.action_apply, "filter-clear": self.action_clear}
        action.get(event.button.id or "", self.action_cancel)()
