"""HTTP: the request handler (HTTP/1.1 keep-alive, headers, the ``Date`` on Kitsu's clock),
which answers from :class:`~animerec_tui.fakekitsu.api.KitsuApi` or runs the fault picked for
the request (:data:`~animerec_tui.fakekitsu.faults.FAULTS`)."""

from __future__ import annotations

import socket
import struct
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from animerec_tui.fakekitsu.api import JSONAPI
from animerec_tui.fakekitsu.documents import dumps
from animerec_tui.fakekitsu.faults import FAULTS, TRICKLE_GAP

if TYPE_CHECKING:
    from animerec_tui.fakekitsu.server import FakeKitsu


class LogEntry(tuple[str, str, int]):
    """``(method, path_with_query, status)`` of one request, plus ``.time`` (its arrival, in
    ``time.time()`` seconds) for rate checks. ``status`` is 0 when no response was sent."""

    time: float

    def __new__(cls, method: str, path: str, status: int, when: float) -> LogEntry:
        entry = super().__new__(cls, (method, path, status))
        entry.time = when
        return entry

    @property
    def method(self) -> str:
        return self[0]

    @property
    def path(self) -> str:
        return self[1]

    @property
    def status(self) -> int:
        return self[2]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a "slow" handler must not hold up stop()
    request_queue_size = 128
    fake: FakeKitsu

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (timeouts, cancelled fetches) are normal here, not errors."""
        exc = traceback.format_exc()
        if not any(
            name in exc
            for name in (
                "ConnectionError",
                "BrokenPipe",
                "ConnectionReset",
                "TimeoutError",
                "socket.timeout",
            )
        ):
            self.fake.errors.append(exc)


class Handler(BaseHTTPRequestHandler):
    """One connection's requests; each GET is an Exchange (faults.py) for its fault."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stalls
    timeout = 120  # idle keep-alive connections eventually let their thread go
    server: Server
    server_version = "FakeKitsu/1.0"
    host = ""
    """The request's Host header (set per request; an Exchange's ``host``)."""
    _when = 0.0
    _done = False

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, on Kitsu's clock (:attr:`Dataset.clock_offset`)."""
        return super().date_time_string(
            self.server.fake.dataset.now() if timestamp is None else timestamp
        )

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._track(self.connection, add=False)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.server.fake
        self._when = time.time()
        fake._arrive()
        self._done = False
        try:
            self._serve(fake)
        finally:
            if not self._done:
                fake._leave(LogEntry(self.command, self.path, 0, self._when))

    def _serve(self, fake: FakeKitsu) -> None:
        if fake.latency > 0 and self.wait(fake.latency):
            self.abandon()
            return
        faults = fake.faults
        kind = faults.pick() if faults is not None else None
        self.host = self.headers.get("Host") or f"127.0.0.1:{fake.port}"
        if kind is not None and faults is not None:
            FAULTS[kind](self, faults)
            return
        status, body = self.answer()
        self.send(status, JSONAPI, body)

    # -- the Exchange a fault sees -----------------------------------------------------------

    def answer(self) -> tuple[int, bytes]:
        """The API's answer; a bug in the fake is a loud 500 (kept in ``server.errors``), not a
        hang."""
        fake = self.server.fake
        try:
            return fake.api.handle(self.path, self.headers.get("Accept"), self.host)
        except Exception:
            fake.errors.append(traceback.format_exc())
            error = {"status": "500", "title": "FakeKitsu bug", "detail": "see server.errors"}
            return 500, dumps({"errors": [error]})

    def wait(self, seconds: float | None) -> bool:
        return self.server.fake._stopping.wait(seconds)

    def abandon(self) -> None:
        self.close_connection = True

    def drop(self) -> None:
        self._mark(0)
        self.close_connection = True  # closed (FIN) with nothing written

    def send_raw(self, status: int, raw: bytes) -> None:
        self._mark(status)
        self.wfile.write(raw)

    def _mark(self, status: int) -> None:
        """Log and leave in-flight *before* writing, so a client that has its answer never
        sees its request still counted in flight (max_in_flight must not overcount)."""
        self._done = True
        self.server.fake._leave(LogEntry(self.command, self.path, status, self._when))

    def send(
        self,
        status: int,
        content_type: str,
        body: bytes,
        extra: dict[str, str] | None = None,
        cut: int | None = None,
        trickle: float | None = None,
    ) -> None:
        self._mark(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if cut is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if trickle is not None:
            self._trickle(body, trickle)
            return
        if cut is None:
            self.wfile.write(body)
            return
        self.wfile.write(body[:cut])
        self.wfile.flush()
        self.close_connection = True
        _reset(self.connection)

    def _trickle(self, body: bytes, seconds: float) -> None:
        """Send ``body`` in pieces TRICKLE_GAP apart, so the whole takes about ``seconds``."""
        pieces = max(2, round(seconds / TRICKLE_GAP))
        size = max(1, -(-len(body) // pieces))
        stopping = self.server.fake._stopping
        try:
            for start in range(0, len(body), size):
                self.wfile.write(body[start : start + size])
                self.wfile.flush()
                if stopping.wait(TRICKLE_GAP):
                    break
        except OSError:  # the client gave up: that is the point
            self.close_connection = True


def _reset(sock: socket.socket) -> None:
    """Abort the connection with an RST (SO_LINGER 0), like a CDN node dying mid-answer."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
