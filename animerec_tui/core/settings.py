"""Settings: defaults, then the settings file, then environment variables.

The settings file is TOML (read with the standard library's ``tomllib``) at
``<cache dir>/settings.toml`` or wherever ``ANIMEREC_SETTINGS`` points. Wrong types are
reported with the offending key, never silently coerced, so a typo cannot change a model, and
every value is range-checked (:data:`RANGES`, :data:`CHOICES`; the CLI's options use the same
ranges), so an out-of-range value is one line naming ``section.key``, the value and the allowed
range (exit 2) instead of a numerical failure later.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from animerec_tui.core.errors import BadInput
from animerec_tui.core.records import TITLE_LANGUAGES

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
    """Strength of a completed entry."""
    favorite: float = 5.0
    """Strength added for a favourite anime."""
    current: float = 4.0
    """Strength of an entry being watched."""
    planned: float = 3.0
    """Strength of a planned (plan-to-watch) entry."""
    on_hold: float = 2.0
    """Strength of an entry on hold."""
    dropped: float = 1.0
    """Strength of a dropped entry (still implicit feedback: it was started)."""
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
    """ALS's latent factors per user and anime."""
    regularization: float = 20.0
    """ALS's L2 regularization."""
    alpha: float = 0.5
    """ALS's confidence scaling of the weighted strengths."""
    iterations: int = 15
    """ALS's alternating sweeps."""
    weighting: str = "bm25"
    """``linear`` (strengths as they are) or ``bm25`` (implicit's BM25 weighting of them);
    implicit's ALS then scales either by ``alpha``."""
    bm25_k1: float = 1.2
    """BM25's term-frequency saturation for ALS's input (``weighting = bm25``)."""
    bm25_b: float = 0.5
    """BM25's library-length normalisation for ALS's input (0 to 1)."""
    random_state: int = 42
    """Seed of ALS's initial factors (fixed: training is reproducible)."""
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
    """BM25's term-frequency saturation for EASE's input (``ease_weighting = bm25``)."""
    ease_bm25_b: float = 0.5
    """BM25's library-length normalisation for EASE's input (0 to 1)."""
    ease_binary_lambda: float = 200.0
    """The binary-input EASE baseline's penalty in ``animerec evaluate`` (> 0)."""
    blend_weight: float = 0.4
    """``--model blend``: the ALS share of the per-user z-scored scores, EASE gets the rest
    (0 to 1)."""


@dataclass(frozen=True)
class NetworkSettings:
    """The ``[network]`` section: how the Kitsu client talks to Kitsu."""

    concurrency: int = 4
    """Requests to Kitsu in flight at once."""
    timeout: float = 20.0
    """Seconds one request may take in all, from sending it to its last byte."""
    max_attempts: int = 6
    """Tries per request (the first included) before Kitsu counts as unavailable."""
    backoff_base: float = 0.5
    """Seconds of the first retry back-off (doubling, jittered; Retry-After wins)."""
    backoff_max: float = 30.0
    """Longest back-off between two tries, in seconds."""
    search_deadline: float = 12.0
    """Seconds an interactive search may wait for Kitsu in all (every lookup and retry)."""
    fetch_deadline: float = 60.0
    """Seconds one user's fetch may wait for Kitsu in all (resolve, pages, retries)."""
    cooldown: float = 60.0
    """Seconds Kitsu is taken as unreachable after a failure (0: ask again every time)."""


@dataclass(frozen=True)
class CrawlSettings:
    """The ``[crawl]`` section: how ``animerec crawl`` grows the population."""

    concurrency: int = 3
    """Requests a crawl keeps in flight at once."""
    requests_per_second: float = 4.0
    """Most requests per second a crawl sends to Kitsu (politeness)."""
    min_entries: int = 5
    """Library entries a crawled user needs to join the population."""


@dataclass(frozen=True)
class DisplaySettings:
    """The ``[display]`` section: how the faces show anime."""

    title_language: str = "canonical"
    """Which title shows: ``canonical`` (Kitsu's canonicalTitle), ``english`` (``titles.en``)
    or ``romaji`` (``titles.en_jp``); a title missing in that language falls back to the
    canonical one."""


@dataclass(frozen=True)
class Settings:
    """Everything the core reads from defaults, the settings file and the environment."""

    cache_dir: Path
    """Folder of the SQLite cache, saved models and settings.toml."""
    api_url: str = DEFAULT_API_URL
    """Kitsu's JSON:API base URL (``ANIMEREC_API_URL``)."""
    offline: bool = False
    """Never touch the network: the cache only (``--offline``, ``ANIMEREC_OFFLINE``)."""
    network: NetworkSettings = field(default_factory=NetworkSettings)
    """The ``[network]`` section: concurrency, timeouts, retries."""
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    """The ``[crawl]`` section: how politely the population grows."""
    weights: Weights = field(default_factory=Weights)
    """The ``[weights]`` section: implicit-feedback strengths."""
    model: ModelParams = field(default_factory=ModelParams)
    """The ``[model]`` section: hyper-parameters (tuned values fill what is left alone)."""
    display: DisplaySettings = field(default_factory=DisplaySettings)
    """The ``[display]`` section: how titles show."""

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


