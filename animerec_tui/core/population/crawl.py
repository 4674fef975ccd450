"""Grow the training population from Kitsu, politely and resumably.

Two ways to find people:

* ``around=USER``: people who share the user's anime. The user's anime are visited in a
  weighted random order (completed, rated and favourite anime weigh more; every weight is
  divided by sqrt(popularity) so the crawl does not only meet the crowd of the top-10 shows),
  and for each one a page of *other people's* entries at a random offset
  (``/library-entries?filter[animeId]=A&include=user``) yields candidates, and their user
  records: Kitsu sends an entry's user id only with ``include=user``, and the included record
  (name, slug, ``favoritesCount``...) spares each candidate a ``/users/{id}`` request.
* ``random=True``: uniform user ids in ``1..user_count`` (the notebook's idea, without its
  bugs: ids are drawn without repeats, the range reaches the highest id already cached, and
  missing ids or tiny libraries are skipped after one cheap ``page[limit]=1`` request,
  before any library is fetched).

Candidates are fetched in batches of up to :data:`BATCH_USERS`: one ``filter[userId]=a,b,...``
query for all their libraries and one for the anime favourites of those whose
``favoritesCount`` is not 0 (:meth:`KitsuClient.fetch_libraries`), so a typical new user costs
well under two requests instead of three (user, library, favourites).

Politeness is the client's: its semaphore and rate limiter see every attempt, so the caller
builds it with ``settings.crawl`` (:func:`crawl_client`); this module only keeps at most
``settings.crawl.concurrency`` batches in flight.

One bad user never ends a crawl: when a batch fails, Kitsu is asked a request known to be
good; if that answers, the batch is fetched again user by user, and a user that still fails
is skipped and remembered under ``state['crawl_failed']`` (:data:`FAILED_KEY`), so no later
crawl asks for it again. If Kitsu does not answer, the crawl stops as before, its progress
saved, and nobody is marked.

Resumability: the crawl state (mode, seed user, target, candidate queue, done and skipped ids,
the anime order and cursor, the random seed) lives in the cache under ``state['crawl']`` and
is rewritten after every finished user. A library is written by ``Cache.save_library`` in one
transaction, so a SIGKILL at any point leaves whole users only. On restart, queued candidates
that already have a library were cached by this crawl before the kill: they count as done
without a single request (a candidate is only queued while it has no library).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import random as _random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from animerec_tui.core.errors import (
    AnimerecError,
    BadInput,
    BadResponse,
    KitsuRequestRejected,
    KitsuUnavailable,
    UserNotFound,
)
from animerec_tui.core.kitsu.jsonapi import one_line
from animerec_tui.core.progress import CrawlProgress
from animerec_tui.core.records import Library, User, is_sample_id

if TYPE_CHECKING:
    from animerec_tui.core.cache import Cache
    from animerec_tui.core.kitsu.client import KitsuClient
    from animerec_tui.core.settings import Settings

STATE_KEY = "crawl"
STATE_VERSION = 1
FAILED_KEY = "crawl_failed"
"""Cache state: ``{user id: {"error": one line, "at": ISO time}}`` of users whose library
Kitsu fails to give for good (e.g. HTTP 500 every time); every crawl skips them."""
BATCH_USERS = 10
"""Candidates whose libraries one request pattern fetches together (see the module doc)."""
ANIME_PAGE = 20
"""Other people's entries per anime request: small pages spread the crawl over more anime."""
MAX_PASSES = 8
"""Passes over the seed user's anime (new random offsets each time) before giving up."""
RANDOM_BATCH = 20
UNUSABLE_LIMIT = 10
"""Unusable answers (after retries), with not one usable, before the crawl stops and says so."""
STATUS_WEIGHT = {"completed": 3.0, "current": 2.0, "on_hold": 1.0, "dropped": 0.5, "planned": 0.5}
FAVORITE_BONUS = 3.0


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class CrawlSummary:
    mode: str
    around: str | None
    target: int
    new_users: int
    """Users this crawl has cached so far, including those cached before a resume."""
    fetched_this_run: int
    requests: int
    seconds: float
    skipped: int
    resumed: bool = False
    finished: bool = False
    cancelled: bool = False
    exhausted: bool = False
    """No more candidates could be found (a small seed library, a tiny Kitsu)."""
    user_ids: list[str] = field(default_factory=list)
    failed: int = 0
    """Users this run skipped because Kitsu fails to give their library for good (they are
    remembered, see :data:`FAILED_KEY`); not part of ``skipped``."""
    failed_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["users_per_minute"] = (
            round(60 * self.fetched_this_run / self.seconds, 1) if self.seconds > 0 else None
        )
        return data

    def summary(self) -> str:
        where = f"around {self.around}" if self.around else "from random Kitsu users"
        state = (
            "cancelled; run it again to resume"
            if self.cancelled
            else "no more candidates"
            if self.exhausted
            else "done"
            if self.finished
            else "stopped"
        )
        resumed = " (resumed)" if self.resumed else ""
        failed = f", {self.failed} failing on Kitsu (skipped from now on)" if self.failed else ""
        return (
            f"Crawl {where}{resumed}: {self.new_users} of {self.target} new users cached, "
            f"{self.skipped} skipped{failed}, {self.requests} requests in "
            f"{self.seconds:.1f}s; {state}."
        )


