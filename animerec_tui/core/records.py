"""Typed records shared by the Kitsu client, the cache and both faces.

Ids are strings exactly as Kitsu spells them (sample users: ``sample:<key>``).
Optional fields are ``None`` when Kitsu sends null or omits them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["current", "planned", "completed", "on_hold", "dropped"]
STATUSES: tuple[Status, ...] = ("completed", "current", "planned", "on_hold", "dropped")
SAMPLE_PREFIX = "sample:"
SAMPLE_NAME_PREFIX = "sample-"


KITSU_SITE = "https://kitsu.app"
TITLE_LANGUAGES: dict[str, str | None] = {"canonical": None, "english": "en", "romaji": "en_jp"}
"""The title languages a person may pick (``[display] title_language``) -> Kitsu ``titles`` key;
``canonical`` is Kitsu's ``canonicalTitle``."""


def is_sample_id(user_id: str) -> bool:
    return user_id.startswith(SAMPLE_PREFIX)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str | None = None
    slug: str | None = None
    past_names: tuple[str, ...] = ()
    created_at: str | None = None
    followers_count: int | None = None
    favorites_count: int | None = None
    ratings_count: int | None = None
    life_spent_on_anime: int | None = None
    avatar: str | None = None

    @property
    def is_sample(self) -> bool:
        return is_sample_id(self.id)

    @property
    def label(self) -> str:
        """How people see the user: name, or slug, or id; sample users are marked."""
        text = self.name or self.slug or self.id
        return f"{text} (sample)" if self.is_sample else text


@dataclass(frozen=True, slots=True)
class Anime:
    id: str
    title: str | None = None
    titles: dict[str, str] = field(default_factory=dict)
    slug: str | None = None
    subtype: str | None = None
    episode_count: int | None = None
    average_rating: float | None = None
    popularity_rank: int | None = None
    user_count: int | None = None
    start_date: str | None = None
    poster: str | None = None
    age_rating: str | None = None
    nsfw: bool = False
    synopsis: str | None = None
    genres: tuple[str, ...] = ()
    withheld: bool = False
    """Kitsu linked this anime to an entry but never described it to us: an anonymous reader
    is not shown adult (R18) anime (kitsu-server ``AnimePolicy::Scope``), so it is adult."""
    described_at: str | None = None
    """When Kitsu last described it (``None``: known only from the bundled sample, or a stub)."""

    @property
    def display_title(self) -> str:
        if self.title:
            return self.title
        for key in ("en", "en_jp", "en_us", "ja_jp"):
            if self.titles.get(key):
                return self.titles[key]
        return f"anime {self.id}"

    def title_in(self, language: str) -> str:
        """The title in ``language`` (a :data:`TITLE_LANGUAGES` key), else the canonical one."""
        key = TITLE_LANGUAGES.get(language)
        if key is not None and self.titles.get(key):
            return self.titles[key]
        return self.display_title

    @property
    def adult(self) -> bool:
        return self.nsfw or self.age_rating == "R18" or self.withheld

    @property
    def url(self) -> str | None:
        """The anime's page on Kitsu (``https://kitsu.app/anime/<slug>``), when it has a slug."""
        return f"{KITSU_SITE}/anime/{self.slug}" if self.slug else None


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    user_id: str
    anime_id: str
    status: Status
    id: str | None = None
    progress: int | None = None
    reconsume_count: int | None = None
    rating_twenty: int | None = None
    progressed_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str | None = None


@dataclass(frozen=True, slots=True)
class WithheldEntry:
    """A library entry whose anime Kitsu hides from anonymous readers (adult anime).

    Kitsu still returns and counts entries whose own ``nsfw`` flag is stale (set only when the
    entry's anime changes: kitsu-server ``LibraryEntry.visible_for`` and its ``before_validation``),
    with ``relationships.anime.data`` null (``anime_id`` None) or an id that ``included`` never
    describes. Known and counted, never shown as a title, recommended or trained on.
    """

    user_id: str
    id: str
    status: Status
    anime_id: str | None = None
    rating_twenty: int | None = None
    updated_at: str | None = None


@dataclass(frozen=True, slots=True)
class Favorite:
    user_id: str
    anime_id: str
    id: str | None = None
    fav_rank: int | None = None


@dataclass(slots=True)
class Library:
    """One user's whole anime library as fetched: what the cache writes in one transaction."""

    user: User
    entries: list[LibraryEntry]
    favorites: list[Favorite]
    anime: dict[str, Anime]
    status_counts: dict[str, int] = field(default_factory=dict)
    withheld: list[WithheldEntry] = field(default_factory=list)
    """Entries of adult anime Kitsu hid from us: see :class:`WithheldEntry`."""
    withheld_anime: set[str] = field(default_factory=set)
    """Anime ids Kitsu linked (entries, favourites) but never described: adult."""
    watermark: str | None = None
    """Kitsu's clock for the next ``filter[since]``: the newest ``updatedAt`` seen (or the
    ``Date`` header when there was none), ISO-8601; never the local clock."""

    @property
    def hidden_note(self) -> str:
        """``"N hidden adult titles"`` (or ``""``): how the faces say Kitsu withheld some."""
        n = len(self.withheld)
        return f"{n:,} hidden adult title{'s' if n != 1 else ''}" if n else ""


def count_statuses(entries: Iterable[LibraryEntry]) -> dict[str, int]:
    """Entries per status, zero statuses left out (as Kitsu's ``meta.statusCounts``)."""
    return dict(Counter(e.status for e in entries))
