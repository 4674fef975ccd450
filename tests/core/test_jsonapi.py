"""JSON:API documents -> records (animerec_tui.core.kitsu.jsonapi).

The fixtures in tests/fixtures/kitsu/ are project-owned, trimmed documents in the exact shapes
of the real recordings (links, relationship links, extra ``included`` types such as
``mappings`` and ``characters``, camelCase ``meta.statusCounts``), salted with hostile values.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import helpers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animerec_tui.core.errors import BadResponse
from animerec_tui.core.kitsu import jsonapi
from animerec_tui.core.records import Anime, Favorite, LibraryEntry, User

FIXTURES = helpers.FIXTURES / "kitsu"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# -- users ---------------------------------------------------------------------------------


def test_users_by_filter() -> None:
    (user,) = jsonapi.parse_users(load("users_filter-name.json"))
    assert user == User(
        id="391768",
        name="likesbikes",
        slug=None,
        past_names=("KyleKing",),
        created_at="2018-10-14T17:15:32.619Z",
        followers_count=39,
        favorites_count=27,
        ratings_count=179,
        life_spent_on_anime=0,
        avatar="https://media.kitsu.io/users/avatars/391768/small.jpeg?1541874239",
    )


def test_single_user_keeps_hostile_strings_and_tolerates_junk() -> None:
    user = jsonapi.parse_user_document(load("users-id.json"))
    assert user.id == "1337"
    assert user.name == "\x1b[31mUsername[bold]"
    assert user.past_names == ("name",)  # null and 3 dropped
    assert user.avatar is None
    assert user.followers_count is None
    assert user.life_spent_on_anime == 24605


def test_user_document_with_list_data_is_bad() -> None:
    with pytest.raises(BadResponse, match="one resource"):
        jsonapi.parse_user_document(load("users_filter-name.json"))


# -- library -------------------------------------------------------------------------------


def test_library_page() -> None:
    page = jsonapi.parse_library_page(load("library-entries_page1.json"), user_id="137140")
    assert page.count == 5
    assert page.raw_size == 5
    assert page.status_counts == {
        "current": 1,
        "completed": 1,
        "on_hold": 1,
        "planned": 1,
        "dropped": 1,
    }
    # the entry whose anime link is null (deleted anime) is skipped
    assert [e.anime_id for e in page.entries] == ["10740", "6039", "1", "7442"]
    first = page.entries[0]
    assert first == LibraryEntry(
        user_id="137140",
        anime_id="10740",
        status="completed",
        id="14239924",
        progress=12,
        reconsume_count=0,
        rating_twenty=18,
        progressed_at="2016-09-27T08:42:54.029Z",
        started_at=None,
        finished_at="2016-09-27T08:42:54.029Z",
        updated_at="2019-03-25T21:13:42.279Z",
    )
    on_hold = page.entries[1]
    assert on_hold.status == "on_hold"
    assert on_hold.rating_twenty is None and on_hold.progress is None
    assert page.entries[2].reconsume_count == 2


def test_included_anime_joined_and_other_types_ignored() -> None:
    page = jsonapi.parse_library_page(load("library-entries_page1.json"), user_id="137140")
    assert set(page.anime) == {"10740", "6039", "1", "7442"}  # no mappings, no characters
    opm = page.anime["10740"]
    assert opm == Anime(
        id="10740",
        title="One Punch Man",
        titles={"en_jp": "One Punch Man", "en_us": "One Punch Man", "ja_jp": "ワンパンマン"},
        slug="one-punch-man",
        subtype="TV",
        episode_count=12,
        average_rating=85.02,
        popularity_rank=14,
        user_count=231507,
        start_date="2015-10-05",
        poster="https://media.kitsu.app/anime/poster_images/10740/small.jpg?1537885326",
        age_rating="R",
        nsfw=False,
        synopsis="Saitama is a hero.",
    )
    hostile = page.anime["6039"]
    assert hostile.title == "[bold]x"
    assert hostile.titles == {"en": "\x1b[31mred"}
    assert hostile.average_rating is None and hostile.episode_count is None
    assert hostile.poster is None and hostile.adult
    bebop = page.anime["1"]
    assert bebop.poster == "https://media.kitsu.io/anime/poster_images/1/original.jpg"
    sparse = page.anime["7442"]  # only canonicalTitle plus an unknown attribute
    assert sparse == Anime(id="7442", title="Attack on Titan")
    assert sparse.genres == ()


def test_anime_entries_take_user_from_relationship() -> None:
    doc = load("library-entries_filter-animeId.json")
    entries = jsonapi.parse_entries(doc, anime_id="1")
    assert [(e.user_id, e.status, e.rating_twenty) for e in entries] == [
        ("391768", "dropped", None),
        ("1337", "completed", 16),
        ("42", "on_hold", 8),
    ]
    assert all(e.anime_id == "1" for e in entries)
    assert jsonapi.meta_count(doc) == 1203


def test_recorded_anime_entries_with_include_user_give_users_and_their_records() -> None:
    """The crawl-linkage case: with ``include=user`` each entry links its user and the
    included records describe them (favoritesCount, slug null...)."""
    page = jsonapi.parse_anime_entries_page(
        load("recorded/same_with_include-user.json"), anime_id="1376"
    )
    assert [e.user_id for e in page.entries] == ["20132", "20133", "20134"]
    assert set(page.users) == {"20132", "20133", "20134"} and page.count == 200
    assert page.users["20132"] == User(
        id="20132",
        name="Crawled 0",
        slug=None,
        created_at="2019-01-01T00:00:00.000Z",
        followers_count=0,
        favorites_count=0,
        ratings_count=0,
        life_spent_on_anime=0,
    )


def test_recorded_anime_entries_without_include_have_no_user() -> None:
    """Without ``include=user`` Kitsu sends links only: structural, and said so."""
    doc = load("recorded/library-entries_animeId1376_as_jsonapi-resources-0.9.12.json")
    with pytest.raises(BadResponse, match="no user relationship"):
        jsonapi.parse_anime_entries_page(doc, anime_id="1376")


def test_several_users_page_takes_each_owner_from_linkage() -> None:
    doc = load("library-entries_page1.json")
    for i, entry in enumerate(doc["data"]):
        entry["relationships"]["user"] = {"data": {"type": "users", "id": str(10 + i % 2)}}
    page = jsonapi.parse_library_page(doc, user_id=None)
    assert {e.user_id for e in page.entries} == {"10", "11"}
    del doc["data"][0]["relationships"]["user"]["data"]
    with pytest.raises(BadResponse, match="no user relationship"):
        jsonapi.parse_library_page(doc, user_id=None)
    favs = load("favorites_anime.json")
    for fav in favs["data"]:
        fav["relationships"]["user"] = {"data": {"type": "users", "id": "12"}}
    assert {f.user_id for f in jsonapi.parse_favorites_page(favs, user_id=None).favorites} == {"12"}


def test_anime_entries_without_user_linkage_are_bad() -> None:
    doc = load("library-entries_filter-animeId.json")
    del doc["data"][1]["relationships"]["user"]["data"]
    with pytest.raises(BadResponse, match="no user relationship"):
        jsonapi.parse_entries(doc, anime_id="1")


def test_entry_without_requested_anime_relationship_is_bad() -> None:
    doc = load("library-entries_page1.json")
    del doc["data"][0]["relationships"]["anime"]
    with pytest.raises(BadResponse, match="no anime relationship"):
        jsonapi.parse_library_page(doc, user_id="1")


def test_unknown_status_and_non_anime_entries_are_skipped() -> None:
    doc = load("library-entries_page1.json")
    doc["data"][0]["attributes"]["status"] = "binging"
    doc["data"][1]["relationships"]["anime"]["data"]["type"] = "manga"
    doc["data"][2]["attributes"] = None
    page = jsonapi.parse_library_page(doc, user_id="1")
    assert [e.anime_id for e in page.entries] == ["7442"]
    assert page.raw_size == 5


@pytest.mark.parametrize("bad_id", ["abc", "1.5", "", "²", "1" * 19, " 12", None, 3.0, True])
def test_anime_ids_must_be_numeric(bad_id: object) -> None:
    doc = load("library-entries_page1.json")
    doc["data"][0]["relationships"]["anime"]["data"]["id"] = bad_id
    with pytest.raises(BadResponse):
        jsonapi.parse_library_page(doc, user_id="1")


def test_numeric_json_ids_are_accepted_as_strings() -> None:
    doc = load("library-entries_page1.json")
    doc["data"][0]["relationships"]["anime"]["data"]["id"] = 10740
    doc["data"][0]["id"] = 14239924
    page = jsonapi.parse_library_page(doc, user_id="1")
    assert page.entries[0].anime_id == "10740" and page.entries[0].id == "14239924"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.__setitem__("data", {}), "list in data"),
        (lambda d: d.__setitem__("data", None), "list in data"),
        (lambda d: d.pop("data"), "list in data"),
        (lambda d: d["data"].__setitem__(0, "x"), "not an object"),
        (lambda d: d.__setitem__("included", {}), "included is not a list"),
        (lambda d: d["included"].append(7), "not an object"),
        (lambda d: d["meta"].__setitem__("count", "5"), "meta.count"),
        (lambda d: d["meta"].__setitem__("count", -1), "meta.count"),
        (lambda d: d["meta"].__setitem__("count", True), "meta.count"),
        (lambda d: d["meta"].__setitem__("count", 10**30), "meta.count"),
        (lambda d: d.pop("meta"), "meta.count"),
        (lambda d: d["data"][0].__setitem__("attributes", []), "attributes"),
        (lambda d: d["data"][0].__setitem__("relationships", []), "relationships"),
        (lambda d: d["data"][0].__setitem__("type", "users"), "not a library entry"),
        (lambda d: d["data"][0]["relationships"]["anime"].__setitem__("data", [1]), "to-one"),
        (lambda d: d["included"][0].__setitem__("id", "x"), "non-numeric"),
    ],
)
def test_structural_problems_raise_bad_response(mutate: Any, message: str) -> None:
    doc = load("library-entries_page1.json")
    mutate(doc)
    with pytest.raises(BadResponse, match=message) as caught:
        jsonapi.parse_library_page(doc, user_id="1")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("doc", [None, [], "x", 3, {"errors": [{"detail": "boom"}]}])
def test_non_documents_are_bad(doc: object) -> None:
    with pytest.raises(BadResponse):
        jsonapi.parse_users(doc)


def test_status_counts_tolerate_junk() -> None:
    doc = {"data": [], "meta": {"count": 0, "statusCounts": {"onHold": "3", "current": 2, "x": 1}}}
    assert jsonapi.status_counts(doc) == {"current": 2}
    assert jsonapi.status_counts({"data": [], "meta": {"count": 0}}) == {}
    assert jsonapi.snake_case("onHold") == "on_hold"


def test_hostile_id_in_message_is_one_short_line() -> None:
    doc = load("library-entries_page1.json")
    doc["included"][0]["id"] = "\x1b[31m\n" + "x" * 10_000
    with pytest.raises(BadResponse) as caught:
        jsonapi.parse_library_page(doc, user_id="1")
    text = str(caught.value)
    assert "\n" not in text and "\x1b" not in text and len(text) < 300


# -- favourites ----------------------------------------------------------------------------


def test_favorites_page_keeps_only_anime() -> None:
    page = jsonapi.parse_favorites_page(load("favorites_anime.json"), user_id="137140")
    assert page.count == 4 and page.raw_size == 4
    assert page.favorites == [
        Favorite(user_id="137140", anime_id="1", id="1753919", fav_rank=0),
        Favorite(user_id="137140", anime_id="10740", id="1753920", fav_rank=1),
        Favorite(user_id="137140", anime_id="12", id="1753922", fav_rank=None),
    ]
    assert set(page.anime) == {"1", "10740", "12"}
    assert page.anime["12"].title == "One Piece"


def test_favorite_without_item_is_bad() -> None:
    doc = load("favorites_anime.json")
    del doc["data"][0]["relationships"]["item"]
    with pytest.raises(BadResponse, match="no item relationship"):
        jsonapi.parse_favorites_page(doc, user_id="1")


# -- errors --------------------------------------------------------------------------------


def test_error_details() -> None:
    assert jsonapi.error_details(load("error-118.json")) == (
        "Limit exceeds maximum page size of 20.",
        "118",
    )
    assert jsonapi.error_details(load("error-404.json"))[1] == "404"
    assert jsonapi.error_details({"errors": [{"title": "T", "code": 102}]}) == ("T", "102")
    for junk in (None, [], {"errors": "x"}, {"errors": [1]}, {"errors": [{"code": True}]}):
        assert jsonapi.error_details(junk) == (None, None)


# -- fuzz ----------------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["anime", "users", "favorites", "libraryEntries", "1", "10740", "onHold"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "data",
                    "included",
                    "meta",
                    "count",
                    "statusCounts",
                    "type",
                    "id",
                    "attributes",
                    "relationships",
                    "anime",
                    "user",
                    "item",
                    "status",
                    "titles",
                    "posterImage",
                    "errors",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)

PARSERS = [
    lambda d: jsonapi.parse_users(d),
    lambda d: jsonapi.parse_user_document(d),
    lambda d: jsonapi.parse_library_page(d, user_id="1"),
    lambda d: jsonapi.parse_favorites_page(d, user_id="1"),
    lambda d: jsonapi.parse_entries(d, anime_id="1"),
    lambda d: jsonapi.parse_anime_entries_page(d, anime_id="1"),
    lambda d: jsonapi.parse_library_page(d, user_id=None),
    lambda d: jsonapi.parse_favorites_page(d, user_id=None),
    lambda d: jsonapi.meta_count(d),
    lambda d: jsonapi.status_counts(d),
    lambda d: jsonapi.error_details(d),
]


def _run_all(doc: object) -> None:
    for parse in PARSERS:
        try:
            parse(doc)
        except BadResponse as exc:
            assert "\n" not in str(exc)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_fuzz_random_json_raises_only_bad_response(doc: object) -> None:
    _run_all(doc)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


BASES = {
    name: load(name)
    for name in (
        "library-entries_page1.json",
        "favorites_anime.json",
        "users_filter-name.json",
        "users-id.json",
        "library-entries_filter-animeId.json",
    )
}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(BASES)), st.data())
def test_fuzz_mutated_real_shapes_raise_only_bad_response(name: str, data: st.DataObject) -> None:
    """Random JSON rarely gets past the top level: replace random subtrees of real-shaped
    documents so the deep paths (relationships, included, attributes) are exercised."""
    doc = copy.deepcopy(BASES[name])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(JSON)
    _run_all(doc)
