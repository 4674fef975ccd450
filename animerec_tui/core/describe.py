"""What is shown is described: anime details for the faces, in the chosen title language.

The bundled sample knows an anime's id, canonical title and a few numbers, but no slug,
synopsis, English title or start date. :meth:`Core.describe` asks Kitsu for those (20 anime a
request) when online; this module turns cached records into what the faces show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from animerec_tui.core.cache import Cache
from animerec_tui.core.records import Anime

if TYPE_CHECKING:  # the recommender (numpy, implicit) is not imported just for a type
    from animerec_tui.core.recommend.service import Recommendation

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
