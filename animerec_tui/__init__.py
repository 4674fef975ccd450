"""animerec: anime recommendations for Kitsu users, in the terminal.

The package is split so the architecture is visible in the folder layout:
``core/`` is UI-free (Kitsu client, SQLite cache, population, recommender) and imports
neither Textual nor Rich; ``cli/`` and ``tui/`` are two thin faces over it; ``fakekitsu/``
is a local stand-in for Kitsu's API used by tests, benchmarks and offline demos.
"""

__version__ = "0.1.0"
