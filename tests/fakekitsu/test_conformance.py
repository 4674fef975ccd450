"""The fake Kitsu against real Kitsu: each recorded response, asked again of the fake.

For every document in tests/fixtures/kitsu/recorded/ (real Kitsu answers committed by other
projects, see SOURCES.md there) the fake gets the same request, and its answer must have the
same *shape*: the same top-level members, the same primary types, the same relationship
names on each resource, each with or without linkage ``data`` exactly as recorded, the same
resource ``links``, the same ``meta`` keys and ``links`` keys, and the same types in
``included`` (with their relationships, with or without ``data``). Values are not compared:
the fake's data is synthetic.

A few things in the recordings the fake does not model, because the client never asks for
them; each is named in :data:`NOT_MODELLED` with its reason and removed from both sides
before comparing, so nothing else can hide behind it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from helpers import FIXTURES

from animerec_tui.fakekitsu import Dataset, FakeKitsu
from animerec_tui.fakekitsu.schema import ROLES

RECORDED = FIXTURES / "kitsu" / "recorded"

NOT_MODELLED = {
    "mappings": "MAL/AniList id mappings (include=anime.mappings): the client never asks",
}
"""Included types (and the relationships that lead to them) the fake does not serve."""


@dataclass(frozen=True)
class Case:
    file: str
    path: str
    params: dict[str, str]
    parts: frozenset[str] = frozenset({"top", "data", "meta", "links", "included"})
    """What to compare; the two crawl-linkage files come from a stand-in (see SOURCES.md)
    that trims ``links`` and skips Kitsu's statusCounts processor."""
    ignore_rels: frozenset[str] = field(default_factory=frozenset)


CASES = [
    Case(
        "library-entries_include-anime-mappings_page1_malsync.json",
        "library-entries",
        {
            "fields[anime]": "slug,titles,averageRating,posterImage,episodeCount",
            "filter[kind]": "anime",
            "filter[user_id]": "137140",
            "include": "anime,anime.mappings,anime.mappings.item",
            "page[limit]": "50",
            "page[offset]": "0",
        },
    ),
    Case(
        "library-entries_include-anime-mappings_page2_malsync.json",
        "library-entries",
        {
            "fields[anime]": "slug,titles,averageRating,posterImage,episodeCount",
            "filter[kind]": "anime",
            "filter[user_id]": "137140",
            "include": "anime,anime.mappings,anime.mappings.item",
            "page[limit]": "50",
            "page[offset]": "50",
        },
    ),
    # Recorded authenticated (its own user); anonymous, Kitsu answers nobody: compare the
    # envelope only.
    Case(
        "users_filter-self_malsync.json",
        "users",
        {"filter[self]": "true", "page[limit]": "10", "page[offset]": "0"},
        parts=frozenset({"top", "meta", "links"}),
    ),
    Case(
        "users_filter-name_kitsulib.json",
        "users",
        {"filter[name]": "likesbikes", "page[limit]": "10", "page[offset]": "0"},
    ),
    Case(
        "users-id-library-entries_kind-anime_kitsulib.json",
        "users/391768/library-entries",
        {"filter[kind]": "anime", "page[limit]": "10", "page[offset]": "0"},
    ),
    Case("anime-1_include-categories_kitsulib.json", "anime/1", {"include": "categories"}),
    Case(
        "favorites_itemType-character_include-item_nekomp-2025.json",
        "favorites",
        {
            "filter[itemType]": "Character",
            "filter[userId]": "294558",
            "include": "item",
            "page[limit]": "10",
            "page[offset]": "0",
        },
    ),
    Case(
        "library-entries_animeId1376_as_jsonapi-resources-0.9.12.json",
        "library-entries",
        {
            "filter[animeId]": "1376",
            "fields[libraryEntries]": "status,ratingTwenty,updatedAt,user",
            "page[limit]": "3",
        },
        parts=frozenset({"data", "included"}),
    ),
    Case(
        "same_with_include-user.json",
        "library-entries",
        {
            "filter[animeId]": "1376",
            "fields[libraryEntries]": "status,ratingTwenty,updatedAt,user",
            "include": "user",
            "fields[users]": "name,slug,pastNames,createdAt,followersCount,favoritesCount,"
            "ratingsCount,lifeSpentOnAnime,avatar",
            "page[limit]": "3",
        },
        parts=frozenset({"data", "included"}),
    ),
]