@dataclass(frozen=True)
class Range:
    """The allowed values of a number: ``low <= x <= high`` (``low < x`` when ``open_low``)."""

    low: float
    """Smallest allowed value (excluded when ``open_low``)."""
    high: float
    """Largest allowed value."""
    open_low: bool = False
    """Whether ``low`` itself is excluded."""

    def allows(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.low if self.open_low else value >= self.low
        return above and value <= self.high

    def describe(self) -> str:
        low, high = f"{self.low:g}", f"{self.high:g}"
        return f"greater than {low} and at most {high}" if self.open_low else f"{low} to {high}"


RANGES: dict[str, dict[str, Range]] = {
    "network": {
        "concurrency": Range(1, 64),
        "timeout": Range(0, 600, open_low=True),
        "max_attempts": Range(1, 20),
        "backoff_base": Range(0, 60),
        "backoff_max": Range(0, 3600),
        "search_deadline": Range(0, 600, open_low=True),  # one whole search, seconds
        "fetch_deadline": Range(0, 3600, open_low=True),  # one user's whole fetch, seconds
        "cooldown": Range(0, 86_400),  # the Kitsu-unreachable cool-down, seconds (0: none)
    },
    "crawl": {
        "concurrency": Range(1, 64),
        "requests_per_second": Range(0, 1000),  # 0: no rate cap (tests, a local fake)
        "min_entries": Range(0, 100_000),
    },
    # Event strengths are summed per (user, anime) and BM25-weighted, which both assume
    # non-negative strengths: a negative one is not read as "disliked" by this pipeline (BM25
    # has a pole at x = -k1 * norm, and fold-in and "because" need a positive definite
    # system), so it is refused here. 0 means "ignore this status".
    "weights": {
        name: Range(0, 100)
        for name in ("completed", "favorite", "current", "planned", "on_hold", "dropped")
    },
    "model": {
        "factors": Range(1, 1024),
        "regularization": Range(0, 10_000, open_low=True),
        "alpha": Range(0, 1000, open_low=True),
        "iterations": Range(1, 1000),
        "bm25_k1": Range(0, 100),
        "bm25_b": Range(0, 1),
        "random_state": Range(0, 2**32 - 1),
        "ease_lambda": Range(0, 1e9, open_low=True),
        "ease_max_items": Range(1, 1_000_000),
        "knn_neighbours": Range(1, 10_000),
        "ease_bm25_k1": Range(0, 100, open_low=True),
        "ease_bm25_b": Range(0, 1),
        "ease_binary_lambda": Range(0, 1e9, open_low=True),
        "blend_weight": Range(0, 1),  # the ALS share of the blend; EASE has the rest
    },
}
"""Allowed range of every numeric setting, by section; a number without an entry must be
finite. Memory-bound values (``ease_max_items`` over a large catalogue) are also checked
against the machine's memory before fitting (:mod:`animerec_tui.core.recommend.memory`)."""

CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "model": {"weighting": ("linear", "bm25"), "ease_weighting": ("binary", "bm25")},
    "display": {"title_language": tuple(TITLE_LANGUAGES)},
}
"""Settings that take one of a few names."""


def check_value(section: str, key: str, value: object) -> str | None:
    """Why ``section.key = value`` is not allowed (one line), or None when it is."""
    choices = CHOICES.get(section, {}).get(key)
    if choices is not None and value not in choices:
        return f"{section}.{key} = {value!r} is not one of {', '.join(choices)}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    allowed = RANGES.get(section, {}).get(key)
    if allowed is None:
        return None if math.isfinite(value) else f"{section}.{key} = {value!r} must be finite"
    if not allowed.allows(value):
        return f"{section}.{key} = {value!r} is out of range (allowed: {allowed.describe()})"
    return None


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
        problem = check_value(where, key, value)
        if problem is not None:
            raise BadInput(f"Settings file: {problem}.")
        values[key] = value
    section = cls(**values)
    if where == "weights" and not any(
        getattr(section, name) > 0 for name in RANGES["weights"] if hasattr(section, name)
    ):
        raise BadInput(
            "Settings file: every [weights] strength is 0, so nothing would be learnt; "
            "give at least one a value above 0."
        )
    return section


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
            "display": DisplaySettings,
        }
        updates: dict[str, Any] = {}
        for key, value in data.items():
            if key in sections:
                updates[key] = _section(sections[key], value, key)
            elif (key, type(value)) in {("api_url", str), ("offline", bool)}:
                if key == "api_url":
                    _check_api_url(value, "Settings file: api_url")
                updates[key] = value
            else:
                raise BadInput(f"Settings file {path}: unknown or mistyped key {key!r}.")
        settings = replace(settings, **updates)
    if env.get("ANIMEREC_API_URL"):
        _check_api_url(env["ANIMEREC_API_URL"], "ANIMEREC_API_URL")
        settings = replace(settings, api_url=env["ANIMEREC_API_URL"].rstrip("/"))
    if _truthy(env.get("ANIMEREC_OFFLINE")):
        settings = replace(settings, offline=True)
    if offline:
        settings = replace(settings, offline=True)
    return settings


def _check_api_url(url: str, where: str) -> None:
    """An API base must be an absolute http(s) URL (else every request fails obscurely)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(f"{where} = {url!r} is not an http:// or https:// URL.")
