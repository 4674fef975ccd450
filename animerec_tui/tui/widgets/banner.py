"""The offline banner every screen shows while Kitsu cannot be reached.

It follows the app's ``offline`` reactive, so a search or fetch that falls back to the cache
flips it on everywhere at once, and says what still works.
"""

from __future__ import annotations

from textual.widgets import Static

from animerec_tui.tui.text import inert

OFFLINE_TEXT = "Offline: Kitsu cannot be reached. Cached and sample users still work."
OFFLINE_MODE_TEXT = "Offline mode: animerec uses the cache only. Cached and sample users work."


class OfflineBanner(Static):
    DEFAULT_CSS = """
    OfflineBanner {
        display: none;
        height: 1;
        width: 1fr;
        background: $warning 30%;
        color: $text;
        padding: 0 1;
    }
    OfflineBanner.-offline { display: block; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "offline", self._show, init=True)
        self.watch(self.app, "offline_note", self._show, init=False)

    def _show(self, _value: object = None) -> None:
        offline = bool(getattr(self.app, "offline", False))
        note = getattr(self.app, "offline_note", "") or ""
        core = getattr(self.app, "core", None)
        chosen = core is not None and core.settings.offline
        self.set_class(offline, "-offline")
        if chosen:
            text = OFFLINE_MODE_TEXT
        elif note:  # the reason already says "Kitsu cannot be reached: ..."
            text = f"Offline (cached and sample users still work). {note}"
        else:
            text = OFFLINE_TEXT
        self.update(inert(text))
