"""The fake Kitsu server behaves as docs/kitsu-api.md says Kitsu does (plain httpx, real HTTP).

Every other network test trusts this server, so each documented behaviour is pinned here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from helpers.population import HOSTILE_ANIME_ID, R18_ANIME_ID

from animerec_tui.fakekitsu import HOSTILE_NAME, HOSTILE_TITLE, Dataset, FakeKitsu, Faults

JSONAPI = "application/vnd.api+json"
LIBRARY_FIELDS = (
    "status,progress,reconsumeCount,ratingTwenty,progressedAt,startedAt,finishedAt,updatedAt,anime"
)
ANIME_FIELDS = "canonicalTitle,titles,slug,subtype,episodeCount,averageRating,userCount"


@pytest.fixture
def http(kitsu: FakeKitsu) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=kitsu.url + "/", headers={"Accept": JSONAPI}, timeout=10) as c:
        yield c


def library(user_id: str, **extra: str) -> dict[str, str]:
    return {
        "filter[userId]": user_id,
        "filter[kind]": "anime",
        "include": "anime",
        "fields[libraryEntries]": LIBRARY_FIELDS,
        "fields[anime]": ANIME_FIELDS,
        "page[limit]": "500",
        **extra,
    }


def page_of(url: str) -> tuple[int, int]:
    q = parse_qs(urlsplit(url).query)
    return int(q["page[limit]"][0]), int(q["page[offset]"][0])


def error(resp: httpx.Response) -> dict[str, Any]:
    body = resp.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1
    return body["errors"][0]


# -- users -------------------------------------------------------------------------------------


def test_user_by_id_and_404(http: httpx.Client) -> None:
    resp = http.get("users/1001")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == JSONAPI
    data = resp.json()["data"]
    assert (data["id"], data["type"], data["attributes"]["name"]) == ("1001", "users", "alice")
    assert data["links"]["self"].endswith("/api/edge/users/1001")
    assert "libraryEntries" in data["relationships"]
    missing = http.get("users/424242")
    assert missing.status_code == 404
    err = error(missing)
    assert err["code"] == "404" and err["status"] in (404, "404") and "424242" in err["detail"]


def test_user_filters(http: httpx.Client, dataset: Dataset) -> None:
    def ids(**params: str) -> list[str]:
        resp = http.get("users", params=params)
        assert resp.status_code == 200, resp.text
        return [u["id"] for u in resp.json()["data"]]

    assert ids(**{"filter[slug]": "ALICE"}) == ["1001"]  # exact, case-insensitive
    assert ids(**{"filter[slug]": "ali"}) == []
    assert ids(**{"filter[name]": "sam"}) == ["1002", "1003"]  # names are not unique
    assert ids(**{"filter[name]": "nobody-at-all"}) == []
    assert ids(**{"filter[name]": HOSTILE_NAME}) == ["1004"]
    assert dataset.users["1003"]["slug"] is None
    assert {"1002", "1003"} <= set(ids(**{"filter[query]": "SA"}))  # fuzzy: substring
    assert "1004" in ids(**{"filter[query]": "mallo"})  # slug counts too
    everyone = http.get("users", params={"page[limit]": "1"}).json()
    assert everyone["meta"]["count"] == len(dataset.users)


def test_brackets_may_arrive_percent_encoded(kitsu: FakeKitsu) -> None:
    raw = f"{kitsu.url}/users?filter%5Bname%5D=Sam&page%5Blimit%5D=1"
    resp = httpx.get(raw)
    assert resp.status_code == 200
    body = resp.json()
    assert body["meta"]["count"] == 2 and len(body["data"]) == 1
    odd = httpx.get(f"{kitsu.url}/users", params={"filter[name]": "a&filter[slug]=alice"})
    assert odd.json()["meta"]["count"] == 0  # a value, decoded, not an extra filter


def test_hostile_strings_survive_verbatim(http: httpx.Client) -> None:
    user = http.get("users/1004").json()["data"]
    assert user["attributes"]["name"] == HOSTILE_NAME
    doc = http.get("library-entries", params=library("1004")).json()
    titles = {a["attributes"]["canonicalTitle"] for a in doc["included"]}
    assert HOSTILE_TITLE in titles
    hostile = next(a for a in doc["included"] if a["id"] == HOSTILE_ANIME_ID)
    assert hostile["attributes"]["titles"]["en"] == HOSTILE_TITLE


# -- paging ------------------------------------------------------------------------------------


def test_page_limits_and_errors(http: httpx.Client) -> None:
    assert len(http.get("users").json()["data"]) == 10  # default
    assert len(http.get("users", params={"page[limit]": "20"}).json()["data"]) == 20
    over = http.get("users", params={"page[limit]": "21"})
    assert over.status_code == 400
    err = error(over)
    assert err["code"] == "118" and err["detail"] == "Limit exceeds maximum page size of 20."
    ok = http.get("library-entries", params=library("1001", **{"page[limit]": "500"}))
    assert ok.status_code == 200
    over = http.get("library-entries", params=library("1001", **{"page[limit]": "501"}))
    assert error(over)["detail"] == "Limit exceeds maximum page size of 500."
    fav = http.get("favorites", params={"filter[userId]": "1001", "page[limit]": "21"})
    assert error(fav)["code"] == "118"
    bad = http.get("users", params={"page[offset]": "-1"})
    assert bad.status_code == 400 and error(bad)["code"] == "118"


def test_links_follow_kitsu_rules(http: httpx.Client, dataset: Dataset) -> None:
    count = len(dataset.entries["1001"])  # 120
    params = library("1001", **{"page[limit]": "50"})
    first = http.get("library-entries", params=params).json()
    links = first["links"]
    assert first["meta"]["count"] == count
    assert set(links) == {"first", "next", "last"}  # no prev at offset 0
    assert page_of(links["first"]) == (50, 0)
    assert page_of(links["next"]) == (50, 50)
    assert page_of(links["last"]) == (50, count - 50)  # 70: not a page boundary
    middle = http.get("library-entries", params={**params, "page[offset]": "30"}).json()
    assert page_of(middle["links"]["prev"]) == (50, 0)
    assert page_of(middle["links"]["next"]) == (50, 80)
    end = http.get("library-entries", params={**params, "page[offset]": "80"}).json()
    assert page_of(end["links"]["prev"]) == (50, 30)
    assert "next" not in end["links"]  # 80 + 50 >= 120
    assert len(end["data"]) == count - 80
    # The link carries every other parameter, so following it gives the same query.
    kept = parse_qs(urlsplit(links["next"]).query)
    assert kept["fields[anime]"] == [ANIME_FIELDS] and kept["filter[userId]"] == ["1001"]
    small = http.get("users", params={"filter[name]": "sam", "page[limit]": "20"}).json()
    assert page_of(small["links"]["last"]) == (20, 0)  # never negative
    assert "next" not in small["links"] and "prev" not in small["links"]


def test_walking_next_links_yields_every_entry_once(http: httpx.Client, dataset: Dataset) -> None:
    url: str | None = str(
        http.build_request(
            "GET", "library-entries", params=library("1001", **{"page[limit]": "7"})
        ).url
    )
    seen: list[str] = []
    while url:
        doc = http.get(url).json()
        seen += [e["id"] for e in doc["data"]]
        url = doc["links"].get("next")
    assert sorted(seen) == sorted(e["id"] for e in dataset.entries["1001"])
    assert len(seen) == len(set(seen))


def test_links_use_the_host_the_request_hit(kitsu: FakeKitsu) -> None:
    resp = httpx.get(f"{kitsu.url}/users", headers={"Host": "kitsu.example:8080"})
    assert resp.json()["links"]["first"].startswith("http://kitsu.example:8080/api/edge/users?")
    assert resp.json()["data"][0]["links"]["self"].startswith("http://kitsu.example:8080/")


# -- library entries -----------------------------------------------------------------------------


def test_library_entries_need_a_known_filter(http: httpx.Client) -> None:
    none = http.get("library-entries")
    assert none.status_code == 400
    assert none.json() == {"errors": [{"status": 400, "detail": "No filter provided"}]}
    unknown = http.get("library-entries", params={"filter[foo]": "1"})
    assert unknown.status_code == 400 and error(unknown)["code"] == "102"
    assert error(http.get("users", params={"filter[bogus]": "x"}))["code"] == "102"


def test_status_counts_camel_case_and_zeroes_omitted(http: httpx.Client, dataset: Dataset) -> None:
    dataset.add_user(id="2000", name="picky", slug="picky")
    dataset.give_anime(user_id="2000", anime_id="1", status="on_hold")
    dataset.give_anime(user_id="2000", anime_id="2", status="current")
    dataset.give_anime(user_id="2000", anime_id="3", status="on_hold")
    doc = http.get("library-entries", params=library("2000")).json()
    assert doc["meta"] == {"statusCounts": {"current": 1, "onHold": 2}, "count": 3}
    assert {e["attributes"]["status"] for e in doc["data"]} == {"on_hold", "current"}
    alice = http.get("library-entries", params=library("1001")).json()["meta"]
    assert sum(alice["statusCounts"].values()) == alice["count"] == 120
    assert set(alice["statusCounts"]) <= {"current", "planned", "completed", "onHold", "dropped"}


def test_include_anime_and_sparse_fieldsets(http: httpx.Client, dataset: Dataset) -> None:
    doc = http.get("library-entries", params=library("1001")).json()
    assert list(doc) == ["data", "included", "meta", "links"]
    included = {(a["type"], a["id"]) for a in doc["included"]}
    assert len(included) == len(doc["included"])  # deduplicated
    for entry in doc["data"]:
        assert set(entry["attributes"]) == set(LIBRARY_FIELDS.split(",")) - {"anime"}
        rel = entry["relationships"]["anime"]
        assert ("anime", rel["data"]["id"]) in included
        assert rel["data"]["type"] == "anime"
        assert set(entry["relationships"]) == {"anime"}  # sparse: only listed relationships
    for anime in doc["included"]:
        assert set(anime["attributes"]) == set(ANIME_FIELDS.split(","))
    assert {e["animeId"] for e in dataset.entries["1001"]} == {i for _, i in included}
    without = http.get(
        "library-entries", params=library("1001", **{"fields[libraryEntries]": "status,progress"})
    ).json()
    assert all("anime" not in e.get("relationships", {}) for e in without["data"])


def test_full_documents_look_like_the_recordings(http: httpx.Client) -> None:
    doc = http.get("library-entries", params={"filter[userId]": "1001", "include": "anime"}).json()
    entry = doc["data"][0]
    assert entry["links"]["self"].endswith(f"/library-entries/{entry['id']}")
    rels = entry["relationships"]
    assert {"user", "anime", "manga", "drama", "review", "mediaReaction", "unit"} <= set(rels)
    assert "data" not in rels["user"] and "data" in rels["anime"]  # linkage only if included
    assert rels["mediaReaction"]["links"]["related"].endswith("/media-reaction")
    attrs = entry["attributes"]
    assert attrs["rating"] == ("0.0" if attrs["ratingTwenty"] is None else attrs["rating"])
    assert attrs["ratingTwenty"] is None or 2 <= attrs["ratingTwenty"] <= 20
    anime = doc["included"][0]["attributes"]
    assert {"canonicalTitle", "titles", "posterImage", "popularityRank", "ageRating"} <= set(anime)
    assert anime["averageRating"] is None or float(anime["averageRating"]) > 0
    assert set(anime["posterImage"]) >= {"tiny", "small", "medium", "large", "original"}
    nested = http.get("users/1001/library-entries", params={"filter[kind]": "anime"}).json()
    assert nested["meta"] == {"count": 120}  # the nested route has no statusCounts
    assert "data" not in nested["data"][0]["relationships"]["anime"]
    assert http.get("users/31337/library-entries").status_code == 404


def test_since_and_removals(http: httpx.Client, dataset: Dataset) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    touched = {e["id"] for e in dataset.touch_entries("1001", 5)}
    doc = http.get("library-entries", params=library("1001", **{"filter[since]": since})).json()
    assert {e["id"] for e in doc["data"]} == touched and doc["meta"]["count"] == 5
    gone = dataset.remove_entries("1001", 7)
    after = http.get("library-entries", params=library("1001")).json()
    assert after["meta"]["count"] == 113
    assert not {e["id"] for e in gone} & {e["id"] for e in after["data"]}


def test_entries_of_one_anime_carry_their_users(http: httpx.Client, dataset: Dataset) -> None:
    anime_id = dataset.entries["1001"][0]["animeId"]
    owners = {u for u, es in dataset.entries.items() if any(e["animeId"] == anime_id for e in es)}
    params = {
        "filter[animeId]": anime_id,
        "fields[libraryEntries]": "status,ratingTwenty,updatedAt,user",
        "page[limit]": "500",
    }
    listed = http.get("library-entries", params=params).json()
    # Listed in fields but not included: links only, as jsonapi-resources 0.9 serialises.
    assert all(set(e["relationships"]["user"]) == {"links"} for e in listed["data"])
    params |= {"include": "user", "fields[users]": "name,favoritesCount"}
    doc = http.get("library-entries", params=params).json()
    assert doc["meta"]["count"] == len(owners)
    users = {e["relationships"]["user"]["data"]["id"] for e in doc["data"]}
    assert users == owners
    assert all(e["relationships"]["user"]["data"]["type"] == "users" for e in doc["data"])
    described = {u["id"]: u for u in doc["included"]}
    assert set(described) == owners and {u["type"] for u in described.values()} == {"users"}
    for uid, user in described.items():
        assert set(user["attributes"]) == {"name", "favoritesCount"}  # sparse fieldset
        assert user["attributes"]["favoritesCount"] == len(dataset.favorites[uid])
        assert "relationships" not in user  # fields[users] lists no relationship


def test_libraries_of_several_users_in_one_request(http: httpx.Client, dataset: Dataset) -> None:
    """``filter[userId]=a,b``: jsonapi-resources 0.9 ``verify_filter`` splits a filter value
    with ``CSV.parse_line``, and Kitsu's ``filters :user_id`` applies ``where(user_id: [...])``.
    """
    params = library("1002,1003", include="anime,user", **{"fields[users]": "name"})
    params["fields[libraryEntries]"] += ",user"
    doc = http.get("library-entries", params=params).json()
    owners = [e["relationships"]["user"]["data"]["id"] for e in doc["data"]]
    assert doc["meta"]["count"] == 15 + 12 and sorted(set(owners)) == ["1002", "1003"]
    ids = [int(e["id"]) for e in doc["data"]]
    assert ids == sorted(ids)  # jsonapi-resources' default order: by primary key


def test_anonymous_requests_never_see_r18(http: httpx.Client, dataset: Dataset) -> None:
    before = http.get("library-entries", params=library("1002")).json()["meta"]["count"]
    dataset.give_anime(user_id="1002", anime_id=R18_ANIME_ID)
    after = http.get("library-entries", params=library("1002")).json()
    assert after["meta"]["count"] == before
    assert R18_ANIME_ID not in {a["id"] for a in after["included"]}
    assert http.get(f"anime/{R18_ANIME_ID}").status_code == 404


# -- favorites and anime ---------------------------------------------------------------------------


def test_favorites_include_item(http: httpx.Client, dataset: Dataset) -> None:
    params = {
        "filter[userId]": "1001",
        "filter[itemType]": "Anime",
        "include": "item",
        "page[limit]": "20",
    }
    doc = http.get("favorites", params=params).json()
    assert doc["meta"]["count"] == 8
    assert {a["type"] for a in doc["included"]} == {"anime"}
    items = [f["relationships"]["item"]["data"] for f in doc["data"]]
    assert {(i["type"], i["id"]) for i in items} == {(a["type"], a["id"]) for a in doc["included"]}
    assert [f["attributes"]["favRank"] for f in doc["data"]] == sorted(
        f["attributes"]["favRank"] for f in doc["data"]
    )
    everything = http.get("favorites", params={"filter[userId]": "1001"}).json()
    assert everything["meta"]["count"] == len(dataset.favorites["1001"]) > 8  # + characters


def test_anime_search_and_lookup(http: httpx.Client, dataset: Dataset) -> None:
    title = dataset.anime["42"]["canonicalTitle"]
    doc = http.get("anime", params={"filter[text]": title.lower(), "page[limit]": "20"}).json()
    assert "42" in {a["id"] for a in doc["data"]} or doc["meta"]["count"] > 20
    assert doc["data"][0]["attributes"]["canonicalTitle"].lower() == title.lower()
    one = http.get("anime/42").json()["data"]
    assert one["attributes"]["titles"] == dataset.anime["42"]["titles"]
    assert http.get("anime/123456789").status_code == 404


# -- protocol ----------------------------------------------------------------------------------


def test_accept_negotiation_and_unknown_paths(kitsu: FakeKitsu) -> None:
    url = f"{kitsu.url}/users/1001"
    assert httpx.get(url, headers={"Accept": "application/json"}).status_code == 406
    for accept in ("*/*", JSONAPI, "application/json, */*"):
        assert httpx.get(url, headers={"Accept": accept}).status_code == 200
    with httpx.Client() as c:  # no Accept header at all
        req = c.build_request("GET", url)
        del req.headers["Accept"]
        assert c.send(req).status_code == 200
    for path in ("/api/edge/nope", "/api/edge/users/1/nope", "/elsewhere"):
        resp = httpx.get(kitsu.root + path)
        assert resp.status_code == 404 and error(resp)["status"] in ("404", 404)
        assert resp.headers["content-type"] == JSONAPI


# -- faults ------------------------------------------------------------------------------------


def test_scripted_faults(kitsu: FakeKitsu) -> None:
    kitsu.faults = Faults(
        script=["429-no-retry-after", "503", "500", "truncated", "drop", "reset-mid-body", None]
    )
    url = f"{kitsu.url}/library-entries?filter[userId]=1001&page[limit]=500"
    with httpx.Client(timeout=5) as c:
        r429 = c.get(url)
        assert (r429.status_code, r429.text, r429.headers["content-type"]) == (
            429,
            "Retry later",
            "text/plain",
        )
        assert "retry-after" not in r429.headers
        r503 = c.get(url)
        assert r503.status_code == 503 and "<html>" in r503.text
        r500 = c.get(url)
        assert r500.status_code == 500 and error(r500)["status"] in (500, "500")
        cut = c.get(url)
        assert cut.status_code == 200 and int(cut.headers["content-length"]) == len(cut.content)
        with pytest.raises(json.JSONDecodeError):
            json.loads(cut.content)
    with httpx.Client(timeout=5) as c, pytest.raises(httpx.RemoteProtocolError):
        c.get(url)  # drop
    with httpx.Client(timeout=5) as c, pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        c.get(url)  # reset mid-body
    assert httpx.get(url).status_code == 200
    assert httpx.get(url).status_code == 200  # script exhausted: no more faults
    assert kitsu.faults.injected == [
        "429-no-retry-after",
        "503",
        "500",
        "truncated",
        "drop",
        "reset-mid-body",
    ]
    assert [status for _, _, status in kitsu.log[:6]] == [429, 503, 500, 200, 0, 200]


def test_429_retry_after_and_500_status_types_vary(kitsu: FakeKitsu, http: httpx.Client) -> None:
    kitsu.faults = Faults(rate=1.0, kinds=("429",), seed=1)
    headers = {http.get("users").headers.get("retry-after") for _ in range(12)}
    assert headers == {"1", None}
    kitsu.faults = Faults(rate=1.0, kinds=("500",), seed=1)
    statuses = {error(http.get("users"))["status"] for _ in range(12)}
    assert statuses == {500, "500"}


def test_fault_rate_is_seeded(kitsu: FakeKitsu, http: httpx.Client) -> None:
    def run() -> list[int]:
        kitsu.faults = Faults(rate=0.3, kinds=("429", "503", "500"), seed=7)
        return [http.get("users/1001").status_code for _ in range(40)]

    first = run()
    assert first == run()
    assert 4 <= sum(s != 200 for s in first) <= 20 and {429, 503, 500} & set(first)
    kitsu.faults = None
    assert http.get("users/1001").status_code == 200


def test_slow_answers_trip_client_timeouts(kitsu: FakeKitsu) -> None:
    kitsu.faults = Faults(script=["slow"], slow_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{kitsu.url}/users/1001", timeout=0.2)
    assert time.monotonic() - started < 1.0
    assert httpx.get(f"{kitsu.url}/users/1001").status_code == 200  # server still fine
    time.sleep(1.0)  # the slow handler wakes, writes to a closed socket, and must not crash
    assert httpx.get(f"{kitsu.url}/users/1001").status_code == 200
    assert kitsu.errors == []


def test_trickled_answers_slip_under_read_timeouts(kitsu: FakeKitsu) -> None:
    """A ``trickle`` answer is complete and valid, but every gap is shorter than a read
    timeout: only a deadline on the whole request can stop it (what the client must have)."""
    clean = httpx.get(f"{kitsu.url}/users/1001").json()
    kitsu.faults = Faults(script=["trickle"], slow_seconds=0.8)
    started = time.monotonic()
    got = httpx.get(f"{kitsu.url}/users/1001", timeout=0.3)
    assert time.monotonic() - started >= 0.6  # far past the 0.3 s read timeout
    assert got.json() == clean
    assert kitsu.faults.injected == ["trickle"] and kitsu.errors == []


def test_redirects_lead_to_the_same_api(kitsu: FakeKitsu) -> None:
    kitsu.faults = Faults(script=["redirect", "redirect"])
    url = f"{kitsu.url}/users?filter[slug]=alice"
    raw = httpx.get(url)
    assert raw.status_code == 301
    assert raw.headers["location"].startswith(f"{kitsu.root}/redirected/api/edge/users?")
    followed = httpx.get(url, follow_redirects=True)
    assert followed.status_code == 200 and followed.json()["data"][0]["id"] == "1001"
    assert "/redirected/api/edge/" in followed.json()["links"]["first"]


# -- the server itself -------------------------------------------------------------------------


def test_counters_log_and_in_flight(kitsu: FakeKitsu) -> None:
    kitsu.latency = 0.15
    barrier = threading.Barrier(4)

    def hit() -> None:
        barrier.wait()
        httpx.get(f"{kitsu.url}/users/1001")

    threads = [threading.Thread(target=hit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert kitsu.requests == 4 and kitsu.max_in_flight == 4 and len(kitsu.log) == 4
    method, path, status = kitsu.log[0]
    assert (method, path, status) == ("GET", "/api/edge/users/1001", 200)
    assert abs(kitsu.log[0].time - time.time()) < 5
    kitsu.latency = 0.0
    kitsu.reset_stats()
    assert (kitsu.requests, kitsu.max_in_flight, kitsu.log) == (0, 0, [])
    for _ in range(3):
        httpx.get(f"{kitsu.url}/users/1001")
    assert kitsu.requests == 3 and kitsu.max_in_flight == 1


def test_dataset_is_deterministic_and_shaped() -> None:
    def build() -> Dataset:
        ds = Dataset(seed=3)
        ds.add_anime(n=200)
        ds.add_user(id="1", name="a", slug="a", entries=50, favorites=5)
        ds.add_population(n_users=40, first_id=100, min_entries=5, max_entries=30)
        return ds

    a, b = build(), build()
    assert a.entries == b.entries and a.users == b.users and a.favorites == b.favorites
    entries = a.entries["1"]
    assert len({e["animeId"] for e in entries}) == len(entries) == 50
    assert {e["status"] for e in entries} == {
        "current",
        "planned",
        "completed",
        "on_hold",
        "dropped",
    }
    assert a.missing_ids and not a.missing_ids & set(a.users)
    assert any(not a.entries[u] for u in a.users if int(u) >= 100)
    assert len(a.users) == 41 and all(
        5 <= len(a.entries[u]) <= 30 or not a.entries[u] for u in a.users if u != "1"
    )
    assert {a.anime[i]["subtype"] for i in a.anime} >= {"TV", "movie"}
    rating = [x["averageRating"] for x in a.anime.values()]
    assert None in rating and all(r is None or len(r.split(".")[1]) == 2 for r in rating)
    with pytest.raises(ValueError):
        a.add_user(id="999", name="dup", slug="A")  # slugs are unique, case-insensitively


def test_missing_population_ids_are_404(kitsu: FakeKitsu, dataset: Dataset) -> None:
    missing = sorted(dataset.missing_ids)
    assert missing
    assert httpx.get(f"{kitsu.url}/users/{missing[0]}").status_code == 404


def test_big_user_and_population_pages_serve_in_full() -> None:
    """A 5,000-entry user pages out in 500s, every page full. How fast the fake builds and
    serves is measured by ``bench/fetch.py``, not asserted here (the machine is shared)."""
    ds = Dataset(seed=1)
    ds.add_anime(n=3000)
    ds.add_user(id="1001", name="big", slug="big", entries=5000, favorites=47)
    ds.add_population(n_users=500, first_id=5000, min_entries=5, max_entries=400)
    assert len(ds.entries["1001"]) == 5000
    with FakeKitsu(ds) as server, httpx.Client(base_url=server.url + "/") as http:
        seen: set[str] = set()
        for offset in range(0, 5000, 500):
            doc = http.get(
                "library-entries", params=library("1001", **{"page[offset]": str(offset)})
            ).json()
            assert len(doc["data"]) == 500
            seen |= {row["id"] for row in doc["data"]}
        assert len(seen) == 5000


def test_demo_server_command() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "animerec_tui.fakekitsu",
            "--port",
            "0",
            "--users",
            "5",
            "--anime",
            "600",
            "--latency",
            "0.01",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        export = lines[-1].strip()
        assert export.startswith("export ANIMEREC_API_URL=http://127.0.0.1:")
        url = export.split("=", 1)[1]
        assert url.endswith("/api/edge")
        sams = httpx.get(f"{url}/users", params={"filter[name]": "sam"}).json()
        assert sams["meta"]["count"] == 2
        alice = httpx.get(f"{url}/library-entries", params=library("1001")).json()
        assert alice["meta"]["count"] == 500
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_demo_catalogue_is_the_samples_anime_so_fetches_never_rename_them() -> None:
    """Demo users fetched into a cache holding the sample must not give real Kitsu ids
    made-up titles: the demo catalogue is the sample's own anime."""
    from animerec_tui.core.population.sample import load_sample
    from animerec_tui.fakekitsu import demo_dataset

    sample = load_sample()["anime"]
    real = dict(zip(map(str, sample["id"]), sample["title"], strict=True))
    ds = demo_dataset(users=20, anime=500)
    entries = [e for uid in ("1001", "1004") for e in ds.entries[uid]]
    watched = {e["animeId"] for e in entries}
    assert len(watched & real.keys()) > 300
    for anime_id in watched & real.keys():
        assert ds.anime[anime_id]["canonicalTitle"] == real[anime_id], anime_id
    # anime made up beyond the sample's (a 3000-entry library needs more) take unused ids
    highest_real = max(map(int, real))
    assert all(int(a) > highest_real for a in ds.anime.keys() - real.keys())


def test_unknown_sparse_field_is_refused(http: httpx.Client) -> None:
    """jsonapi-resources 0.9.12 ``parse_fields``: a field the resource does not declare (or
    an empty list) is 400 code 104, so a typo in the client's fieldsets fails here too."""
    for fields in ("status,statuss", ""):
        answer = http.get("library-entries", params=library("1001", **{"fields[users]": "name"}))
        assert answer.status_code == 200
        bad = http.get(
            "library-entries", params=library("1001", **{"fields[libraryEntries]": fields})
        )
        assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "104"
    wrong = http.get("users", params={"filter[name]": "alice", "fields[users]": "nam"})
    assert wrong.status_code == 400 and "nam is not a valid field" in wrong.text
