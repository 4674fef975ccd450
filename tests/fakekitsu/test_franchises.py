"""Relations in the fake's data: ``Dataset.add_relation``/``link`` and the demo franchises
derived from the bundled sample's titles (demo data, not Kitsu behaviour)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from animerec_tui.fakekitsu import Dataset, FakeKitsu, add_demo_franchises
from animerec_tui.fakekitsu.dataset import franchise_stem, sample_catalogue

INVERSE = {
    "sequel": "prequel",
    "prequel": "sequel",
    "side_story": "parent_story",
    "parent_story": "side_story",
    "summary": "full_story",
    "full_story": "summary",
    "adaptation": "adaptation",
}


@pytest.fixture(scope="module")
def sample() -> Dataset:
    ds = Dataset(seed=0)
    catalogue = ds.add_catalogue(sample_catalogue(5000))
    assert add_demo_franchises(ds, ids=[a["id"] for a in catalogue]) > 100
    return ds


def _title_id(ds: Dataset, title: str) -> str:
    (found,) = [a["id"] for a in ds.anime.values() if a["canonicalTitle"] == title]
    return str(found)


def _rows(ds: Dataset, source: str, destination: str) -> set[str]:
    return {
        r["role"]
        for r in ds.relations.values()
        if r["sourceId"] == source and r["destinationId"] == destination
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Code Geass: Hangyaku no Lelouch", "Code Geass: Hangyaku no Lelouch R2"),
        ("Fate/Zero", "Fate/Zero 2nd Season"),
    ],
)
def test_sequels_are_stored_both_ways(sample: Dataset, first: str, second: str) -> None:
    a, b = _title_id(sample, first), _title_id(sample, second)
    assert _rows(sample, a, b) == {"sequel"}
    assert _rows(sample, b, a) == {"prequel"}


def test_every_demo_row_has_its_inverse(sample: Dataset) -> None:
    rows = list(sample.relations.values())
    pairs = {
        (r["sourceType"], r["sourceId"], r["destinationType"], r["destinationId"], r["role"])
        for r in rows
    }
    for st, s, dt, d, role in pairs:
        assert (dt, d, st, s, INVERSE[role]) in pairs


def test_movies_are_side_stories_and_some_destinations_are_manga(sample: Dataset) -> None:
    tv = _title_id(sample, "Mahou Shoujo Madoka★Magica")
    movie = _title_id(sample, "Mahou Shoujo Madoka★Magica Movie 1: Hajimari no Monogatari")
    assert _rows(sample, tv, movie) == {"side_story"}
    manga = [r for r in sample.relations.values() if r["destinationType"] == "Manga"]
    assert manga and all(r["destinationId"] in sample.manga for r in manga)


def test_franchise_stems() -> None:
    assert franchise_stem("Code Geass: Hangyaku no Lelouch R2") == "code geass"
    assert franchise_stem("Fate/Zero 2nd Season") == "fate/zero"
    assert franchise_stem("Naruto Movie 1: Dai Katsugeki!!") == "naruto"
    assert franchise_stem("Saiunkoku Monogatari 2nd Season") == "saiunkoku monogatari"


def test_add_relation_refuses_what_kitsu_cannot_store() -> None:
    ds = Dataset(seed=0)
    ds.add_anime(n=3)
    with pytest.raises(ValueError, match="unknown role"):
        ds.add_relation("1", "2", "remake")
    with pytest.raises(ValueError, match="media type"):
        ds.add_relation("1", "2", "sequel", destination_type="Character")
    with pytest.raises(KeyError):
        ds.add_relation("1", "404", "sequel")


@pytest.fixture
def served(sample: Dataset) -> Iterator[httpx.Client]:
    with FakeKitsu(sample) as server, httpx.Client(base_url=server.url + "/") as client:
        yield client


def test_a_franchise_is_read_as_the_client_asks(sample: Dataset, served: httpx.Client) -> None:
    """The documented request, paged until ``links.next`` is gone, gives every row of the
    first season (its sequel, and the side story and recap aired before the sequel)."""
    lelouch = _title_id(sample, "Code Geass: Hangyaku no Lelouch")
    url: str | None = "media-relationships"
    params: dict[str, str] | None = {
        "filter[source_id]": lelouch,
        "filter[source_type]": "Anime",
        "include": "destination",
        "page[limit]": "2",  # several pages
    }
    rows, included, pages = [], set(), 0
    while url:
        doc = served.get(url, params=params).json()
        rows += doc["data"]
        included |= {(r["type"], r["id"]) for r in doc.get("included", [])}
        url, params, pages = doc["links"].get("next"), None, pages + 1
    destinations = {
        (
            r["relationships"]["destination"]["data"]["type"],
            r["relationships"]["destination"]["data"]["id"],
        )
        for r in rows
    }
    expected = {
        ("anime" if r["destinationType"] == "Anime" else "manga", r["destinationId"])
        for r in sample.relations.values()
        if r["sourceId"] == lelouch and r["sourceType"] == "Anime"
    }
    assert destinations == expected == included and len(rows) == len(expected) >= 3
    assert pages == -(-len(rows) // 2)
