"""What is shown is described: sample-only anime get Kitsu's slug, titles, synopsis, date.

The bundled sample knows ids, canonical titles and counts only. When online, recommended
anime are described from Kitsu in batches (``/anime?filter[id]=a,b,...``, 20 a request) and
cached; anime Kitsu will not describe to an anonymous reader (adult) are withheld.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from helpers.cli import run_cli

from animerec_tui.core.services import Core
from animerec_tui.core.settings import NetworkSettings, Settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu
from animerec_tui.fakekitsu.dataset import sample_catalogue

FAST = NetworkSettings(backoff_base=0.01, backoff_max=0.02, max_attempts=3, timeout=10.0)


@pytest.fixture(scope="module")
def catalogue() -> Dataset:
    """Kitsu with the sample's anime, each with distinct English and romaji titles; none
    adult (tests re-rate the ones they need)."""
    ds = Dataset(seed=5)
    ds.add_catalogue(sample_catalogue(10_000))
    for record in ds.anime.values():
        title = record["canonicalTitle"]
        record["titles"] = {"en": f"{title} (en)", "en_jp": f"{title} (romaji)"}
        record.update(ageRating="PG", nsfw=False)
    return ds


@pytest.fixture
def kitsu(catalogue: Dataset) -> Iterator[FakeKitsu]:
    with FakeKitsu(catalogue) as server:
        yield server


def _core(tmp_path: Path, url: str) -> Core:
    return Core.open(Settings(cache_dir=tmp_path, api_url=url, network=FAST), seed=True)


def _ids_asked(kitsu: FakeKitsu) -> list[list[str]]:
    asked = []
    for entry in kitsu.log:
        parts = urlsplit(entry.path)
        if parts.path.endswith("/anime"):
            asked.append(parse_qs(parts.query)["filter[id]"][0].split(","))
    return asked


def test_fake_describes_anime_by_id_with_the_policy_applied(
    catalogue: Dataset, kitsu: FakeKitsu
) -> None:
    ids = sorted(catalogue.anime, key=int)[:5]
    catalogue.rate_adult(ids[0])
    try:
        params = {"filter[id]": ",".join(ids), "fields[anime]": "slug,titles", "page[limit]": "20"}
        doc = httpx.get(f"{kitsu.url}/anime", params=params).json()
    finally:
        catalogue.anime[ids[0]].update(ageRating="PG", nsfw=False)
    assert sorted(a["id"] for a in doc["data"]) == ids[1:]  # the R18 one is not there
    assert doc["meta"]["count"] == 4
    assert all(set(a["attributes"]) == {"slug", "titles"} for a in doc["data"])


async def test_sample_only_anime_are_described_twenty_a_request_and_cached(
    tmp_path: Path, catalogue: Dataset, kitsu: FakeKitsu
) -> None:
    core = _core(tmp_path, kitsu.url)
    ids = sorted(core.cache.undescribed_anime(a for a in catalogue.anime), key=int)[:45]
    assert len(ids) == 45
    before = core.cache.get_anime(ids)
    assert all(a.slug is None and a.synopsis is None for a in before.values())
    hidden = ids[7]
    catalogue.rate_adult(hidden)
    try:
        kitsu.reset_stats()
        described = await core.describe(ids)
    finally:
        catalogue.anime[hidden].update(ageRating="PG", nsfw=False)
    assert described == 45  # 44 described, 1 found hidden
    asked = _ids_asked(kitsu)
    assert sorted(len(batch) for batch in asked) == [5, 20, 20]  # concurrent: any order
    assert sorted(i for batch in asked for i in batch) == sorted(ids)
    after = core.cache.get_anime(ids)
    shown = after[ids[0]]
    assert shown.slug == catalogue.anime[ids[0]]["slug"]
    assert shown.url == f"https://kitsu.app/anime/{shown.slug}"
    assert shown.titles["en"].endswith(" (en)") and shown.titles["en_jp"].endswith(" (romaji)")
    assert shown.synopsis and shown.start_date and shown.described_at
    assert after[hidden].withheld and after[hidden].adult  # Kitsu would not describe it
    kitsu.reset_stats()
    assert await core.describe(ids) == 0  # all cached now: nothing asked again
    assert kitsu.requests == 0
    core.close()


async def test_describe_offline_asks_nothing(tmp_path: Path, kitsu: FakeKitsu) -> None:
    core = Core.open(
        Settings(cache_dir=tmp_path, api_url=kitsu.url, network=FAST, offline=True), seed=True
    )
    kitsu.reset_stats()
    assert await core.describe(["1", "5", "6"]) == 0
    assert kitsu.requests == 0
    core.close()


async def test_describe_with_kitsu_unreachable_goes_offline_and_keeps_the_cache(
    tmp_path: Path,
) -> None:
    from helpers.cli import closed_port_url

    core = _core(tmp_path, closed_port_url())
    ids = core.cache.undescribed_anime(["1", "5", "6"])
    assert await core.describe(ids) == 0
    assert core.offline and core.connectivity.status().state == "cooling"
    assert core.cache.undescribed_anime(ids) == ids  # nothing marked withheld for it
    core.close()


async def test_describe_waits_at_most_the_search_deadline_then_cools_down(
    tmp_path: Path, kitsu: FakeKitsu
) -> None:
    """A Kitsu that accepts and never answers holds describing (and so recommendations) for
    ``network.search_deadline`` at most, once: the next describe sends nothing."""
    import time

    from animerec_tui.fakekitsu import Faults

    network = NetworkSettings(
        timeout=60.0, max_attempts=3, backoff_base=0.01, backoff_max=0.02, search_deadline=1.0
    )
    core = Core.open(Settings(cache_dir=tmp_path, api_url=kitsu.url, network=network))
    ids = core.cache.undescribed_anime(["1", "5", "6"])
    kitsu.faults = Faults(rate=1.0, kinds=("hang",))
    started = time.monotonic()
    assert await core.describe(ids) == 0
    assert time.monotonic() - started < 10
    assert core.offline
    asked = kitsu.requests
    assert await core.describe(ids) == 0
    assert kitsu.requests == asked  # cooling down: not asked again
    core.close()


def test_recommend_json_carries_kitsus_description_in_the_chosen_language(
    tmp_path: Path, catalogue: Dataset, kitsu: FakeKitsu
) -> None:
    (tmp_path / "settings.toml").write_text('[display]\ntitle_language = "english"\n')
    done = run_cli(tmp_path, kitsu.url, "recommend", "sample-72562", "-n", "5", "--json")
    assert done.returncode == 0, done.stderr
    recs = json.loads(done.stdout)["recommendations"]
    assert len(recs) == 5
    for rec in recs:
        record = catalogue.anime[rec["anime_id"]]
        assert rec["slug"] == record["slug"]
        assert rec["url"] == f"https://kitsu.app/anime/{record['slug']}"
        assert rec["titles"] == record["titles"]
        assert rec["title"] == record["titles"]["en"]
        assert rec["synopsis"] == record["synopsis"] and rec["start_date"] == record["startDate"]
    asked = _ids_asked(kitsu)
    assert len(asked) == 1 and sorted(asked[0]) == sorted(r["anime_id"] for r in recs)


def test_refreshed_drops_withheld_anime_and_titles_in_the_chosen_language(tmp_path: Path) -> None:
    from animerec_tui.core.cache import Cache
    from animerec_tui.core.describe import refreshed
    from animerec_tui.core.recommend.service import Recommendation
    from animerec_tui.core.records import Anime

    with Cache(tmp_path / "c.sqlite3") as cache:
        with cache.transaction() as db:
            cache.save_anime(
                db,
                [
                    Anime(id="1", title="Shingeki no Kyojin", titles={"en": "Attack on Titan"}),
                    Anime(id="2", title="Two"),
                    Anime(id="3", title="Three", titles={"en_jp": "San"}),
                ],
                described_at="2026-01-01T00:00:00Z",
            )
        cache.withhold_anime(["2"])
        recs = [Recommendation(i, str(i), f"t{i}", 1.0 / i, [], None) for i in (1, 2, 3)]
        english = refreshed(recs, cache, "english")
        assert [(r.rank, r.anime_id, r.title) for r in english] == [
            (1, "1", "Attack on Titan"),
            (2, "3", "Three"),  # no English title: the canonical one
        ]
        romaji = refreshed(recs, cache, "romaji")
        assert [r.title for r in romaji] == ["Shingeki no Kyojin", "San"]


# -- an honest population -------------------------------------------------------------------


async def test_population_says_what_the_model_learned_from(
    tmp_path: Path, catalogue: Dataset, kitsu: FakeKitsu
) -> None:
    from animerec_tui.core.population.provenance import crawl_seconds, provenance
    from animerec_tui.core.population.stats import population_stats

    core = _core(tmp_path, kitsu.url)
    origin = provenance(core.cache)
    assert origin.sample_only and origin.sample_users == 756
    assert "756 sample users (2016 MyAnimeList lists) + 0 Kitsu users" in origin.summary()
    assert crawl_seconds(core.settings, 50) == pytest.approx(50 * 1.6 / 4.0)

    catalogue.add_user(id="1001", name="alice", slug="alice", entries=60)  # only this test
    await core.fetch("alice")
    starts = (catalogue.anime[e["animeId"]]["startDate"] for e in catalogue.entries["1001"])
    newest = max(s for s in starts if s)  # a tba anime has no startDate, as on Kitsu
    origin = provenance(core.cache)
    assert (origin.sample_users, origin.kitsu_users, origin.sample_only) == (756, 1, False)
    mine = provenance(core.cache, "1001")  # alice's own library is not a Kitsu population
    assert mine.own and mine.sample_only and "+ 1 Kitsu users (you included)" in mine.summary()
    assert origin.newest_start_date == newest
    stats = population_stats(core.cache).to_json()
    assert stats["newest_start_date"] == newest
    assert f"+ 1 Kitsu users; newest anime started {newest}" in stats["learned_from"]
    core.close()


async def test_recommendations_kitsu_hides_are_replaced_by_the_next_ones(
    tmp_path: Path, catalogue: Dataset, kitsu: FakeKitsu
) -> None:
    from animerec_tui.core.describe import described_top
    from animerec_tui.core.recommend import service

    core = _core(tmp_path, kitsu.url)
    user = "sample:72562"
    service.train(core.cache, core.settings)

    def top(k: int) -> list[service.Recommendation]:
        return service.recommend(core.cache, core.settings, user, n=k)

    first = top(8)
    hidden = {first[1].anime_id, first[4].anime_id}
    for anime_id in hidden:
        catalogue.rate_adult(anime_id)
    try:
        shown = await asyncio.to_thread(described_top, core, top, 8)
    finally:
        for anime_id in hidden:
            catalogue.anime[anime_id].update(ageRating="PG", nsfw=False)
    assert [r.rank for r in shown] == list(range(1, 9))
    assert not {r.anime_id for r in shown} & hidden
    assert [r.anime_id for r in shown[:6]] == [
        r.anime_id for r in first if r.anime_id not in hidden
    ]
    assert all(r.anime is not None and r.anime.slug for r in shown)
    core.close()
