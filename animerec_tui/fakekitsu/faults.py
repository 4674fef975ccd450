"""Injected failures: what Kitsu's CDN and network do to a client under load.

Each kind is one way a real request has failed; the client must retry or fail cleanly on
every one of them, so tests switch them on with a rate (random, seeded) or a script (exact
sequence for the next requests). Simulated outages: none of this is Kitsu's own behaviour.
:data:`FAULTS` maps each kind to its behaviour, a small function whose docstring says what it
sends; the HTTP handler runs it on an :class:`Exchange`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from animerec_tui.fakekitsu.api import JSONAPI, PREFIX, REDIRECTED_PREFIX
from animerec_tui.fakekitsu.documents import dumps

TRICKLE_GAP = 0.1
"""Seconds between the pieces of a ``trickle`` answer (shorter than any sane read timeout)."""
HTML_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx"
    b"</center>\r\n</body>\r\n</html>\r\n"
)


class Exchange(Protocol):
    """One request being answered, as a fault sees it (the HTTP handler implements it)."""

    path: str
    """The request's path and query, as sent."""
    host: str
    """The request's Host header (or the server's own address)."""

    def answer(self) -> tuple[int, bytes]:
        """The API's real (status, JSON:API body) for this request."""

    def send(
        self,
        status: int,
        content_type: str,
        body: bytes,
        extra: dict[str, str] | None = None,
        cut: int | None = None,
        trickle: float | None = None,
    ) -> None:
        """Answer with ``Content-Length: len(body)``; ``cut``: send that many bytes, then reset
        the connection; ``trickle``: send the body in pieces over that many seconds."""

    def send_raw(self, status: int, raw: bytes) -> None:
        """Write a whole raw HTTP response (logged as ``status``)."""

    def drop(self) -> None:
        """Close the connection without writing anything (logged as status 0 at once)."""

    def abandon(self) -> None:
        """Give up on the request without answering (logged as status 0 when the handler ends)."""

    def wait(self, seconds: float | None) -> bool:
        """Sleep (None: until the server stops); True when the server is stopping."""


FaultAction = Callable[[Exchange, "Faults"], None]


def _answer(ex: Exchange) -> None:
    status, body = ex.answer()
    ex.send(status, JSONAPI, body)


def rate_limited(ex: Exchange, faults: Faults) -> None:
    """``429``: plain-text "Retry later", with ``Retry-After: 1`` on about half of them (a seeded
    coin), as Kitsu's CDN throttles."""
    extra = {"Retry-After": "1"} if faults.coin() else {}
    ex.send(429, "text/plain", b"Retry later", extra=extra)


def rate_limited_silently(ex: Exchange, faults: Faults) -> None:
    """``429-no-retry-after``: the same 429 without any ``Retry-After``."""
    ex.send(429, "text/plain", b"Retry later")


def unavailable(ex: Exchange, faults: Faults) -> None:
    """``503``: the CDN's HTML error page (nginx), not JSON."""
    ex.send(503, "text/html", HTML_503)


def server_error(ex: Exchange, faults: Faults) -> None:
    """``500``: a JSON:API error body whose ``status`` is a string in some answers and an int
    in others (a seeded coin), as Kitsu's error bodies vary."""
    status: int | str = 500 if faults.coin() else "500"
    error = {
        "title": "Internal Server Error",
        "detail": "Internal Server Error",
        "code": "500",
        "status": status,
    }
    ex.send(500, JSONAPI, dumps({"errors": [error]}))


def drop(ex: Exchange, faults: Faults) -> None:
    """``drop``: the connection closed (FIN) without any response."""
    ex.drop()


def reset_mid_body(ex: Exchange, faults: Faults) -> None:
    """``reset-mid-body``: the full Content-Length announced, half the body sent, then the
    connection reset (RST), like a CDN node dying mid-answer."""
    status, body = ex.answer()
    ex.send(status, JSONAPI, body, cut=len(body) // 2)


def truncated(ex: Exchange, faults: Faults) -> None:
    """``truncated``: the JSON cut in half, with a Content-Length matching what is sent."""
    status, body = ex.answer()
    ex.send(status, JSONAPI, body[: len(body) // 2])


def slow(ex: Exchange, faults: Faults) -> None:
    """``slow``: the real answer only after ``slow_seconds``: the client's timeout must fire
    first (a stopping server gives up instead)."""
    if ex.wait(faults.slow_seconds):
        ex.abandon()
        return
    _answer(ex)


def trickle(ex: Exchange, faults: Faults) -> None:
    """``trickle``: the real answer dribbles in over ``slow_seconds``, never TRICKLE_GAP apart:
    no read timeout ever fires, only a deadline on the whole request ends it."""
    status, body = ex.answer()
    ex.send(status, JSONAPI, body, trickle=faults.slow_seconds)


def redirect(ex: Exchange, faults: Faults) -> None:
    """``redirect``: 301 to the same request under /redirected/api/edge (and back again from
    there), with an absolute ``Location``."""
    if ex.path.startswith(REDIRECTED_PREFIX):
        target = PREFIX + ex.path[len(REDIRECTED_PREFIX) :]
    elif ex.path.startswith(PREFIX):
        target = REDIRECTED_PREFIX + ex.path[len(PREFIX) :]
    else:
        target = ex.path
    ex.send(301, "text/html", b"", extra={"Location": f"http://{ex.host}{target}"})


def hang(ex: Exchange, faults: Faults) -> None:
    """``hang``: the request is read, then nothing is ever sent until the client hangs up (or
    the server stops)."""
    ex.wait(None)
    ex.abandon()


def recorded(ex: Exchange, faults: Faults) -> None:
    """``recorded``: the raw HTTP response given as ``Faults(recorded=...)`` (e.g. the parking
    page of the 2024 domain expiry), verbatim."""
    ex.send_raw(int(faults.recorded.split(b" ", 2)[1]), faults.recorded)


FAULTS: dict[str, FaultAction] = {
    "429": rate_limited,
    "429-no-retry-after": rate_limited_silently,
    "503": unavailable,
    "500": server_error,
    "drop": drop,
    "reset-mid-body": reset_mid_body,
    "truncated": truncated,
    "slow": slow,
    "trickle": trickle,
    "redirect": redirect,
    "hang": hang,
    "recorded": recorded,
}
"""Each fault kind's behaviour, by name (the docstring of each says what it does)."""
KINDS = tuple(FAULTS)


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