def _dataset() -> Dataset:
    """Users and anime with the recordings' ids, big enough for the same ``links``."""
    ds = Dataset(seed=11)
    ds.add_anime(n=1500)
    for anime_id in ("1", "1376"):  # visible to anonymous readers, as in the recordings
        ds.add_anime_record(anime_id, ageRating="PG", nsfw=False, userCount=5000)
    ds.add_user(id="137140", name="malsync", slug=None, entries=200, favorites=0)
    ds.add_user(id="391768", name="kitsulib", slug="kitsulib", entries=40)
    ds.add_user(id="400000", name="likesbikes", slug=None, entries=12)
    ds.add_user(id="294558", name="nekomp", slug="nekomp", entries=30, favorites=5)
    for uid in ("20132", "20133", "20134", "20135"):
        ds.add_user(id=uid, name=f"crawled {uid}", slug=None, entries=3)
        ds.give_anime(uid, "1376", status="completed", ratingTwenty=16)
    # A franchise around anime 1: two seasons, a movie, a manga, and an adult side story
    ds.add_anime_record("2", canonicalTitle="Bebop Sequel", ageRating="PG", nsfw=False)
    ds.add_anime_record("3", canonicalTitle="Bebop Movie", subtype="movie", ageRating="PG")
    ds.add_anime_record(ADULT, canonicalTitle="Bebop After Dark", ageRating="R18", nsfw=True)
    ds.add_manga("7", "Bebop Manga")
    ds.link("1", "2", "sequel", "prequel")
    ds.link("1", "3", "side_story", "parent_story")
    ds.link("1", ADULT, "side_story", "parent_story")
    ds.add_relation("1", "7", "adaptation", destination_type="Manga")
    ds.add_relation("7", "1", "adaptation", source_type="Manga")
    for n in range(25):  # more rows than one page (20) for anime 1376
        ds.add_anime_record(str(3000 + n), canonicalTitle=f"Spin-off {n}", ageRating="PG")
        ds.add_relation("1376", str(3000 + n), "spinoff")
    return ds


ADULT = "2999"
"""An R18 anime related to anime 1 (hidden from anonymous readers everywhere else)."""


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with FakeKitsu(_dataset()) as server, httpx.Client(base_url=server.url + "/") as client:
        yield client


