"""The local SQLite cache: everything fetched, so every read works offline.

:class:`Cache` is the one entry point; the SQL behind it lives in this package only, in modules
named for what they store (``db`` opens, migrates and stores users, anime and libraries,
``interactions`` reads the recommender's bulk arrays, ``population`` seeds the sample and
aggregates the population, ``rows`` turns records into rows and back, ``files`` guards the
file itself; ``codes`` is how a status is stored).
"""

from animerec_tui.core.cache.db import Cache, SyncState
from animerec_tui.core.cache.population import SampleRows, UserActivity

__all__ = ["Cache", "SampleRows", "SyncState", "UserActivity"]
