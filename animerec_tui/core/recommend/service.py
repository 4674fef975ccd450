"""What the CLI and the TUI call: train, load (or train), recommend, evaluate, tune.

Loading does the per-model work once (Gram matrix for fold-in, adult/subtype masks over the
model's anime, id maps), so :func:`recommend` is two small SQL reads, one matrix-vector product
and a top-N partition: well under the 20 ms budget per user.

A model trained on an older state of the cache is *stale*: it is still used (and flagged) until
retrained; users whose library may have changed since are folded in from their current library
instead of using their trained row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.catalogue import anime_version
from animerec_tui.core.cache.picks import liked
from animerec_tui.core.errors import AnimerecError, ModelError, NotCached
from animerec_tui.core.progress import StepProgress
from animerec_tui.core.recommend import pipeline
from animerec_tui.core.recommend.evaluate import MODELS, EvaluationReport
from animerec_tui.core.recommend.evaluate import evaluate as _evaluate
from animerec_tui.core.recommend.filters import RecommendFilters
from animerec_tui.core.recommend.franchise import group
from animerec_tui.core.recommend.matrix import Interactions, build_interactions, user_library
from animerec_tui.core.recommend.models import (
    EXCLUDED,
    CancelEvent,
    Model,
    Progress,
    _check,
    make_model,
    one_blas_thread,
)
from animerec_tui.core.recommend.niche import rerank
from animerec_tui.core.recommend.params import (
    DEFAULT_KIND,
    TUNED_STATE_KEY,
    effective_params,
    tuned_params,
)
from animerec_tui.core.recommend.persist import (
    ModelMeta,
    load_model,
    meta_path,
    save_model,
)
from animerec_tui.core.recommend.ranking import top_n
from animerec_tui.core.recommend.reasons import honest_reasons
from animerec_tui.core.recommend.results import TrainResult
from animerec_tui.core.recommend.tune import TuneResult
from animerec_tui.core.recommend.tune import tune as _tune
from animerec_tui.core.records import Anime
from animerec_tui.core.settings import ModelParams, Settings, Weights


@dataclass(frozen=True)
class Recommendation:
    """One recommended anime."""

    rank: int
    """1 for the best; ties are broken deterministically (:mod:`.ranking`)."""
    anime_id: str
    """Kitsu's anime id."""
    title: str
    """The title in the settings' language (``display.title_language``)."""
    score: float
    """The model's score (unitless, comparable within one list only; the popularity
    fallback: the share of the model's users who list the anime). For a franchise row, the
    score of its best-ranked member."""
    because: list[str]
    """Titles from the user's library that most drive this score, honest ones only
    (:mod:`.reasons`: watched, not rated low, never this title's franchise); empty for the
    fallback, and when no title the user watched explains it."""
    anime: Anime | None
    """The cached anime record, when the cache describes it."""
    franchise: list[str] = field(default_factory=list)
    """Kitsu ids of the anime grouped into this row, itself first (``[anime_id]`` when it is
    in no known franchise), the rest in watching order."""
    how: str = ""
    """One line: how ``because`` was found (``""`` when there is no reason)."""
    match: float | None = None
    """Percent match 0..100 (:func:`.pipeline.percent_match`), shown instead of the raw score
    when the list is the popularity fallback or the library is tiny; None otherwise."""


class Recommendations(list[Recommendation]):
    """The ranked list :func:`recommend` returns, plus why it is not personal when it is not.

    ``fallback`` is ``"popularity"`` when the model has nothing to go on for this user (an
    empty library, only anime no other user in the model has, or scores that are all equal):
    the list is then the most-listed anime (score = share of the model's users who list it),
    with no "because", and ``notice`` is one line saying why. Both are None otherwise (a tiny
    library gets a ``notice`` too, with personal scores).

    ``continued``: the next entries of franchises the user has started, best first (never in
    the list itself); ``grouped``: whether franchises were grouped (False with
    ``all_entries`` or without relation data); ``relations_notice``: one line when there was
    no relation data; ``filters_notice``: one line when a filter left out anime it could not
    check (an ``--status`` filter and anime whose airing status is unknown).
    """

    notice: str | None = None
    fallback: str | None = None
    continued: list[Recommendation]
    grouped: bool = True
    relations_notice: str | None = None
    filters_notice: str | None = None

    def __init__(self, items: Iterable[Recommendation] = ()) -> None:
        super().__init__(items)
        self.continued = []

    def continuing(self) -> Recommendations:
        """The ``continued`` rows as a list of their own (``recommend --continue``), with
        this list's notices."""
        out = Recommendations(self.continued)
        out.notice, out.fallback = self.notice, self.fallback
        out.grouped, out.relations_notice = self.grouped, self.relations_notice
        out.filters_notice = self.filters_notice
        return out