def crawl_client(settings: Settings, **kwargs: Any) -> KitsuClient:
    """A client with the crawl's politeness settings (concurrency and requests/second)."""
    from animerec_tui.core.kitsu.client import KitsuClient

    return KitsuClient(
        settings.api_url,
        network=settings.network,
        max_rps=settings.crawl.requests_per_second,
        concurrency=settings.crawl.concurrency,
        **kwargs,
    )


def _users_fault(exc: AnimerecError) -> bool:
    """Whether Kitsu answered this failure itself (so it may be the user's, not Kitsu's)."""
    return not isinstance(exc, KitsuUnavailable) or exc.answered


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def anime_order(library: Library, rng: _random.Random) -> list[str]:
    """The seed user's anime in weighted random order (Efraimidis-Spirakis keys).

    weight = status weight (+ 1 + rating/10 when rated, + 3 for a favourite), divided by
    sqrt(Kitsu userCount) so popular shows are visited, but not only them.
    """
    favorites = {f.anime_id for f in library.favorites}
    counts = [a.user_count for a in library.anime.values() if a.user_count]
    typical = sorted(counts)[len(counts) // 2] if counts else 1000
    weights: dict[str, float] = {}
    for entry in library.entries:
        w = STATUS_WEIGHT.get(entry.status, 0.5)
        if entry.rating_twenty:
            w += 1.0 + entry.rating_twenty / 10
        if entry.anime_id in favorites:
            w += FAVORITE_BONUS
        anime = library.anime.get(entry.anime_id)
        popularity = anime.user_count if anime is not None and anime.user_count else typical
        weights[entry.anime_id] = w / math.sqrt(max(popularity, 1))
    for anime_id in favorites - set(weights):
        weights[anime_id] = FAVORITE_BONUS / math.sqrt(typical)
    keyed = [(math.log(1.0 - rng.random()) / w, a) for a, w in weights.items() if w > 0]
    keyed.sort(reverse=True)
    return [a for _, a in keyed]


class _Crawl:
    """One crawl run: the state machine behind :func:`crawl`."""

    def __init__(
        self,
        cache: Cache,
        client: KitsuClient,
        settings: Settings,
        state: dict[str, Any],
        *,
        resumed: bool,
        progress: Callable[[CrawlProgress], None] | None,
        cancel: CancelFlag | None,
    ) -> None:
        self.cache = cache
        self.client = client
        self.state = state
        self.resumed = resumed
        self.progress = progress
        self.cancel = cancel
        self.min_entries = max(1, settings.crawl.min_entries)
        self.workers = max(1, settings.crawl.concurrency)
        self.rng = _random.Random(f"{state['seed']}:{state['draws']}")
        self.done: list[str] = state["done"]
        self.skipped: list[str] = state["skipped"]
        self.queue: list[str] = state["queue"]
        remembered = cache.get_state(FAILED_KEY)
        self.failing: dict[str, Any] = remembered if isinstance(remembered, dict) else {}
        """Users Kitsu fails for good (:data:`FAILED_KEY`), this run's included."""
        self.failed_now: list[str] = []
        self.seen: set[str] = (
            set(self.done) | set(self.skipped) | set(self.queue) | set(self.failing)
        )
        self.cached = cache.cached_user_ids()
        self.known: dict[str, User] = {}
        """User records discovery pages included, so a candidate needs no look-up (this run
        only: a resumed queue looks its users up)."""
        self.in_flight: dict[asyncio.Task[dict[str, str]], list[str]] = {}
        self.requests_at_start = client.requests
        self.started = time.monotonic()
        self.fetched = 0
        self.exhausted = False
        self.anime_counts: dict[str, int] = {}
        self.answered = 0
        """Kitsu answers this run could use (a discovery page, a user, a library)."""
        self.unreadable: list[AnimerecError] = []
        """Answers skipped because they could not be read or were rejected."""
        self.unreadable_users: list[str] = []
        self.start_cursor = (state["anime_cursor"], state.get("pass_found", 0))
        self._reconcile()

    def _reconcile(self) -> None:
        """Count queued users cached before a kill as done, without asking Kitsu again.

        A candidate is only queued while it has no library, so a queued user with one was
        cached by this crawl between its ``save_library`` and the next state write.
        """
        for uid in list(self.queue):
            if len(self.done) >= self.target:
                break
            if uid in self.cached:
                self.queue.remove(uid)
                self.done.append(uid)

    # -- state -------------------------------------------------------------------------------

    def save_state(self) -> None:
        # In-flight users stay at the head of the queue until they are resolved, so a kill
        # mid-fetch retries them (or finds them cached) on resume.
        flying = self._flying()
        self.state["queue"] = [*flying, *(u for u in self.queue if u not in flying)]
        self.state["requests"] = self.state.get("requests_before", 0) + self.requests
        self.cache.set_state(STATE_KEY, self.state)

    def _flying(self) -> list[str]:
        return [uid for batch in self.in_flight.values() for uid in batch]

    @property
    def requests(self) -> int:
        return self.client.requests - self.requests_at_start

    @property
    def target(self) -> int:
        return int(self.state["target"])

    def unusable_error(self) -> AnimerecError | None:
        """Why a run that cached no one failed, when every answer Kitsu gave was unusable.

        Skipping one odd answer keeps a crawl going; skipping *all* of them would end it as
        "no more candidates" with nothing said, when the truth is that Kitsu (or something
        between) is sending garbage.
        """
        if self.fetched or self.answered or not self.unreadable:
            return None
        last = self.unreadable[-1]
        detail = getattr(last, "detail", None) or str(last)
        return BadResponse(
            f"none of its {len(self.unreadable)} answers to this crawl were usable "
            f"(last: {detail}); progress is saved, run the crawl again to resume."
        )

    def note_unusable(self, exc: AnimerecError) -> None:
        """Skip one unusable answer, but stop once nothing Kitsu sends can be used."""
        self.unreadable.append(exc)
        if len(self.unreadable) >= UNUSABLE_LIMIT:
            failed = self.unusable_error()
            if failed is not None:
                raise failed

    def rewind(self) -> None:
        """Undo this run's skips and anime pages, so a resume asks Kitsu for them again."""
        self.skipped[:] = [u for u in self.skipped if u not in self.unreadable_users]
        self.queue[:0] = [u for u in self.unreadable_users if u not in self.queue]
        for uid in self.failed_now:  # nothing answered: no proof these users are the problem
            self.failing.pop(uid, None)
        self.queue[:0] = [u for u in self.failed_now if u not in self.queue]
        self.failed_now.clear()
        self.cache.set_state(FAILED_KEY, self.failing)
        self.state["anime_cursor"], self.state["pass_found"] = self.start_cursor

    def report(self) -> None:
        if self.progress is None:
            return
        elapsed = time.monotonic() - self.started
        remaining = self.target - len(self.done)
        eta = elapsed / self.fetched * remaining if self.fetched else None
        self.progress(CrawlProgress(len(self.done), self.target, self.requests, elapsed, eta))

    # -- candidates --------------------------------------------------------------------------

    def _add_candidates(self, ids: list[str]) -> int:
        fresh = []
        for uid in ids:
            if uid in self.seen or uid in self.cached or uid == self.state.get("around"):
                continue
            if is_sample_id(uid) or not uid.isdigit():
                continue
            self.seen.add(uid)
            fresh.append(uid)
        self.rng.shuffle(fresh)
        self.queue.extend(fresh)
        return len(fresh)

    async def _discover_around(self) -> bool:
        """One ``filter[animeId]`` page; False once every pass over the anime found nobody."""
        order: list[str] = self.state["anime_order"]
        if not order:
            return False
        while True:
            cursor = int(self.state["anime_cursor"])
            if cursor >= MAX_PASSES * len(order):
                return False
            anime_id = order[cursor % len(order)]
            if cursor % len(order) == 0 and cursor > 0 and not self.state.get("pass_found"):
                return False  # a whole pass met no one new: the neighbourhood is used up
            if cursor % len(order) == 0:
                self.state["pass_found"] = 0
            self.state["anime_cursor"] = cursor + 1
            found = await self._anime_page(anime_id)
            self.state["pass_found"] = int(self.state.get("pass_found", 0)) + found
            self.save_state()
            if found:
                return True

    async def _anime_page(self, anime_id: str) -> int:
        count = self.anime_counts.get(anime_id)
        if count is None:
            known = self.cache.get_anime([anime_id]).get(anime_id)
            count = known.user_count if known is not None and known.user_count else ANIME_PAGE
        offset = self.rng.randrange(0, max(1, count - ANIME_PAGE + 1))
        try:
            page = await self.client.anime_entries(anime_id, ANIME_PAGE, offset)
            self.anime_counts[anime_id] = page.count
            if not page.entries and page.count > 0 and offset > 0:
                offset = self.rng.randrange(0, max(1, page.count - ANIME_PAGE + 1))
                page = await self.client.anime_entries(anime_id, ANIME_PAGE, offset)
        except (KitsuRequestRejected, BadResponse) as exc:
            self.note_unusable(exc)
            return 0  # one odd anime must not end the crawl
        self.answered += 1
        for uid, user in page.users.items():
            if uid not in self.cached and uid not in self.failing:  # queued ones too (resume)
                self.known[uid] = user
        return self._add_candidates([e.user_id for e in page.entries if e.user_id])

    async def _discover_random(self) -> bool:
        """Queue a batch of untried ids drawn uniformly from ``1..id_range``.

        ``id_range`` is ``/users`` ``meta.count``, raised to the highest Kitsu id already in
        the cache: deleted accounts leave gaps, so the newest ids lie above the count and a
        range of exactly the count would never meet them.
        """
        total = self.state.get("id_range")
        if total is None:
            count = await self.client.user_count()
            highest = max((int(u) for u in self.cached if u.isdigit()), default=0)
            total = max(count, highest)
            self.state["user_count"] = count
            self.state["id_range"] = total
        known = sum(1 for u in self.seen | self.cached if u.isdigit() and 1 <= int(u) <= total)
        if total <= 0 or known >= total:
            return False  # every id in range has been tried (or is cached already)
        ids: list[str] = []
        for _ in range(RANDOM_BATCH * 20):
            if len(ids) >= RANDOM_BATCH:
                break
            self.state["draws"] = int(self.state["draws"]) + 1
            uid = str(self.rng.randint(1, total))
            if uid not in self.seen and uid not in self.cached and uid not in ids:
                ids.append(uid)
        found = self._add_candidates(ids)
        self.save_state()
        return found > 0

    async def next_candidate(self) -> str | None:
        while True:
            while self.queue:
                uid = self.queue.pop(0)
                if uid in self._flying() or uid in self.done or uid in self.skipped:
                    continue
                if uid in self.failing:
                    continue  # Kitsu fails this one for good: remembered, never asked again
                if uid in self.cached or self.cache.has_library(uid):
                    continue  # cached meanwhile by someone else: not this crawl's to count
                return uid
            if self.state["mode"] == "around":
                more = await self._discover_around()
            else:
                more = await self._discover_random()
            if not more:
                self.exhausted = True
                return None

    # -- users -------------------------------------------------------------------------------

    async def next_batch(self, size: int) -> list[str]:
        """Up to ``size`` candidates (fewer once the candidates run out)."""
        batch: list[str] = []
        while len(batch) < size:
            uid = await self.next_candidate()
            if uid is None:
                break
            if uid not in batch:
                batch.append(uid)
        return batch

    async def _user(self, uid: str) -> User | None:
        """The candidate's user record (None: skip it). Discovery usually included it; in
        random mode one cheap ``page[limit]=1`` request first weeds out missing ids and
        empty libraries."""
        try:
            if self.state["mode"] == "random":
                small = await self.client.library_count(uid) < self.min_entries
                self.answered += 1
                if small:
                    return None
            user = self.known.pop(uid, None)
            if user is None:
                user = await self.client.get_user(uid)
                self.answered += 1
            return user
        except UserNotFound:
            self.answered += 1
            return None
        except (KitsuRequestRejected, BadResponse) as exc:
            self.unreadable_users.append(uid)
            self.note_unusable(exc)
            return None

    async def _kitsu_answers(self) -> None:
        """Ask Kitsu something known to be good: raises (KitsuUnavailable...) when it does
        not answer, so a failed batch is then Kitsu's state, not its users' fault."""
        known = self.state.get("around") or next(reversed(self.done), None)
        if known:
            await self.client.library_count(known)
        else:
            await self.client.user_count()

    async def _libraries(self, users: list[User]) -> tuple[dict[str, Library], dict[str, str]]:
        """The users' libraries, and ``{user id: error}`` for those Kitsu fails for good.

        Only a failure Kitsu itself answered (a 4xx, a document we cannot read, a 500 every
        time: ``KitsuUnavailable.answered``) can be the user's; no answer in time, a refused
        connection or a gateway's 503 is Kitsu's state and is raised, the batch stays queued.
        """
        try:
            return await self.client.fetch_libraries(users), {}
        except (KitsuUnavailable, KitsuRequestRejected, BadResponse) as exc:
            if not _users_fault(exc):
                raise
            first_error = exc
        await self._kitsu_answers()  # Kitsu is down: the whole batch stays queued
        if len(users) == 1:
            return {}, {users[0].id: _reason(first_error)}
        libraries: dict[str, Library] = {}
        failures: dict[str, str] = {}
        for user in users:
            try:
                libraries.update(await self.client.fetch_libraries([user]))
            except (KitsuUnavailable, KitsuRequestRejected, BadResponse) as exc:
                if not _users_fault(exc):
                    raise
                failures[user.id] = _reason(exc)
        if failures and not libraries:
            await self._kitsu_answers()  # still answering: then these users are the problem
        return libraries, failures

    async def fetch_batch(self, uids: list[str]) -> dict[str, str]:
        """Fetch and cache a batch of candidates: ``{user id: "done" | "skipped" |
        "failed"}`` (skipped: missing or too small; failed: Kitsu fails it for good)."""
        outcome = dict.fromkeys(uids, "skipped")
        users = [user for uid in uids if (user := await self._user(uid)) is not None]
        libraries, failures = await self._libraries(users)
        if libraries:
            self.answered += 1
        for uid, library in libraries.items():
            if len(library.entries) >= self.min_entries:
                self.cache.save_library(library, synced_at=_now(), source="kitsu")
                outcome[uid] = "done"
        for uid, reason in failures.items():
            outcome[uid] = "failed"
            self.failing[uid] = {"error": reason, "at": _now()}
        return outcome

    async def run(self) -> None:
        try:
            while True:
                if self.cancel is not None and self.cancel.is_set():
                    break
                while (
                    (room := self.target - len(self.done) - len(self._flying())) > 0
                    and len(self.in_flight) < self.workers
                    and not self.exhausted
                ):
                    batch = await self.next_batch(min(BATCH_USERS, room))
                    if not batch:
                        break
                    task = asyncio.create_task(
                        self.fetch_batch(batch), name=f"crawl-users-{batch[0]}+{len(batch) - 1}"
                    )
                    self.in_flight[task] = batch
                if not self.in_flight:
                    break
                finished, _ = await asyncio.wait(
                    self.in_flight, return_when=asyncio.FIRST_COMPLETED
                )
                for task in finished:
                    batch = self.in_flight.pop(task)
                    outcome = task.result()  # re-raises KitsuUnavailable & co: the crawl stops
                    for uid in batch:
                        if outcome[uid] == "done":
                            self.done.append(uid)
                            self.cached.add(uid)
                            self.fetched += 1
                        elif outcome[uid] == "failed":
                            self.failed_now.append(uid)
                        else:
                            self.skipped.append(uid)
                    if any(outcome[uid] == "failed" for uid in batch):
                        self.cache.set_state(FAILED_KEY, self.failing)
                    self.save_state()
                    self.report()
        finally:
            pending = list(self.in_flight)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(BaseException):
                    await task
            # Cancelled users go back to the head of the queue for the next run.
            self.queue[:0] = [u for u in self._flying() if u not in self.queue]
            self.in_flight.clear()
            with contextlib.suppress(Exception):
                self.save_state()


async def _seed_library(cache: Cache, client: KitsuClient, around: str) -> Library:
    library = cache.library(around)
    if library is not None:
        return library
    user = await client.resolve_user(around)
    library = cache.library(user.id)
    if library is None:
        library = await client.fetch_library(user)
        cache.save_library(library, synced_at=_now(), source="kitsu")
    return library


def _reason(exc: AnimerecError) -> str:
    """What a user's failure is remembered by: one line, bounded."""
    return one_line(getattr(exc, "detail", None) or str(exc) or type(exc).__name__, 200)


def _fresh_state(mode: str, around: str | None, target: int, seed: int | None) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "mode": mode,
        "around": around,
        "target": target,
        "seed": seed if seed is not None else _random.SystemRandom().randrange(1 << 32),
        "draws": 0,
        "started_at": _now(),
        "finished": False,
        "queue": [],
        "done": [],
        "skipped": [],
        "anime_order": [],
        "anime_cursor": 0,
        "pass_found": 0,
    }


