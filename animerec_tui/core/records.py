"""Typed records shared by the Kitsu client, the cache and both faces.

Ids are strings exactly as Kitsu spells them (sample users: ``sample:<key>``).
Optional fields are ``None`` when Kitsu sends null or omits them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["current", "planned", "completed", "on_hold", "dropped"]
STATUSES: tuple[Status, ...] = ("completed", "current", "planned", "on_hold", "dropped")
SAMPLE_PREFIX = "sample:"
SAMPLE_NAME_PREFIX = "sample-"


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

    @property
    def display_title(self) -> str:
        if self.title:
            return self.title
        for key in ("en", "en_jp", "en_us", "ja_jp"):
            if self.titles.get(key):
                return self.titles[key]
        return f"anime {self.id}"

    @property
    def adult(self) -> bool:
        return self.nsfw or self.age_rating == "R18"


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
