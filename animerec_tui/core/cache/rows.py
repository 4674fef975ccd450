"""Records to table rows and back: users (their optional attributes as a JSON ``attrs``
column) and anime."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from animerec_tui.core.records import Anime, User

USER_FIELDS = (
    "past_names",
    "created_at",
    "followers_count",
    "favorites_count",
    "ratings_count",
    "life_spent_on_anime",
    "avatar",
)


def user_from_row(row: sqlite3.Row) -> User:
    attrs = json.loads(row["attrs"] or "{}")
    extra = {k: attrs[k] for k in USER_FIELDS if k in attrs}
    if "past_names" in extra:
        extra["past_names"] = tuple(extra["past_names"] or ())
    return User(id=row["id"], name=row["name"], slug=row["slug"], **extra)


def anime_from_row(row: sqlite3.Row) -> Anime:
    return Anime(
        id=str(row["id"]),
        title=row["title"],
        titles=json.loads(row["titles"] or "{}"),
        slug=row["slug"],
        subtype=row["subtype"],
        episode_count=row["episode_count"],
        average_rating=row["average_rating"],
        popularity_rank=row["popularity_rank"],
        user_count=row["user_count"],
        start_date=row["start_date"],
        poster=row["poster"],
        age_rating=row["age_rating"],
        nsfw=bool(row["nsfw"]),
        synopsis=row["synopsis"],
        genres=tuple(json.loads(row["genres"] or "[]")),
        withheld=bool(row["withheld"]),
        described_at=row["described_at"],
    )


ANIME_COLUMNS = (
    "id, title, titles, slug, subtype, episode_count, average_rating, popularity_rank,"
    " user_count, start_date, poster, age_rating, nsfw, synopsis, genres"
)
"""The columns :func:`anime_row` fills, in its order."""


def anime_row(a: Anime) -> tuple[Any, ...]:
    return (
        int(a.id),
        a.title,
        json.dumps(a.titles, ensure_ascii=False),
        a.slug,
        a.subtype,
        a.episode_count,
        a.average_rating,
        a.popularity_rank,
        a.user_count,
        a.start_date,
        a.poster,
        a.age_rating,
        int(a.nsfw),
        a.synopsis,
        json.dumps(list(a.genres), ensure_ascii=False),
    )
