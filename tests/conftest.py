"""Fixtures every test folder shares: the small fake-Kitsu population and a server over it.

Test files with their own needs (bigger populations, module scope) define their own
``dataset`` / ``kitsu`` fixtures, which override these by name. Helpers (not fixtures) live in
``tests/helpers/``; each folder's ``conftest.py`` holds the fixtures only its tests use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.population import build_small_dataset

from animerec_tui.fakekitsu import Dataset, FakeKitsu


@pytest.fixture
def dataset() -> Dataset:
    return build_small_dataset()


@pytest.fixture
def kitsu(dataset: Dataset) -> Iterator[FakeKitsu]:
    """The fake Kitsu serving ``dataset`` on 127.0.0.1 (``kitsu.url`` is the API base)."""
    with FakeKitsu(dataset, latency=0.0) as server:
        yield server
