"""Output encodings that cannot show every title: Windows' cp1252 (redirected output) and
latin-1. ``--json`` is ASCII-escaped there (still exact JSON); tables and notes show ``?``
instead of failing with UnicodeEncodeError."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import COMMAND, cli_env

from animerec_tui.fakekitsu import Dataset, FakeKitsu

TITLE = "進撃の巨人 — Attack on Titan ✨"
NAME = "ユキ🌸"
ENCODINGS = ["cp1252", "latin-1"]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeKitsu]:
    ds = Dataset(seed=5)
    ds.add_anime(n=60)
    ds.add_anime_record("77001", canonicalTitle=TITLE, titles={"ja_jp": TITLE})
    ds.add_user(id="1001", name=NAME, slug="yuki", entries=8, favorites=1)
    ds.give_anime(user_id="1001", anime_id="77001", status="completed", ratingTwenty=18)
    with FakeKitsu(ds, latency=0.0) as srv:
        yield srv


@pytest.fixture(scope="module")
def cache(server: FakeKitsu, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("enc") / "cache"
    done = run(folder, server, "utf-8", "fetch", "yuki")
    assert done.returncode == 0, done.stderr
    return folder


def run(cache: Path, server: FakeKitsu, encoding: str, *args: str) -> subprocess.CompletedProcess:
    """The CLI with its output encoding forced; stdout and stderr kept as bytes."""
    env = cli_env(cache, server.url, PYTHONIOENCODING=encoding)
    return subprocess.run([*COMMAND, *args], capture_output=True, env=env, timeout=120)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_library_json_is_exact_in_any_encoding(
    cache: Path, server: FakeKitsu, encoding: str
) -> None:
    done = run(cache, server, encoding, "library", "yuki", "--json")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("ascii")  # escaped, so it is valid in every encoding
    data = json.loads(text)
    assert data["user"]["name"] == NAME
    assert TITLE in {e["title"] for e in data["entries"]}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_json_of_every_user_command(cache: Path, server: FakeKitsu, encoding: str) -> None:
    for args in (("search", "yuki"), ("fetch", "yuki"), ("--offline", "library", "1001")):
        done = run(cache, server, encoding, *args, "--json")
        assert done.returncode == 0, (args, done.stderr)
        assert json.loads(done.stdout.decode("ascii").splitlines()[0])


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_tables_replace_what_the_encoding_cannot_show(
    cache: Path, server: FakeKitsu, encoding: str
) -> None:
    for args in (("library", "yuki"), ("search", "yuki"), ("fetch", "yuki")):
        done = run(cache, server, encoding, *args)
        assert done.returncode == 0, (args, done.stderr)
        assert b"Traceback" not in done.stderr and b"UnicodeEncodeError" not in done.stderr
        shown = done.stdout.decode(encoding)  # strictly valid in the terminal's encoding
        assert "?" in shown
    table = run(cache, server, encoding, "library", "yuki").stdout.decode(encoding)
    assert "Attack on Titan" in table  # what the encoding can show is kept


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_error_lines_in_any_encoding(cache: Path, server: FakeKitsu, encoding: str) -> None:
    done = run(cache, server, encoding, "--offline", "library", "yuki", "ユキ不在")
    assert done.returncode == 1
    lines = done.stderr.decode(encoding).strip().splitlines()
    errors = [line for line in lines if line.startswith("animerec:")]
    assert len(errors) == 1 and "is not in the cache" in errors[0]
    assert "Traceback" not in done.stderr.decode(encoding)
    assert b"Attack on Titan" in done.stdout
