"""KitsuClient: the only code that talks HTTP to Kitsu.

Design points, each learned from how Kitsu behaves (docs/kitsu-api.md):

* A whole library is ``include=anime`` pages of 500: a few requests instead of one per
  entry. The first page tells ``meta.count``, so every other page is known at once and goes
  out concurrently; the favourites' first page travels alongside the library's.
* Every attempt (retries and redirects included) passes one global semaphore and, when
  ``max_rps`` is set, one interval limiter, so no combination of callers can exceed the
  settings: a crawl stays polite however many coroutines share the client.
* Kitsu's CDN answers 429/5xx, HTML pages or cut-off bodies under load: those are retried
  with full-jitter backoff (``Retry-After`` wins) and only then become
  :class:`KitsuUnavailable`. Any other 4xx with a JSON:API error document is our fault and is
  not retried (:class:`KitsuRequestRejected`).
* Anything that is not a JSON:API document (an HTML page with 200, as every kitsu.io URL gave
  during the 2024 domain expiry; a wrong content type; JSON without ``data``) is not Kitsu:
  :class:`KitsuUnavailable`, so callers serve the cache. Before Kitsu ever answered, such an
  answer (like a refused connection) gets only :data:`UNREACHED_ATTEMPTS` tries.
* :meth:`KitsuClient.bounded` caps the whole of an action (a search: every lookup, attempt
  and backoff) by one deadline, whatever the server does (never answers, trickles).
* User text never reaches a URL path: it travels as query parameters that httpx encodes, so
  ``"a&filter[x]=y"`` is a name, not an extra filter. Only ASCII digits become ``/users/N``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import json
import random
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from animerec_tui.core.connectivity import Wait
from animerec_tui.core.errors import (
    AmbiguousUser,
    AnimerecError,
    BadInput,
    BadResponse,
    KitsuRequestRejected,
    KitsuUnavailable,
    UserChoice,
    UserNotFound,
)
from animerec_tui.core.kitsu import jsonapi
from animerec_tui.core.kitsu.jsonapi import JsonObject, one_line
from animerec_tui.core.kitsu.retry import is_retryable_status, max_page_size, parse_retry_after
from animerec_tui.core.kitsu.retry import retry_delay as _retry_delay
from animerec_tui.core.progress import LibraryProgress
from animerec_tui.core.records import (
    Anime,
    Favorite,
    Library,
    LibraryEntry,
    User,
    WithheldEntry,
    count_statuses,
)
from animerec_tui.core.settings import USER_AGENT, NetworkSettings
from animerec_tui.core.timestamps import iso_z, newest_stamp

T = TypeVar("T")

ACCEPT = "application/vnd.api+json"

_deadline: contextvars.ContextVar[asyncio.Timeout | None] = contextvars.ContextVar(
    "kitsu_request_deadline", default=None
)
"""The running attempt's whole-request deadline; restarted when a request is really sent."""


@dataclass(frozen=True)
class _Budget:
    when: float  # event-loop time at which the action gives up
    seconds: float
    wait: Wait | None


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "kitsu_action_budget", default=None
)
"""The deadline of the action (search, one user's fetch) the running requests belong to."""
LIBRARY_FIELDS = (
    "status,progress,reconsumeCount,ratingTwenty,progressedAt,startedAt,finishedAt,updatedAt,anime"
)
ANIME_FIELDS = (
    "canonicalTitle,titles,slug,subtype,episodeCount,averageRating,popularityRank,userCount,"
    "startDate,posterImage,ageRating,nsfw,synopsis,status"
)
ANIME_ENTRY_FIELDS = "status,ratingTwenty,updatedAt,user"
LIBRARY_PAGE = 500
"""Kitsu's maximum for library entries (everything else: 20)."""
FAVORITES_PAGE = 20
ANIME_BATCH = 20
"""Anime described per ``/anime?filter[id]=...`` request: Kitsu's page maximum off the
library route."""
USERS_PAGE = 20
MAX_PAGES = 5_000
"""More pages than this for one library means ``meta.count`` is lying: refuse to plan them."""
UNREACHED_ATTEMPTS = 2
"""Attempts before giving up on a Kitsu this client has never reached (no DNS, refused) or
that has never answered like Kitsu (a parking page): that does not heal in seconds, and people
should not wait the full backoff to go offline."""
JSON_MEDIA = ("application/vnd.api+json", "application/json")
"""Content types a Kitsu answer can have (it sends the first; proxies rewrite to the second)."""

