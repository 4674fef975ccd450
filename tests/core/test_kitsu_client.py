"""KitsuClient: narrow httpx.MockTransport tests of paging, retries, limits and encoding.

Integration tests through real sockets against the fake Kitsu server are at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import helpers
import httpx
import pytest

from animerec_tui.core.connectivity import Wait
from animerec_tui.core.errors import (
    AmbiguousUser,
    BadInput,
    BadResponse,
    KitsuRequestRejected,
    KitsuUnavailable,
    UserNotFound,
)
from animerec_tui.core.kitsu import KitsuClient
from animerec_tui.core.kitsu.client import ACCEPT, UNREACHED_ATTEMPTS
from animerec_tui.core.kitsu.retry import (
    backoff_delay,
    max_page_size,
    parse_retry_after,
    retry_delay,
)
from animerec_tui.core.progress import LibraryProgress
from animerec_tui.core.records import User
from animerec_tui.core.settings import USER_AGENT, NetworkSettings

FIXTURES = helpers.FIXTURES / "kitsu"
CASES = helpers.FIXTURES / "cases"
BASE = "https://kitsu.test/api/edge"
FAST = NetworkSettings(max_attempts=4, backoff_base=0.01, backoff_max=0.05, timeout=5.0)

Handler = Callable[[httpx.Request], Any]


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def jsonapi(doc: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(doc).encode(),
        headers={"Content-Type": "application/vnd.api+json", **headers},
    )


class Sleeps:
    """Injected sleep: records the delays and yields without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def make_client(
    handler: Handler,
    network: NetworkSettings = FAST,
    sleeps: Sleeps | None = None,
    base: str = BASE,
    **kwargs: Any,
) -> KitsuClient:
    return KitsuClient(
        base,
        network=network,
        transport=httpx.MockTransport(handler),
        sleep=sleeps or Sleeps(),
        rng=random.Random(0),
        **kwargs,
    )


def params(request: httpx.Request) -> dict[str, str]:
    items = list(request.url.params.multi_items())
    assert len(items) == len(dict(items)), f"repeated parameter in {request.url}"
    return dict(items)


# -- a small in-process Kitsu --------------------------------------------------------------


def _anime(aid: int) -> dict[str, Any]:
    return {
        "id": str(aid),
        "type": "anime",
        "attributes": {"canonicalTitle": f"Anime {aid}", "averageRating": "70.5"},
    }


class MockKitsu:
    """Enough of Kitsu for paging: one user's library and favourites, error 118 above
    ``max_limit``, concurrency tracking and optional latency."""

    STATUSES = ("completed", "current", "planned", "on_hold", "dropped")

    def __init__(
        self, entries: int = 1234, favorites: int = 47, max_limit: int = 500, latency: float = 0
    ) -> None:
        self.entries = [
            {
                "id": str(900000 + i),
                "type": "libraryEntries",
                "attributes": {"status": self.STATUSES[i % 5], "progress": i % 13},
                "relationships": {"anime": {"data": {"type": "anime", "id": str(10 + i)}}},
            }
            for i in range(entries)
        ]
        self.favorites = [
            {
                "id": str(500 + i),
                "type": "favorites",
                "attributes": {"favRank": i},
                "relationships": {"item": {"data": {"type": "anime", "id": str(20000 + i)}}},
            }
            for i in range(favorites)
        ]
        self.max_limit = max_limit
        self.latency = latency
        self.log: list[httpx.Request] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.latency)
            return self.respond(request)
        finally:
            self.in_flight -= 1

    def respond(self, request: httpx.Request) -> httpx.Response:
        p = params(request)
        path = request.url.path.removeprefix("/api/edge/")
        limit, offset = int(p.get("page[limit]", "10")), int(p.get("page[offset]", "0"))
        cap = self.max_limit if path == "library-entries" else 20
        if limit > cap:
            detail = f"Limit exceeds maximum page size of {cap}."
            return jsonapi({"errors": [{"detail": detail, "code": "118", "status": 400}]}, 400)
        if path == "library-entries":
            rows = self.entries
            if "filter[since]" in p:
                rows = rows[:3]
            page = rows[offset : offset + limit]
            included = [_anime(int(e["relationships"]["anime"]["data"]["id"])) for e in page]
            meta: dict[str, Any] = {"count": len(rows), "statusCounts": {"onHold": 7, "current": 3}}
        elif path == "favorites":
            page = self.favorites[offset : offset + limit]
            included = [_anime(int(f["relationships"]["item"]["data"]["id"])) for f in page]
            meta = {"count": len(self.favorites)}
        else:
            return jsonapi({"errors": [{"detail": "not here", "status": "404"}]}, 404)
        return jsonapi({"data": page, "included": included, "meta": meta})