_Mask = tuple[np.ndarray, str | None]


@dataclass
class LoadedModel:
    """A usable model plus everything precomputed for fast recommending.

    Unpacks as ``model, info = load_or_train(...)``.
    """

    model: Model
    meta: ModelMeta
    anime_ids: np.ndarray
    user_index: dict[str, int]
    adult: np.ndarray
    subtype: np.ndarray
    item_counts: np.ndarray | None
    stale: bool = False
    _filter_masks: dict[tuple[RecommendFilters, tuple[int, int]], _Mask] = field(
        default_factory=dict, repr=False
    )
    """Per filter and catalogue version (:mod:`animerec_tui.core.cache.catalogue`): its pass
    mask over the columns and its notice (memoised: the app re-ranks with the same filter at
    once after ``x``; Kitsu describing more anime makes a new key)."""
    retrained_because: str | None = None
    _fingerprint_checked: str = field(default="", repr=False)
    _scored: pipeline.ScoreMemo = field(default_factory=pipeline.ScoreMemo, repr=False)
    """The last users' scores and reasons (the re-rank after ``x`` reuses them)."""

    @property
    def weights(self) -> Weights:
        return self.meta.weights_obj()

    @property
    def info(self) -> dict[str, Any]:
        return {
            "kind": self.meta.kind,
            "created_at": self.meta.created_at,
            "fingerprint": self.meta.fingerprint,
            "stale": self.stale,
            "users": len(self.meta.user_ids),
            "anime": len(self.meta.anime_ids),
            "params": self.meta.params if self.meta.kind in ("als", "blend") else self.meta.model,
            "retrained_because": self.retrained_because,
        }

    def __iter__(self) -> Iterator[Model | dict[str, Any]]:
        yield self.model
        yield self.info

    @cached_property
    def id_strings(self) -> list[str]:
        """Kitsu id (str) of each model column."""
        return [str(a) for a in self.anime_ids.tolist()]

    @cached_property
    def column_of(self) -> dict[str, int]:
        """Model column of each Kitsu id (str) the model has."""
        return {a: c for c, a in enumerate(self.id_strings)}

    def refresh_stale(self, cache: Cache) -> None:
        self.stale = cache.fingerprint() != self.meta.fingerprint


_memo_lock = threading.Lock()
_memo: dict[tuple[str, str], tuple[int, LoadedModel]] = {}


def _memo_key(settings: Settings, kind: str) -> tuple[str, str]:
    return (str(Path(settings.model_dir).resolve()), kind)


