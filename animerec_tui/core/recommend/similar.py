"""Anime most like one anime: cosine similarity of the model's ALS item factors.

Why ALS item factors (for the default blend, its ALS part's), not EASE's item-item weights:

* every anime in the model has a factor vector, while EASE weighs only its ``ease_max_items``
  most listed anime (the rest have no row at all);
* ALS's item factors embed anime so that anime listed by the same people point the same way:
  their cosine is a symmetric similarity in [-1, 1], comparable across anime. EASE's
  ``B[i, j]`` is a regression weight (asymmetric, zero on the diagonal, signed) that splits
  the credit among anime explaining one another: a show's own sequels soak up its weight, so
  after removing its franchise the remaining weights say little, and they are not on one
  scale from one anime to the next.

The ranking goes through :func:`.ranking.top_n` (ties: more users listing it, then column,
i.e. Kitsu id), so it is the same on every machine.

Franchises (:mod:`.franchise`, from cached Kitsu media relationships) are grouped: each appears
once, as its entry point (its earliest member that passes the filters), its other members in
the row's ``franchise``. The anime's *own* franchise is left out of the list and returned
separately (:attr:`Similar.franchise`): its sequels are always "most similar" (the same
people list them) and would fill the list with what a fan finds on the anime's page anyway,
so the list is for *other* anime, and the franchise is shown apart. Adult anime are never
shown; ``filters`` (:class:`.filters.RecommendFilters`) narrow the list as they narrow
recommendations.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.airing import airing_statuses
from animerec_tui.core.cache.catalogue import start_dates
from animerec_tui.core.cache.relations import connected_relations, relations_known
from animerec_tui.core.catalogue import AmbiguousAnime, AnimeNotFound, resolve_anime
from animerec_tui.core.errors import AnimerecError
from animerec_tui.core.kitsu.relations import FRANCHISE_ROLES
from animerec_tui.core.recommend.filters import RecommendFilters, catalogue_mask
from animerec_tui.core.recommend.franchise import Franchises, build_franchises, group
from animerec_tui.core.recommend.models import ALSModel, BlendModel, Model
from animerec_tui.core.recommend.ranking import top_n
from animerec_tui.core.recommend.service import LoadedModel, load_or_train
from animerec_tui.core.records import Anime
from animerec_tui.core.settings import Settings

POOL_FACTOR = 5
"""Candidates ranked per row asked for (plus :data:`POOL_EXTRA`) before franchise grouping
folds several into one row."""
POOL_EXTRA = 50
NO_RELATIONS = "no franchise data (relations never fetched): similar anime are not grouped"


class NotInModel(AnimerecError):
    """The anime is cached but no user in the model lists it, so it has no item factors.

    Exit 1, not 2: the request is well formed (the anime exists); what is missing is data,
    and crawling more users (or retraining a model older than the cache) can supply it.
    """

    def __init__(self, anime: Anime, users: int) -> None:
        super().__init__(
            f"{anime.display_title} (id {anime.id}) is not in the model: none of its "
            f"{users:,} users lists it; crawl more users or retrain, then ask again."
        )
        self.anime = anime


@dataclass(frozen=True)
class SimilarRow:
    """One similar anime (or franchise, shown as its entry point)."""

    rank: int
    """1 for the most similar."""
    anime_id: str
    """Kitsu id of the anime shown (a franchise's entry point)."""
    title: str
    """Its title in the settings' language."""
    score: float
    """Cosine similarity of item factors, -1..1 (of the franchise's most similar member)."""
    franchise: list[str]
    """Kitsu ids grouped into this row, itself first (``[anime_id]`` when standalone)."""
    anime: Anime | None
    """The cached record (None when the cache has none)."""


@dataclass(frozen=True)
class Similar:
    """What :func:`similar` returns: the anime asked about and its similar anime, best first."""

    anime: Anime
    rows: list[SimilarRow]
    franchise: list[str] = field(default_factory=list)
    """The anime's own franchise (Kitsu ids, chronologically, itself excluded): left out of
    ``rows`` and shown apart. Empty when standalone or when no relation data is cached."""
    notice: str | None = None
    """One line when franchises could not be grouped (no relation data cached)."""


def item_vectors(model: Model) -> np.ndarray:
    """The (anime x factors) float32 item factors :func:`similar` compares: ALS's own, or the
    blend's ALS part's. Raises AnimerecError for a model without item factors (EASE,
    item-kNN, popularity): train the default blend or ALS."""
    if isinstance(model, ALSModel):
        return model.item_factors
    if isinstance(model, BlendModel):
        return model.als.item_factors
    raise AnimerecError(
        f"Similar anime need a model with ALS item factors (blend or als), and the loaded "
        f"model is {model.kind}; run 'animerec train' to train the default blend."
    )


def cosine_to(vectors: np.ndarray, col: int) -> np.ndarray:
    """Cosine similarity (float64, -1..1) of every row of ``vectors`` to row ``col``; 0 for
    a zero vector (an anime the factors know nothing about)."""
    v = vectors.astype(np.float64, copy=False)
    norms = np.linalg.norm(v, axis=1)
    dots = v @ v[col]
    denom = norms * norms[col]
    out = np.zeros(len(v), dtype=np.float64)
    np.divide(dots, denom, out=out, where=denom > 1e-12)
    return out


def _column(loaded: LoadedModel, anime_id: str) -> int | None:
    if not anime_id.isdigit():
        return None
    ids = loaded.anime_ids
    pos = int(np.searchsorted(ids, int(anime_id)))
    return pos if pos < len(ids) and int(ids[pos]) == int(anime_id) else None


def _franchises(cache: Cache, ids: list[str]) -> Franchises:
    """Franchises around ``ids`` from the cached relations (whole components, any hop)."""
    relations = connected_relations(cache, ids, FRANCHISE_ROLES)
    members = set(ids) | {r.source_id for r in relations} | {r.destination_id for r in relations}
    dates = start_dates(cache, members)
    return build_franchises(relations, dates, known=bool(relations_known(cache, ids)))


def similar(
    cache: Cache,
    settings: Settings,
    anime_id: str,
    n: int = 10,
    *,
    filters: RecommendFilters | None = None,
    model: LoadedModel | None = None,
) -> Similar:
    """The ``n`` anime (franchises grouped) most similar to the cached anime ``anime_id``.

    Similarity is the cosine of ALS item factors (:func:`item_vectors`; module docstring for
    why). Candidates: every model anime except the anime's own franchise, adult anime and
    what ``filters`` rule out. ``model`` reuses a loaded model (default
    :func:`.service.load_or_train`, which may train and raise what training raises).

    Returns :class:`Similar`. Raises :class:`.catalogue.AnimeNotFound` (exit 2) when the cache
    has no such anime, :class:`NotInModel` (exit 1) when no user in the model lists it,
    AnimerecError when the model has no item factors.
    """
    found = cache.get_anime([anime_id]) if anime_id.isdigit() else {}
    anime = found.get(anime_id)
    if anime is None:
        raise AnimeNotFound(anime_id)
    loaded = model or load_or_train(cache, settings)
    col = _column(loaded, anime_id)
    vectors = item_vectors(loaded.model)
    if col is None or col >= len(vectors):
        raise NotInModel(anime, len(loaded.user_index))
    scores = cosine_to(vectors, col)

    own = _franchises(cache, [anime_id])
    own_members = [m for m in own.of(anime_id) if m != anime_id]
    blocked = np.zeros(len(loaded.anime_ids), dtype=bool)
    blocked[col] = True
    for member in own_members:
        other = _column(loaded, member)
        if other is not None:
            blocked[other] = True
    blocked |= loaded.adult
    if filters is not None and not filters.empty:
        blocked |= ~_passes(cache, loaded, filters)
    scores[blocked] = -np.inf

    popularity = loaded.item_counts
    pool = max(n, 1) * POOL_FACTOR + POOL_EXTRA
    cols, pool_scores = top_n(scores, pool, popularity)
    ranked = [
        (loaded.id_strings[c], float(s))
        for c, s in zip(cols.tolist(), pool_scores.tolist(), strict=True)
    ]
    franchises = _franchises(cache, [a for a, _ in ranked])
    ranked += _other_members(loaded, scores, franchises, ranked)
    grouped = group(ranked, franchises, (), n=n)

    records = cache.get_anime({a for row in grouped.rows for a in (row.anime_id, *row.franchise)})
    language = settings.display.title_language
    rows: list[SimilarRow] = []
    for rank, row in enumerate(grouped.rows, start=1):
        record = records.get(row.anime_id)
        rows.append(
            SimilarRow(
                rank=rank,
                anime_id=row.anime_id,
                title=record.title_in(language) if record else f"anime {row.anime_id}",
                score=row.score,
                franchise=[row.anime_id, *row.franchise],
                anime=record,
            )
        )
    notice = NO_RELATIONS if grouped.notice else None
    return Similar(anime=anime, rows=rows, franchise=own_members, notice=notice)


def refreshed(result: Similar, cache: Cache, n: int, language: str = "canonical") -> Similar:
    """``result`` with its rows' anime re-read from the cache (after :meth:`Core.describe`
    described them) and titled in ``language``; rows whose anime Kitsu turned out to hide
    (withheld: adult) are dropped, the rest ranked 1..``n`` again. Ask :func:`similar` for a
    few more than ``n`` so that dropped rows leave no gap."""
    records = cache.get_anime(r.anime_id for r in result.rows)
    rows: list[SimilarRow] = []
    for row in result.rows:
        record = records.get(row.anime_id, row.anime)
        if record is not None and record.adult:
            continue
        title = record.title_in(language) if record is not None else row.title
        rows.append(replace(row, rank=len(rows) + 1, title=title, anime=record))
    return replace(result, rows=rows[:n])


def _passes(cache: Cache, loaded: LoadedModel, filters: RecommendFilters) -> np.ndarray:
    """``filters`` over the model's columns (True: may be shown)."""
    ids = loaded.id_strings
    records = cache.get_anime(ids)
    statuses = airing_statuses(cache, ids)
    return catalogue_mask(filters, [records.get(a) for a in ids], [statuses.get(a) for a in ids])


def _other_members(
    loaded: LoadedModel,
    scores: np.ndarray,
    franchises: Franchises,
    ranked: list[tuple[str, float]],
) -> list[tuple[str, float]]:
    """Members of the pool's franchises outside the pool that may be shown, lowest scores
    last: candidates for a franchise's entry point (its first entry may rank below the pool
    cut), appended after the pool so they never take a row of their own first."""
    inside = {a for a, _ in ranked}
    extra: list[tuple[str, float]] = []
    for anime_id, _ in ranked:
        for member in franchises.of(anime_id):
            if member in inside:
                continue
            inside.add(member)
            c = _column(loaded, member)
            if c is not None and scores[c] > -np.inf:
                extra.append((member, float(scores[c])))
    extra.sort(key=lambda e: (-e[1], int(e[0])))
    return extra


__all__ = [
    "NO_RELATIONS",
    "AmbiguousAnime",
    "AnimeNotFound",
    "NotInModel",
    "Similar",
    "SimilarRow",
    "cosine_to",
    "item_vectors",
    "refreshed",
    "resolve_anime",
    "similar",
]
