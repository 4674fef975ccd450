"""The fake Kitsu's data: a deterministic, synthetic catalogue, users, libraries, favourites.

Everything is plain dicts so tests can read (and poke) exactly what the server will answer:

``Dataset.anime``: ``{anime_id: record}``; a record is ``{"id": ..., <Kitsu anime attributes>}``
    (``canonicalTitle``, ``titles``, ``slug``, ``subtype``, ``episodeCount``, ``averageRating``
    as a string like ``"82.69"`` or None, ``popularityRank``, ``userCount``, ``ageRating``,
    ``nsfw``, ``synopsis``, ``posterImage``...). R18 / NSFW anime exist in the catalogue but,
    as on Kitsu, anonymous requests never see them (nor entries for them).
``Dataset.users``: ``{user_id: record}``; ``{"id": ..., "name": ..., "slug": ... or None, ...}``.
``Dataset.entries``: ``{user_id: [entry, ...]}`` in id order; an entry is
    ``{"id", "userId", "animeId", <library entry attributes>}`` (``status`` snake_case,
    ``progress``, ``ratingTwenty`` 2..20 or None, ``reconsumeCount``, ``updatedAt`` ISO-8601...).
``Dataset.favorites``: ``{user_id: [favorite, ...]}``; ``{"id", "userId", "itemType"
    ("Anime" or "Character"), "itemId", "favRank", "createdAt", "updatedAt"}``.
``Dataset.missing_ids``: user ids :meth:`Dataset.add_population` deliberately skipped (404s).

Keys that are not Kitsu attributes (``id``, ``userId``, ``animeId``, ``itemType``, ``itemId``)
are listed in :data:`INTERNAL_KEYS`; the server serialises every other key as an attribute.
Generation uses one RNG per user (seeded by dataset seed and user id), so a user's library
does not change when other users are added before it.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import random
import re
import threading
import time
from collections.abc import Iterable
from typing import Any

Record = dict[str, Any]

STATUSES = ("current", "planned", "completed", "on_hold", "dropped")
STATUS_WEIGHTS = (10, 24, 50, 7, 9)
_STATUS_CUM = list(itertools.accumulate(STATUS_WEIGHTS))
_RATED_P = {"completed": 0.75, "dropped": 0.4, "current": 0.3, "on_hold": 0.3, "planned": 0.02}
INTERNAL_KEYS = frozenset({"id", "userId", "animeId", "itemType", "itemId", "nsfwFlag"})
"""``nsfwFlag`` is a library entry's own ``nsfw`` column: Kitsu filters on it
(``LibraryEntry.visible_for``) but LibraryEntryResource never serialises it."""

HOSTILE_NAME = "[bold]x[/bold]\x1b[31mred\x1b[0m"
"""A user name full of Rich markup and terminal escapes (the UI must print it literally)."""
HOSTILE_TITLE = "[link=https://evil.example]y[/link] \x1b[31mred\x1b[0m \x1b]8;;x\x07"
"""An anime title with a Rich link, a colour escape and an OSC 8 hyperlink opener."""

_EPOCH_2013 = 1_356_998_400.0  # 2013-01-01, Kitsu (Hummingbird) era
_EPOCH_2024 = 1_704_067_200.0  # 2024-01-01


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
_FIRST = _words(
    "alex kai yuki ren mika sora hana leo nico jun aki mei rin taro emi noa sam max ivy "
    "zoe kim lee dan eli ada ray"
)
_HANDLE = _words(
    "otaku weeb fan lover sensei chan kun senpai reader watcher binge neko kitsune tanuki "
    "ramen mecha shonen moe isekai"
)
_SUBTYPES = (("TV", 45), ("movie", 15), ("OVA", 12), ("ONA", 12), ("special", 12), ("music", 4))
_AGE = (("G", 12), ("PG", 50), ("R", 36), ("R18", 2))


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


class Dataset:
    """A deterministic fake Kitsu population; see the module docstring for the data layout.

    Mutating methods take :attr:`lock`, and the server reads under it, so tests may change
    the data while a :class:`FakeKitsu` is serving it.
    """

    def __init__(self, seed: int = 0, clock_offset: float = 0.0) -> None:
        self.seed = seed
        self.clock_offset = clock_offset
        """Seconds Kitsu's clock runs ahead of this machine's (negative: behind). It stamps
        changed entries (``updatedAt``, what ``filter[since]`` compares) and the ``Date``
        header, as Kitsu's own servers do."""
        self.withheld_linkage = "null"
        """How an entry of an anime the policy hides is linked: ``"null"``
        (``relationships.anime.data: null``, the preloaded path: kitsu-server
        app/resources/concerns/ignore_preloading_nils.rb compacts the filtered anime away and
        vendor/resource_serializer.rb ``foreign_key_value`` finds none) or ``"id"`` (the
        ``anime_id`` column, with the anime never in ``included``)."""
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.anime: dict[str, Record] = {}
        self.users: dict[str, Record] = {}
        self.entries: dict[str, list[Record]] = {}
        self.favorites: dict[str, list[Record]] = {}
        self.missing_ids: set[str] = set()
        self._next_anime = 1
        self._entry_ids = itertools.count(20_000_000)
        self._favorite_ids = itertools.count(1_700_000)
        self._by_anime: dict[str, dict[str, Record]] = {}
        self._by_entry_id: dict[str, Record] = {}
        self._pool: tuple[list[str], list[float]] | None = None
        self._slugs: set[str] = set()

    # -- anime -------------------------------------------------------------------------------

    def add_anime(self, n: int = 3000) -> list[Record]:
        """Add ``n`` generated anime (ids continue after the highest numeric id so far).

        Popularity follows a Zipf-like curve over a shuffled order, so id 1 is not the most
        popular, as on Kitsu; ``popularityRank`` is recomputed over the whole catalogue.
        """
        with self.lock:
            rng = random.Random(f"{self.seed}:anime:{self._next_anime}:{n}")
            start = self._next_anime
            ids = [str(i) for i in range(start, start + n)]
            self._next_anime = start + n
            order = list(range(n))
            rng.shuffle(order)
            added = []
            for anime_id, pos in zip(ids, order, strict=True):
                user_count = max(1, int(180_000 / (pos + 15) ** 1.05 * rng.uniform(0.7, 1.3)))
                record = self._generate_anime(rng, anime_id, user_count)
                self.anime[anime_id] = record
                added.append(record)
            self._rerank()
            return added

    def add_catalogue(self, rows: Iterable[dict[str, Any]]) -> list[Record]:
        """Add real anime: each row's ``id``, ``title``, ``titles``, ``subtype``,
        ``episode_count``, ``average_rating`` and ``user_count`` win over generated ones."""
        with self.lock:
            added = []
            for row in rows:
                anime_id = str(row["id"])
                rng = random.Random(f"{self.seed}:catalogue:{anime_id}")
                record = self._generate_anime(rng, anime_id, int(row.get("user_count") or 1))
                title = str(row["title"])
                rating = row.get("average_rating")
                record.update(
                    canonicalTitle=title,
                    titles=dict(row.get("titles") or {"en_jp": title}),
                    slug=f"{slugify(title)}-{anime_id}",
                    subtype=row.get("subtype") or record["subtype"],
                    showType=row.get("subtype") or record["subtype"],
                    episodeCount=row.get("episode_count"),
                    averageRating=f"{float(rating):.2f}" if rating is not None else None,
                )
                self.anime[anime_id] = record
                added.append(record)
                if anime_id.isdigit():
                    self._next_anime = max(self._next_anime, int(anime_id) + 1)
            self._rerank()
            return added

    def add_anime_record(self, id: str, **attrs: Any) -> Record:
        """Add (or replace) one anime with chosen attributes, e.g. a hostile title.

        Unspecified attributes are generated; ``titles`` and ``canonicalTitle`` fill each
        other in when only one is given. It joins the catalogue (and library sampling) as an
        unpopular title unless ``userCount`` says otherwise.
        """
        with self.lock:
            rng = random.Random(f"{self.seed}:anime-record:{id}")
            record = self._generate_anime(rng, str(id), int(attrs.get("userCount", 50)))
            if "canonicalTitle" in attrs and "titles" not in attrs:
                attrs["titles"] = {"en": attrs["canonicalTitle"], "en_jp": attrs["canonicalTitle"]}
            if "titles" in attrs and "canonicalTitle" not in attrs:
                titles = attrs["titles"] or {}
                attrs["canonicalTitle"] = next(iter(titles.values()), record["canonicalTitle"])
            record.update(attrs)
            record["id"] = str(id)
            self.anime[str(id)] = record
            if str(id).isdigit():
                self._next_anime = max(self._next_anime, int(id) + 1)
            self._rerank()
            return record

    def _generate_anime(self, rng: random.Random, anime_id: str, user_count: int) -> Record:
        title = f"{rng.choice(_ADJ)} {rng.choice(_NOUN)}{rng.choice(_SUFFIX)}"
        romaji = " ".join(
            "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
            for _ in range(rng.randint(1, 3))
        )
        kana = "".join(rng.choice(_KANA) for _ in range(rng.randint(3, 8)))
        subtype = _weighted(rng, _SUBTYPES)
        age = _weighted(rng, _AGE)
        if subtype == "movie":
            episodes: int | None = 1
        elif subtype == "TV":
            episodes = rng.choice((12, 12, 13, 24, 25, 26, 50, 64, 148, None))
        elif subtype == "music":
            episodes = 1
        else:
            episodes = rng.choice((1, 2, 3, 4, 6, 10, 12, None))
        start = _EPOCH_2013 - rng.uniform(0, 40 * 365.25 * 86400) + rng.uniform(0, 15e8) * 0.3
        start_date = time.strftime("%Y-%m-%d", time.gmtime(start))
        weeks = (episodes or 12) if subtype == "TV" else 0
        end_date = time.strftime("%Y-%m-%d", time.gmtime(start + weeks * 7 * 86400))
        rated = rng.random() > (0.03 if user_count > 300 else 0.4)  # obscure: often unrated
        average = f"{rng.uniform(55.0, 88.0):.2f}" if rated else None
        created = rng.uniform(_EPOCH_2013, _EPOCH_2013 + 3e8)
        poster_version = rng.randint(1_400_000_000, 1_700_000_000)
        base = f"https://media.kitsu.app/anime/poster_images/{anime_id}"
        poster = {
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
            "posterImage": poster,
            "coverImage": None,
            "episodeCount": episodes,
            "episodeLength": length,
            "totalLength": (episodes or 0) * length,
            "youtubeVideoId": None,
            "showType": subtype,
            "nsfw": age == "R18",
        }

    def _rerank(self) -> None:
        """popularityRank / ratingRank follow userCount / averageRating, as on Kitsu."""
        by_users = sorted(self.anime.values(), key=lambda a: (-a["userCount"], int(_num(a["id"]))))
        for rank, record in enumerate(by_users, 1):
            record["popularityRank"] = rank
        rated = [a for a in self.anime.values() if a.get("averageRating")]
        rated.sort(key=lambda a: -float(a["averageRating"]))
        for rank, record in enumerate(rated, 1):
            record["ratingRank"] = rank
        self._pool = None

    def _sampling_pool(self) -> tuple[list[str], list[float]]:
        """Visible anime ids with cumulative popularity weights (cached until the catalogue
        changes), so libraries are drawn with the same skew as ``userCount``."""
        if self._pool is None:
            ids = [a["id"] for a in self.anime.values() if is_visible_anime(a)]
            weights = itertools.accumulate(float(self.anime[i]["userCount"]) for i in ids)
            self._pool = (ids, list(weights))
        return self._pool

    def _choose_anime(self, rng: random.Random, k: int, exclude: set[str]) -> list[str]:
        """``k`` distinct visible anime, popularity-weighted, none in ``exclude``.

        Rejection sampling is fast while k is small against the catalogue; for large k the
        skew makes it slow, so fall back to exponential-key weighted sampling (one pass).
        """
        ids, cum = self._sampling_pool()
        available = len(ids) - len(exclude & set(ids)) if exclude else len(ids)
        if k > available:
            self.add_anime(n=k - available + max(50, k // 5))
            ids, cum = self._sampling_pool()
        chosen: list[str] = []
        seen = set(exclude)
        if k <= len(ids) // 4:
            total = cum[-1]
            tries = 0
            while len(chosen) < k and tries < 50 * k + 100:
                for _ in range(k - len(chosen)):
                    pick = ids[bisect.bisect(cum, rng.random() * total, hi=len(ids) - 1)]
                    tries += 1
                    if pick not in seen:
                        seen.add(pick)
                        chosen.append(pick)
            if len(chosen) == k:
                return chosen
        prev = 0.0
        keyed = []
        for anime_id, c in zip(ids, cum, strict=True):
            weight, prev = c - prev, c
            if anime_id not in seen:
                keyed.append((-math.log(1.0 - rng.random()) / weight, anime_id))
        keyed.sort()
        return chosen + [anime_id for _, anime_id in keyed[: k - len(chosen)]]

    # -- users -------------------------------------------------------------------------------

    def add_user(
        self,
        id: str,
        name: str,
        slug: str | None = None,
        entries: int = 0,
        favorites: int = 0,
        **attrs: Any,
    ) -> Record:
        """Add a user with ``entries`` generated library entries and ``favorites`` anime
        favourites (plus a few character favourites, as real users have).

        Names are any string and need not be unique; slugs are unique (case-insensitively)
        when set. The catalogue grows if it has fewer visible anime than ``entries``.
        """
        user_id = str(id)
        with self.lock:
            if user_id in self.users:
                raise ValueError(f"user {user_id} already exists")
            if slug is not None and slug.lower() in self._slugs:
                raise ValueError(f"slug {slug!r} already taken")
            rng = random.Random(f"{self.seed}:user:{user_id}")
            self.missing_ids.discard(user_id)
            created = rng.uniform(_EPOCH_2013, _EPOCH_2024 - 4e7)
            record = self._generate_user(rng, user_id, name, slug, created)
            self.users[user_id] = record
            if slug is not None:
                self._slugs.add(slug.lower())
            self.entries[user_id] = []
            self.favorites[user_id] = []
            if entries > 0:
                for anime_id in self._choose_anime(rng, entries, set()):
                    self._add_entry(rng, user_id, anime_id, created)
            if favorites > 0:
                self._add_favorites(rng, user_id, favorites, created)
            record["ratingsCount"] = sum(
                1 for e in self.entries[user_id] if e["ratingTwenty"] is not None
            )
            # Every favourite, of any kind: Favorite ``belongs_to :user, counter_cache: true``
            # (kitsu-server app/models/favorite.rb); a crawl skips /favorites when it is 0.
            record["favoritesCount"] = len(self.favorites[user_id])
            record.update(attrs)
            return record

    def _generate_user(
        self, rng: random.Random, user_id: str, name: str, slug: str | None, created: float
    ) -> Record:
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

    def _add_entry(
        self,
        rng: random.Random,
        user_id: str,
        anime_id: str,
        joined: float,
        **attrs: Any,
    ) -> Record:
        random_ = rng.random
        episodes = self.anime[anime_id].get("episodeCount")
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
        created_ts = joined + random_() * (_EPOCH_2024 - joined)
        updated_ts = created_ts + random_() * (_EPOCH_2024 + 2e7 - created_ts)
        created, updated = iso(created_ts), iso(updated_ts)
        entry: Record = {
            "id": str(next(self._entry_ids)),
            "userId": user_id,
            "animeId": anime_id,
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
            "nsfwFlag": not is_visible_anime(self.anime[anime_id]),
        }
        if attrs:
            entry.update(attrs)
        if "ratingTwenty" in attrs and "rating" not in attrs:
            entry["rating"] = f"{attrs['ratingTwenty'] / 4:.1f}" if attrs["ratingTwenty"] else "0.0"
        self.entries[user_id].append(entry)
        self._by_anime.setdefault(anime_id, {})[entry["id"]] = entry
        self._by_entry_id[entry["id"]] = entry
        return entry

    def _add_favorites(self, rng: random.Random, user_id: str, n: int, joined: float) -> None:
        liked = [
            e["animeId"]
            for e in sorted(self.entries[user_id], key=lambda e: -(e["ratingTwenty"] or 0))
            if e["status"] in ("completed", "current")
        ][: n * 2]
        rng.shuffle(liked)
        picks = liked[:n]
        if len(picks) < n:
            picks += self._choose_anime(rng, n - len(picks), set(picks))
        characters = [str(rng.randint(1, 90_000)) for _ in range(n // 5)]
        items = [("Anime", a) for a in picks] + [("Character", c) for c in characters]
        for rank, (item_type, item_id) in enumerate(items):
            stamp = iso(rng.uniform(joined, _EPOCH_2024))
            self.favorites[user_id].append(
                {
                    "id": str(next(self._favorite_ids)),
                    "userId": user_id,
                    "itemType": item_type,
                    "itemId": item_id,
                    "createdAt": stamp,
                    "updatedAt": stamp,
                    "favRank": rank,
                }
            )

    def add_population(
        self,
        n_users: int = 500,
        first_id: int = 5000,
        min_entries: int = 5,
        max_entries: int = 400,
    ) -> list[Record]:
        """Many users for crawl tests and benchmarks, ids from ``first_id`` upwards.

        About 5% of the id range is left missing (404, listed in :attr:`missing_ids`) and
        about 5% of the users have empty libraries, because a crawler meets both on Kitsu.
        Library sizes are log-uniform between the bounds (most libraries are small).
        """
        with self.lock:
            rng = random.Random(f"{self.seed}:population:{first_id}:{n_users}")
            if not self.anime:
                self.add_anime(n=max(1000, max_entries * 2))
            added = []
            user_id = first_id
            lo, hi = max(1, min_entries), max(1, max_entries, min_entries)
            while len(added) < n_users:
                uid = str(user_id)
                user_id += 1
                if uid in self.users:
                    continue
                if rng.random() < 0.05:
                    self.missing_ids.add(uid)
                    continue
                if rng.random() < 0.05 or max_entries <= 0:
                    size = 0
                else:
                    size = int(math.exp(rng.uniform(math.log(lo), math.log(hi + 1))))
                    size = max(min_entries, min(max_entries, size))
                name = f"{rng.choice(_FIRST)}{rng.choice(('', '_', '.'))}{rng.choice(_HANDLE)}"
                if rng.random() < 0.5:
                    name += str(rng.randint(1, 999))
                slug = None if rng.random() < 0.4 else f"{slugify(name)}-{uid}"
                favs = rng.randint(0, min(20, size // 5)) if size >= 5 else 0
                added.append(self.add_user(uid, name, slug, entries=size, favorites=favs))
            return added

    # -- library changes (incremental refresh tests) ------------------------------------------

    def give_anime(self, user_id: str, anime_id: str, **attrs: Any) -> Record:
        """Put one chosen anime in a user's library (or update that entry with ``attrs``)."""
        with self.lock:
            if anime_id not in self.anime:
                raise KeyError(f"no anime {anime_id}: add it with add_anime_record first")
            for entry in self.entries[user_id]:
                if entry["animeId"] == anime_id:
                    entry.update(attrs)
                    return entry
            rng = random.Random(f"{self.seed}:give:{user_id}:{anime_id}")
            joined = _EPOCH_2013
            return self._add_entry(rng, user_id, anime_id, joined, **attrs)

    def _pick_visible(self, user_id: str, k: int) -> list[Record]:
        visible = [e for e in self.entries[user_id] if self.entry_visible(e)]
        return self.rng.sample(visible, min(k, len(visible)))

    def touch_entries(self, user_id: str, k: int) -> list[Record]:
        """Set ``updatedAt`` of ``k`` visible entries to now (what ``filter[since]`` finds)."""
        with self.lock:
            stamp = self.now_iso()
            touched = self._pick_visible(user_id, k)
            for entry in touched:
                entry["updatedAt"] = stamp
            return touched

    def remove_entries(self, user_id: str, k: int) -> list[Record]:
        """Delete ``k`` visible entries (so a fetched library shrinks by exactly ``k``)."""
        with self.lock:
            gone = self._pick_visible(user_id, k)
            ids = {e["id"] for e in gone}
            self.entries[user_id] = [e for e in self.entries[user_id] if e["id"] not in ids]
            for entry in gone:
                self._by_anime.get(entry["animeId"], {}).pop(entry["id"], None)
                self._by_entry_id.pop(entry["id"], None)
            return gone

    def rate_adult(self, anime_id: str) -> Record:
        """Kitsu's moderators re-rate an anime R18 after people listed it.

        The anime disappears for anonymous readers (AnimePolicy), but the entries made before
        keep their own ``nsfw`` flag false: kitsu-server app/models/library_entry.rb sets
        ``self.nsfw = media.nsfw?`` only ``if media_id_changed?``. So those entries are still
        returned and counted, with the anime hidden (see :attr:`withheld_linkage`).
        """
        with self.lock:
            record = self.anime[anime_id]
            record.update(ageRating="R18", nsfw=True, updatedAt=self.now_iso())
            self._pool = None
            return record

    # -- Kitsu's clock ------------------------------------------------------------------------

    def now(self) -> float:
        """Kitsu's time (``time.time()`` plus :attr:`clock_offset`)."""
        return time.time() + self.clock_offset

    def now_iso(self) -> str:
        return iso(self.now())

    # -- queries the server uses ---------------------------------------------------------------

    def entry_visible(self, entry: Record) -> bool:
        """Anonymous visibility (kitsu-server ``LibraryEntry.visible_for`` without a user:
        ``sfw.privacy(:public)``): public entries whose own ``nsfw`` flag is false. The flag is
        the anime's adultness when the entry was made; records without one (built by a test)
        use the anime's rating now."""
        if entry.get("private"):
            return False
        flag = entry.get("nsfwFlag")
        if flag is not None:
            return not flag
        anime = self.anime.get(entry["animeId"])
        return anime is not None and is_visible_anime(anime)

    def anime_visible(self, anime_id: str) -> bool:
        """Whether an anonymous reader may see (be given in ``included``) this anime."""
        anime = self.anime.get(anime_id)
        return anime is not None and is_visible_anime(anime)

    def entries_for_anime(self, anime_id: str) -> list[Record]:
        return sorted(self._by_anime.get(anime_id, {}).values(), key=lambda e: int(e["id"]))

    def entry(self, entry_id: str) -> Record | None:
        return self._by_entry_id.get(entry_id)

    def all_entries(self) -> Iterable[Record]:
        return sorted(self._by_entry_id.values(), key=lambda e: int(e["id"]))


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    """``rng.choices`` for a fixed table, without its per-call setup (hot in add_anime)."""
    cum = _CUM.get(table)
    if cum is None:
        cum = _CUM[table] = list(itertools.accumulate(w for _, w in table))
    return table[bisect.bisect(cum, rng.random() * cum[-1])][0]


_CUM: dict[tuple[tuple[str, int], ...], list[int]] = {}


def _num(value: str) -> int:
    return int(value) if value.isdigit() else 1 << 62


def sample_catalogue(limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most-watched anime of the bundled sample population (real Kitsu ids and
    titles), as rows for :meth:`Dataset.add_catalogue`."""
    from animerec_tui.core.population.sample import load_sample  # the one sample reader

    columns = load_sample()["anime"]
    rows = [
        {
            "id": anime_id,
            "title": title,
            "titles": json.loads(titles or "{}"),
            "subtype": subtype,
            "episode_count": episodes,
            "average_rating": rating,
            "user_count": users,
        }
        for anime_id, title, titles, subtype, episodes, rating, users in zip(
            columns["id"],
            columns["title"],
            columns["titles_json"],
            columns["subtype"],
            columns["episode_count"],
            columns["average_rating"],
            columns["user_count"],
            strict=True,
        )
    ]
    rows.sort(key=lambda r: -(r["user_count"] or 0))
    return rows[: max(0, limit)]


def demo_dataset(users: int = 200, seed: int = 0, anime: int = 3000) -> Dataset:
    """The demo population ``python -m animerec_tui.fakekitsu`` serves.

    Its catalogue is the bundled sample's anime (real ids and titles; generated ones only
    beyond the sample's 4,819), so demo users fetched into a cache that holds the sample
    share its anime and titles instead of overwriting real ids with made-up names, and a
    model trained on the sample recommends for them.

    Named users to try: 1001 ``alice`` (500 entries, 3 of them of anime re-rated R18 later:
    hidden adult titles), 1002 and 1003 both named ``sam`` (ambiguous; 1003 has no slug), 1004
    ``bigfan`` (3000 entries), 1005 ``newbie`` (empty library), 1006 a hostile name (slug
    ``mallory``) owning the hostile anime 99999.
    """
    ds = Dataset(seed=seed)
    catalogue = ds.add_catalogue(sample_catalogue(anime))
    if anime > len(catalogue):
        ds.add_anime(n=anime - len(catalogue))
    ds.add_anime_record("99999", canonicalTitle=HOSTILE_TITLE, titles={"en": HOSTILE_TITLE})
    ds.add_user(id="1001", name="alice", slug="alice", entries=500, favorites=47)
    ds.add_user(id="1002", name="sam", slug="sam", entries=80, favorites=5)
    ds.add_user(id="1003", name="sam", slug=None, entries=40, favorites=2)
    ds.add_user(id="1004", name="bigfan", slug="bigfan", entries=3000, favorites=20)
    ds.add_user(id="1005", name="newbie", slug="newbie", entries=0)
    ds.add_user(id="1006", name=HOSTILE_NAME, slug="mallory", entries=30, favorites=3)
    ds.give_anime(user_id="1006", anime_id="99999", status="completed", ratingTwenty=20)
    if users > 0:
        ds.add_population(n_users=users, first_id=5000, min_entries=5, max_entries=400)
    # Three anime alice listed are re-rated R18 afterwards, as happens on Kitsu: her (and
    # everyone's) entries for them stay visible and counted with the anime hidden
    for entry in sorted(ds.entries["1001"], key=lambda e: int(e["id"]))[7:300:120]:
        ds.rate_adult(entry["animeId"])
    return ds
