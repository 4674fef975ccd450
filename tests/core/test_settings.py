"""Settings: defaults, the TOML file, environment overrides, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FIXTURES

from animerec_tui.core.errors import BadInput
from animerec_tui.core.settings import DEFAULT_API_URL, load_settings


def test_defaults_and_env_overrides(tmp_path: Path) -> None:
    s = load_settings(env={"ANIMEREC_CACHE_DIR": str(tmp_path)})
    assert s.cache_dir == tmp_path and s.api_url == DEFAULT_API_URL and not s.offline
    s = load_settings(
        env={
            "ANIMEREC_CACHE_DIR": str(tmp_path),
            "ANIMEREC_API_URL": "http://127.0.0.1:9/api/edge/",
            "ANIMEREC_OFFLINE": "1",
        }
    )
    assert s.api_url == "http://127.0.0.1:9/api/edge" and s.offline


def test_settings_file_sections(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(
        "[model]\nfactors = 32\nalpha = 4\n[weights]\ncompleted = 7.5\n[crawl]\n"
        "requests_per_second = 1.5\n"
    )
    s = load_settings(env={"ANIMEREC_CACHE_DIR": str(tmp_path)})
    assert s.model.factors == 32 and s.model.alpha == 4.0 and isinstance(s.model.alpha, float)
    assert s.weights.completed == 7.5 and s.weights.dropped == 1.0
    assert s.crawl.requests_per_second == 1.5


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[model]\nfactors = "many"\n', "model.factors must be int"),
        ("[model]\nfactors = true\n", "model.factors must be int"),
        ("[model]\nfactorz = 3\n", "unknown key model.factorz"),
        ("model = 3\n", "[model] must be a table"),
        ("[model\n", "not valid TOML"),
        ("colour = 'red'\n", "unknown or mistyped key"),
    ],
)
def test_bad_settings_files_give_one_clear_line(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "settings.toml").write_text(text)
    with pytest.raises(BadInput) as info:
        load_settings(env={"ANIMEREC_CACHE_DIR": str(tmp_path)})
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


# -- ranges: every value checked like the CLI's options (one line, section.key, value, range) ---

CASES = FIXTURES / "cases"


def _load(tmp_path: Path, text: str) -> str:
    (tmp_path / "settings.toml").write_text(text)
    with pytest.raises(BadInput) as info:
        load_settings(env={"ANIMEREC_CACHE_DIR": str(tmp_path)})
    message = str(info.value)
    assert "\n" not in message and info.value.exit_code == 2
    return message


def test_negative_weight_case_is_refused_naming_key_value_and_range(tmp_path: Path) -> None:
    """Case negative-weight: implicit reads negative confidence as "disliked", but this pipeline
    sums and BM25-weights strengths, which assumes them non-negative: refused, not supported."""
    message = _load(tmp_path, (CASES / "negative-weight" / "settings.toml").read_text())
    assert "weights.dropped = -3.0" in message and "0 to 100" in message


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("[model]\nfactors = 0\n", ("model.factors = 0", "1 to 1024")),
        ("[model]\nfactors = 100000\n", ("model.factors = 100000", "1 to 1024")),
        ("[model]\nalpha = 0\n", ("model.alpha = 0.0", "greater than 0")),
        ("[model]\nregularization = -1\n", ("model.regularization = -1.0",)),
        ("[model]\nbm25_b = 1.5\n", ("model.bm25_b = 1.5", "0 to 1")),
        ("[model]\nease_max_items = 0\n", ("model.ease_max_items = 0",)),
        ("[model]\nweighting = 'tfidf'\n", ("model.weighting = 'tfidf'", "linear, bm25")),
        ("[weights]\ncompleted = nan\n", ("weights.completed = nan",)),
        ("[weights]\nfavorite = inf\n", ("weights.favorite = inf",)),
        ("[network]\ntimeout = 0\n", ("network.timeout = 0.0", "greater than 0")),
        ("[network]\nmax_attempts = 0\n", ("network.max_attempts = 0", "1 to 20")),
        ("[network]\nconcurrency = -4\n", ("network.concurrency = -4",)),
        ("[crawl]\nrequests_per_second = -1\n", ("crawl.requests_per_second = -1.0",)),
        ("[crawl]\nmin_entries = -1\n", ("crawl.min_entries = -1",)),
        ("api_url = 'kitsu.app'\n", ("api_url", "http://")),
    ],
)
def test_out_of_range_settings_give_one_line(tmp_path: Path, text: str, needles: tuple) -> None:
    message = _load(tmp_path, text)
    for needle in needles:
        assert needle in message


def test_all_weights_zero_is_refused(tmp_path: Path) -> None:
    zero = "".join(
        f"{k} = 0\n" for k in ("completed", "favorite", "current", "planned", "on_hold", "dropped")
    )
    assert "nothing would be learnt" in _load(tmp_path, "[weights]\n" + zero)


def test_edges_of_ranges_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text(
        "[weights]\ndropped = 0\n[model]\nfactors = 1024\nbm25_b = 0\n[network]\nbackoff_base = 0\n"
    )
    s = load_settings(env={"ANIMEREC_CACHE_DIR": str(tmp_path)})
    assert s.weights.dropped == 0.0 and s.model.factors == 1024 and s.network.backoff_base == 0


def test_every_numeric_setting_has_a_range() -> None:
    """A new numeric field must say its range (settings.RANGES) or name its choices."""
    from dataclasses import fields

    from animerec_tui.core.settings import (
        CHOICES,
        RANGES,
        CrawlSettings,
        ModelParams,
        NetworkSettings,
        Weights,
    )

    sections = {
        "network": NetworkSettings,
        "crawl": CrawlSettings,
        "weights": Weights,
        "model": ModelParams,
    }
    for name, cls in sections.items():
        for f in fields(cls):
            value = getattr(cls(), f.name)
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                assert f.name in RANGES[name], f"{name}.{f.name} has no range in RANGES"
                assert RANGES[name][f.name].allows(value), f"{name}.{f.name}'s default"
            else:
                assert f.name in CHOICES.get(name, {}), f"{name}.{f.name} has no CHOICES"
                assert value in CHOICES[name][f.name]


def test_env_api_url_must_be_http(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="ANIMEREC_API_URL"):
        load_settings(env={"ANIMEREC_CACHE_DIR": str(tmp_path), "ANIMEREC_API_URL": "ftp://x"})


def test_title_language_lists_the_valid_names(tmp_path: Path) -> None:
    (tmp_path / "settings.toml").write_text('[display]\ntitle_language = "klingon"\n')
    with pytest.raises(
        BadInput,
        match=r"display\.title_language = 'klingon' is not one of canonical, english, romaji",
    ):
        load_settings(tmp_path, env={})