_PATH_ID = re.compile(r"[0-9]{1,18}")
"""What may appear in a URL path: ASCII digits only (``str.isdigit`` accepts ``"²"``)."""
MAX_FILTER_ID = 64
"""Longer "ids" cannot be Kitsu ids: answer UserNotFound without sending 10 kB of text."""


@dataclass(frozen=True)
class AnimeDescriptions:
    """What :meth:`KitsuClient.describe_anime` brings back: the anime records and Kitsu's
    airing ``status`` of each (id -> tba, unreleased, upcoming, current or finished)."""

    anime: list[Anime]
    statuses: dict[str, str]


class _Retry(Exception):
    """One failed attempt that deserves another (internal to :meth:`KitsuClient._get`)."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        # "connect" (never connected), "unavailable" (network, timeout, 502/503/504),
        # "server" (Kitsu answered 500 or 429), "body" (JSON cut off) or "not-kitsu" (an
        # answer that is not a JSON:API document)
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after


@dataclass
class _Tries:
    """What one :meth:`KitsuClient._get` has tried so far, for its give-up message."""

    attempts: int = 0
    last: str = ""
    answered: bool = True
    """Every failed try so far was Kitsu itself answering 500 or 429 (kind ``server``)."""

    def gave_up(self, url: str, why: str | None = None) -> str:
        tried = f"after {self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        if why is None:
            return f"{url} {tried}: {self.last}"
        return f"{url} {why} ({tried}{'; last: ' + self.last if self.last else ''})"


async def _gather(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Run concurrently; on the first failure cancel the rest and raise *that* error.

    A TaskGroup cancels siblings (``asyncio.gather`` would leave them running), but wraps
    errors in an ExceptionGroup that callers catching ``KitsuUnavailable`` would miss, so it
    is unwrapped here, preferring an :class:`AnimerecError`.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(coro) for coro in coros]
    except BaseExceptionGroup as failed:
        leaves = list(_leaves(failed))
        chosen = next((e for e in leaves if isinstance(e, AnimerecError)), leaves[0])
        raise chosen from None
    return [task.result() for task in tasks]


def _leaves(group: BaseExceptionGroup[Any]) -> Iterable[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return one_line(f"{name}: {text}" if text else name, 120)


def _redacted(url: str) -> str:
    """``url`` without credentials or query, for messages and logs."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "(the configured API address)"


def _sort_entries(entries: Iterable[LibraryEntry]) -> list[LibraryEntry]:
    return sorted(entries, key=lambda e: (int(e.anime_id), e.id or ""))


def _sort_favorites(favorites: Iterable[Favorite]) -> list[Favorite]:
    big = 1 << 62
    return sorted(
        favorites,
        key=lambda f: (f.fav_rank if f.fav_rank is not None else big, int(f.anime_id), f.id or ""),
    )


