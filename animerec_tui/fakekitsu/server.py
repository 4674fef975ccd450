"""Lifecycle: :class:`FakeKitsu`, a fake Kitsu JSON:API over real HTTP on 127.0.0.1 for tests,
benchmarks and demos, started and stopped in a background thread (a context manager).

Why a real server (and not an httpx mock): the client's retries, timeouts, connection reuse,
concurrency caps and redirects only meet reality through sockets. The behaviour reproduced
is the one written down in docs/kitsu-api.md (Kitsu on jsonapi-resources 0.9), each rule
beside its source: query parsing in query.py, document building in documents.py and
resources.py, the endpoints in library.py, people.py, anime.py and relations.py, routing and
content negotiation in api.py, HTTP in handler.py, simulated outages in faults.py.

Standard library only: ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive, one thread per
connection) in a background thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

from animerec_tui.fakekitsu.api import PREFIX, REDIRECTED_PREFIX, KitsuApi
from animerec_tui.fakekitsu.faults import Faults
from animerec_tui.fakekitsu.handler import Handler, LogEntry, Server
from animerec_tui.fakekitsu.schema import DEFAULT_LIMIT, MAX_LIBRARY_LIMIT, MAX_LIMIT
from animerec_tui.fakekitsu.store import Dataset

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIBRARY_LIMIT",
    "MAX_LIMIT",
    "PREFIX",
    "REDIRECTED_PREFIX",
    "FakeKitsu",
    "KitsuApi",
    "LogEntry",
]


def _library_limit() -> int:
    """The library paginator's maximum page size (500, schema.py), read from this module at
    every request: a test may lower ``server.MAX_LIBRARY_LIMIT`` while serving (monkeypatch)
    to meet Kitsu's 400 code 118 with a small library."""
    return MAX_LIBRARY_LIMIT


class FakeKitsu:
    """A running fake Kitsu: ``with FakeKitsu(ds) as server: httpx.get(server.url + ...)``.

    ``latency`` (seconds slept per request, in the handler thread) and ``faults`` may be
    changed while serving. ``requests``, ``log``, ``max_in_flight`` are measured on the
    server side so tests can check the client's politeness independently of the client.
    """

    def __init__(
        self,
        dataset: Dataset,
        latency: float = 0.0,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.dataset = dataset
        self.api = KitsuApi(dataset, library_limit=_library_limit)
        self.latency = latency
        self.faults = faults
        self.host = host
        self.port = port
        self.log: list[LogEntry] = []
        self.errors: list[str] = []
        """Tracebacks of bugs inside the fake itself (tests may assert it stays empty)."""
        self._requests = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: Server | None = None
        self._thread: threading.Thread | None = None
        self.on_request: Callable[[LogEntry], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeKitsu:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = Server((self.host, self.port), Handler)
        httpd.fake = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fakekitsu:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes latency and "slow" sleepers
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # idle keep-alive connections would hold threads forever
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeKitsu:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what tests read -------------------------------------------------------------------------

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL the client is given (``ANIMEREC_API_URL``)."""
        return f"{self.root}{PREFIX}"

    @property
    def requests(self) -> int:
        """Requests received so far (faulted ones included)."""
        with self._lock:
            return self._requests

    @property
    def max_in_flight(self) -> int:
        """The most requests being handled at one moment (latency sleeps included)."""
        with self._lock:
            return self._max_in_flight

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def reset_stats(self) -> None:
        with self._lock:
            self._requests = 0
            self._max_in_flight = self._in_flight
            self.log.clear()

    # -- bookkeeping (handler threads) -------------------------------------------------------------

    def _arrive(self) -> None:
        with self._lock:
            self._requests += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self, entry: LogEntry) -> None:
        with self._lock:
            self._in_flight -= 1
            self.log.append(entry)
        if self.on_request is not None:
            self.on_request(entry)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
