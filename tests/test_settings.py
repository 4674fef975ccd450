"""Settings: defaults, the TOML file, environment overrides, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

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