USER = User(id="1001", name="alice", slug="alice")


# -- requests: headers, encoding, paths -----------------------------------------------------


async def test_headers_and_request_count() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("Accept") != "application/vnd.api+json":
            return jsonapi({"errors": [{"detail": "Not Acceptable", "status": 406}]}, 406)
        return jsonapi(load("users_filter-name.json"))

    async with make_client(handler) as client:
        users = await client.users_by_name("likesbikes")
        assert client.requests == 1
    assert [u.id for u in users] == ["391768"]
    assert seen[0].headers["User-Agent"] == USER_AGENT
    assert seen[0].url.path == "/api/edge/users"
    assert params(seen[0]) == {"filter[name]": "likesbikes", "page[limit]": "20"}


async def test_406_is_rejected_without_retry() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return jsonapi({"errors": [{"detail": "Not Acceptable", "status": 406}]}, 406)

    async with make_client(handler) as client:
        with pytest.raises(KitsuRequestRejected) as caught:
            await client.search_users("x")
        assert client.requests == 1
    assert caught.value.status == 406 and "Not Acceptable" in str(caught.value)


HOSTILE = [
    "a&filter[x]=y",
    "%",
    "%2F..%2Fadmin",
    "/",
    "../../users/1",
    "名前 ü",
    "a#b?c=d",
    "\x1b[31m[bold]x",
    "x" * 10_000,
]


@pytest.mark.parametrize("text", HOSTILE)
async def test_user_text_travels_as_one_encoded_parameter(text: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return jsonapi({"data": [], "meta": {"count": 0}})

    async with make_client(handler) as client:
        assert await client.users_by_slug(text) == []
        assert await client.users_by_name(text) == []
        assert await client.search_users(text) == []
        with pytest.raises(UserNotFound):
            await client.resolve_user(text)
        with pytest.raises(UserNotFound):
            await client.get_user(text)
    for request in seen:
        assert request.url.path == "/api/edge/users"
        sent = params(request)
        filters = [k for k in sent if k.startswith("filter[")]
        assert len(filters) == 1 and sent[filters[0]] == text
        assert set(sent) == {filters[0], "page[limit]"}


async def test_only_ascii_digits_reach_the_path() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.startswith("/api/edge/users/"):
            return jsonapi(load("users-id.json"))
        return jsonapi({"data": [], "meta": {"count": 0}})

    async with make_client(handler) as client:
        assert (await client.get_user("1337")).id == "1337"
        for text in ("²", "١٢٣", "12 ", "1/2", "1" * 19):
            with pytest.raises(UserNotFound):
                await client.get_user(text)
    assert seen[0].url.path == "/api/edge/users/1337"
    assert all(r.url.path == "/api/edge/users" for r in seen[1:])
    assert params(seen[1]) == {"filter[id]": "²", "page[limit]": "20"}


async def test_get_user_404_is_user_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return jsonapi(load("error-404.json"), 404)

    async with make_client(handler) as client:
        with pytest.raises(UserNotFound, match="99999999"):
            await client.get_user("99999999")
        assert client.requests == 1


async def test_other_4xx_are_rejected_with_a_one_line_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        error = {"detail": "No filter\nprovided \x1b[31m", "code": "102", "status": "400"}
        body = {"errors": [error]}
        return jsonapi(body, 400)

    async with make_client(handler) as client:
        with pytest.raises(KitsuRequestRejected) as caught:
            await client.library_count("1")
    assert caught.value.code == "102" and caught.value.status == 400
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)


async def test_redirect_is_followed_and_counted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "kitsu.io":
            target = str(request.url).replace("kitsu.io", "kitsu.app")
            return httpx.Response(301, headers={"Location": target})
        return jsonapi({"data": [], "meta": {"count": 1180000}})

    async with make_client(handler, base="https://kitsu.io/api/edge") as client:
        assert await client.user_count() == 1180000
        assert client.requests == 2  # both hops were sent


async def test_redirect_loop_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": str(request.url)})

    async with make_client(handler) as client:
        with pytest.raises(KitsuUnavailable, match="circles"):
            await client.user_count()


