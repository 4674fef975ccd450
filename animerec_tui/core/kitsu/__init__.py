"""Kitsu's JSON:API, asynchronously: :class:`KitsuClient` and the records it returns.

Importing this package pulls in httpx but nothing from a UI (the core stays UI-free).
"""

from animerec_tui.core.kitsu.client import KitsuClient

__all__ = ["KitsuClient"]
