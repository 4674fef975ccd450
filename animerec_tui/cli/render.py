"""Output helpers: hostile strings stay inert, JSON stays exact, progress goes to stderr."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console, JustifyMethod
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from animerec_tui.core.records import Anime, User

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


def inert(value: object) -> Text:
    """Text that prints exactly what it holds: no markup parsed, control codes made visible."""
    if value is None:
        return Text("")
    raw = str(value)
    shown = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), raw)
    return Text(shown)


def emit_json(obj: dict[str, Any]) -> None:
    """One JSON object per line on stdout, strings exactly as received.

    Written as UTF-8 text when stdout's encoding can hold it, else ASCII-escaped (``\\u3042``):
    the same JSON value either way, so ``--json`` never fails on the output encoding.
    """
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(obj, ensure_ascii=True)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "slug": user.slug, "sample": user.is_sample}


KITSU_RATING = "Kitsu rating"
"""Column label of Kitsu's community rating (``averageRating``, a percentage)."""
YOUR_RATING = "Your rating"
"""Column label of the user's own rating (``ratingTwenty``, shown out of 10)."""


def subtype_cell(anime: Anime | None) -> str:
    """An anime's type as every table spells it (``movie`` -> ``Movie``: the one vocabulary
    of :mod:`animerec_tui.core.recommend.filters`); ``""`` when unknown."""
    from animerec_tui.core.recommend.filters import subtype_label  # numpy: only when drawn

    return subtype_label(anime.subtype) if anime is not None else ""


def status_cell(status: str | None) -> str:
    """A library status as every table spells it (``on_hold`` -> ``On hold``)."""
    from animerec_tui.core.recommend.filters import library_label

    return library_label(status)


def kitsu_rating_cell(anime: Anime | None) -> str:
    """Kitsu's community rating as Kitsu shows it (``82.31`` -> ``82%``); ``""`` when none."""
    if anime is None or anime.average_rating is None:
        return ""
    return f"{anime.average_rating:.0f}%"


def your_rating_cell(rating_twenty: int | None) -> str:
    """The user's own rating out of 10 (``ratingTwenty`` 17 -> ``8.5/10``); ``""`` unrated."""
    return f"{rating_twenty / 2:g}/10" if rating_twenty else ""


def table(
    title: str | None,
    columns: Sequence[str | tuple[str, JustifyMethod]],
    rows: Sequence[Sequence[object]],
) -> Table:
    """A Rich table whose every cell is inert text. ``("Score", "right")`` aligns a column."""
    t = Table(title=inert(title) if title else None, title_justify="left", expand=False)
    for col in columns:
        if isinstance(col, str):
            t.add_column(col, justify="left")
        else:
            t.add_column(col[0], justify=col[1])
    for row in rows:
        t.add_row(*(cell if isinstance(cell, Text) else inert(cell) for cell in row))
    return t


def note(message: str, *, style: str = "yellow") -> None:
    """A one-line remark for people on stderr (never mixed into --json stdout)."""
    err.print(inert(message), style=style, soft_wrap=True)  # one line, never wrapped


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress]:
    """A transient progress display on stderr, silent when stderr is not a terminal."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=err,
        transient=True,
        disable=not (enabled and err.is_terminal),
    )
    with bar:
        yield bar
