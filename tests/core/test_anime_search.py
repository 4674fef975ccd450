"""Anime as people name them: Kitsu id, slug or title, in the cache and through Kitsu's search.

``resolve_anime`` reads the cache only (it works offline); ``Core.search_anime`` adds Kitsu's
``/anime?filter[text]=`` when online and caches what Kitsu describes; ``Core.find_anime``
falls back on Kitsu for an ANIME the cache does not know. Adult anime never match a title.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers.cli import closed_port_url

from animerec_tui.core.cache import Cache
from animerec_tui.core.catalogue import (
    AmbiguousAnime,
    AnimeNotFound,
    rank_matches,
    resolve_anime,
)
from animerec_tui.core.errors import BadInput
from animerec_tui.core.records import Anime
from animerec_tui.core.services import Core
from animerec_tui.core.settings import NetworkSettings, Settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu

FAST = NetworkSettings(backoff_base=0.01, backoff_max=0.02, max_attempts=2, timeout=5.0)
STAMP = "2026-01-01T00:00:00Z"

CATALOGUE: dict[str, dict[str, Any]] = {
    "1": {"canonicalTitle": "Cowboy Bebop", "slug": "cowboy-bebop", "userCount": 90_000},
    "5": {
        "canonicalTitle": "Cowboy Bebop: Tengoku no Tobira",
        "slug": "cowboy-bebop-tengoku-no-tobira",
        "userCount": 30_000,
        "subtype": "movie",
    },
    "136": {"canonicalTitle": "Hunter x Hunter", "slug": "hunter-x-hunter", "userCount": 20_000},
    "6448": {
        "canonicalTitle": "Hunter x Hunter",
        "slug": "hunter-x-hunter-2011",
        "userCount": 60_000,
    },
    "7442": {
        "canonicalTitle": "Shingeki no Kyojin",
        "titles": {"en": "Attack on Titan", "en_jp": "Shingeki no Kyojin", "ja_jp": "進撃の巨人"},
        "slug": "attack-on-titan",
        "userCount": 100_000,
    },
    "210": {"canonicalTitle": "Ranma ½", "slug": "ranma-1-2", "userCount": 8_000},
    "9001": {
        "canonicalTitle": "Cowboy Garden",
        "slug": "cowboy-garden",
        "ageRating": "R18",
        "nsfw": True,
    },
    "9002": {"canonicalTitle": "Bebop Nights", "slug": "bebop-nights", "nsfw": True},
}
ADULT = {"9001", "9002"}


def _record(anime_id: str, attrs: dict[str, Any]) -> Anime:
    title = attrs["canonicalTitle"]
    return Anime(
        id=anime_id,
        title=title,
        titles=attrs.get("titles", {"en_jp": title}),
        slug=attrs["slug"],
        subtype=attrs.get("subtype", "TV"),
        user_count=attrs.get("userCount"),
        age_rating=attrs.get("ageRating", "PG"),
        nsfw=attrs.get("nsfw", False),
    )


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    """Every catalogue anime cached (adult ones too: the cache must not leak them)."""
    with Cache(tmp_path / "c.sqlite3") as c:
        c.describe_anime([_record(a, v) for a, v in CATALOGUE.items()], described_at=STAMP)
        yield c


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    ds = Dataset(seed=11)
    ds.add_anime(n=40)
    for anime_id, attrs in CATALOGUE.items():
        ds.add_anime_record(anime_id, **attrs)
    return ds


@pytest.fixture
def kitsu(dataset: Dataset) -> Iterator[FakeKitsu]:
    with FakeKitsu(dataset, latency=0.0) as server:
        yield server


def _core(tmp_path: Path, url: str, *, offline: bool = False) -> Core:
    settings = Settings(cache_dir=tmp_path / "core", api_url=url, network=FAST, offline=offline)
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    return Core.open(settings, seed=False)


def _texts(kitsu: FakeKitsu) -> list[str]:
    asked = []
    for entry in kitsu.log:
        query = parse_qs(urlsplit(entry.path).query)
        asked += query.get("filter[text]", [])
    return asked


# -- resolve_anime: the cache only -------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("1", "1"),
        ("cowboy-bebop", "1"),
        ("COWBOY-BEBOP", "1"),
        ("Cowboy Bebop", "1"),  # an exact title beats the film whose title holds it
        ("  cowboy   bebop ", "1"),
        ("tengoku", "5"),
        ("attack on titan", "7442"),  # Kitsu's English title
        ("進撃の巨人", "7442"),
        ("ranma ½", "210"),
        ("hunter-x-hunter-2011", "6448"),
    ],
)
def test_resolve_by_id_slug_or_title(cache: Cache, query: str, expected: str) -> None:
    assert resolve_anime(cache, query).id == expected


def test_a_title_two_anime_share_lists_both_with_ids(cache: Cache) -> None:
    with pytest.raises(AmbiguousAnime) as info:
        resolve_anime(cache, "hunter x hunter")
    message = str(info.value)
    assert info.value.exit_code == 2 and "\n" not in message
    assert "(id 136)" in message and "(id 6448)" in message
    assert message.index("6448") < message.index("136")  # more listed on Kitsu first
    assert [a.id for a in info.value.candidates] == ["6448", "136"]


def test_words_in_several_titles_are_ambiguous(cache: Cache) -> None:
    with pytest.raises(AmbiguousAnime) as info:
        resolve_anime(cache, "cowboy")
    assert [a.id for a in info.value.candidates] == ["1", "5"]  # never the adult one


def test_nothing_matching_is_bad_input(cache: Cache) -> None:
    for query in ("424242", "no such anime", "cowboy-bebop-3"):
        with pytest.raises(AnimeNotFound) as info:
            resolve_anime(cache, query)
        assert info.value.exit_code == 2 and query in str(info.value)
    with pytest.raises(BadInput):
        resolve_anime(cache, "   ")


def test_adult_anime_never_match_a_title_or_slug(cache: Cache) -> None:
    for query in ("cowboy garden", "cowboy-garden", "bebop nights", "bebop-nights"):
        with pytest.raises(AnimeNotFound):
            resolve_anime(cache, query)
    with pytest.raises(AmbiguousAnime) as info:
        resolve_anime(cache, "bebop")
    assert [a.id for a in info.value.candidates] == ["1", "5"]  # not "Bebop Nights" (nsfw)
    assert resolve_anime(cache, "9001").id == "9001"  # asked for by id: it is that anime


def test_ranking_is_total_and_stable() -> None:
    pool = [
        Anime(id="30", title="Fate/Zero 2nd Season", user_count=10),
        Anime(id="12", title="Fate/Zero", user_count=5),
        Anime(id="40", title="Fate/Zero Remix", user_count=10),
        Anime(id="20", title="Carnival Fate/Zero", user_count=99),
        Anime(id="11", title="Fate/Zero Remix"),
    ]
    order = [a.id for a in rank_matches(pool, "fate/zero")]
    assert order == ["12", "30", "40", "11", "20"]
    assert [a.id for a in rank_matches(reversed(pool), "fate/zero")] == order


# -- Core.search_anime: cache first, then Kitsu ------------------------------------------


def test_search_asks_kitsu_and_caches_what_it_describes(tmp_path: Path, kitsu: FakeKitsu) -> None:
    core = _core(tmp_path, kitsu.url)
    try:
        first = asyncio.run(core.search_anime("cowboy bebop"))
        assert [a.id for a in first][:2] == ["1", "5"]
        assert not first.offline and first.cached == frozenset()
        assert _texts(kitsu) == ["cowboy bebop"]
        assert core.cache.get_anime(["1", "5"]).keys() == {"1", "5"}
        again = asyncio.run(core.search_anime("cowboy"))
        assert {"1", "5"} <= again.cached
        assert not ADULT & {a.id for a in again}
    finally:
        core.close()


def test_search_offline_shows_cached_matches_and_says_so(tmp_path: Path, kitsu: FakeKitsu) -> None:
    core = _core(tmp_path, kitsu.url, offline=True)
    try:
        core.cache.describe_anime([_record(a, v) for a, v in CATALOGUE.items()], described_at=STAMP)
        found = asyncio.run(core.search_anime("bebop"))
        assert [a.id for a in found] == ["1", "5"]
        assert found.offline and found.note
        assert found.cached == frozenset({"1", "5"})
        assert kitsu.requests == 0
    finally:
        core.close()


def test_search_with_kitsu_unreachable_never_raises(tmp_path: Path) -> None:
    core = _core(tmp_path, closed_port_url())
    try:
        core.cache.describe_anime([_record("1", CATALOGUE["1"])], described_at=STAMP)
        found = asyncio.run(core.search_anime("cowboy"))
        assert [a.id for a in found] == ["1"]
        assert found.offline and "Kitsu" in (found.note or "")
        assert core.offline  # the cool-down started, as for any other action
    finally:
        core.close()


def test_find_anime_asks_kitsu_for_what_the_cache_lacks(tmp_path: Path, kitsu: FakeKitsu) -> None:
    core = _core(tmp_path, kitsu.url)
    try:
        assert asyncio.run(core.find_anime("7442")).title == "Shingeki no Kyojin"
        assert asyncio.run(core.find_anime("tengoku no tobira")).id == "5"
        with pytest.raises(AnimeNotFound):
            asyncio.run(core.find_anime("9001"))  # Kitsu hides it from anonymous readers
        with pytest.raises(AmbiguousAnime):
            asyncio.run(core.find_anime("hunter x hunter"))
    finally:
        core.close()


def test_find_anime_offline_reads_only_the_cache(tmp_path: Path, kitsu: FakeKitsu) -> None:
    core = _core(tmp_path, kitsu.url, offline=True)
    try:
        with pytest.raises(AnimeNotFound):
            asyncio.run(core.find_anime("7442"))
        assert kitsu.requests == 0
    finally:
        core.close()
