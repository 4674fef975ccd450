"""The recommend path's steps around the model: who the user is (library, liked picks, hidden
anime), which anime may be shown (filters, hidden franchises), franchises, honest reasons and
percent match. :func:`animerec_tui.core.recommend.service.recommend` runs them in order.

Everything here reads a handful of indexed rows or works on numpy arrays over the model's
columns, so a second call for the same user (one more hidden anime: the app re-ranks at once)
stays well under 100 ms on the bundled sample.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import scipy.sparse as sp

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.airing import airing_statuses
from animerec_tui.core.cache.catalogue import (
    fetched_sources,
    known_genres,
    relations_version,
    start_dates,
)
from animerec_tui.core.cache.hidden import hidden
from animerec_tui.core.cache.picks import liked
from animerec_tui.core.cache.relations import load_relations
from animerec_tui.core.errors import BadInput
from animerec_tui.core.kitsu.relations import FRANCHISE_ROLES
from animerec_tui.core.recommend.filters import RecommendFilters, _fold, catalogue_mask
from animerec_tui.core.recommend.franchise import Franchises, build_franchises
from animerec_tui.core.recommend.matrix import PLANNED, UserLibrary, row_from_ids
from animerec_tui.core.recommend.models import row_key
from animerec_tui.core.recommend.reasons import eligible_ids
from animerec_tui.core.settings import Weights

TINY_LIBRARY: Final = 5
"""A library with fewer titles the model knows than this is *tiny*: its scores are a first
guess, so they are shown as a percent match with a notice, like the popularity fallback."""
EMPTY_NOTICE: Final = "your library is empty: these are popular with everyone (no 'because')"
UNKNOWN_NOTICE: Final = (
    "{n} anime left out because their {what} is not known yet (the bundled sample's anime "
    "have none until Kitsu describes them)"
)


def columns_of(anime_ids: np.ndarray, ids: Iterable[int] | np.ndarray) -> np.ndarray:
    """Model columns (int64) of those Kitsu ids (ints) the model has; others dropped."""
    wanted = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
    if wanted.size == 0 or anime_ids.size == 0:
        return np.empty(0, dtype=np.int64)
    cols = np.minimum(np.searchsorted(anime_ids, wanted), anime_ids.size - 1)
    found: np.ndarray = cols[anime_ids[cols] == wanted].astype(np.int64)
    return found


@dataclass
class Listener:
    """One user as the recommend path sees them.

    ``row``: 1 x items strength row over the model's columns: the library, plus liked picks
    (as strong as a completed favourite), minus hidden anime (a zero signal: an anime the user
    said "not interested" in never pulls anything up, even if it is in the library).
    ``seen``: Kitsu ids of library entries (any status), favourites and liked picks;
    ``hidden_ids`` / ``hidden_franchise``: hidden ids, those hidden with their franchise;
    ``eligible``: anime ids that may be named as a reason (:func:`.reasons.eligible_ids`,
    liked picks count as favourites); ``changed``: picks or hidden anime altered the row, so
    a trained user row no longer describes the user (they are folded in).
    """

    library: UserLibrary
    row: sp.csr_matrix
    seen: set[str]
    planned: set[str]
    hidden_ids: set[str]
    hidden_franchise: set[str]
    eligible: set[str]
    changed: bool

    @property
    def empty(self) -> bool:
        return not self.seen


def listener(
    cache: Cache, user_id: str, lib: UserLibrary, anime_ids: np.ndarray, weights: Weights
) -> Listener:
    """The user's :class:`Listener`: library ``lib`` (:func:`.matrix.user_library`) with
    their liked picks and hidden anime folded in, over the model's ``anime_ids``."""
    picks = [p.anime_id for p in liked(cache, user_id)]
    gone = hidden(cache, user_id)
    ent, fav = lib.entries, lib.favorites
    row = lib.row
    changed = False
    if picks:
        strength = float(weights.completed + weights.favorite)
        extra = row_from_ids(
            np.asarray([int(p) for p in picks], dtype=np.int64),
            np.full(len(picks), strength, dtype=np.float32),
            anime_ids,
        )
        row = (row + extra).tocsr()
        changed = True
    hidden_cols = columns_of(anime_ids, [int(h.anime_id) for h in gone])
    if hidden_cols.size and np.isin(row.indices, hidden_cols).any():
        keep = ~np.isin(row.indices, hidden_cols)
        row = sp.csr_matrix(
            (row.data[keep], row.indices[keep], np.array([0, int(keep.sum())], dtype=np.int64)),
            shape=row.shape,
        )
        changed = True
    if changed:
        row.sort_indices()
    favourites = [*map(str, fav.tolist()), *picks]
    seen = set(map(str, lib.anime_ids.tolist())) | set(picks)
    return Listener(
        library=lib,
        row=row,
        seen=seen,
        planned={str(int(a)) for a in ent[ent[:, 1] == PLANNED, 0].tolist()},
        hidden_ids={h.anime_id for h in gone},
        hidden_franchise={h.anime_id for h in gone if h.with_franchise},
        eligible=eligible_ids(ent[:, 0], ent[:, 1], ent[:, 2], favourites),
        changed=changed,
    )


