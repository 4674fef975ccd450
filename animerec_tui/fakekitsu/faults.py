"""Injected failures: what Kitsu's CDN and network do to a client under load.

Each kind is one way a real request has failed; the client must retry or fail cleanly on
every one of them, so tests switch them on with a rate (random, seeded) or a script (exact
sequence for the next requests).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence

KINDS = (
    "429",  # plain-text "Retry later", Retry-After: 1 on about half of them
    "429-no-retry-after",  # the same without Retry-After
    "503",  # HTML error page from the CDN
    "500",  # JSON:API error body (status a string in some, an int in others)
    "drop",  # connection closed without any response
    "reset-mid-body",  # full Content-Length announced, half the body sent, connection closed
    "truncated",  # JSON cut in half, Content-Length matching what is sent
    "slow",  # answer only after slow_seconds: the client's timeout must fire first
    "trickle",  # the answer dribbles in over slow_seconds, never TRICKLE_GAP apart: no read
    # timeout ever fires, only a deadline on the whole request ends it
    "redirect",  # 301 to the same request under /redirected/api/edge
    "hang",  # the request is read, then nothing is ever sent until the client hangs up
    "recorded",  # the raw HTTP response given as ``recorded`` (e.g. a parking page), verbatim
)
TRICKLE_GAP = 0.1
"""Seconds between the pieces of a ``trickle`` answer (shorter than any sane read timeout)."""


class Faults:
    """Which requests fail, and how.

    ``Faults(rate=0.3, kinds=("429", "503"), seed=1)``: each request fails with probability
    ``rate``, with a kind chosen uniformly from ``kinds``; deterministic for a given seed and
    request order. ``Faults(script=["503", None, "drop"])``: the next requests get exactly
    these (``None`` or ``"ok"`` = no fault), then the rate applies (0 by default: none).
    ``injected`` lists the kinds applied so far, in order. ``recorded`` is a whole raw
    HTTP/1.1 response (status line, headers, body: a ``*_response.http`` file's bytes) that
    the ``recorded`` kind sends as it is, e.g. the parking page every kitsu.io URL answered
    during the 2024 domain expiry.
    """

    def __init__(
        self,
        rate: float = 0.0,
        kinds: Iterable[str] = ("429", "503", "500"),
        seed: int | None = 0,
        script: Sequence[str | None] | None = None,
        slow_seconds: float = 30.0,
        recorded: bytes | None = None,
    ) -> None:
        self.kinds = tuple(kinds)
        self.script = list(script or [])
        for kind in (*self.kinds, *self.script):
            if kind not in KINDS and kind not in (None, "ok"):
                raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if rate > 0 and not self.kinds:
            raise ValueError("a positive rate needs at least one kind")
        if "recorded" in (*self.kinds, *self.script) and not recorded:
            raise ValueError("the 'recorded' kind needs the recorded response's bytes")
        self.recorded = _normalised(recorded) if recorded else b""
        self.rate = rate
        self.slow_seconds = slow_seconds
        self.rng = random.Random(seed)
        self.injected: list[str] = []
        self._lock = threading.Lock()

    def pick(self) -> str | None:
        """The fault for the next request (None: answer normally). Thread-safe."""
        with self._lock:
            if self.script:
                kind = self.script.pop(0)
                kind = None if kind == "ok" else kind
            elif self.rate > 0 and self.rng.random() < self.rate:
                kind = self.rng.choice(self.kinds)
            else:
                kind = None
            if kind is not None:
                self.injected.append(kind)
            return kind

    def coin(self) -> bool:
        """A seeded coin for variations within a kind (Retry-After present, status type)."""
        with self._lock:
            return self.rng.random() < 0.5

    def __repr__(self) -> str:
        return (
            f"Faults(rate={self.rate}, kinds={self.kinds}, script={self.script}, "
            f"slow_seconds={self.slow_seconds})"
        )


def _normalised(raw: bytes) -> bytes:
    """A recorded response with CRLF line ends in its head (files are often saved with LF)
    and a Content-Length that matches its body, so a keep-alive client reads it exactly."""
    sep = b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n"
    head, _, body = raw.partition(sep)
    lines = [line.rstrip(b"\r") for line in head.split(b"\n") if line.strip()]
    kept = [line for line in lines if not line.lower().startswith(b"content-length:")]
    kept.insert(1, b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(kept) + b"\r\n\r\n" + body
