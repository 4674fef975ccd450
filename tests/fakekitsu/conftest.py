"""Tests of the fake Kitsu itself: its behaviour and its conformance to recorded responses.

Shared fixtures come from ``tests/conftest.py`` (``dataset``: the small population of
``helpers.population.build_small_dataset``; ``kitsu``: the fake Kitsu serving it); files with
other needs override them by name. Helpers are in ``tests/helpers/``.
"""