@dataclass
class Scored:
    """One user row's raw model scores (float64 over the model's columns) and the
    contribution orders :func:`.reasons.honest_reasons` has found for it, by column."""

    scores: np.ndarray
    orders: dict[int, list[int]] = field(default_factory=dict)


class ScoreMemo:
    """The last few users' :class:`Scored`, per loaded model, keyed by the strength row's
    content and the trained row used: the re-rank after a hide sees the same row (hiding a
    recommended anime changes no signal), so it neither scores nor explains again. Safe
    across threads (the app re-ranks in a worker while the CLI or another screen reads)."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._memo: OrderedDict[tuple[int | None, bytes, bytes], Scored] = OrderedDict()

    def get(
        self, row: sp.csr_matrix, trained: int | None, score: Callable[[], np.ndarray]
    ) -> Scored:
        """The memoised :class:`Scored` of ``row`` (1 x items CSR) and ``trained`` (the user's
        row in the training matrix, or None: folded in), else ``score()``'s, remembered."""
        key = (trained, *row_key(row))
        with self._lock:
            hit = self._memo.get(key)
            if hit is not None:
                self._memo.move_to_end(key)
                return hit
        scored = Scored(score())
        with self._lock:
            self._memo[key] = scored
            while len(self._memo) > self.size:
                self._memo.popitem(last=False)
        return scored


def filter_mask(
    cache: Cache, anime_ids: np.ndarray, filters: RecommendFilters
) -> tuple[np.ndarray, str | None]:
    """(pass mask over the model's columns, a one-line notice or None).

    A bounded ``years``/``episodes`` range or a ``statuses`` filter cannot check an anime whose
    start date, episode count or airing status is unknown (the bundled sample's anime have no
    airing status and no start date until Kitsu describes them; Kitsu gives no episode count
    before one is announced): such an anime does not pass, and the notice says how many
    anime were left out for that reason alone. Reads every column's record once (the caller
    memoises per filter)."""
    ids = [str(int(a)) for a in anime_ids.tolist()]
    records = cache.get_anime(ids)
    anime = [records.get(a) for a in ids]
    statuses = airing_statuses(cache, ids) if filters.statuses else {}
    status_list = [statuses.get(a) for a in ids]
    mask = catalogue_mask(filters, anime, status_list)
    unknown: list[tuple[str, np.ndarray]] = []
    if filters.statuses:
        unknown.append(("airing status", _flags(s is None for s in status_list)))
    if filters.years != (None, None):
        unknown.append(("start year", _flags(a is None or not a.start_date for a in anime)))
    if filters.episodes != (None, None):
        unknown.append(
            ("episode count", _flags(a is None or a.episode_count is None for a in anime))
        )
    if not unknown:
        return mask, None
    loose = replace(
        filters,
        statuses=() if filters.statuses else filters.statuses,
        years=(None, None),
        episodes=(None, None),
    )
    missing = np.zeros(len(ids), dtype=bool)
    for _, flags in unknown:
        missing |= flags
    left_out = int(np.count_nonzero(catalogue_mask(loose, anime) & missing & ~mask))
    if not left_out:
        return mask, None
    what = " or ".join(name for name, _ in unknown)
    return mask, UNKNOWN_NOTICE.format(n=f"{left_out:,}", what=what)


