"""Seed a new or empty cache with the bundled sample population.

The sample (``animerec_tui/data/sample.json.gz``, built by ``scripts/build_sample.py``) is
written with plain ``executemany`` inside ONE transaction rather than through
``Cache.save_library`` user by user: ~800 per-user transactions would cost seconds on a slow
disk, and a single transaction makes seeding crash-safe for free (a killed seed leaves an
empty cache, which the next start seeds again).
"""

from __future__ import annotations

import gzip
import json
from functools import cache as _memo
from importlib import resources
from typing import Any

from animerec_tui.core.cache import Cache, SampleRows
from animerec_tui.core.errors import CacheError
from animerec_tui.core.records import SAMPLE_NAME_PREFIX, SAMPLE_PREFIX

SAMPLE_FILE = "sample.json.gz"
SAMPLE_FORMAT = 2
"""The layout ``scripts/build_sample.py`` writes (``manifest.format``)."""
SOURCE = "sample"


@_memo
def load_sample() -> dict[str, Any]:
    """The decoded sample document (cached: tests and the TUI may seed several caches)."""
    ref = resources.files("animerec_tui").joinpath("data", SAMPLE_FILE)
    try:
        raw = ref.read_bytes()
    except FileNotFoundError:
        raise CacheError(
            "The bundled sample population is missing from this install "
            "(animerec_tui/data/sample.json.gz); reinstall animerec."
        ) from None
    data: dict[str, Any] = json.loads(gzip.decompress(raw))
    if data.get("manifest", {}).get("format") != SAMPLE_FORMAT:
        raise CacheError(
            "The bundled sample population has an unexpected format; rebuild it with "
            "scripts/build_sample.py or reinstall animerec."
        )
    return data


def sample_manifest() -> dict[str, Any]:
    return dict(load_sample()["manifest"])


def sample_user_id(key: str) -> str:
    return f"{SAMPLE_PREFIX}{key}"


def sample_user_name(key: str) -> str:
    return f"{SAMPLE_NAME_PREFIX}{key}"


def seed_if_empty(cache: Cache) -> bool:
    """Seed when the cache holds no users at all; return whether it seeded.

    "No users" rather than "no sample users": someone who deleted the sample on purpose but
    cached Kitsu users must not get it back on every start.
    """
    if not cache.is_empty():
        return False
    return seed(cache)


def seed(cache: Cache) -> bool:
    """Insert the whole sample in one transaction; a no-op (False) when it is already there."""
    data = load_sample()
    manifest = data["manifest"]
    keys: list[str] = data["users"]
    synced_at = manifest["built_at"]
    return cache.seed_sample(
        SampleRows(
            users=[(sample_user_id(k), sample_user_name(k)) for k in keys],
            entries=data["entries"],
            favorites=data["favorites"],
            anime=data["anime"],
            synced_at=synced_at,
            state={"built_at": synced_at, "counts": manifest["counts"]},
            source=SOURCE,
        )
    )
