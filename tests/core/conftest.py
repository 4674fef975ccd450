"""Tests of the UI-free core: Kitsu client, cache, population, recommender.

Shared fixtures come from ``tests/conftest.py`` (``dataset``: the small population of
``helpers.population.build_small_dataset``; ``kitsu``: the fake Kitsu serving it); files with
other needs override them by name. Helpers are in ``tests/helpers/``.
"""
