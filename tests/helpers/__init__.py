"""Helpers shared by the test folders (plain functions and constants, no fixtures)."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
"""Recorded Kitsu responses (``kitsu/``) and the real-world cases (``cases/``) the tests replay."""
