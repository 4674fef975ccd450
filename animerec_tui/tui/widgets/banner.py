"""The offline banner every screen shows while Kitsu cannot be reached.

It shows a :class:`~animerec_tui.tui.session.Link`: the one its screen was composed with, then
each one the App hands it (:meth:`OfflineBanner.show`) when a
:class:`~animerec_tui.tui.messages.ConnectivityChanged` arrives, so a search or fetch that
falls back to the cache flips it on everywhere at once, and says what still works.
"""

from __future__ import annotations

from textual.widgets import Static

from animerec_tui.tui.session import Link
from animerec_tui.tui.text import inert

OFFLINE_TEXT = "Offline: Kitsu cannot be reached. Cached and sample users still work."
OFFLINE_MODE_TEXT = "Offline mode: animerec uses the cache only. Cached and sample users work."


class OfflineBanner(Static):
    DEFAULT_CSS = """
    OfflineBanner {
        display: none;
        height: auto;
        width: 1fr;
        background: $warning 30%;
        color: $text;
        padding: 0 1;
    }
    OfflineBanner.-offline { display: block; }
    """

    def __init__(self, link: Link) -> None:
        super().__init__()
        self.link = link

    def on_mount(self) -> None:
        self.show(self.link)

    def show(self, link: Link) -> None:
        self.link = link
        self.set_class(link.offline, "-offline")
        if link.status.state == "offline":  # offline mode was chosen
            text = OFFLINE_MODE_TEXT
        elif link.note:  # the reason already says "Kitsu cannot be reached: ..."
            text = f"Offline (cached and sample users still work). {link.note}"
        else:
            text = OFFLINE_TEXT
        self.update(inert(text))
