"""Command palette entries, derived from the bindings so keys and palette never disagree.

Every binding with an ``id`` (app-wide or on the current screen) becomes a palette command with
its description as the title and its tooltip as help; the palette then runs the same action the
key runs, in the same namespace.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

PALETTE_TITLES: dict[str, str] = {
    "library": "Library of the current user",
    "train": "Train the model",
    "evaluate": "Evaluate the models",
    "population": "Population overview",
    "search": "Search users",
    "quit": "Quit",
}
"""Fuller titles for the palette where the footer's short label would be cryptic."""


def binding_commands(app: App[object], screen: Screen[object]) -> Iterable[SystemCommand]:
    seen: set[str] = set()
    namespaces: list[DOMNode] = [screen, app]
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
    out: list[Binding] = []
    for bindings in node._bindings.key_to_bindings.values():
        out.extend(bindings)
    return out
