"""Adult anime Kitsu hides from anonymous readers, yet whose library entries it returns.

Kitsu filters library entries by the entry's own ``nsfw`` flag (``LibraryEntry.visible_for``),
set only when the entry's anime changes, and anime by ``AnimePolicy::Scope``. So an entry made
before its anime was rated R18 is returned and counted in ``meta.count`` with its anime hidden:
``relationships.anime.data`` null, or an id ``included`` never describes. The case
``tests/fixtures/cases/nsfw-anime-null/`` is a real-shaped 3-entry page with one such entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import FIXTURES
from helpers.cli import run_cli

from animerec_tui.core.kitsu import KitsuClient, jsonapi
from animerec_tui.core.recommend import service
from animerec_tui.core.services import Core
from animerec_tui.core.settings import NetworkSettings, Settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu

CASE = FIXTURES / "cases" / "nsfw-anime-null"
FAST = NetworkSettings(backoff_base=0.01, backoff_max=0.02, max_attempts=3, timeout=10.0)


def _case(name: str) -> dict[str, Any]:
    return json.loads((CASE / name).read_text(encoding="utf-8"))


# -- the recorded case, served as Kitsu served it ---------------------------------------------


class CaseKitsu:
    """Answers exactly what the case recorded; counts the requests it gets."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.full_pages = 0
        """Library pages asked for without filter[since]: a full (re-)download."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.log.append(str(request.url))
        params = request.url.params
        if params.get("page[limit]") == "500" and "filter[since]" not in params:
            self.full_pages += 1
        path = request.url.path.removeprefix("/api/edge")
        if path == "/users/1":
            doc: dict[str, Any] = {
                "data": {"id": "1", "type": "users", "attributes": {"name": "minimal"}}
            }
        elif path == "/favorites":
            doc = {"data": [], "meta": {"count": 0}, "links": {}}
        elif path == "/library-entries" and "filter[since]" in params:
            doc = _case("library-entries_since_minimal.json")
        elif path == "/library-entries" and params.get("page[limit]") == "1":
            doc = _case("library-count_minimal.json")
        elif path == "/library-entries":
            doc = _case("library-entries_page0_minimal.json")
        else:
            return httpx.Response(404, json={"errors": [{"status": "404", "title": "nope"}]})
        return httpx.Response(200, json=doc, headers={"Content-Type": "application/vnd.api+json"})


def _case_core(tmp_path: Path, server: CaseKitsu) -> Core:
    url = "http://kitsu.test/api/edge"
    core = Core.open(Settings(cache_dir=tmp_path, api_url=url, network=FAST), seed=False)
    core.client_factory = lambda **kw: KitsuClient(
        url, network=FAST, transport=httpx.MockTransport(server), **kw
    )
    return core


def test_case_page_keeps_the_null_linked_entry_as_hidden() -> None:
    page = jsonapi.parse_library_page(_case("library-entries_page0_minimal.json"), user_id="1")
    assert [e.anime_id for e in page.entries] == ["1376", "7442"]
    assert [(w.id, w.anime_id, w.status) for w in page.withheld] == [("2", None, "completed")]
    assert len(page.entries) + len(page.withheld) == page.count == 3
    assert page.newest_update == "2020-01-01T00:00:00.000Z"
    # Kitsu's statusCounts count hidden entries too: they add up to meta.count
    counted = _case("library-count_user5001.json")
    assert sum(jsonapi.status_counts(counted).values()) == jsonapi.meta_count(counted) == 32


async def test_case_refresh_stays_incremental(tmp_path: Path) -> None:
    server = CaseKitsu()
    core = _case_core(tmp_path, server)
    first = await core.fetch("1")
    assert (first.mode, first.entries, first.withheld) == ("full", 2, 1)
    library = core.cache.library("1")
    assert library is not None
    assert sorted(library.anime[e.anime_id].display_title for e in library.entries) == [
        "Death Note",
        "Shingeki no Kyojin",
    ]
    assert [w.id for w in library.withheld] == ["2"]

    server.log.clear()
    server.full_pages = 0
    again = await core.fetch("1", refresh=True)
    assert again.mode == "incremental", server.log
    assert again.requests <= 4, server.log  # user, count, changes, favourites
    assert server.full_pages == 0, server.log
    assert (again.entries, again.withheld) == (2, 1)
    core.close()


# -- the fake Kitsu, following kitsu-server ----------------------------------------------------


def _hide_three(ds: Dataset) -> list[str]:
    """Re-rate R18 the three most popular anime alice listed (entries made before stay)."""
    popular = sorted(ds.entries["1001"], key=lambda e: ds.anime[e["animeId"]]["popularityRank"])
    hidden = [e["animeId"] for e in popular[:3]]
    for anime_id in hidden:
        ds.rate_adult(anime_id)
    return hidden


@pytest.mark.parametrize("linkage", ["null", "id"])
def test_fake_returns_and_counts_hidden_entries(
    dataset: Dataset, kitsu: FakeKitsu, linkage: str
) -> None:
    dataset.withheld_linkage = linkage
    hidden = _hide_three(dataset)
    params = {
        "filter[userId]": "1001",
        "filter[kind]": "anime",
        "include": "anime",
        "page[limit]": "500",
    }
    doc = httpx.get(f"{kitsu.url}/library-entries", params=params).json()
    assert doc["meta"]["count"] == 120 == len(doc["data"])
    assert not {a["id"] for a in doc["included"]} & set(hidden)
    links = [e["relationships"]["anime"]["data"] for e in doc["data"]]
    if linkage == "null":
        assert links.count(None) == 3
    else:
        assert None not in links and len({x["id"] for x in links} & set(hidden)) == 3
    assert httpx.get(f"{kitsu.url}/anime/{hidden[0]}").status_code == 404
    # an entry made after the re-rating takes the anime's nsfw flag: not returned at all
    dataset.give_anime("1002", hidden[0])
    doc = httpx.get(f"{kitsu.url}/library-entries", params={**params, "filter[userId]": "1002"})
    assert doc.json()["meta"]["count"] == 15


def _core(tmp_path: Path, url: str) -> Core:
    return Core.open(Settings(cache_dir=tmp_path, api_url=url, network=FAST), seed=False)


@pytest.mark.parametrize("linkage", ["null", "id"])
async def test_hidden_entries_are_known_counted_and_refresh_is_incremental(
    tmp_path: Path, dataset: Dataset, kitsu: FakeKitsu, linkage: str
) -> None:
    dataset.withheld_linkage = linkage
    hidden = _hide_three(dataset)
    core = _core(tmp_path, kitsu.url)
    first = await core.fetch("alice")
    assert (first.entries, first.withheld) == (117, 3)
    library = core.cache.library("1001")
    assert library is not None
    assert not {e.anime_id for e in library.entries} & set(hidden)
    assert all(e.anime_id in library.anime for e in library.entries)
    assert not [a for a in library.anime.values() if a.display_title.startswith("anime ")]
    if linkage == "id":  # Kitsu named them without describing them: adult for every filter
        assert all(a.adult for a in core.cache.get_anime(hidden).values())

    with dataset.lock:
        changed = dataset.touch_entries("1001", 2)
        for entry in changed:
            entry["status"] = "completed" if entry["status"] != "completed" else "dropped"
    kitsu.reset_stats()
    again = await core.fetch("alice", refresh=True)
    assert again.mode == "incremental", kitsu.log
    assert again.requests <= 4, kitsu.log
    assert (again.entries, again.withheld) == (117, 3)
    core.close()


def _population(ds: Dataset) -> list[str]:
    """Everyone listed the five most popular anime; then Kitsu re-rates them R18."""
    top = sorted(ds.anime.values(), key=lambda a: a["popularityRank"])
    top = [a["id"] for a in top if a["ageRating"] != "R18"][:5]
    for uid in ["1001", "1002", "1003", *[u for u in ds.users if int(u) >= 5000][:20]]:
        if uid in ds.entries:
            for anime_id in top:
                ds.give_anime(uid, anime_id, status="completed", ratingTwenty=20)
    for anime_id in top:
        ds.rate_adult(anime_id)
    return top


async def test_hidden_anime_are_never_recommended_even_with_adult_titles_allowed(
    tmp_path: Path, dataset: Dataset, kitsu: FakeKitsu
) -> None:
    dataset.withheld_linkage = "id"
    hidden = set(_population(dataset))
    core = _core(tmp_path, kitsu.url)
    users = ["1001", "1002", "1003", *[u for u in dataset.users if int(u) >= 5000][:20]]
    for uid in users:
        if uid in dataset.entries:
            await core.fetch(uid)
    service.train(core.cache, core.settings)
    for uid in ("1001", "1002", "5003"):
        for adult in (False, True):
            recs = service.recommend(core.cache, core.settings, uid, n=50, include_adult=adult)
            assert recs
            assert not {r.anime_id for r in recs} & hidden
            assert not [r for r in recs if r.title.startswith("anime ")]
            assert not [t for r in recs for t in r.because if t.startswith("anime ")]
    core.close()


def test_cli_library_says_how_many_titles_are_hidden(
    tmp_path: Path, dataset: Dataset, kitsu: FakeKitsu
) -> None:
    hidden = _hide_three(dataset)
    done = run_cli(tmp_path, kitsu.url, "library", "alice", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["hidden_adult_titles"] == 3
    assert len(data["entries"]) == 117
    assert not {e["anime_id"] for e in data["entries"]} & set(hidden)
    assert not [e for e in data["entries"] if e["title"].startswith("anime ")]
    table = run_cli(tmp_path, kitsu.url, "library", "alice")
    assert table.returncode == 0, table.stderr
    assert "3 hidden adult titles" in table.stdout
    assert "anime " + hidden[0] not in table.stdout


@pytest.mark.parametrize("linkage", ["null", "id"])
async def test_crawled_libraries_keep_hidden_entries_apart(
    tmp_path: Path, dataset: Dataset, kitsu: FakeKitsu, linkage: str
) -> None:
    """A crawl reads several users' libraries in one request; their hidden adult entries are
    kept and counted per user exactly as a single fetch keeps them, never as untitled anime."""
    from animerec_tui.core.population.crawl import crawl, crawl_client

    dataset.withheld_linkage = linkage
    hidden = set(_population(dataset))
    settings = Settings(cache_dir=tmp_path, api_url=kitsu.url, network=FAST)
    core = Core.open(settings, seed=False)
    async with crawl_client(settings) as client:
        summary = await crawl(core.cache, client, settings, around="alice", max_users=10, seed=1)
    assert summary.new_users >= 5
    crawled = sorted(core.cache.cached_user_ids() - {"1001"})
    assert len(crawled) >= 5
    withheld_total = 0
    for user_id in crawled:
        library = core.cache.library(user_id)
        assert library is not None
        assert not {e.anime_id for e in library.entries} & hidden
        assert all(e.anime_id in library.anime for e in library.entries)
        assert not [a for a in library.anime.values() if a.display_title.startswith("anime ")]
        withheld_total += len(library.withheld)
        listed_hidden = [e for e in dataset.entries[user_id] if e["animeId"] in hidden]
        assert len(library.withheld) == len(listed_hidden), user_id
    assert withheld_total > 0
    core.close()


async def test_a_favourite_of_a_hidden_anime_is_kept_out_never_untitled(
    tmp_path: Path, dataset: Dataset, kitsu: FakeKitsu
) -> None:
    """Kitsu returns and counts a favourite whatever its anime (FavoritePolicy keeps the
    default scope) but never describes an adult anime in ``included``: the favourite is left
    out of the library, the anime counts as adult, nothing shows as "anime N"."""
    fav = next(f for f in dataset.favorites["1001"] if f["itemType"] == "Anime")
    dataset.rate_adult(fav["itemId"])
    params = {"filter[userId]": "1001", "filter[itemType]": "Anime", "include": "item"}
    doc = httpx.get(f"{kitsu.url}/favorites", params=params).json()
    assert fav["itemId"] in [d["relationships"]["item"]["data"]["id"] for d in doc["data"]]
    assert fav["itemId"] not in [i["id"] for i in doc.get("included", [])]
    core = _core(tmp_path, kitsu.url)
    await core.fetch("alice")
    library = core.cache.library("1001")
    assert library is not None
    assert fav["itemId"] not in {f.anime_id for f in library.favorites}
    assert not [a for a in library.anime.values() if a.display_title.startswith("anime ")]
    done = run_cli(tmp_path, kitsu.url, "library", "alice", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert fav["itemId"] not in [f["anime_id"] for f in shown["favorites"]]
    core.close()