def _anime_masks(cache: Cache, anime_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adult flag and lower-cased subtype per model column, read once at load time."""
    ids, flags, kinds = cache.anime_flags()
    n = len(anime_ids)
    adult = np.zeros(n, dtype=bool)
    subtype = np.full(n, "", dtype=object)
    if ids.size == 0 or n == 0:
        return adult, subtype
    pos = np.minimum(np.searchsorted(anime_ids, ids), n - 1)
    hit = anime_ids[pos] == ids
    adult[pos[hit]] = flags[hit]
    subtype[pos[hit]] = np.asarray(kinds, dtype=object)[hit]
    return adult, subtype


def _loaded(
    cache: Cache,
    model: Model,
    meta: ModelMeta,
    extra: dict[str, np.ndarray],
) -> LoadedModel:
    anime_ids = np.asarray([int(a) for a in meta.anime_ids], dtype=np.int64)
    if len(anime_ids) > 1 and np.any(np.diff(anime_ids) <= 0):
        raise ModelError("The saved model's anime ids are not sorted; it will be retrained.")
    counts = extra.get("item_counts")
    if counts is not None and counts.shape != (len(anime_ids),):
        counts = None
    adult, subtype = _anime_masks(cache, anime_ids)
    loaded = LoadedModel(
        model=model,
        meta=meta,
        anime_ids=anime_ids,
        user_index={u: i for i, u in enumerate(meta.user_ids)},
        adult=adult,
        subtype=subtype,
        item_counts=counts,
    )
    loaded.refresh_stale(cache)
    return loaded


# -- training -----------------------------------------------------------------------------------


def _nothing_to_train() -> AnimerecError:
    return AnimerecError(
        "Nothing to train on: the cache holds no library entries yet. Fetch some users first."
    )


def train(
    cache: Cache,
    settings: Settings,
    *,
    model: str = DEFAULT_KIND,
    params: ModelParams | None = None,
    progress: Progress | None = None,
    cancel: CancelEvent | None = None,
    interactions: Interactions | None = None,
    track_loss: bool = False,
) -> TrainResult:
    """Fit ``model`` (a kind of :data:`.models.MODEL_KINDS`) on the whole cache and save it
    under ``settings.model_dir``; the process's loaded copy is replaced too.

    ``params`` default to :func:`.params.effective_params`; ``interactions`` reuse a matrix
    already built from this cache; ``progress`` gets a
    :class:`~animerec_tui.core.progress.FitProgress` per iteration. Returns a
    :class:`TrainResult` (sizes, fingerprint, path, seconds per phase). Raises AnimerecError
    (one line) when the cache has no entries or the fit fails numerically, BadInput when
    the model would not fit in memory, Cancelled when ``cancel`` is set (the previous model
    is kept).

    ``track_loss`` reports ALS's training loss to ``progress`` (the app plots it) at the cost
    of one extra pass per iteration, so scripts and benchmarks leave it off.
    """
    start = time.perf_counter()
    was_tuned = params is None and tuned_params(cache) is not None
    params = params or effective_params(cache, settings)
    fingerprint = cache.fingerprint()  # before reading: a write during training makes it stale
    inter = interactions or build_interactions(cache, settings.weights)
    fingerprint = inter.fingerprint or fingerprint
    if inter.strength.nnz == 0:
        raise _nothing_to_train()
    built = time.perf_counter()
    m = make_model(model, params, track_loss=track_loss)
    _fit_or_explain(m, inter, progress, cancel)
    fitted = time.perf_counter()
    _check(cancel)
    meta = ModelMeta(
        kind=m.kind,
        fingerprint=fingerprint,
        user_ids=inter.user_ids,
        anime_ids=[str(a) for a in inter.anime_ids.tolist()],
        params=asdict(params),
        weights=asdict(settings.weights),
        train_seconds=round(fitted - built, 3),
    )
    counts = np.bincount(inter.strength.indices, minlength=inter.shape[1]).astype(np.int32)
    path = save_model(m, meta, settings.model_dir, extra={"item_counts": counts})
    saved = time.perf_counter()
    loaded = _loaded(cache, m, meta, {"item_counts": counts})
    with _memo_lock:
        _memo[_memo_key(settings, m.kind)] = (path.stat().st_mtime_ns, loaded)
    return TrainResult(
        kind=m.kind,
        params=asdict(params),
        users=inter.shape[0],
        anime=inter.shape[1],
        interactions=int(inter.strength.nnz),
        fingerprint=fingerprint,
        path=str(path),
        build_seconds=round(built - start, 3),
        fit_seconds=round(fitted - built, 3),
        save_seconds=round(saved - fitted, 3),
        seconds=round(saved - start, 3),
        tuned=was_tuned,
    )


def _fit_or_explain(
    m: Model, inter: Interactions, progress: Progress | None, cancel: CancelEvent | None
) -> None:
    """Fit, turning numerical failures into one line (exit 1) and refusing to keep a model
    whose arrays are not finite (it would rank by NaN)."""
    try:
        m.fit(inter.strength, progress, cancel)
    except (np.linalg.LinAlgError, FloatingPointError) as exc:
        raise AnimerecError(
            f"Training {m.kind} failed numerically ({type(exc).__name__}: {exc}); "
            "check the [model] and [weights] settings."
        ) from None
    except Exception as exc:
        if type(exc).__name__ != "ModelFitError":  # implicit's: NaN in the factors
            raise
        raise AnimerecError(
            f"Training {m.kind} diverged ({exc}); lower model.alpha or raise "
            "model.regularization in the settings file."
        ) from None
    for name, array in m.arrays().items():
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            raise AnimerecError(
                f"Training {m.kind} produced non-finite values in {name}; lower model.alpha or "
                "raise model.regularization in the settings file. The previous model is kept."
            )


def load(cache: Cache, settings: Settings, kind: str = DEFAULT_KIND) -> LoadedModel:
    """The saved ``kind`` model as a :class:`LoadedModel`, memoised per process while its
    file is unchanged (``stale`` when the cache or the weights changed since training).
    Raises ModelError when there is none or it is unusable (corrupt, truncated, foreign)."""
    key = _memo_key(settings, kind)
    path = meta_path(settings.model_dir, kind)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise ModelError(f"No saved {kind} model in {settings.model_dir}.") from None
    with _memo_lock:
        hit = _memo.get(key)
    if hit is not None and hit[0] == mtime and hit[1].meta.cache_id == cache.cache_id:
        hit[1].refresh_stale(cache)
        return hit[1]
    model, meta, extra = load_model(settings.model_dir, kind, cache_id=cache.cache_id)
    if meta.weights_obj() != settings.weights:
        # weights changed in settings.toml: the model's rows no longer mean the same thing
        loaded = _loaded(cache, model, meta, extra)
        loaded.stale = True
    else:
        loaded = _loaded(cache, model, meta, extra)
    with _memo_lock:
        _memo[key] = (mtime, loaded)
    return loaded


def load_or_train(
    cache: Cache,
    settings: Settings,
    progress: Progress | None = None,
    cancel: CancelEvent | None = None,
    *,
    kind: str = DEFAULT_KIND,
    track_loss: bool = False,
) -> LoadedModel:
    """The saved ``kind`` model, loaded; when there is none or it is unusable (ModelError),
    one is trained first and ``retrained_because`` says why. Returns a :class:`LoadedModel`;
    raises what :func:`train` raises."""
    try:
        return load(cache, settings, kind)
    except ModelError as exc:
        reason = str(exc)
    train(cache, settings, model=kind, progress=progress, cancel=cancel, track_loss=track_loss)
    loaded = load(cache, settings, kind)
    loaded.retrained_because = reason
    return loaded


# -- recommending -------------------------------------------------------------------------------


HOW_CONTINUE = "the next entry of a franchise you have started"


def recommend(
    cache: Cache,
    settings: Settings,
    user_id: str,
    n: int = 10,
    *,
    filters: RecommendFilters | None = None,
    niche: float = 0.0,
    all_entries: bool = False,
    include_adult: bool = False,
    exclude_planned: bool = True,
    model: LoadedModel | None = None,
    subtypes: Sequence[str] | None = None,
) -> Recommendations:
    """Top-``n`` anime for a cached user, best first, never anything already in their library,
    liked or hidden.

    Returns :class:`Recommendations` (a list; ``notice``/``fallback`` say when it is the
    popularity fallback rather than personal; ``continued`` the next entries of franchises
    the user has started). Raises NotCached for a user with no cached library, ValueError for
    ``niche`` outside 0..1, AnimerecError (one line) when the model's scores are NaN or its
    linear algebra fails. Users in the model use their trained row unless they have liked
    picks or hidden anime in their library; users fetched after training (or every user when
    the model is stale) are folded in from their cached library without retraining.

    * ``filters`` (:class:`.filters.RecommendFilters`) narrow the candidates; ``subtypes`` is
      the older spelling of ``filters.subtypes`` (merged in; kept until every caller moved).
    * ``niche`` 0..1 discounts popularity (:func:`.niche.rerank`).
    * Franchises (cached relations, :mod:`.franchise`) appear once, as their entry point;
      later entries of started franchises go to ``continued``; ``all_entries`` turns that off.
    * Hidden anime (:mod:`animerec_tui.core.cache.hidden`) are never recommended (with their
      franchise when hidden so) and are a zero signal; liked picks
      (:mod:`animerec_tui.core.cache.picks`) are positive signal, never recommended.
    * ``exclude_planned=False`` lets planned titles through; adult titles (R18 or nsfw) are
      left out unless ``include_adult``. ``model`` reuses a loaded model (default
      :func:`load_or_train`, which may train and raise what :func:`train` raises).
    """
    loaded = model or load_or_train(cache, settings)
    if not cache.has_library(user_id):
        raise NotCached(f"No cached library for user {user_id}; fetch it first.")
    filters = filters or RecommendFilters()
    if subtypes:
        merged = RecommendFilters.parse(subtypes=[*filters.subtypes, *subtypes])
        filters = replace(filters, subtypes=merged.subtypes)
    ids = loaded.anime_ids
    lib = user_library(cache, user_id, ids, loaded.weights)
    who = pipeline.listener(cache, user_id, lib, ids, loaded.weights)
    excluded = set(who.seen)
    if not exclude_planned:
        excluded -= who.planned
    excluded |= pipeline.hidden_franchise_ids(cache, who.hidden_franchise) | who.hidden_ids
    mask = np.zeros(len(ids), dtype=bool)
    mask[pipeline.columns_of(ids, [int(a) for a in excluded])] = True
    if not include_adult:
        mask |= loaded.adult
    filters_notice = None
    if filters.subtypes:
        mask |= ~np.isin(loaded.subtype, [s.lower() for s in filters.subtypes])
    if not replace(filters, subtypes=()).empty:
        key = (filters, anime_version(cache))
        if key not in loaded._filter_masks:
            loaded._filter_masks[key] = pipeline.filter_mask(cache, ids, filters)
        passes, filters_notice = loaded._filter_masks[key]
        mask |= ~passes

    row = loaded.user_index.get(user_id)
    if row is not None and (loaded.stale or row >= loaded.model.n_users or who.changed):
        row = None
    popularity = _popularity(cache, loaded)
    fallback = _nothing_to_go_on(loaded, who, user_id, popularity)
    try:
        with one_blas_thread():
            if fallback is None:
                rows = None if row is None else np.array([row])
                scored = loaded._scored.get(
                    who.row, row, lambda: loaded.model.scores(who.row, rows)[0].astype(np.float64)
                )
                scores = scored.scores.copy()
                scores[mask] = EXCLUDED
                fallback = _unusable_scores(scores, user_id)
            if fallback is not None:
                scores = popularity / max(len(loaded.user_index), 1)
                scores[mask] = EXCLUDED
            ranking = rerank(scores, popularity, niche) if niche else scores
            # every candidate: a franchise's entry point may rank far below its best member
            pool, _ = top_n(ranking, len(ranking), popularity)
            id_of = loaded.id_strings
            ranked = list(
                zip([id_of[c] for c in pool.tolist()], ranking[pool].tolist(), strict=True)
            )
            franchises = pipeline.franchises_for(cache, {a for a, _ in ranked} | who.seen)
            grouped = group(ranked, franchises, who.seen, n=n, all_entries=all_entries)
            col = loaded.column_of
            shown = np.asarray([col[r.anime_id] for r in grouped.rows], dtype=np.int64)
            if fallback is None and who.row.nnz and shown.size:
                eligible = pipeline.columns_of(ids, [int(a) for a in who.eligible])
                mates = [
                    pipeline.columns_of(ids, [int(a) for a in franchises.of(r.anime_id)])
                    for r in grouped.rows
                ]
                reasons = honest_reasons(
                    loaded.model, who.row, shown, eligible.tolist(), mates, orders=scored.orders
                )
            else:
                reasons = []
    except np.linalg.LinAlgError as exc:  # e.g. a confidence system that is not positive definite
        raise AnimerecError(
            f"The model cannot score user {user_id} (numerical failure: {exc}); retrain it "
            "with 'animerec train', and check the [model] and [weights] settings."
        ) from None
    tiny = fallback is None and who.row.nnz < pipeline.TINY_LIBRARY
    percent = fallback is not None or tiny
    model_score = {r.best_id: float(scores[col[r.best_id]]) for r in grouped.rows}
    model_score |= {r.best_id: float(scores[col[r.best_id]]) for r in grouped.continued}
    matches = pipeline.percent_match(scores, list(model_score.values())) if percent else []
    match_of = dict(zip(model_score, matches, strict=False))
    wanted = {r.anime_id for r in grouped.rows} | {r.anime_id for r in grouped.continued}
    wanted |= {loaded.id_strings[j] for reason in reasons for j in reason.columns}
    anime = cache.get_anime(wanted)

    def title(aid: str) -> str:
        record = anime.get(aid)
        return record.display_title if record else f"anime {aid}"

    def build(rank: int, r: Any, because: list[str], how: str) -> Recommendation:
        return Recommendation(
            rank=rank,
            anime_id=r.anime_id,
            title=title(r.anime_id),
            score=model_score[r.best_id],
            because=because,
            anime=anime.get(r.anime_id),
            franchise=[r.anime_id, *r.franchise],
            how=how,
            match=match_of.get(r.best_id) if percent else None,
        )

    out = Recommendations()
    out.fallback = None if fallback is None else "popularity"
    out.notice = fallback
    if tiny:
        out.notice = (
            f"your library has only {who.row.nnz} title{'s' if who.row.nnz != 1 else ''} the "
            "model knows: these are a first guess, shown as a percent match"
        )
    out.grouped = grouped.grouped
    out.relations_notice = grouped.notice
    out.filters_notice = filters_notice
    for rank, r in enumerate(grouped.rows, start=1):
        reason = reasons[rank - 1] if reasons else None
        because = [title(loaded.id_strings[j]) for j in reason.columns] if reason else []
        out.append(build(rank, r, because, reason.how if reason and because else ""))
    out.continued = [
        build(rank, r, [], HOW_CONTINUE) for rank, r in enumerate(grouped.continued, start=1)
    ]
    return out


RELATION_CANDIDATES = 100
"""Best ungrouped candidates whose relations :func:`franchise_candidates` asks for."""


def franchise_candidates(
    cache: Cache,
    settings: Settings,
    user_id: str,
    *,
    filters: RecommendFilters | None = None,
    include_adult: bool = False,
    model: LoadedModel | None = None,
    k: int = RELATION_CANDIDATES,
) -> list[str]:
    """Kitsu ids whose relations grouping needs for this user: their library (every status,
    favourites, liked picks) and their ``k`` best candidates, ungrouped, under ``filters``
    less any airing-status filter (statuses are learned from the very fetch these ids feed:
    :meth:`animerec_tui.core.services.Core.ensure_relations`). Raises what
    :func:`recommend` raises."""
    loose = replace(filters, statuses=()) if filters is not None else None
    top = recommend(
        cache,
        settings,
        user_id,
        n=k,
        filters=loose,
        all_entries=True,
        include_adult=include_adult,
        model=model,
    )
    ent, fav = cache.user_interactions(user_id)
    library = [str(int(a)) for a in [*ent[:, 0].tolist(), *fav.tolist()]]
    picks = [p.anime_id for p in liked(cache, user_id)]
    return list(dict.fromkeys([*library, *picks, *(r.anime_id for r in top)]))


POPULAR_INSTEAD = "showing the most popular anime instead (no 'because')"
"""How a popularity-fallback notice ends (the empty library has its own,
:data:`.pipeline.EMPTY_NOTICE`)."""


def _popularity(cache: Cache, loaded: LoadedModel) -> np.ndarray:
    """Users listing each model column (float64): saved with the model, else read from the
    cache (models saved before the counts were kept)."""
    if loaded.item_counts is not None:
        return loaded.item_counts.astype(np.float64)
    ids, listed = cache.listing_counts()
    counts = np.zeros(len(loaded.anime_ids), dtype=np.float64)
    if ids.size and len(loaded.anime_ids):
        n = listed.astype(np.float64)
        pos = np.minimum(np.searchsorted(loaded.anime_ids, ids), len(loaded.anime_ids) - 1)
        hit = loaded.anime_ids[pos] == ids
        np.add.at(counts, pos[hit], n[hit])
    return counts


def _nothing_to_go_on(
    loaded: LoadedModel, who: pipeline.Listener, user_id: str, popularity: np.ndarray
) -> str | None:
    """Why the model cannot personalise for this user (one line, no user named: callers
    prefix it), or None when it can.

    A library column tells the model something only when *another* user in the model lists
    the same anime: a user whose anime nobody else has (this season's shows) would otherwise
    get near-zero scores in catalogue order, each "because you watched" those shows.
    """
    lib = who.library
    if who.empty:
        return pipeline.EMPTY_NOTICE
    cols = who.row.indices
    own = 1.0 if user_id in loaded.user_index else 0.0  # their own entry is in the count
    if cols.size == 0 and np.isin(lib.anime_ids, loaded.anime_ids).any():
        return f"every entry of the library has strength 0 under [weights]: {POPULAR_INSTEAD}"
    if cols.size == 0 or not np.any(popularity[cols] - own > 0):
        return (
            f"none of the library's {lib.anime_ids.size} anime is listed by anyone else among "
            f"the model's {len(loaded.user_index):,} users: {POPULAR_INSTEAD}"
        )
    return None


def _unusable_scores(scores: np.ndarray, user_id: str) -> str | None:
    """A one-line notice when the candidates' scores cannot rank them (all equal); raises
    AnimerecError when they are not numbers (a broken model must not rank by luck)."""
    candidates = scores[scores > EXCLUDED]
    if np.isnan(scores).any():
        raise AnimerecError(
            f"The model's scores for user {user_id} are not numbers (NaN); retrain it with "
            "'animerec train', and check the [model] and [weights] settings."
        )
    if candidates.size == 0:
        return None
    spread = float(candidates.max() - candidates.min())
    if spread <= 1e-9 * max(1.0, float(np.abs(candidates).max())):
        return f"the model scores every anime the same for this library: {POPULAR_INSTEAD}"
    return None


# -- evaluation and tuning live in their own modules; re-exported for the faces ------------------


def evaluate(
    cache: Cache,
    settings: Settings,
    k: int = 10,
    progress: Callable[[StepProgress], None] | None = None,
    cancel: CancelEvent | None = None,
    models: Sequence[str] | None = None,
) -> EvaluationReport:
    """:func:`.evaluate.evaluate` over ``models`` (default all of :data:`.evaluate.MODELS`),
    kept in the table's order. Raises AnimerecError when no user has enough positives,
    Cancelled when ``cancel`` is set."""
    rows = tuple(m for m in MODELS if m in models) if models else MODELS
    return _evaluate(cache, settings, k=k, progress=progress, cancel=cancel, models=rows)


def tune(
    cache: Cache,
    settings: Settings,
    progress: Callable[[StepProgress], None] | None = None,
    cancel: CancelEvent | None = None,
    *,
    budget_seconds: float = 1800.0,
    max_trials: int | dict[str, int] | None = None,
    seed: int = 7,
    train_after: bool = True,
) -> TuneResult:
    """Search every model (:func:`.tune.tune`), save the winners as the cache's defaults, then
    (``train_after``) train the default model with them; the result's ``trained`` is that run.

    Raises AnimerecError when no user has enough positives, Cancelled when ``cancel`` is set
    (the search's winners are then not saved; a cancelled training keeps the previous model).
    """
    result = _tune(
        cache,
        settings,
        progress=progress,
        cancel=cancel,
        budget_seconds=budget_seconds,
        max_trials=max_trials,
        seed=seed,
    )
    if train_after:
        result.trained = train(cache, settings, params=result.params, cancel=cancel)
        result.trained.tuned = True
    return result


__all__ = [
    "DEFAULT_KIND",
    "TUNED_STATE_KEY",
    "LoadedModel",
    "Recommendation",
    "Recommendations",
    "TrainResult",
    "effective_params",
    "evaluate",
    "franchise_candidates",
    "load",
    "load_or_train",
    "recommend",
    "train",
    "tune",
    "tuned_params",
]
