"""Recommendation filters: CLI strings parsed (bad ones exit 2 naming the valid values),
and each filter narrows the catalogue as a fan expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from animerec_tui.core.cache import Cache
from animerec_tui.core.cache.airing import airing_statuses, save_airing_statuses
from animerec_tui.core.errors import BadInput
from animerec_tui.core.recommend.filters import (
    SUBTYPES,
    RecommendFilters,
    airing_label,
    apply,
    catalogue_mask,
    library_label,
    parse_range,
    subtype_label,
)
from animerec_tui.core.records import Anime

BEBOP = Anime(
    "1",
    "Cowboy Bebop",
    subtype="TV",
    episode_count=26,
    start_date="1998-04-03",
    genres=("Action", "Space", "Sci-Fi"),
)
MOVIE = Anime(
    "5",
    "Bebop movie",
    subtype="movie",
    episode_count=1,
    start_date="2001-09-01",
    genres=("Action", "Space"),
)
ROMCOM = Anime(
    "9",
    "Toradora",
    subtype="TV",
    episode_count=25,
    start_date="2008-10-02",
    genres=("Comedy", "Romance", "Slice of Life"),
)
NEW = Anime("12", "Unannounced", subtype="ONA", episode_count=None, start_date=None)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2000-2010", (2000, 2010)),
        ("2000-", (2000, None)),
        ("-2010", (None, 2010)),
        ("2005", (2005, 2005)),
        (" 1999 - 2001 ", (1999, 2001)),
    ],
)
def test_year_ranges_parse(text: str, want: tuple[int | None, int | None]) -> None:
    assert parse_range(text, "--year", low=1900, high=2100, unit="year") == want


@pytest.mark.parametrize("text", ["", "-", "abc", "2010-2000", "20x0", "1-2-3", "3000"])
def test_bad_year_ranges_exit_2_with_the_valid_forms(text: str) -> None:
    with pytest.raises(BadInput) as err:
        RecommendFilters.parse(year=text)
    assert err.value.exit_code == 2
    assert "--year" in str(err.value) and "\n" not in str(err.value)


def test_bad_type_and_status_list_the_valid_ones() -> None:
    with pytest.raises(BadInput, match="TV, movie, OVA, ONA, special, music"):
        RecommendFilters.parse(subtypes=["film"])
    with pytest.raises(BadInput, match="current, finished, upcoming, unreleased, tba"):
        RecommendFilters.parse(statuses=["ongoing"])
    with pytest.raises(BadInput, match="both name"):
        RecommendFilters.parse(genres=["Comedy"], exclude_genres=["comedy"])


def test_types_and_statuses_accept_kitsu_spelling_or_label_any_case() -> None:
    f = RecommendFilters.parse(
        subtypes=["Movie", "tv", "OVA", "movie"], statuses=["Not yet aired", "AIRING"]
    )
    assert f.subtypes == ("movie", "TV", "OVA")
    assert f.statuses == ("unreleased", "current")
    assert [subtype_label(s) for s in SUBTYPES] == ["TV", "Movie", "OVA", "ONA", "Special", "Music"]
    assert library_label("on_hold") == "On hold" and airing_label("current") == "Airing"


def test_filters_narrow_and_combine() -> None:
    catalogue = [BEBOP, MOVIE, ROMCOM, NEW, None]

    def passing(f: RecommendFilters, statuses: list[str | None] | None = None) -> list[str]:
        mask = catalogue_mask(f, catalogue, statuses)
        return [a.id for a, ok in zip(catalogue, mask, strict=True) if ok and a is not None]

    assert catalogue_mask(RecommendFilters(), catalogue).all()  # empty passes even unknowns
    assert passing(RecommendFilters.parse(genres=["space", "ACTION"])) == ["1", "5"]
    assert passing(RecommendFilters.parse(genres=["slice-of-life"])) == ["9"]
    assert passing(RecommendFilters.parse(exclude_genres=["Sci-Fi"])) == ["5", "9", "12"]
    assert passing(RecommendFilters.parse(year="2000-")) == ["5", "9"]
    assert passing(RecommendFilters.parse(episodes="-12")) == ["5"]  # unknown count fails
    assert passing(RecommendFilters.parse(episodes="13-26", subtypes=["TV"], year="-2000")) == ["1"]
    statuses: list[str | None] = ["finished", "finished", "finished", "upcoming", None]
    assert passing(RecommendFilters.parse(statuses=["upcoming"]), statuses) == ["12"]
    assert apply(RecommendFilters.parse(subtypes=["ONA"]), NEW)
    assert not apply(RecommendFilters.parse(subtypes=["ONA"]), None)


def test_describe_is_one_line_with_labels() -> None:
    f = RecommendFilters.parse(
        genres=["Comedy"], year="2000-2010", subtypes=["movie"], statuses=["current"]
    )
    assert f.describe() == "genres Comedy; years 2000-2010; Airing; Movie"
    assert RecommendFilters().describe() == ""


def test_airing_status_is_cached_beside_the_anime(tmp_path: Path) -> None:
    with Cache(tmp_path / "c.sqlite3") as cache:
        with cache.transaction() as db:
            cache.save_anime(db, [BEBOP, NEW])
        save_airing_statuses(cache, {"1": "finished", "12": "upcoming", "404": "current"})
        save_airing_statuses(cache, {"12": None})  # unknown keeps what is known
        assert airing_statuses(cache, ["1", "12", "404"]) == {"1": "finished", "12": "upcoming"}
        mask = catalogue_mask(
            RecommendFilters.parse(statuses=["finished"]),
            [BEBOP, NEW],
            [airing_statuses(cache, ["1"]).get("1"), airing_statuses(cache, ["12"]).get("12")],
        )
        assert mask.tolist() == [True, False]
