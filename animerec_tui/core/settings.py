"""Settings: defaults, then the settings file, then environment variables.

The settings file is TOML (read with the standard library's ``tomllib``) at
``<cache dir>/settings.toml`` or wherever ``ANIMEREC_SETTINGS`` points. Wrong types are
reported with the offending key, never silently coerced, so a typo cannot change a model.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from animerec_tui.core.errors import BadInput

DEFAULT_API_URL = "https://kitsu.app/api/edge"
USER_AGENT = "animerec/0.1 (terminal anime recommender; +https://github.com/animerec/animerec)"


@dataclass(frozen=True)
class Weights:
    """Event strength per status and for a favourite, summed per user-anime pair.

    The status and favourite values are the notebook's, kept as the documented starting point
    (completed 6, favourite 5, current 4, planned 3, on_hold 2, dropped 1). ``use_rating`` is
    on by default: chosen by measurement on the validation split of the bundled sample (see
    ``animerec_tui/core/recommend/tune.py``).
    """

    completed: float = 6.0
    favorite: float = 5.0
    current: float = 4.0
    planned: float = 3.0
    on_hold: float = 2.0
    dropped: float = 1.0
    use_rating: bool = True
    """Scale an entry by ``ratingTwenty / 14`` (14 = a 7/10) when it is rated."""
    use_reconsume: bool = False
    """Add ``log1p(reconsumeCount)`` times the completed weight."""


@dataclass(frozen=True)
class ModelParams:
    """ALS hyper-parameters, the confidence transform applied before fitting, and the
    baselines' knobs.

    Defaults picked by ``animerec train --tune``'s search on the *validation* split of the
    bundled sample (a split of the evaluation's training entries; the test split is never
    looked at); ``train --tune`` repeats the search on any cache and saves its winner there.
    """

    factors: int = 256
    regularization: float = 20.0
    alpha: float = 0.5
    iterations: int = 15
    weighting: str = "bm25"
    """``linear`` (strengths as they are) or ``bm25`` (implicit's BM25 weighting of them);
    implicit's ALS then scales either by ``alpha``."""
    bm25_k1: float = 1.2
    bm25_b: float = 0.5
    random_state: int = 42
    ease_lambda: float = 300.0
    """EASE's L2 penalty (``--model ease`` and the blend's EASE) as a multiple of the mean
    squared input value, so it means the same on binary and BM25 input (> 0)."""
    ease_max_items: int = 6000
    """EASE's item cap: fitting peaks at about 3 x 8 x max_items^2 bytes (0.86 GB at 6000)."""
    knn_neighbours: int = 2
    """Neighbours kept per anime by the item-kNN baseline."""
    ease_weighting: str = "bm25"
    """EASE's input: ``binary`` (Steck's original) or ``bm25`` (the BM25 weighting below)."""
    ease_bm25_k1: float = 0.6
    ease_bm25_b: float = 0.5
    ease_binary_lambda: float = 200.0
    """The binary-input EASE baseline's penalty in ``animerec evaluate`` (> 0)."""
    blend_weight: float = 0.4
    """``--model blend``: the ALS share of the per-user z-scored scores, EASE gets the rest
    (0 to 1)."""


@dataclass(frozen=True)
class NetworkSettings:
    concurrency: int = 4
    timeout: float = 20.0
    """Seconds one request may take in all, from sending it to its last byte."""
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0


@dataclass(frozen=True)
class CrawlSettings:
    concurrency: int = 3
    requests_per_second: float = 4.0
    min_entries: int = 5


@dataclass(frozen=True)
class Settings:
    cache_dir: Path
    api_url: str = DEFAULT_API_URL
    offline: bool = False
    network: NetworkSettings = field(default_factory=NetworkSettings)
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    weights: Weights = field(default_factory=Weights)
    model: ModelParams = field(default_factory=ModelParams)

    @property
    def db_path(self) -> Path:
        return self.cache_dir / "animerec.sqlite3"

    @property
    def model_dir(self) -> Path:
        return self.cache_dir / "models"


def default_cache_dir() -> Path:
    """The checkout's ``cache/`` when running from a source tree, else the platform cache dir."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "cache").is_dir():
        return checkout / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("animerec", appauthor=False))


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _section(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise BadInput(f"Settings file: [{where}] must be a table.")
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise BadInput(f"Settings file: unknown key {where}.{key}.")
        default = getattr(cls(), key)
        expected = type(default)
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise BadInput(
                f"Settings file: {where}.{key} must be {expected.__name__}, "
                f"not {type(value).__name__} ({value!r})."
            )
        values[key] = value
    return cls(**values)


def load_settings(
    cache_dir: Path | None = None,
    *,
    offline: bool | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    env = dict(os.environ) if env is None else env
    if cache_dir is None:
        cache_dir = Path(env["ANIMEREC_CACHE_DIR"]) if env.get("ANIMEREC_CACHE_DIR") else None
    settings = Settings(cache_dir=(cache_dir or default_cache_dir()).expanduser())
    path = Path(env["ANIMEREC_SETTINGS"]) if env.get("ANIMEREC_SETTINGS") else None
    path = path or settings.cache_dir / "settings.toml"
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadInput(f"Settings file {path} is not valid TOML: {exc}") from None
        sections = {
            "network": NetworkSettings,
            "crawl": CrawlSettings,
            "weights": Weights,
            "model": ModelParams,
        }
        updates: dict[str, Any] = {}
        for key, value in data.items():
            if key in sections:
                updates[key] = _section(sections[key], value, key)
            elif (key, type(value)) in {("api_url", str), ("offline", bool)}:
                updates[key] = value
            else:
                raise BadInput(f"Settings file {path}: unknown or mistyped key {key!r}.")
        settings = replace(settings, **updates)
    if env.get("ANIMEREC_API_URL"):
        settings = replace(settings, api_url=env["ANIMEREC_API_URL"].rstrip("/"))
    if _truthy(env.get("ANIMEREC_OFFLINE")):
        settings = replace(settings, offline=True)
    if offline:
        settings = replace(settings, offline=True)
    return settings
