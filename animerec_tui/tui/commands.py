"""The app's key bindings, and command palette entries derived from the bindings so keys and
palette never disagree.

Every binding with an ``id`` (app-wide or on the current screen) becomes a palette command with
its description as the title and its tooltip as help; the palette then runs the same action the
key runs, in the same namespace.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TypeVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen

APP_BINDINGS: list[BindingType] = [
    Binding("ctrl+q", "quit", "Quit", id="quit", priority=True, tooltip="Quit animerec"),
    Binding("ctrl+c", "help_quit", show=False, system=True),
    Binding(
        "f2",
        "library",
        "Library",
        id="library",
        tooltip="The library of the current (or highlighted) user",
    ),
    Binding(
        "f3",
        "train",
        "Train",
        id="train",
        tooltip="Train the model (parameters, progress, loss) or load the saved one",
    ),
    Binding(
        "f4",
        "evaluate",
        "Eval",
        id="evaluate",
        tooltip="Held-out evaluation: ALS beside the baselines",
    ),
    Binding(
        "f5",
        "population",
        "Population",
        id="population",
        tooltip="The cached population the model learns from",
    ),
    Binding("f6", "search", "Search users", id="search", show=False, tooltip="Back to the search"),
]
"""The App's bindings: quit, and a function key per screen."""

PALETTE_TITLES: dict[str, str] = {
    "library": "Library of the current user",
    "train": "Train the model",
    "evaluate": "Evaluate the models",
    "population": "Population overview",
    "search": "Search users",
    "quit": "Quit",
}
"""Fuller titles for the palette where the footer's short label would be cryptic."""


R = TypeVar("R")
S = TypeVar("S")


def binding_commands(app: App[R], screen: Screen[S]) -> Iterable[SystemCommand]:
    seen: set[str] = set()
    namespaces: list[Screen[S] | App[R]] = [screen, app]
    for node in namespaces:
        for binding in _bindings(node):
            if not binding.id or not binding.description or binding.id in seen:
                continue
            seen.add(binding.id)
            key = binding.key_display or app.get_key_display(binding)
            help_text = f"{binding.tooltip or binding.description} ({key})"
            title = PALETTE_TITLES.get(binding.id, binding.description)
            yield SystemCommand(title, help_text, partial(node.run_action, binding.action))


def _bindings(node: DOMNode) -> list[Binding]:
    """The node's bindings as its class declares them (``BINDINGS`` along the class
    hierarchy, a subclass's binding for a key replacing its bases'), in declaration order."""
    keys: dict[str, list[Binding]] = {}
    for base in reversed(type(node).__mro__):
        if not issubclass(base, DOMNode):
            continue
        declared: dict[str, list[Binding]] = {}
        for binding in Binding.make_bindings(base.__dict__.get("BINDINGS", [])):
            declared.setdefault(binding.key, []).append(binding)
        keys.update(declared)
    return [binding for group in keys.values() for binding in group]
