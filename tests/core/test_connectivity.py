"""Connectivity: offline mode, the cool-down after a failure (kept across processes), retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from animerec_tui.core.connectivity import STATE_FILE, Connectivity, Wait

URL = "http://127.0.0.1:9/api/edge"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, clock: Clock, **kwargs: object) -> Connectivity:
    return Connectivity(URL, state_dir=tmp_path, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_a_failure_cools_down_here_and_in_the_next_process(tmp_path: Path) -> None:
    clock = Clock()
    first = make(tmp_path, clock, cooldown=60.0)
    assert first.may_ask() and not first.offline
    first.failed("no answer within 15 s in all")
    assert first.offline and not first.may_ask()
    status = first.status()
    assert status.state == "cooling" and status.remaining == 60.0
    assert "no answer within 15 s" in status.describe()
    later = make(tmp_path, clock, cooldown=60.0)  # the next CLI process
    assert not later.offline  # nothing asked yet: a command that never asks is not "offline"
    assert not later.may_ask() and later.offline
    clock.now += 61
    assert later.may_ask() and not later.offline


def test_the_cool_down_belongs_to_one_api_address(tmp_path: Path) -> None:
    clock = Clock()
    make(tmp_path, clock).failed("refused")
    other = Connectivity("http://127.0.0.1:10/api/edge", state_dir=tmp_path, clock=clock)
    assert other.may_ask()


def test_explicit_refresh_ends_an_earlier_cool_down_but_not_its_own(tmp_path: Path) -> None:
    clock = Clock()
    make(tmp_path, clock).failed("refused")
    again = make(tmp_path, clock)
    assert not again.may_ask()
    assert again.may_ask(explicit=True)  # fetch --refresh: asks at once
    assert not (tmp_path / STATE_FILE).exists()
    again.failed("refused again")
    assert not again.may_ask(explicit=True)  # fetch --refresh A B: B does not wait again
    again.retry_now()  # ctrl+r in the app
    assert again.may_ask()


def test_an_answer_ends_the_cool_down_for_everyone(tmp_path: Path) -> None:
    clock = Clock()
    one = make(tmp_path, clock)
    one.failed("refused")
    one.retry_now()
    one.answered()
    assert make(tmp_path, clock).may_ask()


def test_offline_mode_never_asks_whatever_is_retried(tmp_path: Path) -> None:
    forced = make(tmp_path, Clock(), forced_offline=True)
    forced.retry_now()
    assert not forced.may_ask(explicit=True) and forced.offline
    assert forced.status().describe().startswith("offline mode")


def test_cooldown_zero_asks_every_time_and_persists_nothing(tmp_path: Path) -> None:
    none = make(tmp_path, Clock(), cooldown=0.0)
    none.failed("refused")
    assert none.offline  # this action fell back to the cache
    assert none.may_ask() and not (tmp_path / STATE_FILE).exists()
    none.answered()
    assert not none.offline


DAMAGED = ["", "{", "[]", '{"api_url": 1}', f'{{"api_url": "{URL}", "unreachable_until": "x"}}']


@pytest.mark.parametrize("content", DAMAGED)
def test_a_damaged_state_file_is_ignored(tmp_path: Path, content: str) -> None:
    (tmp_path / STATE_FILE).write_text(content)
    assert make(tmp_path, Clock()).may_ask()


def test_a_clock_set_back_does_not_stretch_the_cool_down(tmp_path: Path) -> None:
    clock = Clock()
    make(tmp_path, clock, cooldown=60.0).failed("refused")
    clock.now -= 3600  # the clock went back an hour
    status = make(tmp_path, clock, cooldown=60.0).status()
    assert status.state == "cooling" and status.remaining == 60.0


def test_an_unwritable_cache_folder_only_loses_the_persistence(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    one = Connectivity(URL, state_dir=missing, clock=Clock())
    one.failed("refused")  # cannot save: no error, still cooling here
    assert not one.may_ask()


def test_wait_counts_attempts_and_keeps_the_last_failure() -> None:
    wait = Wait("search", 15.0)
    wait.attempt_started(1)
    wait.attempt_started(1)
    wait.attempt_failed("HTTP 503")
    wait.attempt_started(2)
    assert (wait.attempt, wait.requests, wait.last_failure) == (2, 3, "HTTP 503")
    text = wait.describe()
    assert "gives up at 15 s" in text and "attempt 2" in text and "last: HTTP 503" in text
