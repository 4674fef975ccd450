"""What a fan can narrow recommendations to: genres, years, episodes, airing status, types.

One vocabulary for anime types and statuses, spelled as Kitsu spells them in data (subtype:
kitsu-server ``app/models/anime.rb`` ``enum subtype: { TV, special, OVA, ONA, movie, music }``;
airing status: ``app/models/concerns/media.rb`` ``STATUSES = %w[tba unreleased upcoming current
finished]``; library status: ``LibraryEntry`` ``status``), with the one label each face shows.

:class:`RecommendFilters` is frozen and built from CLI strings by :meth:`RecommendFilters.parse`
(invalid values raise :class:`BadInput`, exit 2, naming the valid ones); :func:`apply` tests one
anime, :func:`catalogue_mask` a whole catalogue (e.g. the model's columns) as a numpy mask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from animerec_tui.core.errors import BadInput
from animerec_tui.core.records import Anime

SUBTYPES: Final = ("TV", "movie", "OVA", "ONA", "special", "music")
"""Kitsu's anime ``subtype`` values, as Kitsu spells them."""
SUBTYPE_LABELS: Final[Mapping[str, str]] = {
    "TV": "TV",
    "movie": "Movie",
    "OVA": "OVA",
    "ONA": "ONA",
    "special": "Special",
    "music": "Music",
}
AIRING_STATUSES: Final = ("current", "finished", "upcoming", "unreleased", "tba")
"""Kitsu's anime ``status`` values (``Media#status``: computed from the start and end dates)."""
AIRING_LABELS: Final[Mapping[str, str]] = {
    "current": "Airing",
    "finished": "Finished",
    "upcoming": "Upcoming",
    "unreleased": "Not yet aired",
    "tba": "TBA",
}
LIBRARY_STATUS_LABELS: Final[Mapping[str, str]] = {
    "current": "Watching",
    "planned": "Planned",
    "completed": "Completed",
    "on_hold": "On hold",
    "dropped": "Dropped",
}
"""Library entry statuses (:data:`animerec_tui.core.records.STATUSES`) as people read them."""

YEARS: Final = (1900, 2100)
"""Start years accepted in ``--year`` (anything else is a typo)."""
_RANGE = re.compile(r"\s*(\d*)\s*(?:(-)\s*(\d*))?\s*")


def subtype_label(value: str | None) -> str:
    """How a Kitsu subtype is shown (``movie`` -> ``Movie``); unknown values as they are."""
    return "" if value is None else SUBTYPE_LABELS.get(value, value)


def airing_label(value: str | None) -> str:
    """How a Kitsu airing status is shown (``current`` -> ``Airing``)."""
    return "" if value is None else AIRING_LABELS.get(value, value)


def library_label(value: str | None) -> str:
    """How a library status is shown (``on_hold`` -> ``On hold``)."""
    return "" if value is None else LIBRARY_STATUS_LABELS.get(value, value)


def _vocabulary(
    values: Iterable[str], allowed: Sequence[str], what: str, option: str
) -> tuple[str, ...]:
    """Each value matched case-insensitively (value or label, ``-``/space as ``_``) to
    ``allowed``'s spelling; BadInput listing the valid ones otherwise."""
    labels = {**SUBTYPE_LABELS, **AIRING_LABELS}
    lookup: dict[str, str] = {}
    for v in allowed:
        lookup[v.lower()] = v
        lookup[labels.get(v, v).lower()] = v
    out: list[str] = []
    for raw in values:
        key = " ".join(raw.strip().lower().replace("_", " ").replace("-", " ").split())
        hit = lookup.get(key) or lookup.get(key.replace(" ", "_"))
        if hit is None:
            raise BadInput(
                f"{option} {raw!r} is not an anime {what}; choose from {', '.join(allowed)}."
            )
        if hit not in out:
            out.append(hit)
    return tuple(out)


def parse_range(
    text: str, option: str, *, low: int = 0, high: int | None = None, unit: str = "number"
) -> tuple[int | None, int | None]:
    """``"2000-2010"``, ``"2000-"``, ``"-2010"`` or ``"2005"`` -> (from, to), inclusive, None
    for an open end. BadInput (one line, with the valid forms) for anything else, a bound
    outside ``low..high``, or from > to."""
    m = _RANGE.fullmatch(text)
    if m is None or not (m.group(1) or m.group(3)):
        example = "2000-2010" if unit == "year" else "13-26"
        raise BadInput(
            f"{option} {text!r} is not a range; use FROM-TO, FROM-, -TO or one {unit} "
            f"(e.g. {option} {example})."
        )
    first = int(m.group(1)) if m.group(1) else None
    second = int(m.group(3)) if m.group(3) else None
    lo, hi = (first, second) if m.group(2) else (first, first)
    for bound in (lo, hi):
        if bound is not None and (bound < low or (high is not None and bound > high)):
            span = f"{low}..{high}" if high is not None else f"{low} or more"
            raise BadInput(f"{option} {text!r}: each {unit} must be {span}.")
    if lo is not None and hi is not None and lo > hi:
        raise BadInput(f"{option} {text!r}: FROM is after TO.")
    return lo, hi


def _in(value: int | None, bounds: tuple[int | None, int | None]) -> bool:
    lo, hi = bounds
    if lo is None and hi is None:
        return True
    if value is None:  # unknown (no start date, episode count not announced): cannot match
        return False
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").replace("_", " ").split())


