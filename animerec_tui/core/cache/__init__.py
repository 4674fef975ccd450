"""The local SQLite cache: everything fetched, so every read works offline."""

from animerec_tui.core.cache.db import STATUS_CODES, Cache, SyncState

__all__ = ["STATUS_CODES", "Cache", "SyncState"]