class KitsuClient:
    """Async client for Kitsu's public JSON:API; use as ``async with KitsuClient(...)``."""

    def __init__(
        self,
        base_url: str,
        network: NetworkSettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_rps: float | None = None,
        concurrency: int | None = None,
        user_agent: str = USER_AGENT,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.network = network or NetworkSettings()
        self.base_url = base_url.rstrip("/")
        self.shown_url = _redacted(self.base_url)
        """The base URL as messages show it: no ``user:password@``, no query (secrets)."""
        self.concurrency = max(
            1, concurrency if concurrency is not None else self.network.concurrency
        )
        self.max_rps = max_rps if max_rps is not None and max_rps > 0 else None
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._interval = 1.0 / self.max_rps if self.max_rps else 0.0
        self._next_slot = 0.0
        self._requests = 0
        self._page_caps: dict[str, int] = {}
        self._reached = False
        self._answered = False  # a JSON:API document came back: this is Kitsu
        timeout = max(self.network.timeout, 0.001)
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            transport=transport,
            follow_redirects=True,
            headers={"Accept": ACCEPT, "User-Agent": user_agent},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            ),
            event_hooks={"request": [self._before_send]},
        )
        self.server_date: str | None = None
        """The ``Date`` header of the latest answer (Kitsu's clock, ISO-8601 UTC), if any."""
        self._http.event_hooks["response"] = [self._note_server_date]

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> KitsuClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def requests(self) -> int:
        """HTTP requests actually sent: retries and redirect hops included."""
        return self._requests

    @staticmethod
    @contextlib.contextmanager
    def bounded(seconds: float, wait: Wait | None = None) -> Iterator[None]:
        """Every request made inside (concurrent ones too) shares one deadline, ``seconds``
        from now: attempts, backoff and waits for a connection slot included. Past it,
        :class:`KitsuUnavailable`. ``wait`` (if given) is told of each attempt and failure."""
        deadline = asyncio.get_running_loop().time() + max(seconds, 0.001)
        token = _budget.set(_Budget(deadline, seconds, wait))
        try:
            yield
        finally:
            _budget.reset(token)

    # -- transport -----------------------------------------------------------------------------

    async def _before_send(self, request: httpx.Request) -> None:
        """Runs for every request httpx sends (redirect hops too): rate cap, then count."""
        if self._interval:
            now = asyncio.get_running_loop().time()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
            if slot > now:
                await self._sleep(slot - now)
        self._requests += 1
        deadline = _deadline.get()
        if deadline is not None:  # the clock starts now, not while waiting for a rate slot
            deadline.reschedule(asyncio.get_running_loop().time() + self._timeout)

    async def _note_server_date(self, response: httpx.Response) -> None:
        """Keep Kitsu's clock (the RFC 7231 ``Date`` header): refresh watermarks use it."""
        raw = response.headers.get("Date")
        if not raw:
            return
        try:
            moment = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return
        if moment.tzinfo is not None:
            self.server_date = iso_z(moment)

    def _clamp(self, path: str, params: dict[str, str]) -> dict[str, str]:
        cap = self._page_caps.get(path)
        limit = params.get("page[limit]")
        if cap is not None and limit is not None and limit.isdigit() and int(limit) > cap:
            return {**params, "page[limit]": str(cap)}
        return params

    def page_limit(self, path: str, wanted: int) -> int:
        """The page size actually usable on ``path`` after any error-118 downgrade."""
        return min(wanted, self._page_caps.get(path, wanted))

    async def _get(self, path: str, params: dict[str, str]) -> JsonObject:
        """GET ``path`` and return its JSON:API document, retrying what deserves a retry.

        Raises :class:`KitsuUnavailable` (no answer, 5xx, not Kitsu, past the action's
        :meth:`bounded` deadline), :class:`KitsuRequestRejected` (a JSON:API 4xx).
        """
        budget = _budget.get()
        tries = _Tries()
        if budget is None:
            return await self._tries(path, params, tries, None)
        try:
            async with asyncio.timeout_at(budget.when):
                return await self._tries(path, params, tries, budget)
        except TimeoutError:
            raise KitsuUnavailable(
                tries.gave_up(self.shown_url, f"no answer within {budget.seconds:g} s in all")
            ) from None

    async def _tries(
        self, path: str, params: dict[str, str], tries: _Tries, budget: _Budget | None
    ) -> JsonObject:
        attempts = max(1, self.network.max_attempts)
        shrunk = False
        while tries.attempts < attempts:
            tries.attempts += 1
            sent = self._clamp(path, params)
            if budget is not None and budget.wait is not None:
                budget.wait.attempt_started(tries.attempts)
            try:
                async with self._semaphore:
                    return await self._attempt(path, sent)
            except _Retry as failure:
                tries.last = failure.detail
                tries.answered = tries.answered and failure.kind == "server"
                if budget is not None and budget.wait is not None:
                    budget.wait.attempt_failed(failure.detail)
                if tries.attempts >= attempts:
                    break
                never = (failure.kind == "connect" and not self._reached) or (
                    failure.kind == "not-kitsu" and not self._answered
                )
                if never and tries.attempts >= UNREACHED_ATTEMPTS:
                    break  # never connected, or never answered like Kitsu: not in seconds
                delay = _retry_delay(
                    tries.attempts - 1,
                    retry_after=failure.retry_after,
                    base=self.network.backoff_base,
                    cap=self.network.backoff_max,
                    rng=self._rng,
                )
                loop = asyncio.get_running_loop()
                if budget is not None and loop.time() + delay >= budget.when:
                    break  # the retry would come after the deadline: give up now
                await self._sleep(delay)
            except KitsuRequestRejected as rejected:
                size = max_page_size(rejected.detail) if rejected.code == "118" else None
                limit = sent.get("page[limit]", "")
                if shrunk or size is None or not limit.isdigit() or size >= int(limit):
                    raise
                self._page_caps[path] = size  # later pages of this crawl use it too
                shrunk = True
                tries.attempts -= 1  # the downgrade is a correction, not a failure
        raise KitsuUnavailable(tries.gave_up(self.shown_url), answered=tries.answered)

    async def _attempt(self, path: str, params: dict[str, str]) -> JsonObject:
        # httpx's timeouts bound each connect, write and read, not the whole answer: a body
        # that trickles in, a byte at a time, would hold a fetch forever. So ``timeout`` is
        # also the most one request (each redirect hop anew) may take from send to last byte.
        try:
            async with asyncio.timeout(None) as deadline:
                token = _deadline.set(deadline)
                try:
                    response = await self._http.get(path, params=params)
                finally:
                    _deadline.reset(token)
        except TimeoutError:
            raise _Retry("unavailable", f"no full answer within {self._timeout:g}s") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise KitsuUnavailable(
                f"bad API address {self.shown_url!r} ({_describe(exc)})"
            ) from None
        except httpx.TooManyRedirects:
            raise KitsuUnavailable(f"{self.shown_url} redirects in circles") from None
        except httpx.ConnectError as exc:
            raise _Retry("connect", _describe(exc)) from None
        except httpx.TimeoutException as exc:
            raise _Retry("unavailable", f"timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retry("unavailable", _describe(exc)) from None
        self._reached = True
        status = response.status_code
        if is_retryable_status(status):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            # 500 (an error in Kitsu's code for this request) and 429 (slow down) come from
            # Kitsu itself, up and answering; 502/503/504 are its gateway saying it is down
            kind = "server" if status in (429, 500) else "unavailable"
            raise _Retry(kind, f"HTTP {status}", retry_after)
        media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        shown = one_line(media or "no content type", 60)
        if 200 <= status < 300:
            if media and media not in JSON_MEDIA:  # a parking page, a captive portal
                raise _Retry("not-kitsu", f"HTTP {status} {shown} page, not a JSON:API document")
            try:
                doc = json.loads(response.content)
            except (ValueError, RecursionError):  # cut off on the way (CDN under load)
                raise _Retry("body", f"HTTP {status} body is not JSON ({shown})") from None
            problem = jsonapi.not_a_document(doc)
            if problem is not None:
                raise _Retry("not-kitsu", f"HTTP {status} answer is {problem}")
            assert isinstance(doc, dict)
            self._answered = True
            return doc
        if status < 400:
            raise KitsuUnavailable(f"unexpected HTTP {status} from {self.shown_url}")
        try:
            body: object = json.loads(response.content)
        except (ValueError, RecursionError):
            body = None
        detail, code = jsonapi.error_details(body)
        if detail is None and code is None and media not in JSON_MEDIA:
            # Kitsu's 4xx are JSON:API error documents; an HTML 403/404 is some other host's
            raise _Retry("not-kitsu", f"HTTP {status} {shown} page, not a JSON:API document")
        self._answered = True
        raise KitsuRequestRejected(
            status, one_line(detail or response.reason_phrase or "no detail", 200), code
        )

    # -- users ---------------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> User:
        """``GET /users/{id}``; anything but ASCII digits is looked up via ``filter[id]``."""
        if _PATH_ID.fullmatch(user_id):
            try:
                return jsonapi.parse_user_document(await self._get(f"users/{user_id}", {}))
            except KitsuRequestRejected as exc:
                if exc.status == 404:
                    raise UserNotFound(user_id) from None
                raise
        if not user_id.strip() or len(user_id) > MAX_FILTER_ID:
            raise UserNotFound(user_id)
        try:
            found = await self._users({"filter[id]": user_id})
        except KitsuRequestRejected as exc:
            if exc.status in (400, 404):
                raise UserNotFound(user_id) from None
            raise
        match = [u for u in found if u.id == user_id]
        if not match:
            raise UserNotFound(user_id)
        return match[0]

    async def _users(self, params: dict[str, str], limit: int = USERS_PAGE) -> list[User]:
        params = {**params, "page[limit]": str(limit)}
        return jsonapi.parse_users(await self._get("users", params))

    async def users_by_slug(self, slug: str) -> list[User]:
        """Exact (case-insensitive) slug match: 0 or 1 user, though many have no slug."""
        if not slug.strip():
            return []
        return await self._users({"filter[slug]": slug})

    async def users_by_name(self, name: str) -> list[User]:
        """Exact (case-insensitive) name match: names are not unique, so 0..n users."""
        if not name.strip():
            return []
        return await self._users({"filter[name]": name})

    async def search_users(self, query: str, limit: int = 20) -> list[User]:
        """Kitsu's fuzzy ``filter[query]`` search: at most ``limit`` users (capped at Kitsu's
        page of 20), best match first as Kitsu ranks them; ``[]`` for a blank query. Raises
        what :meth:`_get` raises (KitsuUnavailable, KitsuRequestRejected, BadResponse)."""
        if not query.strip():
            return []
        return await self._users({"filter[query]": query}, max(1, min(limit, USERS_PAGE)))

    async def resolve_user(self, query: str) -> User:
        """The one user ``query`` names: digits are an id; otherwise an exact slug, then an
        exact name. Raises UserNotFound (nothing matches, or a blank query), AmbiguousUser
        (several users share the name; it lists their ids), and what :meth:`_get` raises."""
        query = query.strip()
        if not query:
            raise UserNotFound(query)
        if _PATH_ID.fullmatch(query):
            return await self.get_user(query)
        by_slug = await self.users_by_slug(query)
        if len(by_slug) == 1:
            return by_slug[0]
        if len(by_slug) > 1:  # slugs are unique on Kitsu; prefer the exact spelling
            exact = [u for u in by_slug if u.slug == query]
            if len(exact) == 1:
                return exact[0]
        by_name = await self.users_by_name(query)
        if len(by_name) == 1:
            return by_name[0]
        if not by_name:
            if by_slug:
                raise AmbiguousUser(query, [UserChoice(u.id, u.name, u.slug) for u in by_slug])
            raise UserNotFound(query)
        raise AmbiguousUser(query, [UserChoice(u.id, u.name, u.slug) for u in by_name])

    async def user_count(self) -> int:
        return jsonapi.meta_count(await self._get("users", {"page[limit]": "1"}))

    # -- libraries -----------------------------------------------------------------------------

    def _library_params(self, user_id: str, since: str | None) -> dict[str, str]:
        params = {
            "filter[userId]": user_id,
            "filter[kind]": "anime",
            "include": "anime",
            "fields[libraryEntries]": LIBRARY_FIELDS,
            "fields[anime]": ANIME_FIELDS,
            "page[limit]": str(LIBRARY_PAGE),
        }
        if since:
            params["filter[since]"] = since
        return params

    @staticmethod
    def _favorite_params(user_id: str) -> dict[str, str]:
        return {
            "filter[userId]": user_id,
            "filter[itemType]": "Anime",
            "include": "item",
            "page[limit]": str(FAVORITES_PAGE),
        }

    def _offsets(self, path: str, wanted: int, count: int, first_size: int) -> list[int]:
        """Offsets of the pages after the first, from ``meta.count``.

        A server that silently serves fewer than we asked (instead of error 118) shows it
        by a short, non-final first page: page with that size then, or we would skip rows.
        """
        limit = self.page_limit(path, wanted)
        if 0 < first_size < min(limit, count):
            limit = first_size
        offsets = list(range(limit, count, limit))
        if len(offsets) >= MAX_PAGES:
            raise BadResponse(f"meta.count {count} would need {len(offsets) + 1} pages")
        return offsets

    async def fetch_library(
        self,
        user: User,
        since: str | None = None,
        progress: Callable[[LibraryProgress], None] | None = None,
    ) -> Library:
        """The user's anime library with its anime, plus their anime favourites.

        Three round trips at most for any library: both first pages, then every other page
        at once (bounded by the concurrency). Entries are deduplicated by id because pages
        can shift while we read them, and sorted so equal libraries compare equal.
        ``since`` (Kitsu's ``updatedAt`` clock, ISO 8601) asks only for entries changed since
        then (``filter[since]``: an incremental refresh). ``progress`` gets a
        :class:`~animerec_tui.core.progress.LibraryProgress` (pages and entries) per page.

        Returns a :class:`~animerec_tui.core.records.Library`: entries, favourites, the
        ``included`` anime by id, Kitsu's ``status_counts`` and the entries Kitsu withholds
        (adult anime). Raises what :meth:`_get` raises (KitsuUnavailable,
        KitsuRequestRejected, BadResponse for a document that is not a library page).
        """
        uid = user.id
        lib_path, fav_path = "library-entries", "favorites"
        lib_params = self._library_params(uid, since)
        fav_params = self._favorite_params(uid)

        async def library_page(offset: int) -> jsonapi.LibraryPage:
            doc = await self._get(lib_path, {**lib_params, "page[offset]": str(offset)})
            return jsonapi.parse_library_page(doc, user_id=uid)

        async def favorites_page(offset: int) -> jsonapi.FavoritesPage:
            doc = await self._get(fav_path, {**fav_params, "page[offset]": str(offset)})
            return jsonapi.parse_favorites_page(doc, user_id=uid)

        lib0, fav0 = await _gather_two(library_page(0), favorites_page(0))
        lib_offsets = self._offsets(lib_path, LIBRARY_PAGE, lib0.count, lib0.raw_size)
        fav_offsets = self._offsets(fav_path, FAVORITES_PAGE, fav0.count, fav0.raw_size)

        first_date = self.server_date  # Kitsu's clock around the first pages
        entries: dict[str, LibraryEntry] = {}
        withheld: dict[str, WithheldEntry] = {}
        newest: list[str | None] = []
        favorites: dict[str, Favorite] = {}
        anime: dict[str, Anime] = {}
        fav_anime: dict[str, Anime] = {}
        pages_total = 2 + len(lib_offsets) + len(fav_offsets)
        pages_done = 0

        def take(page: jsonapi.LibraryPage | jsonapi.FavoritesPage) -> None:
            nonlocal pages_done
            if isinstance(page, jsonapi.LibraryPage):
                for entry in page.entries:
                    entries.setdefault(entry.id or f"anime:{entry.anime_id}", entry)
                for hidden in page.withheld:
                    withheld.setdefault(hidden.id, hidden)
                newest.append(page.newest_update)
                anime.update(page.anime)
            else:
                for favorite in page.favorites:
                    favorites.setdefault(favorite.id or f"anime:{favorite.anime_id}", favorite)
                fav_anime.update(page.anime)
            pages_done += 1

        def report() -> None:
            if progress is not None:
                progress(LibraryProgress(len(entries), lib0.count, pages_done, pages_total))

        take(lib0)
        take(fav0)
        report()

        async def then_report(page: Awaitable[Any]) -> None:
            take(await page)
            report()

        await _gather(
            [then_report(library_page(o)) for o in lib_offsets]
            + [then_report(favorites_page(o)) for o in fav_offsets]
        )
        for anime_id, record in fav_anime.items():
            anime.setdefault(anime_id, record)
        return _library(
            user,
            entries.values(),
            withheld.values(),
            favorites.values(),
            anime,
            status_counts=lib0.status_counts,
            watermark=newest_stamp(*newest) or first_date or self.server_date,
        )

    async def anime_by_ids(self, anime_ids: Iterable[str]) -> list[Anime]:
        """The anime of :meth:`describe_anime` (their records only)."""
        return (await self.describe_anime(anime_ids)).anime

    async def describe_anime(self, anime_ids: Iterable[str]) -> AnimeDescriptions:
        """Describe anime by Kitsu id: ``GET /anime?filter[id]=a,b,...&include=categories``,
        20 a request.

        jsonapi-resources filters every resource by its primary key out of the box
        (``_allowed_filters`` defaults to ``{id: {}}``, lib/jsonapi/resource.rb at v0.9.12;
        the value is a comma list) and ``page[limit]`` is at most 20 off the library route
        (docs/kitsu-api.md); ``fields[anime]`` keeps the answer to what the cache stores, plus
        the ``categories`` relationship, whose included titles become the anime's genres
        (kitsu-server app/resources/anime_resource.rb ``has_many :categories``; recorded:
        tests/fixtures/kitsu/recorded/anime-1_include-categories_kitsulib.json).
        Anime Kitsu hides from anonymous readers (``AnimePolicy::Scope``: R18) are simply
        absent from the answers. Non-numeric ids are skipped; batches run concurrently
        (bounded by the client's concurrency). Returns :class:`AnimeDescriptions`: the anime
        Kitsu described, in the order asked (at most one per id), and their airing statuses.
        Raises what :meth:`_get` raises (KitsuUnavailable, KitsuRequestRejected, BadResponse).
        """
        wanted = list(dict.fromkeys(a for a in anime_ids if jsonapi.is_numeric_id(a)))
        batches = [wanted[i : i + ANIME_BATCH] for i in range(0, len(wanted), ANIME_BATCH)]

        async def batch(ids: list[str]) -> tuple[list[Anime], dict[str, str]]:
            params = {
                "filter[id]": ",".join(ids),
                "fields[anime]": ANIME_FIELDS + ",categories",
                "fields[categories]": "title",
                "include": "categories",
                "page[limit]": str(ANIME_BATCH),
            }
            doc = await self._get("anime", params)
            anime = jsonapi.with_categories(doc, jsonapi.parse_anime_list(doc))
            return anime, jsonapi.anime_statuses(doc)

        found: dict[str, Anime] = {}
        statuses: dict[str, str] = {}
        for group, status in await _gather(batch(ids) for ids in batches):
            statuses.update(status)
            for record in group:
                found.setdefault(record.id, record)
        return AnimeDescriptions([found[a] for a in wanted if a in found], statuses)

    async def library_count(self, user_id: str) -> int:
        """How many anime entries Kitsu shows for the user: a refresh compares this with
        the cache to notice removals, which ``filter[since]`` cannot report."""
        params = {
            "filter[userId]": user_id,
            "filter[kind]": "anime",
            "fields[libraryEntries]": "status",
            "page[limit]": "1",
        }
        return jsonapi.meta_count(await self._get("library-entries", params))

    async def library_changes(
        self,
        user: User,
        since: str,
        progress: Callable[[LibraryProgress], None] | None = None,
    ) -> tuple[int, Library]:
        """An incremental refresh's two questions at once: (:meth:`library_count`, the
        entries changed since ``since`` as a :class:`Library`). If either fails the other is
        cancelled (no request outlives the client) and that error is raised."""
        count, changes = await _gather(
            [self.library_count(user.id), self.fetch_library(user, since=since, progress=progress)]
        )
        assert isinstance(count, int) and isinstance(changes, Library)
        return count, changes

    async def anime_entries(
        self, anime_id: str, limit: int = 500, offset: int = 0
    ) -> jsonapi.AnimeEntriesPage:
        """Everyone's (visible) entries for one anime, one page: for crawling a population.

        The user of each entry is ``relationships.user.data``, which Kitsu sends only with
        ``include=user`` (jsonapi-resources 0.9 ``link_object_to_one``; listing ``user`` in
        ``fields`` is not enough); the included user records (``fields[users]`` =
        :data:`CRAWL_USER_FIELDS`) spare each candidate its own ``/users/{id}`` request.
        """
        if not jsonapi.is_numeric_id(anime_id):
            raise BadInput(f"{one_line(repr(anime_id), 60)} is not a Kitsu anime id.")
        path = "library-entries"
        params = {
            "filter[animeId]": anime_id,
            "include": "user",
            "fields[libraryEntries]": ANIME_ENTRY_FIELDS,
            "fields[users]": CRAWL_USER_FIELDS,
            "page[limit]": str(max(1, min(limit, LIBRARY_PAGE))),
            "page[offset]": str(max(0, offset)),
        }
        return jsonapi.parse_anime_entries_page(await self._get(path, params), anime_id=anime_id)

    async def fetch_libraries(self, users: Iterable[User]) -> dict[str, Library]:
        """Several users' anime libraries and anime favourites in as few requests as Kitsu
        allows: for a crawl, whose users are mostly small libraries.

        One ``filter[userId]=U1,U2,...`` query (jsonapi-resources 0.9 ``verify_filter``
        splits filter values on commas; Kitsu's ``filters :user_id`` matches any of them) in
        pages of 500 with ``include=anime,user``: ``user`` only for the linkage that says
        whose each entry is, so its fieldset is one attribute. Favourites likewise, 20 a
        page, and only for users whose ``favoritesCount`` is not 0: it is the ``counter_cache``
        of every favourite the user has, of any kind (kitsu-server ``app/models/favorite.rb``),
        so 0 means no anime favourite either. As in
        :meth:`fetch_library`, both first pages go out together, then every other page.

        Returns ``{user id: Library}`` with a library (maybe empty) for every user given;
        ``status_counts`` are counted from the entries (Kitsu's ``meta.statusCounts`` would
        add all the users up). Raises what :meth:`_get` raises; one failing user fails the
        whole call, so a caller that must not lose the others asks again user by user.
        """
        by_id = {u.id: u for u in users}
        if not by_id:
            return {}
        lib_path, fav_path = "library-entries", "favorites"
        lib_params = {
            **self._library_params(",".join(by_id), None),
            "include": "anime,user",
            "fields[libraryEntries]": LIBRARY_FIELDS + ",user",
            "fields[users]": OWNER_FIELDS,
        }
        fans = [uid for uid, u in by_id.items() if u.favorites_count != 0]
        fav_params = {
            **self._favorite_params(",".join(fans)),
            "include": "item,user",
            "fields[favorites]": "favRank,item,user",
            "fields[anime]": ANIME_FIELDS,
            "fields[users]": OWNER_FIELDS,
        }

        async def library_page(offset: int) -> jsonapi.LibraryPage:
            doc = await self._get(lib_path, {**lib_params, "page[offset]": str(offset)})
            return jsonapi.parse_library_page(doc, user_id=None)

        async def favorites_page(offset: int) -> jsonapi.FavoritesPage:
            doc = await self._get(fav_path, {**fav_params, "page[offset]": str(offset)})
            return jsonapi.parse_favorites_page(doc, user_id=None)

        no_favorites = jsonapi.FavoritesPage([], {}, 0)
        if fans:
            lib0, fav0 = await _gather_two(library_page(0), favorites_page(0))
        else:
            lib0, fav0 = await library_page(0), no_favorites
        lib_offsets = self._offsets(lib_path, LIBRARY_PAGE, lib0.count, lib0.raw_size)
        fav_offsets = self._offsets(fav_path, FAVORITES_PAGE, fav0.count, fav0.raw_size)
        pages: list[jsonapi.LibraryPage | jsonapi.FavoritesPage] = [lib0, fav0]
        pages += await _gather(
            [library_page(o) for o in lib_offsets] + [favorites_page(o) for o in fav_offsets]
        )
        entries: dict[str, dict[str, LibraryEntry]] = {uid: {} for uid in by_id}
        withheld: dict[str, dict[str, WithheldEntry]] = {uid: {} for uid in by_id}
        favorites: dict[str, dict[str, Favorite]] = {uid: {} for uid in by_id}
        anime: dict[str, Anime] = {}
        for page in pages:
            anime.update(page.anime)
            if isinstance(page, jsonapi.LibraryPage):
                for entry in page.entries:
                    if entry.user_id in entries:  # pages can shift while we read them
                        entries[entry.user_id].setdefault(entry.id or entry.anime_id, entry)
                for hidden in page.withheld:
                    if hidden.user_id in withheld:
                        withheld[hidden.user_id].setdefault(hidden.id, hidden)
            else:
                for fav in page.favorites:
                    if fav.user_id in favorites:
                        favorites[fav.user_id].setdefault(fav.id or fav.anime_id, fav)
        libraries = {}
        for uid, user in by_id.items():
            mine = entries[uid].values()
            stamps = [e.updated_at for e in mine] + [w.updated_at for w in withheld[uid].values()]
            libraries[uid] = _library(
                user,
                mine,
                withheld[uid].values(),
                favorites[uid].values(),
                anime,
                status_counts=count_statuses(mine),
                watermark=newest_stamp(*stamps) or self.server_date,
            )
        return libraries


# -- the crawl's request shapes (used by the methods above) -------------------------------------

CRAWL_USER_FIELDS = (
    "name,slug,pastNames,createdAt,followersCount,favoritesCount,ratingsCount,lifeSpentOnAnime,"
    "avatar"
)
"""The user attributes a crawl keeps (what :func:`jsonapi.parse_user` reads), asked for with
``include=user`` so a candidate needs no ``/users/{id}`` of its own."""
OWNER_FIELDS = "name"
"""The smallest ``fields[users]`` (Kitsu refuses an empty one): for ``include=user`` asked only
for the linkage that says whose entry or favourite a row is."""


def _library(
    user: User,
    entries: Iterable[LibraryEntry],
    withheld: Iterable[WithheldEntry],
    favorites: Iterable[Favorite],
    anime: dict[str, Anime],
    *,
    status_counts: dict[str, int],
    watermark: str | None,
) -> Library:
    """One user's :class:`Library` from what their pages said, with hidden adult anime kept
    apart: entries Kitsu linked to an anime it did not describe are ``withheld`` already
    (:func:`jsonapi.parse_library_page`), and a favourite whose anime ``include=item`` did
    not describe is one too (AnimePolicy::Scope): left out, never an untitled "anime N".
    ``anime`` may describe other users' anime too (a batched page); only this user's stay."""
    listed = _sort_entries(entries)
    held = sorted(withheld, key=lambda w: (len(w.id), w.id))
    faves = list(favorites)
    hidden_favorites = {f.anime_id for f in faves if f.anime_id not in anime}
    shown = _sort_favorites(f for f in faves if f.anime_id not in hidden_favorites)
    wanted = {e.anime_id for e in listed} | {f.anime_id for f in shown}
    return Library(
        user=user,
        entries=listed,
        favorites=shown,
        anime={a: anime[a] for a in sorted(wanted, key=int) if a in anime},
        status_counts=status_counts,
        withheld=held,
        withheld_anime={w.anime_id for w in held if w.anime_id} | hidden_favorites,
        watermark=watermark,
    )


async def _gather_two(
    first: Coroutine[Any, Any, jsonapi.LibraryPage],
    second: Coroutine[Any, Any, jsonapi.FavoritesPage],
) -> tuple[jsonapi.LibraryPage, jsonapi.FavoritesPage]:
    """:func:`_gather` for two differently typed results, keeping the types."""
    lib, fav = await _gather([first, second])
    assert isinstance(lib, jsonapi.LibraryPage) and isinstance(fav, jsonapi.FavoritesPage)
    return lib, fav
