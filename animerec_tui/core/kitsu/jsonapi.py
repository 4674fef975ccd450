"""Kitsu JSON:API documents -> records, as pure functions.

Kitsu is a third party that has changed hosts, fields and behaviour over the years, and its
CDN sometimes answers with something else entirely. So the rule here is: be lenient about
*values* (nulls, missing or unknown attributes, unknown ``included`` types all become
``None`` / defaults / ignored) and strict about *structure* (a document that is not an
object, ``data`` of the wrong kind, a requested relationship that is absent, a bad
``meta.count``): those raise :class:`BadResponse` with a one-line message, and nothing else
ever escapes (a hypothesis fuzz test holds us to that).

Strings are kept exactly as sent (``"[bold]x"``, ``"\\x1b[31m"``): escaping is the job of
whichever face displays them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from animerec_tui.core.errors import BadResponse
from animerec_tui.core.records import (
    STATUSES,
    Anime,
    Favorite,
    LibraryEntry,
    Status,
    User,
    WithheldEntry,
)
from animerec_tui.core.timestamps import newest_stamp

JsonObject = dict[str, Any]

_NUMERIC_ID = re.compile(r"[0-9]{1,18}")
"""Anime ids become SQLite integers in the cache: ASCII digits that fit in 63 bits."""

MAX_COUNT = 100_000_000
"""A ``meta.count`` above this is nonsense (Kitsu has ~2 million users) and would make us
plan millions of page requests."""

POSTER_SIZES = ("small", "medium", "original", "large", "tiny")
"""Which image a ``posterImage`` / ``avatar`` object collapses to, best first: the TUI shows
small posters, and any URL beats none."""

_ENTRY_TYPES = frozenset({"libraryEntries", "library-entries", "library_entries"})
_STATUS_SET: frozenset[str] = frozenset(STATUSES)
_STATUS_NAMES: dict[str, Status] = {s: s for s in STATUSES}
"""A status string -> the :data:`Status` it is (the typed way to check one)."""


@dataclass(frozen=True)
class LibraryPage:
    """One ``/library-entries`` page: entries, the anime included with them, and its meta."""

    entries: list[LibraryEntry]
    anime: dict[str, Anime]
    count: int
    status_counts: dict[str, int] = field(default_factory=dict)
    raw_size: int = 0
    """How many resources ``data`` held, parsed or not: paging must use this, not
    ``len(entries)``, or skipped entries would look like a short (clamped) page."""
    withheld: list[WithheldEntry] = field(default_factory=list)
    """Entries whose anime Kitsu hid (adult): linkage null, or an id ``included`` lacks."""
    newest_update: str | None = None
    """The newest ``updatedAt`` among the page's entries (withheld ones too): Kitsu's clock."""


@dataclass(frozen=True)
class FavoritesPage:
    favorites: list[Favorite]
    anime: dict[str, Anime]
    count: int
    raw_size: int = 0


@dataclass(frozen=True)
class AnimeEntriesPage:
    """One ``/library-entries?filter[animeId]=A&include=user`` page: everyone's entries for
    one anime, the users ``included`` describes (by id), and ``meta.count``."""

    entries: list[LibraryEntry]
    users: dict[str, User]
    count: int


# -- small, total value converters ---------------------------------------------------------


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int | None:
    """Ints stay ints; integral floats are accepted (some JSON encoders write ``12.0``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _float(value: object) -> float | None:
    """``averageRating`` is a string percentage (``"82.69"``); numbers are tolerated too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def _image(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        for size in POSTER_SIZES:
            url = value.get(size)
            if isinstance(url, str) and url:
                return url
    return None


def _str_dict(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _str_tuple(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def snake_case(name: str) -> str:
    """``onHold`` -> ``on_hold``: meta keys are camelCase while status values are snake."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def is_numeric_id(value: object) -> bool:
    return isinstance(value, str) and _NUMERIC_ID.fullmatch(value) is not None


# -- structure -----------------------------------------------------------------------------


def one_line(text: str, limit: int = 160) -> str:
    """Server-controlled text made safe for a one-line error message (ids can be 10 kB of
    escape codes): control characters become ``?`` and the rest is cut at ``limit``."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _fail(detail: str) -> BadResponse:
    return BadResponse(one_line(detail, 200))


def document(doc: object) -> JsonObject:
    """The top level must be an object; an ``errors`` document is not data."""
    if not isinstance(doc, dict):
        raise _fail(f"expected a JSON object, got {type(doc).__name__}")
    if "data" not in doc and isinstance(doc.get("errors"), list):
        raise _fail("an error document where data was expected")
    return doc


def not_a_document(doc: object) -> str | None:
    """Why ``doc`` (parsed JSON) is not a JSON:API answer to a read, or None when it is one.

    JSON:API 1.0 "Top Level": a document is an object with at least one of ``data``,
    ``errors``, ``meta``, and ``data`` is a resource object, an array or null; a successful
    read carries ``data``. A parking page's or a captive portal's JSON (``{"status": "ok"}``)
    has none of them: that answer is not from Kitsu at all.
    """
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}, not a JSON:API document"
    if "data" not in doc:
        keys = ", ".join(sorted(str(k) for k in doc)[:4]) or "none"
        return f"JSON without JSON:API data (top-level keys: {one_line(keys, 60)})"
    if not (doc["data"] is None or isinstance(doc["data"], dict | list)):
        return f"JSON:API data that is a {type(doc['data']).__name__}"
    return None


def _resource(obj: object, where: str) -> tuple[str, str, JsonObject]:
    """(type, id, attributes) of a resource object, validated."""
    if not isinstance(obj, dict):
        raise _fail(f"{where} is not an object")
    rtype, rid = obj.get("type"), obj.get("id")
    if isinstance(rid, int) and not isinstance(rid, bool):
        rid = str(rid)  # JSON:API says strings; accept numbers rather than fail
    if not isinstance(rtype, str) or not isinstance(rid, str) or not rid:
        raise _fail(f"{where} has no valid type and id")
    attributes = obj.get("attributes")
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise _fail(f"{where} ({rtype} {rid}) has attributes that are not an object")
    return rtype, rid, attributes


def _relationship(obj: JsonObject, name: str, *, required: bool, where: str) -> object:
    """The linkage ``data`` of a relationship: a dict, ``None`` (null), or ``...`` if absent.

    ``required`` means we asked for it (``fields``/``include``), so its absence means the
    server ignored our request: structural, not a null value.
    """
    rels = obj.get("relationships")
    if rels is None:
        rels = {}
    if not isinstance(rels, dict):
        raise _fail(f"{where} has relationships that are not an object")
    rel = rels.get(name)
    if rel is None or (isinstance(rel, dict) and "data" not in rel):
        if required:
            raise _fail(f"{where} has no {name} relationship")
        return ...
    if not isinstance(rel, dict):
        raise _fail(f"{where}: relationship {name} is not an object")
    data = rel["data"]
    if data is not None and not isinstance(data, dict):
        raise _fail(f"{where}: relationship {name} is not to-one")
    return data


def _linkage(data: JsonObject, where: str) -> tuple[str, str]:
    rtype, rid = data.get("type"), data.get("id")
    if isinstance(rid, int) and not isinstance(rid, bool):
        rid = str(rid)
    if not isinstance(rtype, str) or not isinstance(rid, str) or not rid:
        raise _fail(f"{where} links to something without a valid type and id")
    return rtype, rid


def data_list(doc: object) -> list[Any]:
    data = document(doc).get("data")
    if not isinstance(data, list):
        raise _fail("expected a list in data")
    return data


def data_one(doc: object) -> Any:
    data = document(doc).get("data")
    if not isinstance(data, dict):
        raise _fail("expected one resource in data")
    return data


def meta_count(doc: object) -> int:
    """``meta.count``: every Kitsu collection has it, and paging is planned from it."""
    meta = document(doc).get("meta")
    count = meta.get("count") if isinstance(meta, dict) else None
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
        shown = "out of range" if isinstance(count, int) else type(count).__name__
        raise _fail(f"bad meta.count ({shown})")
    return count


def status_counts(doc: object) -> dict[str, int]:
    """``meta.statusCounts`` with snake_case keys; zero statuses are absent on Kitsu."""
    meta = document(doc).get("meta")
    raw = meta.get("statusCounts") if isinstance(meta, dict) else None
    if not isinstance(raw, dict):
        return {}
    counts: dict[str, int] = {}
    for key, value in raw.items():
        number = _int(value)
        name = snake_case(key) if isinstance(key, str) else ""
        if name in _STATUS_SET and number is not None and number >= 0:
            counts[name] = number
    return counts


def _included(doc: object, rtype: str) -> list[tuple[int, JsonObject]]:
    """``(index, resource)`` of the ``included`` resources of one type."""
    included = document(doc).get("included")
    if included is None:
        return []
    if not isinstance(included, list):
        raise _fail("included is not a list")
    found = []
    for i, obj in enumerate(included):
        if not isinstance(obj, dict):
            raise _fail(f"included[{i}] is not an object")
        if obj.get("type") == rtype:
            found.append((i, obj))
    return found


def included_anime(doc: object) -> dict[str, Anime]:
    """The ``anime`` resources of ``included`` by id; every other type is ignored."""
    anime: dict[str, Anime] = {}
    for i, obj in _included(doc, "anime"):
        record = parse_anime(obj, where=f"included[{i}]")
        anime[record.id] = record
    return anime


AIRING: Final = frozenset({"tba", "unreleased", "upcoming", "current", "finished"})
"""Kitsu's anime ``status`` values (kitsu-server app/models/concerns/media.rb ``STATUSES``)."""


def anime_statuses(doc: object) -> dict[str, str]:
    """Anime id -> Kitsu's airing ``status`` for every anime resource of a document (``data``
    and ``included``); anime without a known status value are left out (a sparse fieldset
    that did not ask for it, or a value Kitsu added since)."""
    found: dict[str, str] = {}
    data = document(doc).get("data")
    resources = [o for o in (data if isinstance(data, list) else [data]) if isinstance(o, dict)]
    resources += [o for _, o in _included(doc, "anime")]
    for obj in resources:
        if obj.get("type") != "anime" or not is_numeric_id(obj.get("id")):
            continue
        attributes = obj.get("attributes")
        status = attributes.get("status") if isinstance(attributes, dict) else None
        if isinstance(status, str) and status in AIRING:
            found[str(obj["id"])] = status
    return found


def with_categories(doc: object, anime: list[Anime]) -> list[Anime]:
    """``anime`` (parsed from ``doc``'s ``data``) with their genres set to the titles of the
    ``categories`` Kitsu included for them (``include=categories``: kitsu-server
    app/resources/anime_resource.rb ``has_many :categories``); an anime whose
    ``categories`` linkage is absent keeps its genres (the cache keeps the known ones)."""
    titles: dict[str, str] = {}
    for _, obj in _included(doc, "categories"):
        cid, attributes = obj.get("id"), obj.get("attributes")
        title = attributes.get("title") if isinstance(attributes, dict) else None
        if isinstance(cid, str) and isinstance(title, str) and title.strip():
            titles[cid] = title.strip()
    data = document(doc).get("data")
    linked: dict[str, tuple[str, ...]] = {}
    for obj in data if isinstance(data, list) else []:
        rels = obj.get("relationships") if isinstance(obj, dict) else None
        rel = rels.get("categories") if isinstance(rels, dict) else None
        links = rel.get("data") if isinstance(rel, dict) else None
        if isinstance(links, list) and isinstance(obj.get("id"), str):
            linked[obj["id"]] = tuple(
                titles[link["id"]]
                for link in links
                if isinstance(link, dict) and link.get("id") in titles
            )
    return [replace(a, genres=linked[a.id]) if linked.get(a.id) else a for a in anime]


def included_users(doc: object) -> dict[str, User]:
    """The ``users`` resources of ``included`` (``include=user``) by id; other types are
    ignored. With a sparse ``fields[users]`` the attributes not asked for are ``None``."""
    users: dict[str, User] = {}
    for i, obj in _included(doc, "users"):
        record = parse_user(obj, where=f"included[{i}]")
        users[record.id] = record
    return users


# -- records -------------------------------------------------------------------------------


_Converter = Callable[[object], Any]


def _read(read: _Converter, **attributes: str) -> dict[str, tuple[str, _Converter]]:
    """``field=attribute`` pairs that share one converter, as :func:`_fields` tables."""
    return {name: (attr, read) for name, attr in attributes.items()}


_USER_ATTRIBUTES = {
    **_read(_str, name="name", slug="slug", created_at="createdAt"),
    **_read(_str_tuple, past_names="pastNames"),
    **_read(_int, followers_count="followersCount", favorites_count="favoritesCount"),
    **_read(_int, ratings_count="ratingsCount", life_spent_on_anime="lifeSpentOnAnime"),
    **_read(_image, avatar="avatar"),
}
"""User field -> (the ``users`` resource's attribute, how its value is read)."""

_ANIME_ATTRIBUTES = {
    **_read(_str, title="canonicalTitle", slug="slug", subtype="subtype"),
    **_read(_str, start_date="startDate", age_rating="ageRating"),
    **_read(_str_dict, titles="titles"),
    **_read(_int, episode_count="episodeCount", popularity_rank="popularityRank"),
    **_read(_int, user_count="userCount"),
    **_read(_float, average_rating="averageRating"),
    **_read(_image, poster="posterImage"),
}
"""Anime field -> (the ``anime`` resource's attribute, how its value is read)."""


def _fields(attributes: JsonObject, table: dict[str, tuple[str, _Converter]]) -> dict[str, Any]:
    """Record fields read from a resource's attributes through ``table``; a missing attribute
    (a sparse fieldset that did not ask for it) reads as the converter's empty value."""
    return {name: read(attributes.get(attr)) for name, (attr, read) in table.items()}


def parse_user(obj: object, *, where: str = "user") -> User:
    rtype, rid, a = _resource(obj, where)
    if rtype != "users":
        raise _fail(f"{where} is {rtype!r}, not a user")
    return User(id=rid, **_fields(a, _USER_ATTRIBUTES))


def parse_anime(obj: object, *, where: str = "anime") -> Anime:
    rtype, rid, a = _resource(obj, where)
    if rtype != "anime":
        raise _fail(f"{where} is {rtype!r}, not anime")
    if not is_numeric_id(rid):
        raise _fail(f"{where} has a non-numeric anime id {rid!r}")
    return Anime(
        id=rid,
        **_fields(a, _ANIME_ATTRIBUTES),
        nsfw=a.get("nsfw") is True,
        # ``synopsis`` is MediaResource's deprecated alias of ``description`` (kitsu-server
        # app/resources/media_resource.rb): either may be the one a sparse fieldset asked for
        synopsis=_str(a.get("synopsis")) or _str(a.get("description")),
    )


def parse_entry(
    obj: object,
    *,
    user_id: str | None = None,
    anime_id: str | None = None,
    where: str = "entry",
) -> LibraryEntry | None:
    """One library entry, or ``None`` when it cannot be used as an anime entry.

    The user and anime come from the request's filter when we filtered on them, else from
    the relationships we asked for (so their absence is structural). ``None`` covers entries
    whose anime link is null (deleted anime) or whose status is one we do not know.
    """
    rtype, rid, a = _resource(obj, where)
    assert isinstance(obj, dict)  # _resource checked it
    if rtype not in _ENTRY_TYPES:
        raise _fail(f"{where} is {rtype!r}, not a library entry")
    where = f"{where} ({rid})"
    if anime_id is None:
        link = _relationship(obj, "anime", required=True, where=where)
        if link is None:
            return None
        assert isinstance(link, dict)
        ltype, anime_id = _linkage(link, where)
        if ltype != "anime":
            return None  # a manga/drama entry slipped through filter[kind]
        if not is_numeric_id(anime_id):
            raise _fail(f"{where} links to a non-numeric anime id {anime_id!r}")
    if user_id is None:
        link = _relationship(obj, "user", required=True, where=where)
        if link is None:
            return None
        assert isinstance(link, dict)
        _, user_id = _linkage(link, where)
    raw_status = a.get("status")
    status_value = _STATUS_NAMES.get(raw_status) if isinstance(raw_status, str) else None
    if status_value is None:
        return None
    return LibraryEntry(
        user_id=user_id,
        anime_id=anime_id,
        status=status_value,
        id=rid,
        progress=_int(a.get("progress")),
        reconsume_count=_int(a.get("reconsumeCount")),
        rating_twenty=_int(a.get("ratingTwenty")),
        progressed_at=_str(a.get("progressedAt")),
        started_at=_str(a.get("startedAt")),
        finished_at=_str(a.get("finishedAt")),
        updated_at=_str(a.get("updatedAt")),
    )


def parse_favorite(
    obj: object, *, user_id: str | None = None, where: str = "favorite"
) -> Favorite | None:
    """A favourite whose item is an anime; other items (characters...) give ``None``.

    Its user is ``user_id`` when the request filtered on one user, else the ``user``
    relationship's linkage (so the request must have had ``include=user``).
    """
    rtype, rid, a = _resource(obj, where)
    assert isinstance(obj, dict)  # _resource checked it
    if rtype != "favorites":
        raise _fail(f"{where} is {rtype!r}, not a favorite")
    where = f"{where} ({rid})"
    if user_id is None:
        owner = _relationship(obj, "user", required=True, where=where)
        if owner is None:
            return None
        assert isinstance(owner, dict)
        _, user_id = _linkage(owner, where)
    link = _relationship(obj, "item", required=True, where=where)
    if link is None:
        return None
    assert isinstance(link, dict)
    ltype, item_id = _linkage(link, where)
    if ltype != "anime":
        return None
    if not is_numeric_id(item_id):
        raise _fail(f"{where} links to a non-numeric anime id {item_id!r}")
    return Favorite(user_id=user_id, anime_id=item_id, id=rid, fav_rank=_int(a.get("favRank")))


# -- documents -----------------------------------------------------------------------------


def parse_user_document(doc: object) -> User:
    """``GET /users/{id}``."""
    return parse_user(data_one(doc), where="data")


def parse_users(doc: object) -> list[User]:
    """``GET /users?filter[...]``."""
    return [parse_user(obj, where=f"data[{i}]") for i, obj in enumerate(data_list(doc))]


def parse_entries(
    doc: object, *, user_id: str | None = None, anime_id: str | None = None
) -> list[LibraryEntry]:
    entries = []
    for i, obj in enumerate(data_list(doc)):
        entry = parse_entry(obj, user_id=user_id, anime_id=anime_id, where=f"data[{i}]")
        if entry is not None:
            entries.append(entry)
    return entries


def parse_library_page(doc: object, *, user_id: str | None) -> LibraryPage:
    """One page of ``/library-entries?filter[userId]=U&include=anime``.

    ``user_id=None`` for ``filter[userId]=U1,U2,...`` (several users' entries in one page):
    each entry's user is then its ``user`` linkage, which Kitsu sends only with
    ``include=user`` (jsonapi-resources 0.9 ``link_object_to_one``).

    An entry whose anime Kitsu hides from anonymous readers (adult anime; the entry's own
    stale ``nsfw`` flag let it through ``LibraryEntry.visible_for``) comes with
    ``relationships.anime.data: null`` or with an id that ``included`` never describes
    (kitsu-server ``app/resources/concerns/ignore_preloading_nils.rb`` drops the anime that
    ``AnimePolicy::Scope`` filtered out; ``vendor/resource_serializer.rb`` ``foreign_key_value``
    then links null, or ``anime_id`` when nothing was preloaded). Kitsu counts it in
    ``meta.count``, so it is kept as a :class:`WithheldEntry`, never as an untitled anime.
    """
    data = data_list(doc)
    anime = included_anime(doc)
    entries: list[LibraryEntry] = []
    withheld: list[WithheldEntry] = []
    stamps: list[str | None] = []
    for i, obj in enumerate(data):
        where = f"data[{i}]"
        hidden_id = _null_anime_entry_id(obj, where)
        # a null link has no anime id to parse: "0" stands in while reading the attributes
        entry = parse_entry(obj, user_id=user_id, anime_id="0" if hidden_id else None, where=where)
        if entry is None:
            continue
        stamps.append(entry.updated_at)
        if hidden_id is not None:
            withheld.append(_withheld(hidden_id, entry, None))
        elif entry.anime_id not in anime:
            withheld.append(_withheld(entry.id or f"anime:{entry.anime_id}", entry, entry.anime_id))
        else:
            entries.append(entry)
    return LibraryPage(
        entries=entries,
        anime=anime,
        count=meta_count(doc),
        status_counts=status_counts(doc),
        raw_size=len(data),
        withheld=withheld,
        newest_update=newest_stamp(*stamps),
    )


def _null_anime_entry_id(obj: object, where: str) -> str | None:
    """The entry's id when its ``anime`` linkage is null (Kitsu hid the anime), else None."""
    if not isinstance(obj, dict):
        return None
    rels = obj.get("relationships")
    rel = rels.get("anime") if isinstance(rels, dict) else None
    if isinstance(rel, dict) and "data" in rel and rel["data"] is None:
        _, rid, _ = _resource(obj, where)
        return rid
    return None


def _withheld(entry_id: str, entry: LibraryEntry, anime_id: str | None) -> WithheldEntry:
    return WithheldEntry(
        user_id=entry.user_id,
        id=entry_id,
        status=entry.status,
        anime_id=anime_id,
        rating_twenty=entry.rating_twenty,
        updated_at=entry.updated_at,
    )


def parse_favorites_page(doc: object, *, user_id: str | None) -> FavoritesPage:
    """One page of ``/favorites?filter[userId]=U&filter[itemType]=Anime&include=item``
    (``user_id=None``: several users', each favourite's user from its ``user`` linkage)."""
    data = data_list(doc)
    favorites = []
    for i, obj in enumerate(data):
        favorite = parse_favorite(obj, user_id=user_id, where=f"data[{i}]")
        if favorite is not None:
            favorites.append(favorite)
    return FavoritesPage(
        favorites=favorites, anime=included_anime(doc), count=meta_count(doc), raw_size=len(data)
    )


def parse_anime_entries_page(doc: object, *, anime_id: str) -> AnimeEntriesPage:
    """One page of ``/library-entries?filter[animeId]=A&include=user``: each entry's user
    from its ``user`` linkage, the users' records from ``included``."""
    return AnimeEntriesPage(
        entries=parse_entries(doc, anime_id=anime_id),
        users=included_users(doc),
        count=meta_count(doc),
    )


def parse_anime_list(doc: object) -> list[Anime]:
    """``GET /anime?filter[id]=a,b,...``: the anime Kitsu describes (adult ones are absent)."""
    return [parse_anime(obj, where=f"data[{i}]") for i, obj in enumerate(data_list(doc))]


def error_details(doc: object) -> tuple[str | None, str | None]:
    """(detail, code) of the first JSON:API error, for messages and the 118 page-size retry.

    Never raises: it reads bodies of failed requests, which may be anything.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("errors"), list):
        return None, None
    for err in doc["errors"]:
        if isinstance(err, dict):
            detail = _str(err.get("detail")) or _str(err.get("title"))
            code = err.get("code")
            code_str = (
                str(code) if isinstance(code, str | int) and not isinstance(code, bool) else None
            )
            return detail, code_str
    return None, None
