"""Honest "because you watched": only titles the user watched and liked, never the title itself.

Today :meth:`.models.Model.because` names the library items with the largest positive
contribution to a recommended item's score (ALS: ``c_j y_j^T W_u^-1 y_i``, Hu/Koren/Volinsky
section 5; EASE: ``x_j B_ji``; blend: both, mixed with the blend's weights and scales). Those
can be planned titles, titles rated 5/10, or members of the recommended title's own franchise.
:func:`honest_reasons` keeps the model's order and drops those:

* eligible (:func:`eligible_reasons`): a library entry ``completed`` or ``current``, or a
  favourite, and not rated low: rated below 6/10 (``ratingTwenty < 12``) or below the user's
  own median rating (over their rated entries) disqualifies it; unrated entries pass;
* never the recommended title, nor any member of its franchise.

When no eligible contributor is left and the model has item factors (ALS, blend), the reason
is the eligible title whose item factors are closest (cosine) to the recommended one; otherwise
there is no reason (an empty list), never a made-up one. Each :class:`Reason` says in one line
(``how``) how it was found, for the detail pane.

Wiring (service.recommend): ``reasons = honest_reasons(loaded.model, lib.row, items,
eligible_cols, franchise_cols)`` with ``because = [r.columns for r in reasons]``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Final

import numpy as np
import scipy.sparse as sp

from animerec_tui.core.recommend.models import ALSModel, BlendModel, Model
from animerec_tui.core.records import STATUSES, Favorite, LibraryEntry

LOW_RATING: Final = 12
"""ratingTwenty below this (6/10) is a low rating: never a reason."""
WATCHED: Final = frozenset({"completed", "current"})
_WATCHED_INDEX: Final = np.asarray([STATUSES.index(s) for s in sorted(WATCHED)], dtype=np.int64)

HOW_CONTRIBUTION: Final = (
    "the watched titles you rated well that add the most to this title's score"
)
HOW_FACTORS: Final = "the watched title you rated well whose item factors are closest to this one"
HOW_NONE: Final = "no title you watched and rated well explains this one"


@dataclass(frozen=True)
class Reason:
    """Why one recommended column: ``columns`` (library columns, best first, at most ``k``)
    and ``how`` (one line: how they were found)."""

    columns: list[int]
    how: str


def eligible_reasons(
    entries: Iterable[LibraryEntry], favorites: Iterable[Favorite] = ()
) -> set[str]:
    """Anime ids that may be named as a reason (see the module docstring), from records:
    :func:`eligible_ids` on their fields."""
    entries = list(entries)
    return eligible_ids(
        np.asarray([int(e.anime_id) for e in entries], dtype=np.int64),
        np.asarray([STATUSES.index(e.status) for e in entries], dtype=np.int64),
        np.asarray([e.rating_twenty or 0 for e in entries], dtype=np.int64),
        [f.anime_id for f in favorites],
    )


def eligible_ids(
    anime_ids: np.ndarray, statuses: np.ndarray, ratings: np.ndarray, favorites: Iterable[str]
) -> set[str]:
    """Anime ids (str) that may be named as a reason (see the module docstring).

    ``anime_ids``, ``statuses`` (positions in :data:`~animerec_tui.core.records.STATUSES`)
    and ``ratings`` (ratingTwenty, 0 = unrated) describe the library entries, one per
    position (the columns of :meth:`Cache.user_interactions`); ``favorites``: favourite
    anime ids. The median is over the rated entries (``ratingTwenty`` 2..20); "below the
    median" is strict, so a user who rates everything 8/10 keeps every 8/10 title.
    """
    rated = ratings > 0
    median = float(np.median(ratings[rated])) if rated.any() else 0.0
    low = rated & ((ratings < LOW_RATING) | (ratings < median))
    watched = np.isin(statuses, _WATCHED_INDEX)
    ok = set(map(str, anime_ids[watched].tolist())) | set(favorites)
    return ok - set(map(str, anime_ids[low].tolist()))


def _factors(model: Model) -> np.ndarray | None:
    if isinstance(model, ALSModel):
        return model.item_factors
    if isinstance(model, BlendModel):
        return model.als.item_factors
    return None


def honest_reasons(
    model: Model,
    strength_row: sp.csr_matrix,
    items: np.ndarray,
    eligible: Collection[int],
    franchise: Sequence[Collection[int]] | None = None,
    *,
    k: int = 3,
    orders: dict[int, list[int]] | None = None,
) -> list[Reason]:
    """One :class:`Reason` per recommended column in ``items``.

    ``strength_row``: the user's 1 x items library row (as for ``Model.because``);
    ``eligible``: model columns of :func:`eligible_reasons`' anime; ``franchise[i]``: model
    columns of ``items[i]``'s franchise (never named for it; None: no franchise data). The
    model's contribution order is kept (``Model.because`` asked for the whole library); the
    closest-factors fallback and the empty reason are as the module docstring says.
    ``orders``: contribution orders already found for this row, by column (read, and
    completed with the ones found now: an item's order does not depend on the others).
    """
    ok = {int(c) for c in eligible}
    lib_cols = [int(c) for c in strength_row.indices if int(c) in ok]
    known = orders if orders is not None else {}
    todo = [c for c in dict.fromkeys(items.tolist()) if c not in known]
    if todo:
        found = model.because(
            strength_row, np.asarray(todo, dtype=np.int64), k=max(int(strength_row.nnz), 1)
        )
        known.update(zip(todo, found, strict=True))
    ranked = [known[c] for c in items.tolist()]
    factors = _factors(model)
    out: list[Reason] = []
    for i, (item, order) in enumerate(zip(items.tolist(), ranked, strict=True)):
        banned = {int(item)} | ({int(c) for c in franchise[i]} if franchise else set())
        cols = list(islice((c for c in order if c in ok and c not in banned), k))
        if cols:
            out.append(Reason(cols, HOW_CONTRIBUTION))
            continue
        pool = [c for c in lib_cols if c not in banned]
        if factors is not None and pool:
            out.append(Reason([_closest(factors, int(item), pool)], HOW_FACTORS))
        else:
            out.append(Reason([], HOW_NONE))
    return out


def _closest(factors: np.ndarray, item: int, pool: list[int]) -> int:
    """The column of ``pool`` with the highest cosine similarity to ``item`` (first on ties)."""
    target = factors[item].astype(np.float64)
    cand = factors[pool].astype(np.float64)
    norms = np.linalg.norm(cand, axis=1) * max(float(np.linalg.norm(target)), 1e-12)
    sims = cand @ target / np.maximum(norms, 1e-12)
    return pool[int(np.argmax(sims))]