def _load(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


def _rels(resource: dict[str, Any], ignore: frozenset[str]) -> dict[str, bool]:
    """Relationship name -> whether it carries linkage ``data``."""
    rels = resource.get("relationships") or {}
    return {name: "data" in rel for name, rel in rels.items() if name not in ignore}


def _by_type(resources: list[dict[str, Any]], ignore: frozenset[str]) -> dict[str, Any]:
    """Per resource type: its member names, resource links and relationships (every
    resource of a type must agree, or the shape is not one shape)."""
    shapes: dict[str, Any] = {}
    for res in resources:
        shape = (
            sorted(set(res) - {"attributes"}),  # attributes may be empty (and left out)
            sorted(res.get("links") or {}),
            _rels(res, ignore),
        )
        seen = shapes.setdefault(res["type"], shape)
        assert seen == shape, f"{res['type']} resources disagree: {seen} vs {shape}"
    return shapes


def shape(doc: dict[str, Any], case: Case) -> dict[str, Any]:
    data = doc.get("data")
    primary = data if isinstance(data, list) else [data] if data else []
    included = [r for r in doc.get("included") or [] if r["type"] not in NOT_MODELLED]
    ignore = case.ignore_rels
    full = {
        "top": sorted(set(doc) - ({"included"} if not included else set())),
        "data": _by_type(primary, ignore),
        "meta": sorted(doc.get("meta") or {}),
        "links": sorted(doc.get("links") or {}),
        "included": _by_type(included, ignore),
    }
    return {part: value for part, value in full.items() if part in case.parts}


@pytest.mark.parametrize("case", CASES, ids=[c.file.removesuffix(".json") for c in CASES])
def test_fake_answers_like_kitsu(http: httpx.Client, case: Case) -> None:
    recorded = _load(case.file)
    answer = http.get(case.path, params=case.params)
    assert answer.status_code == 200, answer.text
    assert shape(answer.json(), case) == shape(recorded, case)


def test_every_recording_is_compared() -> None:
    files = {p.name for p in RECORDED.glob("*.json")}
    assert files == {c.file for c in CASES}


def test_recorded_urls_are_the_requests_sent() -> None:
    """The requests above are the recordings' own (``links.first``), page offset aside."""
    checked = 0
    for case in CASES:
        first = (_load(case.file).get("links") or {}).get("first")
        if not first or "filter" not in first:
            continue
        sent = dict(parse_qsl(urlsplit(first).query))
        assert {k: v for k, v in sent.items() if not k.startswith("page[")} == {
            k: v for k, v in case.params.items() if not k.startswith("page[")
        }, case.file
        checked += 1
    assert checked == 6


def test_linkage_only_for_included_relationships(http: httpx.Client) -> None:
    """The rule itself, on every route that has to-one relationships: listing a
    relationship in ``fields`` shows it (links only); only ``include`` adds ``data``."""
    routes = [
        ("library-entries", {"filter[animeId]": "1376"}, "libraryEntries", "status", "user"),
        ("library-entries", {"filter[userId]": "137140"}, "libraryEntries", "status", "anime"),
        ("favorites", {"filter[userId]": "294558"}, "favorites", "favRank", "item"),
        ("favorites", {"filter[userId]": "294558"}, "favorites", "favRank", "user"),
    ]
    for path, filters, rtype, attribute, rel in routes:
        listed = {**filters, f"fields[{rtype}]": f"{attribute},{rel}"}
        plain = http.get(path, params=listed).json()["data"]
        assert plain and all(set(r["relationships"][rel]) == {"links"} for r in plain)
        with_include = http.get(path, params={**listed, "include": rel}).json()["data"]
        assert all("data" in r["relationships"][rel] for r in with_include)


# -- media-relationships: no recording; held to kitsu-server's resource declaration ----------
#
# app/resources/media_relationship_resource.rb: ``attribute :role`` (+ BaseResource's
# createdAt/updatedAt), ``has_one :source, polymorphic: true``, ``has_one :destination,
# polymorphic: true``, ``filters :source_type, :source_id, :destination_id``, ``filter :role``.

RELATIONS = {
    "filter[source_id]": "1,2",
    "filter[source_type]": "Anime",
    "include": "destination",
    "page[limit]": "20",
}
"""The request docs/kitsu-api.md gives for an anime's relations."""


def test_media_relationships_have_the_declared_shape(http: httpx.Client) -> None:
    doc = http.get("media-relationships", params=RELATIONS).json()
    assert set(doc) == {"data", "included", "meta", "links"}
    assert doc["meta"] == {"count": 5}  # 1 -> 2, 3, adult, manga; 2 -> 1 (prequel)
    assert set(doc["links"]) == {"first", "last"}
    for row in doc["data"]:
        assert row["type"] == "mediaRelationships"
        assert set(row) == {"id", "type", "links", "attributes", "relationships"}
        assert set(row["attributes"]) == {"createdAt", "updatedAt", "role"}
        assert row["attributes"]["role"] in ROLES
        assert set(row["relationships"]) == {"source", "destination"}
        source, destination = row["relationships"]["source"], row["relationships"]["destination"]
        assert set(source) == {"links"}  # not included: links only
        assert set(destination) == {"links", "data"}
        assert destination["links"]["related"].endswith(
            f"/media-relationships/{row['id']}/destination"
        )
        assert destination["data"]["type"] in ("anime", "manga")
    linked = {
        (
            r["relationships"]["destination"]["data"]["type"],
            r["relationships"]["destination"]["data"]["id"],
        )
        for r in doc["data"]
    }
    assert linked == {(r["type"], r["id"]) for r in doc["included"]}
    assert ("manga", "7") in linked and ("anime", "1") in linked  # 2's prequel row


def test_media_relationships_both_directions_and_roles(http: httpx.Client) -> None:
    rows = http.get("media-relationships", params=RELATIONS).json()["data"]
    pairs = {
        (r["attributes"]["role"], r["relationships"]["destination"]["data"]["id"]) for r in rows
    }
    assert ("sequel", "2") in pairs and ("prequel", "1") in pairs
    sequels = http.get(
        "media-relationships", params={**RELATIONS, "filter[role]": "sequel"}
    ).json()["data"]
    by_number = http.get(
        "media-relationships",
        params={**RELATIONS, "filter[role]": "0"},  # enum value
    ).json()["data"]
    assert [r["id"] for r in sequels] == [r["id"] for r in by_number] and len(sequels) == 1


def test_media_relationships_linkage_only_when_included(http: httpx.Client) -> None:
    plain = {k: v for k, v in RELATIONS.items() if k != "include"}
    doc = http.get("media-relationships", params=plain).json()
    assert "included" not in doc
    assert all(set(r["relationships"]["destination"]) == {"links"} for r in doc["data"])
    both = http.get("media-relationships", params={**plain, "include": "source,destination"})
    rows = both.json()["data"]
    assert all("data" in r["relationships"]["source"] for r in rows)
    assert {r["relationships"]["source"]["data"]["id"] for r in rows} == {"1", "2"}


def test_media_relationships_adult_destination_is_included(http: httpx.Client) -> None:
    """kitsu-server lets it through: MediaRelationshipPolicy keeps every row, and
    BaseResource#records_for returns a to-one record before Pundit's policy check (see
    animerec_tui/fakekitsu/relations.py), unlike ``/anime/{id}``, which answers 404."""
    doc = http.get("media-relationships", params=RELATIONS).json()
    assert ("anime", ADULT) in {(r["type"], r["id"]) for r in doc["included"]}
    assert http.get(f"anime/{ADULT}").status_code == 404


def test_media_relationships_paging_and_errors(http: httpx.Client) -> None:
    params = {"filter[source_id]": "1376", "page[limit]": "20"}
    first = http.get("media-relationships", params=params).json()
    assert first["meta"]["count"] == 25 and len(first["data"]) == 20 and "next" in first["links"]
    rest = http.get(first["links"]["next"]).json()
    assert len(rest["data"]) == 5 and "next" not in rest["links"]
    ids = [r["id"] for r in first["data"] + rest["data"]]
    assert ids == sorted(ids, key=int) and len(set(ids)) == 25  # default_sort: id
    default = http.get("media-relationships", params={"filter[source_id]": "1376"}).json()
    assert len(default["data"]) == 10  # default_page_size
    cases = [
        ({"filter[source_id]": "1", "page[limit]": "21"}, "118"),
        ({"filter[destination_type]": "Anime"}, "102"),  # not declared
        ({"filter[source_id]": "1", "include": "media"}, "112"),
        ({"filter[source_id]": "1", "fields[mediaRelationships]": "kind"}, "104"),
    ]
    for bad, code in cases:
        resp = http.get("media-relationships", params=bad)
        assert resp.status_code == 400, bad
        assert resp.json()["errors"][0]["code"] == code, bad
    # ``where(source_type: values)`` compares the Rails class name exactly
    lower = http.get("media-relationships", params={**RELATIONS, "filter[source_type]": "anime"})
    assert lower.json()["meta"]["count"] == 0


# -- categories and title search -------------------------------------------------------------


def test_anime_categories_route_has_the_recorded_category_shape(http: httpx.Client) -> None:
    recorded = [r for r in _load("anime-1_include-categories_kitsulib.json")["included"]]
    doc = http.get("anime/1/categories").json()
    assert set(doc) == {"data", "meta", "links"} and doc["data"]
    assert _by_type(doc["data"], frozenset()) == _by_type(recorded, frozenset())
    assert all({"title", "slug"} <= set(c["attributes"]) for c in doc["data"])
    included = http.get("anime/1", params={"include": "categories"}).json()
    linkage = included["data"]["relationships"]["categories"]["data"]
    assert [c["id"] for c in linkage] == [c["id"] for c in doc["data"]]
    listed = http.get("anime", params={"filter[id]": "1,2", "include": "categories"}).json()
    assert {c["type"] for c in listed["included"]} == {"categories"}
    assert all("data" in a["relationships"]["categories"] for a in listed["data"])
    assert http.get(f"anime/{ADULT}/categories").status_code == 404


def test_anime_title_search_ranks_exact_titles_first(http: httpx.Client) -> None:
    doc = http.get("anime", params={"filter[text]": "BEBOP", "page[limit]": "20"}).json()
    titles = [a["attributes"]["canonicalTitle"] for a in doc["data"]]
    assert "Bebop After Dark" not in titles  # adult: hidden from the search too
    assert set(titles) >= {"Bebop Sequel", "Bebop Movie"}
    exact = http.get("anime", params={"filter[text]": "bebop movie"}).json()["data"]
    assert exact[0]["attributes"]["canonicalTitle"] == "Bebop Movie"
    wrong = http.get("anime", params={"filter[genre]": "x"})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "102"


def test_anime_attributes_the_filters_need(http: httpx.Client) -> None:
    """subtype, status (media_resource.rb ``filter :status``: tba, unreleased, upcoming,
    current, finished, derived from the dates as Media#status does), startDate,
    episodeCount; ``filter[status]`` returns only that status."""
    seen = set()
    for status in ("finished", "current", "upcoming", "unreleased", "tba"):
        doc = http.get("anime", params={"filter[status]": status, "page[limit]": "20"}).json()
        for a in doc["data"]:
            attrs = a["attributes"]
            assert attrs["status"] == status
            assert {"subtype", "startDate", "episodeCount"} <= set(attrs)
            if status == "tba":
                assert attrs["startDate"] is None and attrs["endDate"] is None
            if status == "current":
                assert attrs["endDate"] is None and attrs["startDate"] is not None
            seen.add(status)
    assert seen == {"finished", "current", "upcoming", "unreleased", "tba"}