async def crawl(
    cache: Cache,
    client: KitsuClient,
    settings: Settings,
    *,
    around: str | None = None,
    random: bool = False,
    max_users: int = 100,
    progress: Callable[[CrawlProgress], None] | None = None,
    cancel: CancelFlag | None = None,
    seed: int | None = None,
) -> CrawlSummary:
    """Cache up to ``max_users`` new users with at least ``settings.crawl.min_entries`` entries.

    An unfinished crawl with the same mode and seed user is resumed (``max_users`` becomes
    its target); anything else starts a new crawl. Errors that mean Kitsu is unreachable
    propagate after the state is saved, so the next run continues from there.
    """
    if around and random:
        raise BadInput("Crawl either --around a user or --random, not both.")
    if not around and not random:
        raise BadInput("Crawl needs --around USER or --random.")
    if max_users < 1:
        raise BadInput("--max-users must be at least 1.")
    mode = "around" if around else "random"
    seed_library: Library | None = None
    if around:
        seed_library = await _seed_library(cache, client, around)
        around = seed_library.user.id

    previous = cache.get_state(STATE_KEY)
    resumed = (
        isinstance(previous, dict)
        and previous.get("version") == STATE_VERSION
        and not previous.get("finished")
        and previous.get("mode") == mode
        and previous.get("around") == around
    )
    if resumed:
        assert isinstance(previous, dict)
        state = previous
        state["target"] = max_users
        state["requests_before"] = int(state.get("requests", 0))
        state["draws"] = int(state.get("draws", 0)) + 1  # a fresh stream, not a replay
    else:
        state = _fresh_state(mode, around, max_users, seed)
        if seed_library is not None:
            rng = _random.Random(f"{state['seed']}:order")
            state["anime_order"] = anime_order(seed_library, rng)
    job = _Crawl(cache, client, settings, state, resumed=resumed, progress=progress, cancel=cancel)
    job.save_state()
    job.report()
    try:
        await job.run()
    finally:
        cancelled = bool(cancel is not None and cancel.is_set())
        failed = job.unusable_error()
        if failed is not None:
            job.rewind()
        state["finished"] = len(job.done) >= job.target or (
            job.exhausted and not cancelled and failed is None
        )
        with contextlib.suppress(AnimerecError, OSError):
            job.save_state()
    if failed is not None and not cancelled:
        raise failed
    return CrawlSummary(
        mode=mode,
        around=around,
        target=job.target,
        new_users=len(job.done),
        fetched_this_run=job.fetched,
        requests=job.requests,
        seconds=time.monotonic() - job.started,
        skipped=len(job.skipped),
        resumed=resumed,
        finished=bool(state["finished"]),
        cancelled=cancelled and len(job.done) < job.target,
        exhausted=job.exhausted,
        user_ids=list(job.done),
        failed=len(job.failed_now),
        failed_ids=list(job.failed_now),
    )