@dataclass(frozen=True)
class RecommendFilters:
    """Which anime may be recommended. Every field narrows (they combine with AND).

    ``genres``: each must be among the anime's genres/categories (all of them, so
    ``--genre comedy --genre romance`` is romantic comedies); ``exclude_genres``: none may be;
    both compared case-insensitively, ``-``/``_`` as spaces. ``years`` / ``episodes``:
    inclusive (from, to), None = open; an anime whose start date or episode count is unknown
    does not pass a bounded range. ``statuses``: Kitsu airing statuses; ``subtypes``: Kitsu
    subtypes (any of them). An empty filter passes everything.
    """

    genres: tuple[str, ...] = ()
    exclude_genres: tuple[str, ...] = ()
    years: tuple[int | None, int | None] = (None, None)
    episodes: tuple[int | None, int | None] = (None, None)
    statuses: tuple[str, ...] = ()
    subtypes: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        *,
        genres: Iterable[str] = (),
        exclude_genres: Iterable[str] = (),
        year: str | None = None,
        episodes: str | None = None,
        statuses: Iterable[str] = (),
        subtypes: Iterable[str] = (),
    ) -> RecommendFilters:
        """From the CLI's strings (``--genre`` ..., ``--year FROM-TO``, ``--episodes``,
        ``--status``, ``--type``, each repeatable except the ranges). Subtypes and statuses
        accept Kitsu's spelling or the label, any case (``movie``, ``Movie``, ``not yet
        aired``). Raises BadInput naming the valid values."""
        genre_list = tuple(dict.fromkeys(g.strip() for g in genres if g.strip()))
        excluded = tuple(dict.fromkeys(g.strip() for g in exclude_genres if g.strip()))
        clash = {_fold(g) for g in genre_list} & {_fold(g) for g in excluded}
        if clash:
            raise BadInput(f"--genre and --exclude-genre both name {sorted(clash)[0]!r}.")
        return cls(
            genres=genre_list,
            exclude_genres=excluded,
            years=(None, None)
            if year is None
            else parse_range(year, "--year", low=YEARS[0], high=YEARS[1], unit="year"),
            episodes=(None, None)
            if episodes is None
            else parse_range(episodes, "--episodes", low=0, unit="episode count"),
            statuses=_vocabulary(statuses, AIRING_STATUSES, "status", "--status"),
            subtypes=_vocabulary(subtypes, SUBTYPES, "type", "--type"),
        )

    @property
    def empty(self) -> bool:
        return self == RecommendFilters()

    def describe(self) -> str:
        """One line for a notice or the app's filter panel (``""`` when empty)."""
        parts: list[str] = []
        if self.genres:
            parts.append("genres " + " + ".join(self.genres))
        if self.exclude_genres:
            parts.append("not " + ", ".join(self.exclude_genres))
        for name, (lo, hi) in (("years", self.years), ("episodes", self.episodes)):
            if lo is not None or hi is not None:
                parts.append(f"{name} {'' if lo is None else lo}-{'' if hi is None else hi}")
        if self.statuses:
            parts.append(", ".join(airing_label(s) for s in self.statuses))
        if self.subtypes:
            parts.append(", ".join(subtype_label(s) for s in self.subtypes))
        return "; ".join(parts)


def start_year(start_date: str | None) -> int | None:
    """The year of an ISO ``startDate`` (``"1998-04-03"``), None when absent or unreadable."""
    if not start_date or len(start_date) < 4 or not start_date[:4].isdigit():
        return None
    return int(start_date[:4])


def apply(filters: RecommendFilters, anime: Anime | None, status: str | None = None) -> bool:
    """Whether ``anime`` passes ``filters``. ``status`` is its Kitsu airing status (the
    cache's ``anime.status``; records do not carry it). An unknown anime (None) passes only an
    empty filter: nothing can be checked about it."""
    if filters.empty:
        return True
    if anime is None:
        return False
    if filters.genres or filters.exclude_genres:
        have = {_fold(g) for g in anime.genres}
        if any(_fold(g) not in have for g in filters.genres):
            return False
        if any(_fold(g) in have for g in filters.exclude_genres):
            return False
    if filters.subtypes and anime.subtype not in filters.subtypes:
        return False
    if filters.statuses and status not in filters.statuses:
        return False
    if not _in(start_year(anime.start_date), filters.years):
        return False
    return _in(anime.episode_count, filters.episodes)


def catalogue_mask(
    filters: RecommendFilters,
    anime: Sequence[Anime | None],
    statuses: Sequence[str | None] | None = None,
) -> np.ndarray:
    """Boolean mask (len(anime),): True where the anime passes. ``anime`` in catalogue order
    (e.g. the model's columns; None where a column has no record), ``statuses`` aligned with
    it (None: unknown for all). All True for an empty filter, without looking."""
    if filters.empty:
        return np.ones(len(anime), dtype=bool)
    status_of = statuses if statuses is not None else [None] * len(anime)
    if len(status_of) != len(anime):
        raise ValueError(f"{len(status_of)} statuses for {len(anime)} anime")
    return np.fromiter(
        (apply(filters, a, s) for a, s in zip(anime, status_of, strict=True)),
        dtype=bool,
        count=len(anime),
    )
