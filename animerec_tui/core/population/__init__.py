"""The training population: the bundled sample, the Kitsu crawler, and the overview stats.

Submodules are imported on demand (``population.sample``, ``.stats``, ``.crawl``) so that
opening the cache does not pull pandas or the Kitsu client into every command.
"""
