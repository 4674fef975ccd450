"""The operations both faces call: find users, fetch and cache libraries, read them back.

Offline-first: a cached user resolves and reads without the network; when Kitsu cannot be
reached (or offline mode is on) cached data is served and results say ``offline=True``.
Whether to ask Kitsu at all is :class:`~animerec_tui.core.connectivity.Connectivity`'s call
(offline mode, a cool-down after a failure); every action that asks is bounded in time
(``network.search_deadline``, ``network.fetch_deadline``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from animerec_tui.core.cache import Cache
from animerec_tui.core.connectivity import Connectivity
from animerec_tui.core.errors import (
    AmbiguousUser,
    BadResponse,
    CacheError,
    KitsuRequestRejected,
    KitsuUnavailable,
    NotCached,
    UserChoice,
    UserNotFound,
)
from animerec_tui.core.records import SAMPLE_NAME_PREFIX, SAMPLE_PREFIX, Library, User
from animerec_tui.core.settings import Settings
from animerec_tui.core.timestamps import before

if TYPE_CHECKING:
    from animerec_tui.core.catalogue import AnimeMatches
    from animerec_tui.core.kitsu import KitsuClient
    from animerec_tui.core.progress import LibraryProgress
    from animerec_tui.core.records import Anime

T = TypeVar("T")

REFRESH_OVERLAP = timedelta(minutes=10)
"""``filter[since]`` looks back this far before the watermark: entries written while a fetch
was being read are asked for again (an upsert), never lost."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class SearchHit:
    user: User
    cached: bool
    sample: bool
    source: str  # "kitsu", "cache" or "kitsu+cache"


@dataclass
class SearchResult:
    query: str
    hits: list[SearchHit]
    offline: bool = False
    note: str | None = None


@dataclass
class FetchResult:
    user: User
    entries: int
    favorites: int
    requests: int
    seconds: float
    offline: bool = False
    mode: str = "full"  # "full", "incremental", "cached"
    note: str | None = None
    withheld: int = 0
    """Entries of adult anime Kitsu hid (counted by Kitsu, not in ``entries``)."""


@dataclass
class LibraryResult:
    library: Library
    offline: bool = False
    fetched: bool = False
    synced_at: str | None = None
    note: str | None = None


