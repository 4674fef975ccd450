"""Anime as a person names them: a Kitsu id, a slug or a title, in the cache and on Kitsu.

:func:`resolve_anime` turns ANIME (``animerec similar ANIME``, ``hide USER ANIME...``) into one
cached :class:`~animerec_tui.core.records.Anime`, or a one-line :class:`BadInput` (exit 2)
listing the matches when a title is ambiguous. :func:`rank_matches` orders title matches the
same way everywhere; :func:`kitsu_anime_search` is Kitsu's title search
(``GET /anime?filter[text]=``), which :meth:`Core.search_anime
<animerec_tui.core.services.Core.search_anime>` runs after the cache when online.

Adult anime (R18, nsfw, or withheld: Kitsu hides them from anonymous readers) are never
matched by slug or title, nor returned by a search: only an explicit Kitsu id reaches one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.anime_titles import anime_by_slug, anime_titled, fold
from animerec_tui.core.errors import BadInput
from animerec_tui.core.records import Anime

if TYPE_CHECKING:
    from animerec_tui.core.kitsu import KitsuClient

LISTED = 8
"""Matches an ambiguity message names (then "and N more")."""
SEARCH_LIMIT = 20
"""Kitsu's page maximum for ``/anime`` (docs/kitsu-api.md): one request per search."""


class AnimeNotFound(BadInput):
    """No cached anime is ``query`` (by id, slug or title). Exit 2."""

    def __init__(self, query: str, detail: str = "") -> None:
        how = detail or "search Kitsu with 'animerec anime QUERY' (it caches what it finds)"
        super().__init__(f"No cached anime matches {query!r}; {how}.")
        self.query = query


class AmbiguousAnime(BadInput):
    """Several anime match the title ``query``; ``candidates`` lists them, best first, and
    the message names the first :data:`LISTED` with their ids. Exit 2."""

    def __init__(self, query: str, candidates: Sequence[Anime]) -> None:
        listed = ", ".join(f"{a.display_title} (id {a.id})" for a in candidates[:LISTED])
        more = len(candidates) - LISTED
        tail = f" and {more} more" if more > 0 else ""
        super().__init__(
            f"{len(candidates)} anime match {query!r}: {listed}{tail}. Use an id or slug instead."
        )
        self.query = query
        self.candidates = list(candidates)


class AnimeMatches(list[Anime]):
    """What :meth:`Core.search_anime <animerec_tui.core.services.Core.search_anime>` returns:
    the anime found, best first, plus where they came from.

    ``cached``: ids the cache held before the search (so they show offline too); ``offline``:
    Kitsu was not asked or did not answer (the list is the cache's matches only), and
    ``note`` then says why in one line.
    """

    cached: frozenset[str] = frozenset()
    offline: bool = False
    note: str | None = None


def _names(anime: Anime) -> set[str]:
    return {fold(t) for t in (anime.title or "", *anime.titles.values()) if t}


def _tier(anime: Anime, needle: str) -> int:
    """0: a title equals the query; 1: a title starts with it; 2: its words are in one."""
    names = _names(anime)
    if needle in names:
        return 0
    return 1 if any(n.startswith(needle) for n in names) else 2


def rank_matches(anime: Iterable[Anime], query: str) -> list[Anime]:
    """Title matches best first: exact title, then title prefix, then the rest; within a
    tier the most-listed on Kitsu first (``userCount``; unknown last), then by Kitsu id as
    a number: the same order on every run."""
    needle = fold(query)

    def key(a: Anime) -> tuple[int, int, int, str]:
        number = int(a.id) if a.id.isdigit() else 2**63
        return (_tier(a, needle), -(a.user_count or -1), number, a.id)

    return sorted(anime, key=key)


def cached_matches(cache: Cache, query: str, limit: int = SEARCH_LIMIT) -> list[Anime]:
    """Cached, not adult anime matching ``query``: the anime with that Kitsu id or slug first,
    then title matches (:func:`rank_matches`); at most ``limit``."""
    q = query.strip()
    found: dict[str, Anime] = {}
    if q.isascii() and q.isdigit():
        hit = cache.get_anime([q]).get(q)
        if hit is not None and not hit.adult:
            found[hit.id] = hit
    by_slug = anime_by_slug(cache, q) if q else None
    if by_slug is not None:
        found.setdefault(by_slug.id, by_slug)
    for anime in rank_matches(anime_titled(cache, q), q):
        found.setdefault(anime.id, anime)
    return list(found.values())[:limit]


def resolve_anime(cache: Cache, query: str) -> Anime:
    """The one cached anime ``query`` names: a Kitsu id (digits), else a slug (any case),
    else a title (any of Kitsu's titles, case-insensitive): a title equal to the query when
    exactly one anime has it, else the only anime whose titles hold every word of it.

    Returns the cached :class:`Anime` (an id of an adult anime resolves: it was asked for by
    id; slugs and titles never match one). Raises :class:`BadInput` for a blank query,
    :class:`AnimeNotFound` when nothing matches, :class:`AmbiguousAnime` (listing the
    matches with their ids, best first) when several do. Reads the cache only: callers that
    may ask Kitsu describe an unknown id first (:meth:`Core.describe`).
    """
    q = query.strip()
    if not q:
        raise BadInput("No anime given: use a Kitsu id, a slug or a title.")
    if q.isascii() and q.isdigit():
        hit = cache.get_anime([q]).get(q)
        if hit is None or (hit.withheld and not (hit.title or hit.titles)):
            raise AnimeNotFound(q)
        return hit
    by_slug = anime_by_slug(cache, q)
    if by_slug is not None:
        return by_slug
    matches = rank_matches(anime_titled(cache, q), q)
    needle = fold(q)
    exact = [a for a in matches if needle in _names(a)]
    if len(exact) == 1:
        return exact[0]
    pool = exact or matches
    if len(pool) > 1:
        raise AmbiguousAnime(q, pool)
    if not pool:
        raise AnimeNotFound(q)
    return pool[0]


async def kitsu_anime_search(
    client: KitsuClient, query: str, limit: int = SEARCH_LIMIT
) -> list[Anime]:
    """Kitsu's title search: ``GET /anime?filter[text]=QUERY`` (media_resource.rb ``query
    :text``: a search index over every title, results by relevance), one page of at most
    ``limit`` (Kitsu's maximum is 20), sparse fieldset as the client's other anime reads.

    Anonymous readers are never shown R18 anime (AnimePolicy::Scope / the search scopes'
    ``NOT ageRating:R18``); nsfw ones that come through are dropped here. Returns the anime
    in Kitsu's order. Raises what the client raises (KitsuUnavailable, KitsuRequestRejected,
    BadResponse).
    """
    from animerec_tui.core.kitsu import jsonapi
    from animerec_tui.core.kitsu.client import ANIME_FIELDS
    from animerec_tui.core.kitsu.relations import kitsu_get

    words = " ".join(query.split())
    if not words:
        return []
    params = {
        "filter[text]": words,
        "fields[anime]": ANIME_FIELDS,
        "page[limit]": str(max(1, min(limit, SEARCH_LIMIT))),
    }
    found = jsonapi.parse_anime_list(await kitsu_get(client, "anime", params))
    return [a for a in found if not a.adult]
