"""Record conventions shared by the dataset and the documents: what a stored record is, which
keys are not Kitsu attributes, Kitsu's timestamp format, and anonymous visibility of anime."""

from __future__ import annotations

import re
import time
from typing import Any

Record = dict[str, Any]
"""One stored record: ``{"id": ..., <Kitsu attributes, camelCased>, <INTERNAL_KEYS>}``."""

STATUSES = ("current", "planned", "completed", "on_hold", "dropped")
INTERNAL_KEYS = frozenset(
    {
        "id",
        "userId",
        "animeId",
        "itemType",
        "itemId",
        "nsfwFlag",
        "sourceId",
        "sourceType",
        "destinationId",
        "destinationType",
        "categoryIds",
    }
)
"""``nsfwFlag`` is a library entry's own ``nsfw`` column: Kitsu filters on it
(``LibraryEntry.visible_for``) but LibraryEntryResource never serialises it. The
``source*``/``destination*`` keys of a media relationship and an anime's ``categoryIds``
are relationship linkage, not attributes."""

HOSTILE_NAME = "[bold]x[/bold]\x1b[31mred\x1b[0m"
"""A user name full of Rich markup and terminal escapes (the UI must print it literally)."""
HOSTILE_TITLE = "[link=https://evil.example]y[/link] \x1b[31mred\x1b[0m \x1b]8;;x\x07"
"""An anime title with a Rich link, a colour escape and an OSC 8 hyperlink opener."""


_DAYS: dict[int, str] = {}
_HHMM = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
_SS = [f"{s:02d}" for s in range(60)]
_MS = [f"{ms:03d}" for ms in range(1000)]


def iso(ts: float) -> str:
    """Kitsu's timestamp format (``2016-09-27T08:39:21.538Z``).

    Table-driven, because a population needs ~10^5 of them and strftime is the slow part:
    the date is cached per day, the time of day is looked up.
    """
    whole = int(ts)
    day, secs = divmod(whole, 86400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    minute, sec = divmod(secs, 60)
    return f"{date}T{_HHMM[minute]}:{_SS[sec]}.{_MS[int((ts - whole) * 1000)]}Z"


def now_iso() -> str:
    return iso(time.time())


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "untitled"


def is_visible_anime(anime: Record) -> bool:
    """What an anonymous request may see: Kitsu hides R18 and NSFW anime from it
    (kitsu-server app/policies/anime_policy.rb ``Scope``: ``scope.sfw`` without a user;
    app/models/concerns/age_ratings.rb: sfw is G, PG, R or no rating)."""
    return anime.get("ageRating") != "R18" and not anime.get("nsfw")
