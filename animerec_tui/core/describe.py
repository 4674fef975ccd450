"""What is shown is described: anime details for the faces, in the chosen title language.

The bundled sample knows an anime's id, canonical title and a few numbers, but no slug,
synopsis, English title or start date. :meth:`Core.describe` asks Kitsu for those (20 anime a
request) when online; this module turns cached records into what the faces show.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from animerec_tui.core.cache import Cache
from animerec_tui.core.records import Anime

if TYPE_CHECKING:  # the recommender (numpy, implicit) is not imported just for a type
    from animerec_tui.core.recommend.service import Recommendation
    from animerec_tui.core.services import Core

MAX_REFILLS = 4
"""Times :func:`shown_top` asks for more after dropping anime Kitsu hides."""

DETAIL_TITLES = ("en", "en_jp", "en_us", "ja_jp")
"""The ``titles`` keys details carry (Kitsu's; each only when Kitsu has it)."""


def anime_details(anime: Anime | None) -> dict[str, Any]:
    """``slug``, ``url`` (``https://kitsu.app/anime/<slug>``), ``titles`` (``en``, ``en_jp``,
    ... when Kitsu has them), ``synopsis`` and ``start_date`` of an anime; None (or ``{}``
    for titles) when Kitsu never described it."""
    if anime is None:
        return {"slug": None, "url": None, "titles": {}, "synopsis": None, "start_date": None}
    return {
        "slug": anime.slug,
        "url": anime.url,
        "titles": {k: anime.titles[k] for k in DETAIL_TITLES if anime.titles.get(k)},
        "synopsis": anime.synopsis,
        "start_date": anime.start_date,
    }


def refreshed(
    recs: Sequence[Recommendation], cache: Cache, language: str = "canonical"
) -> list[Recommendation]:
    """``recs`` with their anime re-read from the cache (after :meth:`Core.describe`) and
    titled in ``language``; anime Kitsu turned out to hide (withheld: adult) are dropped, and
    the rest keep their order, ranked 1..n again."""
    anime = cache.get_anime(r.anime_id for r in recs)
    out: list[Recommendation] = []
    for rec in recs:
        record = anime.get(rec.anime_id, rec.anime)
        if record is not None and record.withheld:
            continue
        title = record.title_in(language) if record is not None else rec.title
        out.append(replace(rec, rank=len(out) + 1, title=title, anime=record))
    return out


def shown_top(
    top: Callable[[int], list[Recommendation]],
    cache: Cache,
    n: int,
    language: str = "canonical",
    prepare: Callable[[Sequence[Recommendation]], object] | None = None,
) -> list[Recommendation]:
    """The first ``n`` of ``top(k)`` that may be shown (:func:`refreshed`): when anime turn out
    withheld, ``top`` is asked for as many more (a few times at most), so a list is not
    shorter because Kitsu hid some of it. ``prepare`` sees each ``top(k)`` first."""
    k = n
    shown: list[Recommendation] = []
    for _ in range(MAX_REFILLS):
        recs = top(k)
        if prepare is not None:
            prepare(recs)
        shown = refreshed(recs, cache, language)
        if len(shown) >= n or len(recs) < k:
            break
        k += len(recs) - len(shown)
    kept = copy.copy(recs)  # the same kind of list, with what it says of itself (a notice)
    kept[:] = shown[:n]
    return kept


def described_top(
    core: Core, top: Callable[[int], list[Recommendation]], n: int
) -> list[Recommendation]:
    """:func:`shown_top`, describing first (when online) the anime the cache knows only from
    the sample (:meth:`Core.describe`). Blocks; call it where no event loop runs."""

    def describe(recs: Sequence[Recommendation]) -> None:
        asyncio.run(core.describe(r.anime_id for r in recs))

    language = core.settings.display.title_language
    return shown_top(top, core.cache, n, language, prepare=describe)
