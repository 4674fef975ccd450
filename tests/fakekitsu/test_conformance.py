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

RECORDED = FIXTURES / "kitsu" / "recorded"

NOT_MODELLED = {
    "mappings": "MAL/AniList id mappings (include=anime.mappings): the client never asks",
    "categories": "anime categories (include=categories): the client never asks",
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
    Case(
        "anime-1_include-categories_kitsulib.json",
        "anime/1",
        {"include": "categories"},
        ignore_rels=frozenset({"categories"}),
    ),
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
    return ds


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