# -- retries -------------------------------------------------------------------------------


def scripted(*steps: Any, final: Any = None) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering with ``steps`` in order (Responses or exceptions to raise)."""
    queue = list(steps)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0) if queue else final
        if isinstance(step, Exception):
            raise step
        return step

    return handler, seen


OK_USERS = jsonapi({"data": [], "meta": {"count": 42}})


async def test_429_and_5xx_are_retried_with_full_jitter() -> None:
    handler, _ = scripted(
        jsonapi({}, 429),
        jsonapi({}, 503),
        httpx.Response(500, text="<html>oops</html>"),
        final=OK_USERS,
    )
    sleeps = Sleeps()
    network = NetworkSettings(max_attempts=6, backoff_base=0.5, backoff_max=30.0)
    async with make_client(handler, network, sleeps) as client:
        assert await client.user_count() == 42
        assert client.requests == 4
    assert len(sleeps.delays) == 3
    for attempt, delay in enumerate(sleeps.delays):
        assert 0 <= delay <= 0.5 * 2**attempt


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadError("reset by peer"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message"),
        httpx.ReadTimeout("slow"),
        httpx.ConnectTimeout("slow"),
        httpx.PoolTimeout("pool"),
    ],
)
async def test_transport_errors_are_retried(error: Exception) -> None:
    handler, _ = scripted(error, error, final=OK_USERS)
    async with make_client(handler) as client:
        assert await client.user_count() == 42
        assert client.requests == 3


async def test_connect_errors_give_up_fast_until_kitsu_was_reached() -> None:
    """No DNS or a refused connection: offline after 2 tries, not after the whole backoff."""
    refused = httpx.ConnectError("refused")
    handler, _ = scripted(refused, refused, refused, final=OK_USERS)
    async with make_client(handler) as client:
        with pytest.raises(KitsuUnavailable, match="after 2 attempts"):
            await client.user_count()
        assert client.requests == 2
    handler, _ = scripted(OK_USERS, refused, refused, refused, final=OK_USERS)
    async with make_client(handler) as client:
        assert await client.user_count() == 42  # reached once: later blips get full retries
        assert await client.user_count() == 42
        assert client.requests == 5


async def test_retry_after_seconds_and_date_are_honoured_and_capped() -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    handler, _ = scripted(
        jsonapi({}, 429, **{"Retry-After": "2"}),
        jsonapi({}, 503, **{"Retry-After": soon}),
        jsonapi({}, 429, **{"Retry-After": "86400"}),
        jsonapi({}, 429, **{"Retry-After": "soonish"}),
        final=OK_USERS,
    )
    sleeps = Sleeps()
    network = NetworkSettings(max_attempts=6, backoff_base=0.5, backoff_max=10.0)
    async with make_client(handler, network, sleeps) as client:
        assert await client.user_count() == 42
    first, second, third, fourth = sleeps.delays
    assert first == 2.0
    assert 1.0 <= second <= 3.0
    assert third == 10.0  # capped at backoff_max
    assert 0 <= fourth <= 0.5 * 2**3  # unreadable header: own backoff


async def test_persistent_5xx_becomes_unavailable_after_max_attempts() -> None:
    handler, _ = scripted(final=jsonapi({}, 503))
    async with make_client(handler) as client:
        with pytest.raises(KitsuUnavailable) as caught:
            await client.user_count()
        assert client.requests == FAST.max_attempts
    assert "503" in str(caught.value) and "4 attempts" in str(caught.value)


def recorded(name: str) -> httpx.Response:
    """A raw ``*_response.http`` case file as an httpx response (status, headers, body)."""
    raw = (CASES / name).read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines]
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=body)


NOT_KITSU = {
    "parked-domain": lambda: recorded("parked-domain/any-url_response.http"),
    "plain-text": lambda: httpx.Response(200, text="Retry later"),
    "json-array": lambda: jsonapi([1, 2]),
    "unrelated-json": lambda: httpx.Response(200, json={"status": "ok", "parked": True}),
    "data-not-a-resource": lambda: jsonapi({"data": "parked"}),
    "html-404": lambda: httpx.Response(404, html="<h1>Not Found</h1>"),
}


@pytest.mark.parametrize("answer", NOT_KITSU)
async def test_answers_that_are_not_jsonapi_documents_mean_unreachable(answer: str) -> None:
    """Issue 10 (case parked-domain): not a JSON:API document is "Kitsu cannot be reached",
    given up after UNREACHED_ATTEMPTS when Kitsu never answered (a parking page persists)."""
    handler, seen = scripted(final=None)

    def every_time(request: httpx.Request) -> httpx.Response:
        handler(request)
        return NOT_KITSU[answer]()

    async with make_client(every_time) as client:
        with pytest.raises(KitsuUnavailable, match=r"not a JSON:API|JSON:API data"):
            await client.user_count()
        assert client.requests == len(seen) == UNREACHED_ATTEMPTS


async def test_not_kitsu_once_after_kitsu_answered_is_retried() -> None:
    handler, _ = scripted(OK_USERS, recorded("parked-domain/any-url_response.http"), final=OK_USERS)
    async with make_client(handler) as client:
        assert await client.user_count() == 42
        assert await client.user_count() == 42
        assert client.requests == 3


async def test_cut_off_bodies_that_never_parse_mean_unreachable() -> None:
    cut = b'{"data": [], "meta": {"cou'
    handler, _ = scripted(final=httpx.Response(200, content=cut, headers={"Content-Type": ACCEPT}))
    async with make_client(handler) as client:
        with pytest.raises(KitsuUnavailable, match="not JSON"):
            await client.user_count()
        assert client.requests == FAST.max_attempts


async def test_truncated_body_once_then_fine() -> None:
    handler, _ = scripted(httpx.Response(200, content=b'{"data": [], "me'), final=OK_USERS)
    async with make_client(handler) as client:
        assert await client.user_count() == 42
        assert client.requests == 2


async def _never(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(3600)  # accepted, never answered
    raise AssertionError("unreachable")


async def test_bounded_action_gives_up_at_its_deadline_whatever_the_server_does() -> None:
    """Issue 10: one deadline for a whole action (concurrent requests, retries, backoff)."""
    network = NetworkSettings(max_attempts=6, backoff_base=0.01, backoff_max=0.05, timeout=60.0)
    async with make_client(_never, network=network) as client:
        started = time.perf_counter()
        expected = pytest.raises(KitsuUnavailable, match=r"no answer within 0\.5 s in all")
        with expected, client.bounded(0.5):
            await asyncio.gather(client.user_count(), client.search_users("x"))
        assert time.perf_counter() - started < 10  # 60 s per request without the bound


async def test_bounded_action_tells_its_wait_each_attempt_and_failure() -> None:
    handler, _ = scripted(jsonapi({}, 503), jsonapi({}, 503), final=OK_USERS)
    wait = Wait("search", 5.0)
    async with make_client(handler) as client:
        with client.bounded(5.0, wait):
            assert await client.user_count() == 42
    assert (wait.attempt, wait.requests, wait.last_failure) == (3, 3, "HTTP 503")
    assert "attempt 3" in wait.describe() and "HTTP 503" in wait.describe()


async def test_a_retry_due_after_the_deadline_is_not_waited_for() -> None:
    handler, _ = scripted(final=jsonapi({}, 429, **{"Retry-After": "30"}))
    sleeps = Sleeps()
    network = NetworkSettings(max_attempts=6, backoff_base=0.01, backoff_max=60.0, timeout=5.0)
    async with make_client(handler, network=network, sleeps=sleeps) as client:
        expected = pytest.raises(KitsuUnavailable, match=r"after 1 attempt: HTTP 429")
        with expected, client.bounded(2.0):
            await client.user_count()
    assert sleeps.delays == []


async def test_mixed_failures_end_as_unavailable() -> None:
    handler, _ = scripted(httpx.Response(200, text="x"), final=jsonapi({}, 502))
    async with make_client(handler) as client:
        with pytest.raises(KitsuUnavailable):
            await client.user_count()


async def test_unreachable_port_fails_fast() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    network = NetworkSettings(max_attempts=3, backoff_base=0.01, backoff_max=0.02, timeout=2.0)
    started = time.perf_counter()
    async with KitsuClient(f"http://127.0.0.1:{port}/api/edge", network=network) as client:
        with pytest.raises(KitsuUnavailable) as caught:
            await client.resolve_user("alice")
        assert client.requests == 2  # never reached: no full backoff before going offline
    assert time.perf_counter() - started < 2.0
    assert "\n" not in str(caught.value) and f"127.0.0.1:{port}" in str(caught.value)


async def test_bad_scheme_is_unavailable_without_retries() -> None:
    async with KitsuClient("ftp://kitsu.test/api", network=FAST) as client:
        with pytest.raises(KitsuUnavailable, match="bad API address"):
            await client.user_count()


# -- paging --------------------------------------------------------------------------------


async def test_fetch_library_pages_concurrently() -> None:
    kitsu = MockKitsu(entries=1234, favorites=47, latency=0.02)
    seen: list[LibraryProgress] = []
    async with make_client(kitsu) as client:
        library = await client.fetch_library(USER, progress=seen.append)
        assert client.requests == 6  # 3 library pages + 3 favourites pages
    assert kitsu.max_in_flight == 4  # the four later pages at once (default concurrency)
    first_two = {params(r).get("filter[itemType]", "lib") for r in kitsu.log[:2]}
    assert first_two == {"lib", "Anime"}  # both first pages went out together
    assert len(library.entries) == 1234 and len(library.favorites) == 47
    assert library.entries == sorted(library.entries, key=lambda e: int(e.anime_id))
    assert [f.fav_rank for f in library.favorites] == list(range(47))
    assert len(library.anime) == 1234 + 47
    assert library.status_counts == {"on_hold": 7, "current": 3}
    assert {e.user_id for e in library.entries} == {"1001"}
    assert seen[0] == LibraryProgress(500, 1234, 2, 6)
    assert seen[-1] == LibraryProgress(1234, 1234, 6, 6)
    assert [p.pages_done for p in seen] == [2, 3, 4, 5, 6]
    lib = [params(r) for r in kitsu.log if r.url.path.endswith("library-entries")]
    assert sorted(int(p["page[offset]"]) for p in lib) == [0, 500, 1000]
    assert lib[0]["fields[libraryEntries]"].split(",")[-1] == "anime"
    assert lib[0]["include"] == "anime" and lib[0]["filter[kind]"] == "anime"
    fav = [params(r) for r in kitsu.log if r.url.path.endswith("favorites")]
    assert sorted(int(p["page[offset]"]) for p in fav) == [0, 20, 40]


async def test_fetch_library_respects_concurrency_setting() -> None:
    kitsu = MockKitsu(entries=5000, favorites=200, latency=0.01)
    async with make_client(kitsu, concurrency=2) as client:
        library = await client.fetch_library(USER)
    assert kitsu.max_in_flight == 2
    assert len(library.entries) == 5000 and len(library.favorites) == 200


async def test_fetch_library_since_and_empty() -> None:
    kitsu = MockKitsu(entries=1234, favorites=0)
    async with make_client(kitsu) as client:
        library = await client.fetch_library(USER, since="2024-01-01T00:00:00Z")
        assert client.requests == 2
    assert (
        params(kitsu.log[0]).get("filter[since]") == "2024-01-01T00:00:00Z"
        or params(kitsu.log[1]).get("filter[since]") == "2024-01-01T00:00:00Z"
    )
    assert len(library.entries) == 3 and library.favorites == []


async def test_error_118_shrinks_the_page_once_and_paging_follows() -> None:
    kitsu = MockKitsu(entries=45, favorites=0, max_limit=20)
    async with make_client(kitsu) as client:
        library = await client.fetch_library(USER)
        assert client.requests == 1 + 1 + 3  # 118, favourites, 3 pages of 20
    assert len(library.entries) == 45
    limits = [params(r)["page[limit]"] for r in kitsu.log if "library" in r.url.path]
    assert limits == ["500", "20", "20", "20"]


async def test_error_118_twice_is_rejected() -> None:
    handler, seen = scripted(final=jsonapi(load("error-118.json"), 400))
    async with make_client(handler) as client:
        with pytest.raises(KitsuRequestRejected) as caught:
            await client.anime_entries("1")
        assert client.requests == 2
    assert caught.value.code == "118"
    assert [params(r)["page[limit]"] for r in seen] == ["500", "20"]


async def test_silently_clamped_pages_are_followed() -> None:
    """A server that serves fewer rows than asked (without error 118) must not lose rows."""
    kitsu = MockKitsu(entries=95, favorites=0)

    def clamping(request: httpx.Request) -> Any:
        if request.url.path.endswith("library-entries"):
            request = httpx.Request("GET", request.url.copy_set_param("page[limit]", "40"))
        return kitsu(request)

    async with make_client(clamping) as client:
        library = await client.fetch_library(USER)
    assert len(library.entries) == 95


async def test_shifting_pages_are_deduplicated() -> None:
    kitsu = MockKitsu(entries=30, favorites=0, max_limit=10)
    original = kitsu.respond

    def shifted(request: httpx.Request) -> httpx.Response:
        p = params(request)
        if p.get("page[offset]") == "20":  # an entry was deleted meanwhile: page shifts by one
            request = httpx.Request("GET", request.url.copy_set_param("page[offset]", "19"))
        return original(request)

    kitsu.respond = shifted  # type: ignore[method-assign]
    async with make_client(kitsu) as client:
        library = await client.fetch_library(USER)
    ids = [e.id for e in library.entries]
    assert len(ids) == len(set(ids)) == 29  # entry 19 came twice; 29 was never served


async def test_one_failing_page_fails_the_fetch_cleanly() -> None:
    kitsu = MockKitsu(entries=1500, favorites=0)
    original = kitsu.respond

    def broken(request: httpx.Request) -> httpx.Response:
        if params(request).get("page[offset]") == "1000":
            return jsonapi({}, 503)
        return original(request)

    kitsu.respond = broken  # type: ignore[method-assign]
    async with make_client(kitsu) as client:
        with pytest.raises(KitsuUnavailable):  # not an ExceptionGroup
            await client.fetch_library(USER)


async def test_implausible_meta_count_is_bad_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return jsonapi({"data": [], "meta": {"count": 99_000_000}})

    async with make_client(handler) as client:
        with pytest.raises(BadResponse, match="pages"):
            await client.fetch_library(USER)


async def test_library_count_and_anime_entries() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "filter[animeId]" in params(request):
            return jsonapi(load("library-entries_filter-animeId.json"))
        return jsonapi({"data": [], "meta": {"count": 681}})

    async with make_client(handler) as client:
        assert await client.library_count("137140") == 681
        page = await client.anime_entries("1", limit=3, offset=6)
        with pytest.raises(BadInput):
            await client.anime_entries("1&x=y")
    assert page.count == 1203 and [e.user_id for e in page.entries] == ["391768", "1337", "42"]
    assert params(seen[0])["page[limit]"] == "1"
    assert params(seen[0])["filter[userId]"] == "137140"
    p = params(seen[1])
    assert p["filter[animeId]"] == "1" and p["page[limit]"] == "3" and p["page[offset]"] == "6"
    assert p["fields[libraryEntries]"] == "status,ratingTwenty,updatedAt,user"
    assert p["include"] == "user"  # Kitsu links only included relationships


# -- users ---------------------------------------------------------------------------------


def _user(uid: str, name: str, slug: str | None) -> dict[str, Any]:
    return {"id": uid, "type": "users", "attributes": {"name": name, "slug": slug}}


def users_handler(people: list[dict[str, Any]]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        p = params(request)
        if request.url.path.startswith("/api/edge/users/"):
            uid = request.url.path.rsplit("/", 1)[1]
            found = [u for u in people if u["id"] == uid]
            if not found:
                return jsonapi(load("error-404.json"), 404)
            return jsonapi({"data": found[0]})
        key, value = next((k, v) for k, v in p.items() if k.startswith("filter["))
        field = key[7:-1]
        found = [u for u in people if (u["attributes"].get(field) or "").lower() == value.lower()]
        return jsonapi({"data": found, "meta": {"count": len(found)}})

    return handler


PEOPLE = [
    _user("1", "alice", "alice"),
    _user("2", "bob", None),
    _user("3", "bob", "bobby"),
    _user("4", "Carol", None),
]


async def test_resolve_user() -> None:
    async with make_client(users_handler(PEOPLE)) as client:
        assert (await client.resolve_user("1")).name == "alice"
        assert client.requests == 1
        assert (await client.resolve_user(" alice ")).id == "1"
        assert client.requests == 2  # slug hit: one request
        assert (await client.resolve_user("bobby")).id == "3"
        assert (await client.resolve_user("carol")).id == "4"  # slug miss, then name
        with pytest.raises(AmbiguousUser) as caught:
            await client.resolve_user("bob")
        with pytest.raises(UserNotFound):
            await client.resolve_user("nobody")
        with pytest.raises(UserNotFound):
            await client.resolve_user("99")
        with pytest.raises(UserNotFound):
            await client.resolve_user("   ")
    assert [(c.id, c.name, c.slug) for c in caught.value.candidates] == [
        ("2", "bob", None),
        ("3", "bob", "bobby"),
    ]
    assert "\n" not in str(caught.value)


async def test_search_users_caps_the_page() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return jsonapi(load("users_filter-name.json"))

    async with make_client(handler) as client:
        assert len(await client.search_users("likes", limit=500)) == 1
        assert await client.search_users("  ") == []
    assert params(seen[0]) == {"filter[query]": "likes", "page[limit]": "20"}


# -- limits --------------------------------------------------------------------------------


async def test_global_concurrency_includes_every_caller() -> None:
    kitsu = MockKitsu(entries=0, favorites=0, latency=0.02)
    async with make_client(kitsu, concurrency=3) as client:
        await asyncio.gather(*(client.library_count(str(i)) for i in range(12)))
    assert kitsu.max_in_flight == 3


async def test_max_rps_spaces_requests() -> None:
    times: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append(time.perf_counter())
        return OK_USERS

    client = KitsuClient(BASE, network=FAST, transport=httpx.MockTransport(handler), max_rps=20)
    async with client:
        await asyncio.gather(*(client.user_count() for _ in range(8)))
    assert times[-1] - times[0] >= 7 / 20 - 0.02
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1 / 20 - 0.02


# -- retry arithmetic ----------------------------------------------------------------------


def test_retry_arithmetic() -> None:
    rng = random.Random(1)
    assert all(0 <= backoff_delay(a, 0.5, 30, rng) <= min(30, 0.5 * 2**a) for a in range(40))
    assert backoff_delay(10_000, 0.5, 30, rng) <= 30
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("nan") is None and parse_retry_after("") is None
    assert parse_retry_after(None) is None and parse_retry_after("later") is None
    now = datetime(2024, 8, 11, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 11 Aug 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sun, 11 Aug 2024 11:00:00 GMT", now=now) == 0.0
    assert retry_delay(0, retry_after=99.0, base=0.5, cap=30.0, rng=rng) == 30.0
    assert max_page_size("Limit exceeds maximum page size of 20.") == 20
    assert max_page_size("Limit exceeds maximum page size of 0.") is None
    assert max_page_size(None) is None and max_page_size("nope") is None


# -- integration: the fake Kitsu server over real sockets ----------------------------------


@pytest.fixture(scope="module")
def fake() -> Any:
    import animerec_tui.fakekitsu as module

    return module


@pytest.fixture(scope="module")
def population(fake: Any) -> Any:
    ds = fake.Dataset(seed=0)
    ds.add_anime(n=3000)
    ds.add_user(id="1001", name="alice", slug="alice", entries=1234, favorites=47)
    ds.add_user(id="1002", name="sam", slug="sam-a", entries=15, favorites=0)
    ds.add_user(id="1003", name="sam", slug=None, entries=12, favorites=1)
    ds.add_user(id="1005", name="nina", slug=None, entries=3, favorites=2)
    return ds


@pytest.fixture
def server(fake: Any, population: Any) -> Any:
    with fake.FakeKitsu(population, latency=0.0) as srv:
        yield srv


def _sent(server: Any) -> int:
    requests = server.requests
    return requests if isinstance(requests, int) else len(requests)


async def _fetch(url: str, query: str, network: NetworkSettings = FAST) -> tuple[Any, int]:
    async with KitsuClient(url, network=network) as client:
        user = await client.resolve_user(query)
        library = await client.fetch_library(user)
        return library, client.requests


@pytest.mark.parametrize("query", ["alice", "1001"])
async def test_real_fetch_takes_seven_requests_in_three_round_trips(
    server: Any, query: str
) -> None:
    server.latency = 0.1
    library, requests = await _fetch(server.url, query)
    # 1 user lookup + 3 library pages (500+500+234) + 3 favourites pages (20+20+7)
    assert requests == 7
    assert _sent(server) == 7
    # round trip 1: the user; 2: both first pages together; 3: the other four at once
    assert server.max_in_flight == 4
    assert len(library.entries) == 1234 and len(library.favorites) == 47
    assert library.user.id == "1001"
    assert sum(library.status_counts.values()) == 1234
    assert {e.anime_id for e in library.entries} <= set(library.anime)
    assert {f.anime_id for f in library.favorites} <= set(library.anime)


async def test_real_fetch_survives_thirty_percent_server_errors(fake: Any, server: Any) -> None:
    clean, clean_requests = await _fetch(server.url, "1001")
    server.faults = fake.Faults(rate=0.3, kinds=("429", "503", "500"), seed=1)
    network = NetworkSettings(max_attempts=12, backoff_base=0.005, backoff_max=0.02, timeout=5.0)
    faulty, faulty_requests = await _fetch(server.url, "1001", network)
    assert faulty == clean
    assert faulty_requests > clean_requests  # the retries were real


@pytest.mark.parametrize("kind", ["drop", "reset-mid-body", "truncated", "slow", "redirect"])
async def test_real_fetch_with_broken_connections_completes(
    fake: Any, server: Any, kind: str
) -> None:
    clean, _ = await _fetch(server.url, "1001")
    server.faults = fake.Faults(rate=0.3, kinds=(kind,), seed=2, slow_seconds=1.5)
    network = NetworkSettings(max_attempts=8, backoff_base=0.005, backoff_max=0.02, timeout=0.5)
    faulty, _ = await _fetch(server.url, "1001", network)
    assert faulty == clean
    assert server.faults.injected  # the faults really happened


async def test_real_trickling_answer_is_cut_off_by_the_whole_request_deadline(
    fake: Any, server: Any
) -> None:
    """Each piece of a trickled answer arrives well within the read timeout, so only the
    whole-request deadline stops it: attempts end, are retried, and the fetch is complete."""
    clean, _ = await _fetch(server.url, "1005")
    server.faults = fake.Faults(script=["trickle", "trickle"], slow_seconds=30.0)
    network = NetworkSettings(max_attempts=3, backoff_base=0.005, backoff_max=0.01, timeout=0.5)
    faulty, _ = await asyncio.wait_for(_fetch(server.url, "1005", network), timeout=20)
    assert faulty == clean and server.faults.injected == ["trickle", "trickle"]
    server.faults = fake.Faults(rate=1.0, kinds=("trickle",), seed=4, slow_seconds=30.0)
    async with KitsuClient(server.url, network=network) as client:
        with pytest.raises(KitsuUnavailable, match=r"no full answer within 0\.5s"):
            await asyncio.wait_for(client.resolve_user("alice"), timeout=20)


async def test_real_every_request_fails_is_unavailable(fake: Any, server: Any) -> None:
    server.faults = fake.Faults(rate=1.0, kinds=("503",), seed=3)
    network = NetworkSettings(max_attempts=3, backoff_base=0.005, backoff_max=0.01, timeout=2.0)
    async with KitsuClient(server.url, network=network) as client:
        with pytest.raises(KitsuUnavailable):
            await client.resolve_user("alice")
        assert client.requests == 3


async def test_real_ambiguous_and_unknown_users(server: Any) -> None:
    async with KitsuClient(server.url, network=FAST) as client:
        with pytest.raises(AmbiguousUser) as caught:
            await client.resolve_user("sam")
        assert {c.id for c in caught.value.candidates} == {"1002", "1003"}
        assert (await client.resolve_user("sam-a")).id == "1002"
        assert (await client.resolve_user("NINA")).id == "1005"  # slug null: by name
        for unknown in ("nobody", "999999", "a&filter[name]=alice", "%", "../users/1001"):
            with pytest.raises(UserNotFound):
                await client.resolve_user(unknown)
        with pytest.raises(UserNotFound):
            await client.get_user("999999")


async def test_real_counts_and_anime_entries(server: Any) -> None:
    async with KitsuClient(server.url, network=FAST) as client:
        assert await client.library_count("1001") == 1234
        assert await client.user_count() >= 4
        library = await client.fetch_library(await client.get_user("1005"))
        anime_id = library.entries[0].anime_id
        page = await client.anime_entries(anime_id, limit=500)
    assert page.count >= 1 and len(page.entries) == page.count
    assert "1005" in {e.user_id for e in page.entries}
    assert all(e.anime_id == anime_id for e in page.entries)
    assert set(page.users) == {e.user_id for e in page.entries}


async def test_real_stopped_server_is_unavailable_quickly(fake: Any, population: Any) -> None:
    with fake.FakeKitsu(population, latency=0.0) as stopped:
        url = stopped.url
    network = NetworkSettings(max_attempts=3, backoff_base=0.01, backoff_max=0.02, timeout=2.0)
    started = time.perf_counter()
    async with KitsuClient(url, network=network) as client:
        with pytest.raises(KitsuUnavailable):
            await client.resolve_user("alice")
    assert time.perf_counter() - started < 2.0
