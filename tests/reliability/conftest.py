"""Fixtures for the reliability tests (faults, crashes, hostile input, damaged storage).

``template`` is a cache seeded with the bundled sample, made once per session; tests copy it
rather than seed their own (seeding is the slow part). ``test_storage.py`` overrides it with
one that also carries a small-model ``settings.toml``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from animerec_tui.core.services import Core
from animerec_tui.core.settings import load_settings


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder seeded with the bundled sample population (copy it, never write it)."""
    where = tmp_path_factory.mktemp("template") / "cache"
    where.mkdir()
    Core.open(load_settings(where, env={})).close()
    return where
