"""The list a re-rank gives once one shown anime is hidden, known without re-ranking.

Hiding a recommended anime that is not in the user's library changes no signal: the user's
strength row is the same (:func:`.pipeline.listener`), so every other score and reason stays
(with the niche dial at 0: the dial re-ranks by rank), and reasons are found per item
(:func:`.reasons.honest_reasons`). When the anime has no franchise-mates it groups with
nothing (:mod:`.franchise`), so no other member can take its place. The re-ranked list is then
the shown one without it, the next row of the same ranking moving up, ranks renumbered 1..n.
The app shows that at once on ``x`` and confirms it with the real re-rank in the background;
whenever the shortcut cannot be sure it says so (None) and only the re-rank decides.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Final

from animerec_tui.core.recommend.service import Recommendation

SPARE: Final = 5
"""Rows past the shown list to keep from the same ranking, so that many hides in a row each
have a next row to move up."""


def list_after_hiding(
    shown: Sequence[Recommendation],
    spare: Sequence[Recommendation],
    anime_id: str,
    library: Collection[str],
    *,
    niche: float = 0.0,
) -> tuple[list[Recommendation], list[Recommendation]] | None:
    """(the re-ranked shown list, the spare rows left) once ``anime_id`` is hidden without
    its franchise, or None when only a re-rank can tell.

    ``shown``: the list as ranked (rank 1 first); ``spare``: the rows the same ranking gave
    after it (:data:`SPARE` of them); ``library``: Kitsu ids of the user's library entries
    that may be shown (planned titles, when they are let through); ``niche``: the dial the
    list was ranked with. None when the anime is not in ``shown``, is in ``library`` (hiding
    it changes the user's row), has franchise-mates, is shown as a percent match (those are
    shares of every candidate, which change), when the niche dial is on (it re-ranks by rank,
    and every rank below the hidden anime moves: :func:`.niche.rerank`), or when no spare row
    is left to move up.
    """
    index = next((i for i, r in enumerate(shown) if r.anime_id == anime_id), None)
    if index is None or not spare or anime_id in library or niche:
        return None
    gone = shown[index]
    if len(gone.franchise) > 1 or any(r.match is not None for r in shown):
        return None
    rows = [
        replace(r, rank=rank)
        for rank, r in enumerate([*shown[:index], *shown[index + 1 :], *spare], start=1)
    ]
    return rows[: len(shown)], rows[len(shown) :]
