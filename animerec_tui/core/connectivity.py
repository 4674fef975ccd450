"""Whether animerec asks Kitsu now, and why not: the one owner of "are we offline".

Three states (:class:`Status`):

* ``offline``: offline mode was chosen (``--offline``, ``ANIMEREC_OFFLINE``, ``offline = true``
  in the settings); nothing is ever sent.
* ``cooling``: Kitsu failed (no answer in time, refused, an answer that is not Kitsu's) less
  than ``network.cooldown`` seconds ago. Actions that would ask Kitsu serve the cache at once
  instead of waiting again; an explicit refresh (``fetch --refresh``, ctrl+r in the app)
  retries at once. "Unreachable until" is kept in a small file beside the cache
  (:data:`STATE_FILE`), so the next CLI process does not wait again either; it is keyed by the
  API address, so another Kitsu (a test's fake) is not affected.
* ``online``: ask Kitsu.

:attr:`Connectivity.offline` is what results report as ``offline``: offline mode, or this
process met an unreachable Kitsu (a failure, or an action answered from the cache because of
the cool-down). A cool-down left by an earlier process alone does not make a process offline:
a command that never asks Kitsu (``stats``) has no reason to say so.

While an action waits for Kitsu, :meth:`Connectivity.waiting` holds a :class:`Wait` that the
client updates per attempt, for the app to show the elapsed time and attempts.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

STATE_FILE = "connectivity.json"
"""File in the cache folder: ``{"api_url", "unreachable_until" (Unix seconds), "reason"}``."""

State = Literal["online", "offline", "cooling"]


@dataclass(frozen=True)
class Status:
    """A snapshot: ``state``, ``reason`` (why not online; None when online) and, when
    cooling, ``until`` (Unix seconds) and ``remaining`` (seconds, at the snapshot)."""

    state: State
    reason: str | None = None
    until: float | None = None
    remaining: float = 0.0

    def describe(self) -> str:
        """One line for people: "offline mode", or the failure and when Kitsu is asked again."""
        if self.state == "offline":
            return "offline mode: animerec uses the cache only"
        if self.state == "cooling":
            when = time.strftime("%H:%M:%S", time.localtime(self.until or 0))
            return (
                f"Kitsu cannot be reached ({self.reason or 'it failed'}); not asked again "
                f"until {when} ({self.remaining:.0f} s) unless you refresh"
            )
        return "online"


@dataclass
class Wait:
    """One action waiting for Kitsu, as the app shows it.

    ``attempt``: the highest attempt number any of its requests has reached (1 = first try);
    ``requests``: requests sent; ``last_failure``: the most recent failed attempt's reason;
    ``budget``: the most it may wait in all, in seconds (``network.search_deadline`` ...).
    """

    what: str
    budget: float
    started: float = field(default_factory=time.monotonic)
    attempt: int = 0
    requests: int = 0
    last_failure: str | None = None

    def attempt_started(self, number: int) -> None:
        self.attempt = max(self.attempt, number)
        self.requests += 1

    def attempt_failed(self, detail: str) -> None:
        self.last_failure = detail

    @property
    def elapsed(self) -> float:
        """Seconds since the action started waiting (monotonic clock)."""
        return time.monotonic() - self.started

    def describe(self) -> str:
        text = f"waiting for Kitsu {self.elapsed:.0f} s (gives up at {self.budget:g} s)"
        if self.attempt:
            text += f" · attempt {self.attempt}"
        if self.last_failure:
            text += f" · last: {self.last_failure}"
        return text


class Connectivity:
    """Online, offline or cooling down, for one API address; see the module docstring.

    ``cooldown`` is in seconds (0: never cool down); ``state_dir`` is where
    :data:`STATE_FILE` lives (None: nothing persisted); ``clock`` returns Unix seconds.
    """

    def __init__(
        self,
        api_url: str,
        *,
        forced_offline: bool = False,
        cooldown: float = 60.0,
        state_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.forced_offline = forced_offline
        self.cooldown = max(0.0, cooldown)
        self._path = state_dir / STATE_FILE if state_dir is not None else None
        self._clock = clock
        self._until: float | None = None
        self._reason: str | None = None
        self._met = False  # this process served the cache because Kitsu was unreachable
        self._failed = False  # a real failure in this process since the last retry_now()
        self._waits: list[Wait] = []
        self._load()

    # -- the state -----------------------------------------------------------------------------

    def status(self) -> Status:
        if self.forced_offline:
            return Status("offline", "offline mode")
        now = self._clock()
        if self._until is not None and now < self._until:
            # a clock set back must not stretch the cool-down past what the settings allow
            remaining = min(self._until - now, self.cooldown)
            return Status("cooling", self._reason, now + remaining, remaining)
        return Status("online")

    @property
    def offline(self) -> bool:
        """Offline mode, or this process met an unreachable Kitsu that is still cooling down
        (with ``cooldown`` 0: that has not answered since)."""
        if self.forced_offline:
            return True
        return self._met and (self.cooldown == 0 or self.status().state == "cooling")

    def may_ask(self, *, explicit: bool = False) -> bool:
        """Whether to send requests now; an answer of False is remembered (``offline``).

        ``explicit`` (a refresh the user asked for) ends a cool-down left by an earlier action
        or process, but not one this process caused since the last :meth:`retry_now`: a
        ``fetch --refresh A B C`` against a dead Kitsu waits once, not three times.
        """
        if self.forced_offline:
            return False
        if explicit and not self._failed:
            self._clear()
        if self.status().state == "cooling":
            self._met = True
            return False
        return True

    def failed(self, reason: str) -> None:
        """Kitsu could not be reached: cool down (and say so to later processes)."""
        self._failed = self._met = True
        self._reason = reason
        if self.cooldown > 0:
            self._until = self._clock() + self.cooldown
            self._save()

    def answered(self) -> None:
        """Kitsu answered: online again, here and for later processes."""
        self._met = self._failed = False
        if self._until is not None or self._reason is not None:
            self._clear()

    def retry_now(self) -> None:
        """An explicit retry (ctrl+r): forget the cool-down; offline mode stays."""
        self._failed = False
        self._clear()

    # -- waiting -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def waiting(self, what: str, budget: float) -> Iterator[Wait]:
        """Track one action waiting for Kitsu (nestable; :attr:`wait` is the newest)."""
        wait = Wait(what, budget)
        self._waits.append(wait)
        try:
            yield wait
        finally:
            self._waits.remove(wait)

    @property
    def wait(self) -> Wait | None:
        """The newest action now waiting for Kitsu, or None."""
        return self._waits[-1] if self._waits else None

    # -- persistence ---------------------------------------------------------------------------

    def _clear(self) -> None:
        self._until = None
        self._reason = None
        self._met = False
        if self._path is not None:
            with contextlib.suppress(OSError):
                self._path.unlink(missing_ok=True)

    def _load(self) -> None:
        """Read the cool-down a recent process left for this API address (if any)."""
        if self._path is None or self.forced_offline:
            return
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
            until = float(data["unreachable_until"])
            reason = data.get("reason")
            if data.get("api_url") != self.api_url or until != until:
                return
        except (OSError, ValueError, TypeError, KeyError):
            return  # missing or damaged: it only ever saves a wait, never loses data
        self._until = until
        self._reason = str(reason)[:200] if reason is not None else None

    def _save(self) -> None:
        if self._path is None or self._until is None:
            return
        data = {"api_url": self.api_url, "unreachable_until": self._until, "reason": self._reason}
        tmp = self._path.with_name(f".{STATE_FILE}.{os.getpid()}")
        try:
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, self._path)  # atomic: a reader sees the old or the new state
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
