"""Synthetic records: anime, users and library entries that look like Kitsu's.

Every generator takes the RNG it draws from, so a record depends only on its seed string (the
dataset seed and the record's id), never on what was generated before it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import time
from typing import Any

from animerec_tui.fakekitsu.media import demo_category_ids
from animerec_tui.fakekitsu.records import STATUSES, Record, is_visible_anime, iso, slugify

STATUS_WEIGHTS = (10, 24, 50, 7, 9)
_STATUS_CUM = list(itertools.accumulate(STATUS_WEIGHTS))
_RATED_P = {"completed": 0.75, "dropped": 0.4, "current": 0.3, "on_hold": 0.3, "planned": 0.02}
EPOCH_2013 = 1_356_998_400.0  # 2013-01-01, Kitsu (Hummingbird) era
EPOCH_2024 = 1_704_067_200.0  # 2024-01-01
CATALOGUE_DAY = dt.date(2026, 12, 1)
"""The day generated airing statuses are true on (see ``_airing``)."""


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_ADJ = _words(
    "Silent Crimson Eternal Broken Hidden Last Little Wandering Azure Iron Golden Frozen "
    "Hollow Scarlet Distant Burning Gentle Lonely Endless Secret Fallen Wild Midnight "
    "Paper Clockwork Starlit Savage Quiet Electric Velvet"
)
_NOUN = _words(
    "Blade Garden Sky Festival Academy Requiem Witch Sonata Frontier Knight Dragon Summer "
    "Horizon Labyrinth Kingdom Signal Lantern Orchestra Voyage Shrine Circuit Rebellion "
    "Memory Comet Harbor Alchemist Detective Idol Ghost Bride"
)
_SUFFIX = ("", "", "", "", " Season 2", " 2nd Season", ": The Movie", " Final", " OVA", " Zero")
_SYLLABLES = _words(
    "ka ki ku ko sa shi su se to na ni no ha hi fu ho ma mi mu me ya yu yo ra ri ru re ro "
    "wa ga gi go za ji zu da de ba bi bu be po n"
)
_KANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろ"
FIRST_NAMES = _words(
    "alex kai yuki ren mika sora hana leo nico jun aki mei rin taro emi noa sam max ivy "
    "zoe kim lee dan eli ada ray"
)
HANDLES = _words(
    "otaku weeb fan lover sensei chan kun senpai reader watcher binge neko kitsune tanuki "
    "ramen mecha shonen moe isekai"
)
_SUBTYPES = (("TV", 45), ("movie", 15), ("OVA", 12), ("ONA", 12), ("special", 12), ("music", 4))
_AGE = (("G", 12), ("PG", 50), ("R", 36), ("R18", 2))


def generate_anime(rng: random.Random, anime_id: str, user_count: int) -> Record:
    """A synthetic anime record with every attribute kitsu-server app/resources/anime_resource.rb
    (and media_resource.rb, episodic_resource.rb) serialises, realistic for its subtype."""
    title = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}{rng.choice(_SUFFIX)}"
    romaji = " ".join(
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
        for _ in range(rng.randint(1, 3))
    )
    kana = "".join(rng.choice(_KANA) for _ in range(rng.randint(3, 8)))
    subtype = weighted(rng, _SUBTYPES)
    age = weighted(rng, _AGE)
    if subtype == "movie":
        episodes: int | None = 1
    elif subtype == "TV":
        episodes = rng.choice((12, 12, 13, 24, 25, 26, 50, 64, 148, None))
    elif subtype == "music":
        episodes = 1
    else:
        episodes = rng.choice((1, 2, 3, 4, 6, 10, 12, None))
    start = EPOCH_2013 - rng.uniform(0, 40 * 365.25 * 86400) + rng.uniform(0, 15e8) * 0.3
    start_date = time.strftime("%Y-%m-%d", time.gmtime(start))
    weeks = (episodes or 12) if subtype == "TV" else 0
    end_date = time.strftime("%Y-%m-%d", time.gmtime(start + weeks * 7 * 86400))
    rated = rng.random() > (0.03 if user_count > 300 else 0.4)  # obscure: often unrated
    average = f"{rng.uniform(55.0, 88.0):.2f}" if rated else None
    created = rng.uniform(EPOCH_2013, EPOCH_2013 + 3e8)
    poster_version = rng.randint(1_400_000_000, 1_700_000_000)
    base = f"https://media.kitsu.app/anime/poster_images/{anime_id}"
    poster: dict[str, Any] = {
        size: f"{base}/{size}.jpg?{poster_version}"
        for size in ("tiny", "small", "medium", "large", "original")
    }
    poster["meta"] = {
        "dimensions": {
            "tiny": {"width": 110, "height": 156},
            "small": {"width": 284, "height": 402},
            "medium": {"width": 390, "height": 554},
            "large": {"width": 550, "height": 780},
        }
    }
    synopsis = (
        f"In a world of {rng.choice(_NOUN).lower()}s, a {rng.choice(_ADJ).lower()} "
        f"{rng.choice(_NOUN).lower()} must face the {rng.choice(_ADJ).lower()} "
        f"{rng.choice(_NOUN).lower()} before it is too late."
    )
    length = 24 if subtype in ("TV", "ONA", "OVA") else rng.choice((5, 24, 90, 110))
    return {
        "id": anime_id,
        "createdAt": iso(created),
        "updatedAt": iso(created + rng.uniform(0, 3e8)),
        "slug": f"{slugify(title)}-{anime_id}",
        "synopsis": synopsis,
        "description": synopsis,
        "coverImageTopOffset": 0,
        "titles": {"en": title, "en_jp": romaji, "ja_jp": kana},
        "canonicalTitle": title,
        "abbreviatedTitles": [],
        "averageRating": average,
        "userCount": user_count,
        "favoritesCount": user_count // rng.randint(20, 60),
        "startDate": start_date,
        "endDate": end_date,
        "nextRelease": None,
        "popularityRank": 0,
        "ratingRank": None,
        "ageRating": age,
        "ageRatingGuide": None,
        "subtype": subtype,
        "status": "finished",
        "tba": None,
        **_airing(anime_id, subtype, start_date, end_date),
        "posterImage": poster,
        "coverImage": None,
        "episodeCount": episodes,
        "episodeLength": length,
        "totalLength": (episodes or 0) * length,
        "youtubeVideoId": None,
        "showType": subtype,
        "nsfw": age == "R18",
        "categoryIds": demo_category_ids(anime_id),
    }


def _airing(anime_id: str, subtype: str, start: str, end: str) -> dict[str, Any]:
    """Dates and ``status`` for the few anime that are not finished.

    ``status`` is what kitsu-server app/models/concerns/media.rb ``Media#status`` derives from
    the dates: ``tba`` with no dates, ``finished`` once ``end_date`` has passed, ``current``
    from ``start_date`` on, ``upcoming`` when it starts within 3 months, ``unreleased`` later
    (the ``filter[status]`` scopes of the same file). Dates are set around
    :data:`CATALOGUE_DAY`, the day the catalogue is "as of": on Kitsu the status moves with
    the calendar, here it is stored, so the data (and every screen showing it) is the same
    whenever tests run. Its own RNG keeps the rest of the record as it was.
    """
    rng = random.Random(f"airing:{anime_id}")
    pick = rng.random()
    today = CATALOGUE_DAY
    if pick < 0.94:
        return {"status": "finished", "startDate": start, "endDate": end}
    if pick < 0.97 and subtype in ("TV", "ONA"):
        started = today - dt.timedelta(days=rng.randint(7, 200))
        return {"status": "current", "startDate": started.isoformat(), "endDate": None}
    if pick < 0.98:
        starts = today + dt.timedelta(days=rng.randint(5, 85))
        return {"status": "upcoming", "startDate": starts.isoformat(), "endDate": None}
    if pick < 0.99:
        starts = today + dt.timedelta(days=rng.randint(120, 700))
        return {"status": "unreleased", "startDate": starts.isoformat(), "endDate": None}
    return {"status": "tba", "startDate": None, "endDate": None, "tba": "2027"}


def generate_user(
    rng: random.Random, user_id: str, name: str, slug: str | None, created: float
) -> Record:
    """A synthetic public user record (kitsu-server app/resources/user_resource.rb attributes)."""
    base = f"https://media.kitsu.app/users/avatars/{user_id}"
    avatar = (
        {s: f"{base}/{s}.jpeg?1541874239" for s in ("tiny", "small", "medium", "large")}
        if rng.random() < 0.7
        else None
    )
    return {
        "id": user_id,
        "createdAt": iso(created),
        "updatedAt": iso(created + rng.uniform(0, 3e7)),
        "name": name,
        "pastNames": [],
        "slug": slug,
        "about": None,
        "location": None,
        "waifuOrHusbando": None,
        "followersCount": int(rng.paretovariate(1.5)) - 1,
        "followingCount": int(rng.paretovariate(1.5)) - 1,
        "lifeSpentOnAnime": 0 if rng.random() < 0.5 else rng.randint(1000, 400_000),
        "birthday": None,
        "gender": None,
        "commentsCount": 0,
        "favoritesCount": 0,
        "likesGivenCount": 0,
        "reviewsCount": 0,
        "likesReceivedCount": 0,
        "postsCount": 0,
        "ratingsCount": 0,
        "mediaReactionsCount": 0,
        "proExpiresAt": None,
        "title": None,
        "profileCompleted": rng.random() < 0.6,
        "feedCompleted": rng.random() < 0.6,
        "website": None,
        "proTier": None,
        "avatar": avatar,
        "coverImage": None,
        "status": "registered",
    }


def generate_entry(
    rng: random.Random,
    entry_id: str,
    user_id: str,
    anime: Record,
    joined: float,
) -> Record:
    """A library entry of ``anime`` by ``user_id``: status by :data:`STATUS_WEIGHTS`, progress
    consistent with it, a ``ratingTwenty`` for most completed ones, timestamps after ``joined``."""
    random_ = rng.random
    episodes = anime.get("episodeCount")
    status = STATUSES[bisect.bisect(_STATUS_CUM, random_() * _STATUS_CUM[-1])]
    if status == "completed":
        progress = episodes if episodes else 1 + int(random_() * 30)
    elif status == "planned":
        progress = 0
    else:
        progress = int(random_() * (episodes or 30))
    rating: int | None = None
    if random_() < _RATED_P[status]:
        rating = max(2, min(20, int(rng.gauss(15.5, 3.2))))
    created_ts = joined + random_() * (EPOCH_2024 - joined)
    updated_ts = created_ts + random_() * (EPOCH_2024 + 2e7 - created_ts)
    created, updated = iso(created_ts), iso(updated_ts)
    entry: Record = {
        "id": entry_id,
        "userId": user_id,
        "animeId": anime["id"],
        "createdAt": created,
        "updatedAt": updated,
        "status": status,
        "progress": progress,
        "volumesOwned": 0,
        "reconsuming": False,
        "reconsumeCount": rng.choice((1, 1, 1, 2, 3, 50)) if random_() < 0.05 else 0,
        "notes": None,
        "private": False,
        "reactionSkipped": "unskipped",
        "progressedAt": updated if progress else None,
        "startedAt": created if status != "planned" and random_() < 0.6 else None,
        "finishedAt": updated if status == "completed" and random_() < 0.8 else None,
        "rating": f"{rating / 4:.1f}" if rating else "0.0",
        "ratingTwenty": rating,
        # set from the anime when the entry is made (library_entry.rb before_validation)
        "nsfwFlag": not is_visible_anime(anime),
    }
    return entry


def weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    """``rng.choices`` for a fixed table, without its per-call setup (hot in add_anime)."""
    cum = _CUM.get(table)
    if cum is None:
        cum = _CUM[table] = list(itertools.accumulate(w for _, w in table))
    return table[bisect.bisect(cum, rng.random() * cum[-1])][0]


_CUM: dict[tuple[tuple[str, int], ...], list[int]] = {}
