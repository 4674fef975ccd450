"""Options mean the same wherever argparse accepts them; bad choices exit 2 listing the valid
ones; with no terminal, ``animerec`` prints its help instead of drawing a full screen."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from helpers.cli import COMMAND, cli_env, closed_port_url, run_cli

from animerec_tui.fakekitsu import FakeKitsu


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.mark.parametrize("position", ["before", "after"])
def test_offline_before_or_after_the_command_sends_no_request(
    tmp_path: Path, kitsu: FakeKitsu, position: str
) -> None:
    """`animerec --offline search X` used to go online: the sub-command's default overwrote it."""
    args = ["--offline", "search", "alice"] if position == "before" else ["search", "alice"]
    if position == "after":
        args.append("--offline")
    done = run_cli(tmp_path / "cache", kitsu.url, *args, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["offline"] is True
    assert kitsu.requests == 0


@pytest.mark.parametrize("position", ["before", "after"])
def test_json_before_or_after_the_command(tmp_path: Path, position: str) -> None:
    args = ["--json", "stats"] if position == "before" else ["stats", "--json"]
    done = run_cli(tmp_path / "cache", closed_port_url(), *args)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sample_users"] > 0


@pytest.mark.parametrize("position", ["before", "after"])
def test_cache_dir_before_or_after_the_command(tmp_path: Path, position: str) -> None:
    chosen = tmp_path / "chosen"
    where = ["--cache-dir", str(chosen)]
    args = [*where, "stats", "--json"] if position == "before" else ["stats", "--json", *where]
    done = run_cli(tmp_path / "env-cache", closed_port_url(), *args)
    assert done.returncode == 0, done.stderr
    assert (chosen / "animerec.sqlite3").is_file()
    assert not (tmp_path / "env-cache").exists()


def test_an_option_given_twice_keeps_the_one_after_the_command(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    done = run_cli(
        tmp_path / "env", closed_port_url(), "--cache-dir", str(first), "stats", "--json",
        "--cache-dir", str(second),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (second / "animerec.sqlite3").is_file() and not first.exists()


def test_invalid_type_lists_the_valid_ones(tmp_path: Path) -> None:
    done = run_cli(tmp_path / "cache", closed_port_url(), "recommend", "x", "--type", "foo")
    assert done.returncode == 2
    line = _one_line(done)
    assert "'foo'" in line
    for name in ("TV", "movie", "OVA", "ONA", "special", "music"):
        assert name in line


def test_type_accepts_any_letter_case(tmp_path: Path) -> None:
    done = run_cli(
        tmp_path / "cache", closed_port_url(), "--offline", "recommend", "sample-72562",
        "--type", "tv", "--type", "MOVIE", "-n", "5", "--json", timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    subtypes = {r["subtype"] for r in json.loads(done.stdout)["recommendations"]}
    assert subtypes and subtypes <= {"TV", "movie"}


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--factors", "100000", "1 to 1024, as model.factors"),
        ("--factors", "0", "1 to 1024"),
        ("--alpha", "nan", "greater than 0"),
        ("--regularization", "-2", "model.regularization"),
        ("--iterations", "many", "not a whole number"),
    ],
)
def test_model_options_use_the_settings_ranges(
    tmp_path: Path, option: str, value: str, needle: str
) -> None:
    done = run_cli(tmp_path / "cache", closed_port_url(), "train", option, value)
    assert done.returncode == 2
    assert needle in _one_line(done)


def test_no_terminal_prints_help_and_exits_2(tmp_path: Path) -> None:
    """stdin and stdout are pipes here: the app would draw escape codes into them (or wait)."""
    done = subprocess.run(
        COMMAND,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "cache", closed_port_url()),
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout.startswith("usage: animerec") and "recommend" in done.stdout
    assert "no terminal" in _one_line(done)
    assert not (tmp_path / "cache").exists()  # nothing was opened, let alone drawn


@pytest.mark.parametrize("args", [["--version"], ["--version", "stats"], ["stats", "--version"]])
def test_version_before_or_after_the_command(tmp_path: Path, args: list[str]) -> None:
    from animerec_tui import __version__

    done = run_cli(tmp_path / "cache", closed_port_url(), *args)
    assert done.returncode == 0 and done.stdout.strip() == f"animerec {__version__}"