def _flags(values: Iterable[bool]) -> np.ndarray:
    return np.fromiter(values, dtype=bool)


_franchise_lock = threading.Lock()
_franchise_memo: dict[str, tuple[tuple[int, int, str], Franchises, frozenset[str]]] = {}


def _all_franchises(cache: Cache) -> tuple[Franchises, frozenset[str]]:
    """Every franchise of the cached relations and the ids whose relations were fetched,
    memoised per cache until relations are saved (:func:`.catalogue.relations_version`):
    the re-rank after a hide must not rebuild the graph."""
    version = relations_version(cache)
    with _franchise_lock:
        hit = _franchise_memo.get(cache.cache_id)
    if hit is not None and hit[0] == version:
        return hit[1], hit[2]
    edges = [r for r in load_relations(cache) if r.role in FRANCHISE_ROLES]
    members = {e.source_id for e in edges} | {e.destination_id for e in edges}
    built = build_franchises(edges, start_dates(cache, members), known=True)
    fetched = frozenset(fetched_sources(cache))
    with _franchise_lock:
        _franchise_memo[cache.cache_id] = (version, built, fetched)
    return built, fetched


def franchises_for(cache: Cache, ids: Collection[str]) -> Franchises:
    """The cached franchises, for ranking ``ids`` (Kitsu ids); ``known`` is False when none
    of ``ids`` ever had its relations fetched (say so, do not group)."""
    built, fetched = _all_franchises(cache)
    if fetched.isdisjoint(ids):
        return build_franchises([], {}, known=False)
    return built


def hidden_franchise_ids(cache: Cache, ids: Collection[str]) -> set[str]:
    """Every member of the franchises of ``ids`` (the anime hidden "with their franchise")."""
    if not ids:
        return set()
    built, _ = _all_franchises(cache)
    return {m for a in ids for m in built.of(a)}


def check_genres(cache: Cache, filters: RecommendFilters) -> None:
    """BadInput (exit 2) when a ``--genre``/``--exclude-genre`` names no cached anime's
    genre, listing the ones there are (a typo would otherwise silently match nothing)."""
    asked = [("--genre", g) for g in filters.genres]
    asked += [("--exclude-genre", g) for g in filters.exclude_genres]
    if not asked:
        return
    spellings = known_genres(cache)
    known = {_fold(g) for g in spellings}
    for option, g in asked:
        if _fold(g) not in known:
            choices = ", ".join(dict.fromkeys(spellings)) or "none cached yet"
            raise BadInput(
                f"{option} {g!r} is not a genre of any cached anime; choose from {choices}."
            )


def percent_match(scores: np.ndarray, shown: Sequence[float]) -> list[float]:
    """Each shown score as a percent match, 0..100 (one decimal): the share of the other
    candidates (finite entries of ``scores``) it scores above, ties counting half. Used where
    raw scores mean nothing to a person (the popularity fallback, a tiny library)."""
    cand = np.sort(scores[np.isfinite(scores)])
    n = cand.size
    if n <= 1:
        return [100.0 for _ in shown]
    out = []
    for s in shown:
        below = int(np.searchsorted(cand, s, side="left"))
        equal = int(np.searchsorted(cand, s, side="right")) - below
        out.append(round(100.0 * (below + 0.5 * max(equal - 1, 0)) / (n - 1), 1))
    return out
