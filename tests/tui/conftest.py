"""Fixtures for the TUI tests.

Seeding the sample population and training ALS are the slow parts, so both happen once per
session into template cache folders; each test copies a template into its own ``tmp_path``
(the copy keeps the cache id, so a copied saved model stays valid for the copied cache).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers.tui import copy_template, settings_for

from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding only the bundled sample population (no model yet)."""
    folder = tmp_path_factory.mktemp("seeded")
    Core.open(settings_for(folder)).close()
    return folder


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory, seeded_template: Path) -> Path:
    """The seeded cache plus a small saved ALS model."""
    from animerec_tui.core.recommend import service

    folder = copy_template(seeded_template, tmp_path_factory.mktemp("trained"))
    core = Core.open(settings_for(folder))
    try:
        service.train(core.cache, core.settings)
    finally:
        core.close()
    return folder


@pytest.fixture
def seeded_dir(seeded_template: Path, tmp_path: Path) -> Path:
    return copy_template(seeded_template, tmp_path / "cache")


@pytest.fixture
def trained_dir(trained_template: Path, tmp_path: Path) -> Path:
    return copy_template(trained_template, tmp_path / "cache")


@pytest.fixture
def open_core() -> Iterator[Callable[[Settings], Core]]:
    """Open cores for a test and close them all afterwards."""
    opened: list[Core] = []

    def factory(settings: Settings) -> Core:
        core = Core.open(settings)
        opened.append(core)
        return core

    yield factory
    for core in opened:
        core.close()
