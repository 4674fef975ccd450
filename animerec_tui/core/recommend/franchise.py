"""Franchises from Kitsu's media relationships, and grouping a ranking by them.

A *franchise* is a connected component of the undirected graph whose edges are the relations
with a role in :data:`~animerec_tui.core.kitsu.relations.FRANCHISE_ROLES` (sequel, prequel,
parent_story, side_story, summary, full_story): the chain a fan watches in order. Found with
union-find (path halving, union by smaller id), so it does not matter whether Kitsu stores a
relation in one direction or both.

The other roles do NOT join franchises, on purpose:

* ``adaptation`` links an anime to its manga or novel (or to another adaptation of the same
  source, e.g. a 2003 and a 2009 series): separate works a fan chooses between.
* ``alternative_setting`` / ``alternative_version`` are the same characters in another
  continuity, or a retelling: a reasonable recommendation on its own, not a later episode.
* ``spinoff`` and ``character`` relate shows that merely share characters (a chibi comedy, a
  crossover); joining through them chains unrelated franchises into one giant component
  (every Type-Moon or Gundam show), and one bad edge would hide dozens of titles.
* ``other`` is whatever Kitsu's editors could not name: no evidence of watching order.

For a user, the *entry point* of a franchise is its earliest member (start date, then Kitsu id
as a number; undated members last) that the user has not seen and that can be recommended;
*seen* is any library entry (any status) or favourite.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from animerec_tui.core.kitsu.relations import FRANCHISE_ROLES, Relation

NO_RELATIONS_NOTICE = (
    "no franchise data (relations never fetched): recommendations are not grouped by franchise"
)


def _id_key(anime_id: str) -> tuple[int, str]:
    return (int(anime_id), anime_id) if anime_id.isdigit() else (2**63, anime_id)


def chronological_key(anime_id: str, start_date: str | None) -> tuple[int, str, int, str]:
    """Sort key: dated before undated, then ISO start date, then Kitsu id as a number."""
    return (0 if start_date else 1, start_date or "", *_id_key(anime_id))


@dataclass(frozen=True)
class Franchises:
    """Anime -> franchise, built by :func:`build_franchises`.

    ``members[root]`` lists a franchise's members chronologically (see
    :func:`chronological_key`); anime in no franchise edge are singletons (not stored).
    ``known`` is False when no relation data exists for any anime asked about: callers then
    say so (:data:`NO_RELATIONS_NOTICE`) and do not group.
    """

    root: Mapping[str, str]
    members: Mapping[str, tuple[str, ...]]
    known: bool

    def of(self, anime_id: str) -> tuple[str, ...]:
        """Every member of ``anime_id``'s franchise, itself included, chronologically."""
        return self.members.get(self.root.get(anime_id, anime_id), (anime_id,))

    def key(self, anime_id: str) -> str:
        """The franchise's identity: its smallest member id (the anime itself if alone)."""
        return self.root.get(anime_id, anime_id)

    def same(self, a: str, b: str) -> bool:
        return self.key(a) == self.key(b)


def build_franchises(
    relations: Iterable[Relation],
    start_dates: Mapping[str, str | None],
    *,
    known: bool | None = None,
) -> Franchises:
    """Franchises from relation edges; only :data:`FRANCHISE_ROLES` edges join anime.

    ``start_dates``: Kitsu id -> ISO ``startDate`` (or None) for ordering members; missing
    ids count as undated. ``known`` overrides whether relation data exists (default: any
    relation at all was given; pass the cache's ``relations_known`` result, non-empty, so that
    anime fetched with no relations still count as known).
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges = list(relations)
    for r in edges:
        if r.role not in FRANCHISE_ROLES or r.source_id == r.destination_id:
            continue
        a, b = find(r.source_id), find(r.destination_id)
        if a != b:
            low, high = sorted((a, b), key=_id_key)
            parent[high] = low
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    root = {x: find(x) for x in parent}
    members = {
        r: tuple(sorted(m, key=lambda a: chronological_key(a, start_dates.get(a))))
        for r, m in groups.items()
    }
    return Franchises(root, members, bool(edges) if known is None else known)


@dataclass(frozen=True)
class Row:
    """One row of a grouped list.

    ``anime_id``: the title to show (the franchise's entry point, or the next entry for a
    ``continue`` row); ``score``: the score of ``best_id``, the franchise's best-ranked
    candidate, whose rank the row takes; ``franchise``: the franchise's *other* members,
    chronologically (empty for a standalone title) - the JSON rows' ``franchise``.
    """

    anime_id: str
    score: float
    best_id: str
    franchise: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grouped:
    """What :func:`group` returns: ``rows`` (discovery, best first), ``continued`` (next
    entries of franchises the user has started, best first), ``grouped`` (False when grouping
    was off or impossible) and ``notice`` (one line when there was no relation data)."""

    rows: list[Row] = field(default_factory=list)
    continued: list[Row] = field(default_factory=list)
    grouped: bool = True
    notice: str | None = None


def group(
    ranked: Sequence[tuple[str, float]],
    franchises: Franchises,
    seen: Collection[str],
    *,
    n: int | None = None,
    all_entries: bool = False,
) -> Grouped:
    """Group a ranking so each franchise appears once, as its entry point.

    ``ranked``: (anime id, score) candidates, best first (every anime that may be recommended,
    already filtered: nothing outside it is ever shown); ``seen``: anime ids in the user's
    library or favourites; ``n``: stop after ``n`` rows in each list (None: all).

    * A franchise none of whose members the user has seen yields one row in ``rows``, at the
      rank of its best-ranked candidate, showing its entry point: the earliest *candidate*
      member (so an unrecommendable first entry, adult or filtered out, passes to the next).
    * A franchise the user has started yields one row in ``continued`` instead, showing its
      earliest unseen candidate member: later seasons never take discovery slots.
    * ``all_entries=True`` (or no relation data: ``franchises.known`` False) returns the
      ranking as it is, one row per candidate, ``continued`` empty, ``grouped`` False; rows
      still carry their franchise when it is known.
    """
    limit = len(ranked) if n is None else max(int(n), 0)
    seen_set = set(seen)
    if all_entries or not franchises.known:
        rows = [
            Row(a, s, a, tuple(m for m in franchises.of(a) if m != a)) for a, s in ranked[:limit]
        ]
        notice = None if franchises.known else NO_RELATIONS_NOTICE
        return Grouped(rows, [], grouped=False, notice=notice)
    candidates = {a for a, _ in ranked}
    out: list[Row] = []
    cont: list[Row] = []
    done: set[str] = set()
    for anime_id, score in ranked:
        if len(out) >= limit and len(cont) >= limit:
            break
        key = franchises.key(anime_id)
        if key in done:
            continue
        done.add(key)
        members = franchises.of(anime_id)
        started = any(m in seen_set for m in members)
        target = cont if started else out
        if len(target) >= limit:
            continue
        entry = next((m for m in members if m in candidates and m not in seen_set), anime_id)
        others = tuple(m for m in members if m != entry)
        target.append(Row(entry, score, anime_id, others))
    return Grouped(out, cont)
