"""Turning user data into inert text.

Names and titles come from Kitsu users and can hold anything: Rich markup such as
``[bold]`` or ``[link=...]`` and raw terminal escapes. Every such value reaches the screen
through :func:`inert`, which builds a :class:`rich.text.Text` (never parsed as markup) and
makes control characters visible instead of letting them reach the terminal.
"""

from __future__ import annotations

import re

from rich.console import JustifyMethod
from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_KEEP_NEWLINES = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _spell(match: re.Match[str]) -> str:
    return match.group(0).encode("unicode_escape").decode("ascii")


def clean(value: object, *, multiline: bool = False) -> str:
    """The plain string shown for ``value``: control characters spelled out (``\\x1b``).

    ``multiline`` keeps newlines (a synopsis has paragraphs); a table cell or a title never
    should, or one hostile title could push the rows below it out of place.
    """
    if value is None:
        return ""
    pattern = _CONTROL_KEEP_NEWLINES if multiline else _CONTROL
    return pattern.sub(_spell, str(value))


def without_controls(value: str) -> str:
    """``value`` minus its control characters, for text the user edits: spelled out like
    :func:`clean` does, they would silently become part of what was typed."""
    return _CONTROL.sub("", value)


def inert(
    value: object,
    style: str = "",
    *,
    justify: JustifyMethod | None = None,
    multiline: bool = False,
) -> Text:
    """A Text that shows exactly what ``value`` holds (no markup, no escapes)."""
    return Text(clean(value, multiline=multiline), style=style, justify=justify)


def number(value: float | int | None, fmt: str = "{:,}", *, missing: str = "–") -> Text:
    """A right-aligned numeric cell; missing values show a dash rather than ``None``."""
    if value is None:
        return Text(missing, justify="right", style="dim")
    return Text(fmt.format(value), justify="right")


def join_inert(parts: list[tuple[object, str]]) -> Text:
    """Concatenate (value, style) pairs into one inert Text."""
    out = Text()
    for value, style in parts:
        out.append(clean(value), style=style)
    return out
