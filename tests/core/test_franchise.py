"""Franchises from Kitsu relations: one row per franchise, as its entry point; started
franchises go to "continue"; no relation data says so and does not group."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from animerec_tui.core.kitsu.relations import Relation
from animerec_tui.core.recommend.franchise import (
    NO_RELATIONS_NOTICE,
    build_franchises,
    chronological_key,
    group,
)

DATES = {
    "1": "2006-10-05",  # Code Geass
    "2": "2008-04-06",  # Code Geass R2
    "3": "2019-02-09",  # Code Geass movie (full_story of 1)
    "10": "2011-01-07",  # Madoka
    "11": "2012-10-06",  # Madoka movie (summary)
    "20": "1997-04-01",  # Pokemon
    "21": "2002-11-21",  # Pokemon Advanced Generation
    "30": "2001-01-01",  # a standalone film
    "40": "2010-01-01",  # a manga adaptation neighbour
}
EDGES = [
    Relation("1", "2", "sequel"),
    Relation("2", "1", "prequel"),
    Relation("3", "1", "full_story"),
    Relation("11", "10", "summary"),
    Relation("21", "20", "prequel"),
    Relation("1", "40", "adaptation"),
    Relation("10", "30", "spinoff"),
]


def test_franchise_roles_join_others_do_not() -> None:
    f = build_franchises(EDGES, DATES)
    assert f.of("2") == ("1", "2", "3")
    assert f.of("11") == ("10", "11")
    assert f.same("20", "21")
    assert not f.same("1", "40")  # adaptation
    assert not f.same("10", "30")  # spinoff
    assert f.of("30") == ("30",)  # standalone


def test_undated_members_come_last_then_by_numeric_id() -> None:
    f = build_franchises([Relation("100", "9", "sequel"), Relation("9", "55", "sequel")], {})
    assert f.of("55") == ("9", "55", "100")
    assert chronological_key("5", "2001-01-01") < chronological_key("4", None)


def test_group_shows_entry_point_at_best_members_rank() -> None:
    f = build_franchises(EDGES, DATES)
    ranked = [("2", 9.0), ("11", 8.0), ("30", 7.0), ("21", 6.0), ("1", 5.0), ("10", 4.0)]
    out = group(ranked, f, seen=set())
    assert [(r.anime_id, r.best_id, r.score) for r in out.rows] == [
        ("1", "2", 9.0),
        ("10", "11", 8.0),
        ("30", "30", 7.0),
        ("21", "21", 6.0),  # Pokemon itself is not a candidate (filtered): its next entry
    ]
    assert out.rows[0].franchise == ("2", "3")
    assert out.rows[2].franchise == ()
    assert out.grouped and out.notice is None and out.continued == []


def test_entry_point_not_a_candidate_passes_to_next_member() -> None:
    # Pokemon (20) is filtered out (not ranked): its successor is the entry point
    f = build_franchises(EDGES, DATES)
    out = group([("21", 3.0)], f, seen=set())
    assert [r.anime_id for r in out.rows] == ["21"]
    assert out.rows[0].franchise == ("20",)


def test_started_franchise_goes_to_continue() -> None:
    f = build_franchises(EDGES, DATES)
    ranked = [("2", 9.0), ("3", 8.5), ("11", 8.0), ("30", 7.0), ("10", 1.0)]
    out = group(ranked, f, seen={"1"})
    assert [r.anime_id for r in out.rows] == ["10", "30"]
    assert [(r.anime_id, r.best_id) for r in out.continued] == [("2", "2")]


def test_all_entries_and_missing_relations_do_not_group() -> None:
    ranked = [("2", 9.0), ("1", 5.0)]
    f = build_franchises(EDGES, DATES)
    flat = group(ranked, f, seen=set(), all_entries=True)
    assert [r.anime_id for r in flat.rows] == ["2", "1"] and not flat.grouped
    assert flat.rows[0].franchise == ("1", "3") and flat.notice is None
    none = group(ranked, build_franchises([], DATES), seen=set())
    assert [r.anime_id for r in none.rows] == ["2", "1"]
    assert not none.grouped and none.notice == NO_RELATIONS_NOTICE
    known_empty = group(ranked, build_franchises([], DATES, known=True), seen=set())
    assert known_empty.grouped and known_empty.notice is None


def test_n_limits_each_list() -> None:
    f = build_franchises(EDGES, DATES)
    ranked = [("2", 9.0), ("11", 8.0), ("30", 7.0), ("21", 6.0)]
    assert len(group(ranked, f, seen=set(), n=2).rows) == 2


ids = st.integers(1, 40).map(str)
roles = st.sampled_from(["sequel", "prequel", "side_story", "adaptation", "spinoff", "summary"])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    edges=st.lists(st.builds(Relation, ids, ids, roles), max_size=40),
    dates=st.dictionaries(ids, st.dates().map(lambda d: d.isoformat()), max_size=40),
    candidates=st.lists(ids, unique=True, max_size=40),
    seen=st.sets(ids, max_size=10),
    n=st.integers(1, 12),
)
def test_top_list_holds_one_entry_per_franchise_and_no_later_entry_of_unstarted(
    edges: list[Relation],
    dates: dict[str, str],
    candidates: list[str],
    seen: set[str],
    n: int,
) -> None:
    f = build_franchises(edges, dates, known=True)
    ranked = [(a, float(-i)) for i, a in enumerate(candidates) if a not in seen]
    out = group(ranked, f, seen=seen, n=n)
    keys = [f.key(r.anime_id) for r in out.rows]
    assert len(keys) == len(set(keys)) <= n
    cand = {a for a, _ in ranked}
    for row in out.rows:
        members = f.of(row.anime_id)
        assert not set(members) & seen  # unstarted
        key = chronological_key(row.anime_id, dates.get(row.anime_id))
        earlier = [m for m in members if m in cand and chronological_key(m, dates.get(m)) < key]
        assert earlier == []  # nothing earlier that could have been shown
        assert set(row.franchise) == set(members) - {row.anime_id}
    for row in out.continued:
        assert set(f.of(row.anime_id)) & seen and row.anime_id not in seen
    shown = {r.anime_id for r in out.rows} | {r.anime_id for r in out.continued}
    assert shown <= cand