@dataclass
class Core:
    """Settings plus an open cache: what a CLI command or the TUI works with."""

    settings: Settings
    cache: Cache
    client_factory: Callable[..., KitsuClient] | None = field(default=None, repr=False)
    connectivity: Connectivity = field(init=False, repr=False)
    """Online / offline mode / cooling down, and why: the one owner, built from the settings."""

    def __post_init__(self) -> None:
        self.connectivity = Connectivity(
            self.settings.api_url,
            forced_offline=self.settings.offline,
            cooldown=self.settings.network.cooldown,
            state_dir=self.settings.cache_dir,
        )

    @classmethod
    def open(cls, settings: Settings, *, seed: bool = True) -> Core:
        cache = Cache(settings.db_path, recover=True)  # a damaged file is moved aside, kept
        # the models folder is created here, private, before anything saves a model into it
        settings.model_dir.mkdir(mode=0o700, exist_ok=True)
        if seed:
            from animerec_tui.core.population.sample import seed_if_empty

            seed_if_empty(cache)
        return cls(settings=settings, cache=cache)

    def close(self) -> None:
        self.cache.close()

    @property
    def offline(self) -> bool:
        """Offline mode, or Kitsu was found unreachable (and is cooling down)."""
        return self.connectivity.offline

    def _unreachable(self, exc: KitsuUnavailable) -> None:
        if exc.answered:  # Kitsu is up; only this request fails: the next one may well work
            return
        self.connectivity.failed(exc.detail or str(exc))

    def _not_cached(self, what: str) -> KitsuUnavailable:
        status = self.connectivity.status()
        if status.state == "cooling":
            return KitsuUnavailable(
                f"{status.reason or 'it failed'}; not asked again for {status.remaining:.0f} s "
                f"(a refresh retries now), and {what} is not in the cache"
            )
        return KitsuUnavailable(f"offline, and {what} is not in the cache")

    def client(
        self, *, max_rps: float | None = None, concurrency: int | None = None
    ) -> KitsuClient:
        """A new :class:`KitsuClient` on the settings' API and network settings (or
        ``client_factory``'s); ``max_rps`` / ``concurrency`` override the settings' pace.
        The caller closes it (``async with``)."""
        kwargs = {"max_rps": max_rps, "concurrency": concurrency}
        if self.client_factory is not None:
            return self.client_factory(**{k: v for k, v in kwargs.items() if v is not None})
        from animerec_tui.core.kitsu import KitsuClient

        return KitsuClient(
            self.settings.api_url,
            network=self.settings.network,
            max_rps=max_rps,
            concurrency=concurrency,
        )

    # -- users -------------------------------------------------------------------------------

    def resolve_cached(self, query: str) -> User | None:
        """A user known to the cache by id, sample name, slug or (unique) name."""
        query = query.strip()
        cache = self.cache
        if query.startswith(SAMPLE_NAME_PREFIX) and not cache.users_named(query):
            query = SAMPLE_PREFIX + query.removeprefix(SAMPLE_NAME_PREFIX)
        user = cache.get_user(query)
        if user is not None:
            return user
        user = cache.user_by_slug(query)
        if user is not None:
            return user
        named = cache.users_named(query)
        with_library = [u for u in named if cache.has_library(u.id)]
        pool = with_library or named
        if len(pool) > 1:
            raise AmbiguousUser(query, [UserChoice(u.id, u.name, u.slug) for u in pool])
        return pool[0] if pool else None

    async def resolve(self, query: str, client: KitsuClient | None, *, prefer_cache: bool) -> User:
        """The :class:`User` that USER ``query`` names (an id, slug, name, ``sample:KEY`` or
        ``sample-KEY``): the cache first when ``prefer_cache`` (works offline), else Kitsu
        through ``client`` (None: the cache only), else the cache.

        Raises UserNotFound (no match, or a blank query), AmbiguousUser (a name several
        users share), KitsuUnavailable (no answer from Kitsu and no cached match; also
        marks Kitsu unreachable), KitsuRequestRejected / BadResponse from the client, and
        KitsuUnavailable naming the query when offline and it is not cached.
        """
        if not query.strip():
            raise UserNotFound(query)
        cached = self.resolve_cached(query)
        is_sample = query.startswith((SAMPLE_PREFIX, SAMPLE_NAME_PREFIX))
        if cached is not None and (prefer_cache or cached.is_sample):
            return cached
        if is_sample or client is None or not self.connectivity.may_ask():
            if cached is not None:
                return cached
            if self.offline and not is_sample:
                raise self._not_cached(repr(query))
            raise UserNotFound(query)
        try:
            user = await client.resolve_user(query)
        except KitsuUnavailable as exc:
            self._unreachable(exc)
            if cached is not None:
                return cached
            raise
        self.connectivity.answered()
        return user

    async def _ask_within_search_deadline(
        self, what: str, ask: Callable[[KitsuClient], Awaitable[T]]
    ) -> T:
        """``ask(client)`` on a new client within ``network.search_deadline`` (the wait shown
        as ``what``), Kitsu then marked answered. Raises what ``ask`` raises; KitsuUnavailable
        also starts the cool-down."""
        budget = self.settings.network.search_deadline
        try:
            with self.connectivity.waiting(what, budget) as wait:
                async with self.client() as client:
                    with client.bounded(budget, wait):
                        answer = await ask(client)
        except KitsuUnavailable as exc:
            self._unreachable(exc)
            raise
        self.connectivity.answered()
        return answer

    async def search(self, query: str) -> SearchResult:
        """Kitsu matches (id, slug, name, fuzzy) merged with cached users."""
        query = query.strip()
        hits: dict[str, SearchHit] = {}
        cached_ids = self.cache.cached_user_ids()
        offline, note = self.offline, None
        asks = bool(query) and not query.startswith((SAMPLE_PREFIX, SAMPLE_NAME_PREFIX))
        if asks and not self.connectivity.may_ask():
            offline, note = True, self.connectivity.status().describe()
        elif asks:
            try:
                found = await self._ask_within_search_deadline(
                    "search", lambda client: _kitsu_matches(client, query)
                )
                offline = False
                self.cache.save_users(found)
                for user in found:
                    hits[user.id] = SearchHit(user, user.id in cached_ids, False, "kitsu")
            except KitsuUnavailable as exc:
                offline, note = True, str(exc)
        if query:
            wants_samples = query.lower().startswith(("sample", SAMPLE_PREFIX))
            for user in self.cache.search_users(query):
                if user.is_sample and not wants_samples:
                    continue  # "sam" should not list every "sample-..." user
                if user.id in hits:
                    hits[user.id].source = "kitsu+cache"
                    continue
                if user.id in cached_ids or user.is_sample:
                    hits[user.id] = SearchHit(user, user.id in cached_ids, user.is_sample, "cache")
        return SearchResult(query=query, hits=list(hits.values()), offline=offline, note=note)

    # -- anime search ------------------------------------------------------------------------

    async def search_anime(self, query: str, limit: int = 20) -> AnimeMatches:
        """Anime whose titles match ``query``: the cache's matches first (by id, slug, then
        title: :func:`~animerec_tui.core.catalogue.cached_matches`), then Kitsu's title search
        (``/anime?filter[text]=``) when Kitsu may be asked, within
        ``network.search_deadline``; what Kitsu describes is cached. Adult anime never appear.

        Returns :class:`~animerec_tui.core.catalogue.AnimeMatches` (a list of at most
        ``limit`` :class:`Anime`, with ``cached``, ``offline`` and ``note``). Never raises for
        Kitsu being down or answering badly: the cache's matches are returned, ``offline``
        set (an unreachable Kitsu starts the cool-down as every other action does).
        """
        from animerec_tui.core.catalogue import AnimeMatches, cached_matches, kitsu_anime_search

        query = " ".join(query.split())
        local = cached_matches(self.cache, query, limit) if query else []
        cached_ids = frozenset(a.id for a in local)
        found: list[Anime] = []
        offline, note = False, None
        if query and not self.connectivity.may_ask():
            offline, note = True, self.connectivity.status().describe()
        elif query:
            try:
                found = await self._ask_within_search_deadline(
                    "anime search", lambda client: kitsu_anime_search(client, query, limit)
                )
            except KitsuUnavailable as exc:
                offline, note = True, str(exc)
            except (BadResponse, KitsuRequestRejected) as exc:
                offline, note = True, str(exc)  # an answer we cannot use: the cache's matches
        if found:
            self.cache.describe_anime(found, described_at=utc_now())
        fresh = {a.id: a for a in found}
        merged = {a.id: fresh.get(a.id, a) for a in local}
        for anime in found:
            merged.setdefault(anime.id, anime)
        out = AnimeMatches(list(merged.values())[:limit])
        out.cached, out.offline, out.note = cached_ids, offline, note
        return out

    async def find_anime(self, query: str) -> Anime:
        """The one anime ANIME ``query`` names (Kitsu id, slug or title): the cache first
        (:func:`~animerec_tui.core.catalogue.resolve_anime`); when nothing cached matches and
        Kitsu may be asked, an id is described from Kitsu (``filter[id]``) and a slug or title
        searched (:meth:`search_anime`), both cached, then resolved again.

        Raises BadInput (exit 2): AnimeNotFound, AmbiguousAnime (listing the matches with
        their ids), or a blank query. Kitsu being down is not an error here: the cache's
        answer stands.
        """
        from animerec_tui.core.catalogue import AnimeNotFound, resolve_anime

        try:
            return resolve_anime(self.cache, query)
        except AnimeNotFound:
            if not self.connectivity.may_ask():
                raise
        q = query.strip()
        if q.isascii() and q.isdigit():
            await self.describe([q])
        else:
            await self.search_anime(q)
        return resolve_anime(self.cache, query)

    # -- libraries ---------------------------------------------------------------------------

    async def fetch(
        self,
        query: str,
        *,
        refresh: bool = False,
        client: KitsuClient | None = None,
        progress: Callable[[LibraryProgress], None] | None = None,
    ) -> FetchResult:
        """Fetch (or incrementally refresh) one user's library into the cache.

        ``refresh`` is an explicit refresh: it asks Kitsu even while cooling down after a
        failure. The whole fetch (resolve, every page, retries) waits at most
        ``network.fetch_deadline`` seconds; then, or when Kitsu cannot be reached, a cached
        library is served (``offline=True``). ``client`` reuses an open client (one is opened
        and closed otherwise); ``progress`` gets a
        :class:`~animerec_tui.core.progress.LibraryProgress` per page.

        Returns a :class:`FetchResult`: the user, entry and favourite counts now cached,
        requests sent, seconds taken, ``mode`` (``full``, ``incremental`` or ``cached``),
        ``offline`` and the count of entries Kitsu withholds. Raises
        :class:`KitsuUnavailable` when Kitsu cannot be reached and nothing is cached (offline:
        the same, naming the user), :class:`NotCached` for a sample user without its
        library, :class:`UserNotFound` / :class:`AmbiguousUser` for USER,
        :class:`KitsuRequestRejected` / :class:`BadResponse` from the client.
        """
        ask = self.connectivity.may_ask(explicit=refresh)
        if client is None and ask:
            async with self.client() as own:
                return await self.fetch(query, refresh=refresh, client=own, progress=progress)
        started = time.perf_counter()
        before = client.requests if client is not None else 0
        if not ask or client is None:
            user = await self.resolve(query, None, prefer_cache=False)
            return self._cached_fetch(user, started, before, client)
        budget = self.settings.network.fetch_deadline
        with self.connectivity.waiting("fetch", budget) as wait, client.bounded(budget, wait):
            user = await self.resolve(query, client, prefer_cache=False)
            if user.is_sample or self.offline:
                return self._cached_fetch(user, started, before, client)
            try:
                mode = await self._sync(user, client, refresh=refresh, progress=progress)
            except KitsuUnavailable as exc:
                self._unreachable(exc)
                if self.cache.has_library(user.id):
                    return self._cached_fetch(user, started, before, client)
                raise
        self.connectivity.answered()
        state = self.cache.sync_state(user.id)
        assert state is not None
        return FetchResult(
            user=self.cache.get_user(user.id) or user,
            entries=state.entry_count,
            favorites=state.favorite_count,
            requests=client.requests - before,
            seconds=time.perf_counter() - started,
            mode=mode,
            withheld=state.withheld_count,
        )

    def _cached_fetch(
        self, user: User, started: float, before: int, client: KitsuClient | None
    ) -> FetchResult:
        state = self.cache.sync_state(user.id)
        if state is None:
            if user.is_sample:
                raise NotCached(f"The sample user {user.id} has no library in this cache.")
            raise self._not_cached(repr(user.label))
        note = "bundled sample (never fetched)" if user.is_sample else "offline: cached data"
        return FetchResult(
            user=user,
            entries=state.entry_count,
            favorites=state.favorite_count,
            requests=(client.requests - before) if client is not None else 0,
            seconds=time.perf_counter() - started,
            offline=not user.is_sample,
            mode="cached",
            note=note,
        )

    async def _sync(
        self,
        user: User,
        client: KitsuClient,
        *,
        refresh: bool,
        progress: Callable[[LibraryProgress], None] | None,
    ) -> str:
        synced_at = utc_now()  # when we synced, for people; never a filter[since] value
        state = self.cache.sync_state(user.id)
        if refresh and state is not None and state.source == "kitsu" and state.watermark:
            # Kitsu compares filter[since] with its own updated_at (kitsu-server
            # app/resources/library_entry_resource.rb), so the watermark is Kitsu's clock:
            # the newest updatedAt seen (or its Date header), never this machine's clock
            since = before(state.watermark, REFRESH_OVERLAP)
            total, changes = await client.library_changes(user, since, progress)
            try:
                self.cache.merge_library(changes, synced_at=synced_at, total_entries=total)
                return "incremental"
            except CacheError:
                pass  # entries were removed on Kitsu: only a full fetch can tell which
        library = await client.fetch_library(user, progress=progress)
        self.cache.save_library(library, synced_at=synced_at)
        return "full"

    # -- describing anime ----------------------------------------------------------------------

    async def describe(self, anime_ids: Iterable[str]) -> int:
        """Describe from Kitsu the anime of ``anime_ids`` the cache knows only from the sample
        (no slug, synopsis, English title: never described by Kitsu), and cache them.

        ``/anime?filter[id]=...``, 20 a request. An anime Kitsu does not return is one it hides
        from anonymous readers (AnimePolicy::Scope: adult) and is marked withheld, so no filter
        shows it again. Returns how many anime the cache learned about (described or
        withheld); 0 when offline, cooling down, or when every one was already described.
        Kitsu being unreachable is not an error here (the cache's titles still do): it starts
        the cool-down like any other action, and the whole describe waits at most
        ``network.search_deadline`` seconds (it runs before recommendations are shown).
        """
        if not self.connectivity.may_ask():
            return 0
        wanted = self.cache.undescribed_anime(anime_ids)
        if not wanted:
            return 0
        budget = self.settings.network.search_deadline
        try:
            async with self.client() as client:
                with (
                    self.connectivity.waiting("describe", budget) as wait,
                    client.bounded(budget, wait),
                ):
                    got = await client.describe_anime(wanted)
        except KitsuUnavailable as exc:
            self._unreachable(exc)
            return 0
        except (BadResponse, KitsuRequestRejected):
            return 0  # a Kitsu answer we cannot use: keep what the cache says
        from animerec_tui.core.cache.airing import save_airing_statuses

        found = got.anime
        described = self.cache.describe_anime(found, described_at=utc_now())
        save_airing_statuses(self.cache, got.statuses)
        hidden = set(wanted) - {a.id for a in found}
        if hidden:
            self.cache.withhold_anime(hidden)
        return described + len(hidden)

    async def ensure_relations(
        self,
        anime_ids: Iterable[str],
        *,
        hops: int = 2,
        client: KitsuClient | None = None,
        statuses: bool = False,
    ) -> int:
        """Fetch from Kitsu and cache the media relationships of those of ``anime_ids`` whose
        relations were never fetched (the user's library and the candidates: franchises).

        Each hop fetches the unknown ids (20 sources a request, :func:`.kitsu.relations.
        fetch_relations`), then the franchise-role destinations it found that are still
        unknown, up to ``hops`` hops (a chain Kitsu links season by season is then known from
        any member). Relationships to adult anime are dropped: Kitsu includes R18 anime as
        destinations even for anonymous readers (see :mod:`.kitsu.relations`), which the app
        never shows. The included anime are cached as Kitsu describes them (with their airing
        status). Returns how many sources were fetched; 0 when offline, cooling down or all
        known. Never raises for Kitsu being unreachable (the cool-down starts, as for any
        action) or answering badly (those sources stay unknown, asked again next time); the
        whole call waits at most ``network.fetch_deadline`` seconds. ``client`` reuses an open
        client (one is opened and closed otherwise). ``statuses`` also describes the asked
        anime whose airing status is still unknown (an anime with no relationships is in no
        relations page): 20 more a request, so only when a status filter needs them.
        """
        from animerec_tui.core.cache.airing import save_airing_statuses
        from animerec_tui.core.cache.relations import relations_known, save_relations
        from animerec_tui.core.kitsu.relations import FRANCHISE_ROLES, fetch_relations

        wanted = list(dict.fromkeys(a for a in anime_ids if a.isascii() and a.isdigit()))
        if not wanted or not self.connectivity.may_ask():
            return 0
        fetched = 0
        budget = self.settings.network.fetch_deadline
        if client is None:
            async with self.client() as own:
                return await self.ensure_relations(wanted, hops=hops, client=own, statuses=statuses)
        try:
            with (
                self.connectivity.waiting("relations", budget) as wait,
                client.bounded(budget, wait),
            ):
                for _ in range(max(hops, 1)):
                    known = relations_known(self.cache, wanted)
                    ask = [a for a in wanted if a not in known]
                    if not ask:
                        break
                    got = await fetch_relations(client, ask)
                    adult = {a for a, rec in got.anime.items() if rec.adult}
                    keep = [r for r in got.relations if r.destination_id not in adult]
                    mine = [r for r in keep if r.source_id in got.fetched]
                    if got.fetched:
                        save_relations(self.cache, got.fetched, mine, fetched_at=utc_now())
                    safe = [rec for a, rec in got.anime.items() if a not in adult]
                    self.cache.describe_anime(safe, described_at=utc_now())
                    save_airing_statuses(
                        self.cache, {a: s for a, s in got.statuses.items() if a not in adult}
                    )
                    fetched += len(got.fetched)
                    if statuses:
                        await self._learn_statuses(client, ask)
                    wanted = sorted(
                        {r.destination_id for r in mine if r.role in FRANCHISE_ROLES},
                        key=int,
                    )
        except KitsuUnavailable as exc:
            self._unreachable(exc)
            return fetched
        except (BadResponse, KitsuRequestRejected):
            return fetched  # a Kitsu answer we cannot use: those stay unknown
        self.connectivity.answered()
        return fetched

    async def _learn_statuses(self, client: KitsuClient, ids: list[str]) -> None:
        """Describe those of ``ids`` whose airing status is still unknown (an anime with no
        relationships is in no relations page): status and categories for the filters."""
        from animerec_tui.core.cache.airing import airing_statuses, save_airing_statuses

        known = airing_statuses(self.cache, ids)
        unknown = [a for a in ids if known.get(a) is None]
        if not unknown:
            return
        got = await client.describe_anime(unknown)
        self.cache.describe_anime(got.anime, described_at=utc_now())
        save_airing_statuses(self.cache, got.statuses)

    async def library(self, query: str) -> LibraryResult:
        """A user's cached library, fetched first when online and not cached.

        Returns a :class:`LibraryResult` (the :class:`~animerec_tui.core.records.Library`,
        when it was synced, whether it was just ``fetched`` and whether Kitsu was
        ``offline``). Raises what :meth:`fetch` raises; KitsuUnavailable naming the query
        when Kitsu may not be asked and the user is not cached.
        """
        user = self.resolve_cached(query)
        if user is not None and self.cache.has_library(user.id):
            return self._library_result(user.id)
        if not self.connectivity.may_ask():
            raise self._not_cached(repr(query))
        result = await self.fetch(query)
        out = self._library_result(result.user.id)
        out.fetched = result.mode != "cached"
        out.offline = result.offline
        return out

    def _library_result(self, user_id: str) -> LibraryResult:
        library = self.cache.library(user_id)
        state = self.cache.sync_state(user_id)
        if library is None or state is None:
            raise NotCached(f"{user_id} has no cached library.")
        return LibraryResult(library=library, offline=self.offline, synced_at=state.synced_at)


async def _kitsu_matches(client: KitsuClient, query: str) -> list[User]:
    """Exact id / slug / name matches first, then fuzzy ones, without duplicates."""
    lookups = [client.users_by_slug(query), client.users_by_name(query), client.search_users(query)]
    if query.isdigit():
        lookups.insert(0, _by_id(client, query))
    found: dict[str, User] = {}
    for group in await asyncio.gather(*lookups):
        for user in group:
            found.setdefault(user.id, user)
    return list(found.values())


async def _by_id(client: KitsuClient, user_id: str) -> list[User]:
    try:
        return [await client.get_user(user_id)]
    except UserNotFound:
        return []
