"""Kitsu media relationships: the JSON:API parser on documents shaped as Kitsu serialises
them, the batched fetch (20 sources a request, paging by links.next, one bad batch never
sinking the rest) and the cache store ("never fetched" differs from "has none").

Document shape: kitsu-server ``app/resources/media_relationship_resource.rb`` (``attribute
:role``, polymorphic ``has_one :source`` / ``:destination``), type ``mediaRelationships``;
linkage only for included relationships and polymorphic linkage types from the model's type
column (jsonapi-resources 0.9.12 ``resource_serializer.rb``: ``relationship_object_to_one``,
``to_one_linkage``), ``links.next`` while more pages follow.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.relations import (
    connected_relations,
    load_relations,
    relations_known,
    save_relations,
)
from animerec_tui.core.cache.schema import SCHEMA_VERSION
from animerec_tui.core.errors import BadResponse, KitsuUnavailable
from animerec_tui.core.kitsu.client import KitsuClient
from animerec_tui.core.kitsu.relations import (
    FRANCHISE_ROLES,
    Relation,
    fetch_relations,
    parse_relations_page,
)
from animerec_tui.core.settings import NetworkSettings

BASE = "https://kitsu.test/api/edge"
FAST = NetworkSettings(max_attempts=2, backoff_base=0.0, backoff_max=0.0, timeout=5.0)


def rel(rid: int, role: str, source: str, dest: str, dest_type: str = "anime") -> dict[str, Any]:
    link = f"{BASE}/media-relationships/{rid}"
    return {
        "id": str(rid),
        "type": "mediaRelationships",
        "links": {"self": link},
        "attributes": {
            "createdAt": "2017-01-16T05:17:58.000Z",
            "updatedAt": "2017-01-16T05:17:58.000Z",
            "role": role,
        },
        "relationships": {
            "source": {
                "links": {"self": f"{link}/relationships/source", "related": f"{link}/source"},
                "data": {"type": "anime", "id": source},
            },
            "destination": {
                "links": {
                    "self": f"{link}/relationships/destination",
                    "related": f"{link}/destination",
                },
                "data": {"type": dest_type, "id": dest},
            },
        },
    }


def anime(aid: str, title: str) -> dict[str, Any]:
    return {
        "id": aid,
        "type": "anime",
        "links": {"self": f"{BASE}/anime/{aid}"},
        "attributes": {"canonicalTitle": title, "subtype": "TV", "startDate": "2006-10-05"},
    }


def doc(
    data: list[dict[str, Any]],
    included: list[dict[str, Any]],
    count: int,
    next_offset: int | None = None,
) -> dict[str, Any]:
    links = {"first": f"{BASE}/media-relationships?page%5Blimit%5D=20&page%5Boffset%5D=0"}
    if next_offset is not None:
        links["next"] = (
            f"https://elsewhere.example/api/edge/media-relationships?"
            f"page%5Blimit%5D=20&page%5Boffset%5D={next_offset}"
        )
    return {"data": data, "included": included, "meta": {"count": count}, "links": links}


def test_parser_reads_roles_skips_manga_and_keeps_included_anime() -> None:
    page = parse_relations_page(
        doc(
            [
                rel(1, "sequel", "1", "2"),
                rel(2, "adaptation", "1", "77", "manga"),
                rel(3, "prequel", "2", "1"),
                rel(4, "side_story", "2", "9"),
            ],
            [
                anime("1", "Code Geass"),
                anime("2", "Code Geass R2"),
                {"id": "77", "type": "manga", "attributes": {"canonicalTitle": "x"}},
            ],
            4,
        )
    )
    assert page.relations == [
        Relation("1", "2", "sequel"),
        Relation("2", "1", "prequel"),
        Relation("2", "9", "side_story"),
    ]
    assert sorted(page.anime) == ["1", "2"] and page.anime["2"].title == "Code Geass R2"
    assert page.next_offset is None  # "9" (R18, say) is linked but never included: still kept


def test_parser_follows_only_the_query_of_links_next() -> None:
    page = parse_relations_page(doc([], [], 40, next_offset=20))
    assert page.next_offset == 20


@pytest.mark.parametrize(
    "broken",
    [
        {"data": {"id": "1", "type": "mediaRelationships"}},
        {"data": [{"id": "1", "type": "anime"}]},
        {
            "data": [
                {
                    **rel(1, "sequel", "1", "2"),
                    "relationships": {"destination": {"data": {"type": "anime", "id": "2"}}},
                }
            ]
        },  # source not linked
        {"data": [], "links": {"next": f"{BASE}/media-relationships?page%5Boffset%5D=x"}},
    ],
)
def test_parser_rejects_what_kitsu_would_not_send(broken: dict[str, Any]) -> None:
    with pytest.raises(BadResponse):
        parse_relations_page(broken)


class FakeRelations:
    """A MockTransport handler serving /media-relationships over a small relation table,
    paged 20 at a time and filtered by ``filter[source_id]`` (a comma list) as Kitsu does."""

    def __init__(self, table: list[tuple[str, str, str]], fail_on: str | None = None) -> None:
        self.table = table
        self.fail_on = fail_on
        self.requests: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        q = dict(request.url.params.multi_items())
        self.requests.append(q)
        assert request.url.path == "/api/edge/media-relationships"
        sources = q["filter[source_id]"].split(",")
        assert q["filter[source_type]"] == "Anime" and q["include"] == "source,destination"
        assert len(sources) <= 20 and int(q["page[limit]"]) <= 20
        if self.fail_on is not None and self.fail_on in sources:
            body = {"errors": [{"status": "400", "title": "Invalid filter", "code": "103"}]}
            return httpx.Response(
                400, json=body, headers={"Content-Type": "application/vnd.api+json"}
            )
        rows = [r for r in self.table if r[0] in sources]
        offset = int(q.get("page[offset]", "0"))
        page = rows[offset : offset + 20]
        nxt = offset + 20 if offset + 20 < len(rows) else None
        data = [rel(i, role, s, d) for i, (s, d, role) in enumerate(page, start=offset + 1)]
        body = doc(
            data, [anime(s, f"Anime {s}") for s in sorted({r[0] for r in page})], len(rows), nxt
        )
        return httpx.Response(
            200,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/vnd.api+json"},
        )


def client(handler: Any) -> KitsuClient:
    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    return KitsuClient(BASE, network=FAST, transport=httpx.MockTransport(handler), sleep=no_sleep)


async def test_fetch_batches_20_sources_and_pages_by_links_next() -> None:
    table = [(str(s), str(1000 + s * 10 + k), "sequel") for s in range(1, 46) for k in range(3)]
    table += [("3", "5000", "adaptation")]
    fake = FakeRelations(table)
    async with client(fake) as c:
        got = await fetch_relations(c, [str(i) for i in range(1, 46)] + ["1", "abc"])
    assert got.fetched == {str(i) for i in range(1, 46)} and got.failed == {}
    assert len(got.relations) == len(set(table)) == 136
    assert set(got.relations) == {Relation(*r[:2], r[2]) for r in table}
    first_pages = [r for r in fake.requests if "page[offset]" not in r]
    assert len(first_pages) == 3  # 45 sources: 20 + 20 + 5
    assert max(int(r.get("page[offset]", "0")) for r in fake.requests) >= 40  # 60 rows a batch
    assert got.anime["1"].title == "Anime 1"


async def test_one_rejected_batch_does_not_sink_the_others() -> None:
    table = [(str(s), str(s + 100), "sequel") for s in range(1, 31)]
    async with client(FakeRelations(table, fail_on="25")) as c:
        got = await fetch_relations(c, [str(i) for i in range(1, 31)])
    assert got.fetched == {str(i) for i in range(1, 21)}
    assert set(got.failed) == {str(i) for i in range(21, 31)}
    assert "rejected" in got.failed["25"]


async def test_unreachable_kitsu_raises() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with client(down) as c:
        with pytest.raises(KitsuUnavailable):
            await fetch_relations(c, ["1", "2"])


@pytest.fixture
def cache(tmp_path: Path) -> Any:
    with Cache(tmp_path / "c" / "animerec.sqlite3") as c:
        yield c


def test_store_replaces_atomically_and_tells_never_fetched_from_none(cache: Cache) -> None:
    save_relations(
        cache,
        ["1", "2", "30"],
        [Relation("1", "2", "sequel"), Relation("2", "1", "prequel"), Relation("2", "3", "sequel")],
        fetched_at="2026-01-01T00:00:00Z",
    )
    assert relations_known(cache, ["1", "2", "3", "30"]) == {"1", "2", "30"}  # 30: has none
    assert load_relations(cache, ["3"]) == [Relation("2", "3", "sequel")]
    save_relations(cache, ["2"], [Relation("2", "1", "prequel")], fetched_at="2026-02-01T00:00:00Z")
    assert load_relations(cache) == [Relation("1", "2", "sequel"), Relation("2", "1", "prequel")]
    with pytest.raises(ValueError, match="not among the sources"):
        save_relations(cache, ["1"], [Relation("9", "1", "sequel")], fetched_at="x")
    assert len(load_relations(cache)) == 2  # nothing written


def test_connected_relations_walks_a_whole_franchise(cache: Cache) -> None:
    chain = [Relation(str(i), str(i + 1), "sequel") for i in range(1, 8)]
    save_relations(
        cache,
        [str(i) for i in range(1, 8)],
        [*chain, Relation("4", "99", "adaptation")],
        fetched_at="t",
    )
    got = connected_relations(cache, ["8"], FRANCHISE_ROLES)
    assert got == chain


def test_migration_from_version_2_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with Cache(path) as c:
        c.query("SELECT 1")
    import sqlite3

    db = sqlite3.connect(path)
    db.executescript(
        "DROP TABLE relations; DROP TABLE relations_fetched; DROP TABLE hidden; DROP TABLE picks;"
        "ALTER TABLE anime DROP COLUMN status; PRAGMA user_version = 2;"
    )
    db.execute("INSERT INTO anime (id, title) VALUES (1, 'Bebop')")
    db.commit()
    db.close()
    with Cache(path) as c:
        assert c.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION
        assert c.get_anime(["1"])["1"].title == "Bebop"
        save_relations(c, ["1"], [], fetched_at="t")
        assert relations_known(c, ["1"]) == {"1"}
