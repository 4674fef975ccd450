"""A fake Kitsu JSON:API over real HTTP on 127.0.0.1, for tests, benchmarks and demos.

Why a real server (and not an httpx mock): the client's retries, timeouts, connection reuse,
concurrency caps and redirects only meet reality through sockets. The behaviour reproduced
here is the one written down in docs/kitsu-api.md (Kitsu on jsonapi-resources 0.9): paging
limits and ``links``, filters and their errors, sparse fieldsets, ``include``, the
``statusCounts`` meta, anonymous visibility, Accept negotiation. Where the doc is silent the
jsonapi-resources rule is followed, e.g. unknown top-level / page parameters answer 400 code
``"105"``.

Relationship linkage (``relationships.X.data``) is sent only for relationships named in
``include``, never because ``X`` is listed in ``fields[...]``: Kitsu serialises with
jsonapi-resources 0.9's serializer (kitsu-server ``vendor/resource_serializer.rb``, loaded by
``config/initializers/jsonapi-resources.rb``, which sets no ``always_include_*_linkage_data``):
``link_object_to_one`` adds ``data`` only when ``include_linkage`` (the relationship's include
directive) is set. ``fields[type]`` only decides which relationships appear at all
(``supplying_relationship_fields``). The recorded responses agree
(tests/fakekitsu/test_conformance.py).

Standard library only: ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive, one thread per
connection) in a background thread.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

from animerec_tui.fakekitsu.dataset import (
    INTERNAL_KEYS,
    Dataset,
    Record,
    is_visible_anime,
    slugify,
)
from animerec_tui.fakekitsu.faults import TRICKLE_GAP, Faults

PREFIX = "/api/edge"
REDIRECTED_PREFIX = "/redirected/api/edge"
JSONAPI = "application/vnd.api+json"
# kitsu-server config/initializers/jsonapi-resources.rb: ``default_page_size = 10``,
# ``maximum_page_size = 20``; lib/library_paginator.rb: library entries up to 500, with the
# detail "Limit exceeds maximum page size of 500." (jsonapi-resources' InvalidPageValue, 118).
DEFAULT_LIMIT = 10
MAX_LIMIT = 20
MAX_LIBRARY_LIMIT = 500

ENTRY_RELS = (
    "user",
    "anime",
    "manga",
    "drama",
    "review",
    "mediaReaction",
    "media",
    "unit",
    "nextUnit",
)
USER_RELS = (
    "waifu",
    "pinnedPost",
    "followers",
    "following",
    "blocks",
    "linkedAccounts",
    "profileLinks",
    "userRoles",
    "libraryEntries",
    "favorites",
    "reviews",
    "stats",
    "notificationSettings",
    "oneSignalPlayers",
    "categoryFavorites",
    "quotes",
)
ANIME_RELS = (
    "genres",
    "categories",
    "castings",
    "installments",
    "mappings",
    "reviews",
    "mediaRelationships",
    "characters",
    "staff",
    "productions",
    "quotes",
    "episodes",
    "streamingLinks",
    "animeProductions",
    "animeCharacters",
    "animeStaff",
)
FAVORITE_RELS = ("user", "item")
CHARACTER_RELS = ("primaryMedia", "castings", "mediaCharacters", "quotes")
"""kitsu-server ``app/resources/character_resource.rb``; recorded in the favourites fixture."""
_KEBAB = {
    name: re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
    for name in (*ENTRY_RELS, *USER_RELS, *ANIME_RELS, *FAVORITE_RELS, *CHARACTER_RELS)
}
_STATUS_KEYS = (
    ("current", "current"),
    ("completed", "completed"),
    ("on_hold", "onHold"),
    ("planned", "planned"),
    ("dropped", "dropped"),
)
_TOP_PARAMS = ("filter", "fields", "page", "include", "sort")
_BASE_ATTRS = ("createdAt", "updatedAt")  # kitsu-server app/resources/base_resource.rb


def _fieldset(names: str, *relationships: str) -> frozenset[str]:
    return frozenset((*_BASE_ATTRS, *names.split(), *relationships))


FIELDS: dict[str, frozenset[str]] = {
    # What ``fields[type]`` may name: the resource's attributes and relationships, camelCased
    # (jsonapi-resources 0.9.12 request_parser.rb ``parse_fields``: anything else is 400
    # InvalidField, code 104). From kitsu-server app/resources/*.rb; PRIVATE_FIELDS of the
    # user resource are declared attributes too. Types not listed here are not checked.
    "libraryEntries": _fieldset(
        "status progress volumesOwned reconsuming reconsumeCount notes private reactionSkipped "
        "progressedAt startedAt finishedAt rating ratingTwenty",
        *ENTRY_RELS,
    ),
    "users": _fieldset(
        "name pastNames slug about location waifuOrHusbando followersCount followingCount "
        "lifeSpentOnAnime birthday gender commentsCount favoritesCount likesGivenCount "
        "reviewsCount likesReceivedCount postsCount ratingsCount mediaReactionsCount "
        "proExpiresAt title profileCompleted feedCompleted website proTier avatar coverImage "
        "email password confirmed previousEmail language timeZone country shareToGlobal "
        "titleLanguagePreference sfwFilter ratingSystem theme facebookId hasPassword status "
        "subscribedToNewsletter aoPro permissions sfwFilterPreference",
        *USER_RELS,
    ),
    "favorites": _fieldset("favRank", *FAVORITE_RELS),
}

HTML_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx"
    b"</center>\r\n</body>\r\n</html>\r\n"
)


# -- errors ------------------------------------------------------------------------------------


class ApiError(Exception):
    """A JSON:API error answer; raised anywhere in a handler, rendered once."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _error(status: int, title: str, detail: str, code: str, int_status: bool = False) -> ApiError:
    return ApiError(
        status,
        {
            "errors": [
                {
                    "title": title,
                    "detail": detail,
                    "code": code,
                    "status": status if int_status else str(status),
                }
            ]
        },
    )


def not_found(record_id: str) -> ApiError:
    return _error(
        404,
        "Record not found",
        f"The record identified by {record_id} could not be found.",
        "404",
        int_status=True,
    )


def _route_not_found(path: str) -> ApiError:
    return _error(404, "Route not found", f"No route matches [GET] {path!r}", "404")


def _bad_page(detail: str) -> ApiError:
    # jsonapi-resources 0.9.12 lib/jsonapi/error_codes.rb: INVALID_PAGE_VALUE = '118'
    # (FILTER_NOT_ALLOWED '102', PARAM_NOT_ALLOWED '105', INVALID_INCLUDE '112' likewise).
    return _error(400, "Invalid Page Value", detail, "118")


# -- requests ----------------------------------------------------------------------------------


class Query:
    """A parsed query string, grouped the way jsonapi-resources reads it."""

    def __init__(self, raw_query: str) -> None:
        # parse_qsl percent-decodes keys and values, so %5B/%5D brackets arrive as [ ].
        self.pairs: list[tuple[str, str]] = parse_qsl(raw_query, keep_blank_values=True)
        self.filters: dict[str, str] = {}
        self.fields: dict[str, set[str]] = {}
        self.page: dict[str, str] = {}
        self.include: list[str] = []
        self.sort: list[str] = []
        for key, value in self.pairs:
            match = re.fullmatch(r"([A-Za-z_]+)\[([^\]]*)\]", key)
            top, sub = (match.group(1), match.group(2)) if match else (key, None)
            if top not in _TOP_PARAMS or (sub is None) != (top in ("include", "sort")):
                raise _error(400, "Param not allowed", f"{key} is not allowed.", "105")
            if top == "filter":
                self.filters[sub or ""] = value
            elif top == "fields":
                self.fields[sub or ""] = {f.strip() for f in value.split(",") if f.strip()}
            elif top == "page":
                if sub not in ("limit", "offset"):
                    raise _error(
                        400,
                        "Page parameter not allowed",
                        f"{sub} is not an allowed page parameter.",
                        "105",
                    )
                self.page[sub] = value
            elif top == "include":
                self.include = [i.strip() for i in value.split(",") if i.strip()]
            else:
                self.sort = [s.strip() for s in value.split(",") if s.strip()]
        for rtype, names in self.fields.items():
            if not names:  # parse_fields: an empty list is InvalidField 'nil'
                raise _error(400, "Invalid field", f"nil is not a valid field for {rtype}.", "104")
            unknown = sorted(names - FIELDS.get(rtype, names))
            if unknown:
                raise _error(
                    400, "Invalid field", f"{unknown[0]} is not a valid field for {rtype}.", "104"
                )

    def paging(self, max_limit: int) -> tuple[int, int]:
        limit = self._int("limit", DEFAULT_LIMIT)
        offset = self._int("offset", 0)
        if limit < 1:
            raise _bad_page(f"{limit} is not a valid value for limit page parameter.")
        if limit > max_limit:
            raise _bad_page(f"Limit exceeds maximum page size of {max_limit}.")
        if offset < 0:
            raise _bad_page(f"{offset} is not a valid value for offset page parameter.")
        return limit, offset

    def _int(self, name: str, default: int) -> int:
        raw = self.page.get(name)
        if raw is None:
            return default
        try:
            return int(raw.strip())
        except ValueError:
            raise _bad_page(f"{raw} is not a valid value for {name} page parameter.") from None

    def check_filters(self, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for name in self.filters:
            if name not in allowed:
                raise _error(400, "Filter not allowed", f"{name} is not allowed.", "102")

    def filter(self, *names: str) -> str | None:
        """A filter under either spelling (Kitsu accepts ``userId`` and ``user_id``)."""
        for name in names:
            if name in self.filters:
                return self.filters[name]
        return None

    def includes(self, rels: Iterable[str], resource: str) -> set[str]:
        """Top-level relationship names to include (``anime.mappings`` includes ``anime``)."""
        wanted = set()
        for path in self.include:
            head = path.split(".")[0]
            if head not in rels:
                raise _error(
                    400,
                    "Invalid field",
                    f"{head} is not a valid relationship of {resource}",
                    "112",
                )
            wanted.add(head)
        return wanted

    def link_query(self, limit: int, offset: int) -> str:
        """Rails ``to_query``: every parameter but page, plus the page, CGI-escaped, sorted."""
        pairs = [(k, v) for k, v in self.pairs if not k.startswith("page[")]
        pairs += [("page[limit]", str(limit)), ("page[offset]", str(offset))]
        encoded = (f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}" for k, v in pairs)
        return "&".join(sorted(encoded))


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip().replace(" ", "+"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _accept_ok(accept: str | None) -> bool:
    if accept is None or not accept.strip():
        return True
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(types & {"*/*", "application/*", JSONAPI})


# -- the API -------------------------------------------------------------------------------------


class KitsuApi:
    """Documents for requests: pure (no sockets), so it can be reasoned about on its own."""

    def __init__(self, dataset: Dataset) -> None:
        self.ds = dataset

    def handle(self, raw_path: str, accept: str | None, host: str) -> tuple[int, bytes]:
        """(status, JSON body) for a GET of ``raw_path`` (path + query, as sent)."""
        parts = urlsplit(raw_path)
        path = parts.path
        try:
            if not _accept_ok(accept):
                raise _error(
                    406,
                    "Not acceptable",
                    "All requests must use the 'application/vnd.api+json' Accept without media "
                    f"type parameters. This request specified '{accept}'.",
                    "406",
                )
            for prefix in (REDIRECTED_PREFIX, PREFIX):
                if path == prefix or path.startswith(prefix + "/"):
                    break
            else:
                raise _route_not_found(path)
            base = f"http://{host}{prefix}"
            rest = path[len(prefix) :].rstrip("/")
            query = Query(parts.query)
            with self.ds.lock:
                doc = self._route(rest, query, base)
                return 200, _dumps(doc)
        except ApiError as exc:
            return exc.status, _dumps(exc.body)

    def _route(self, rest: str, q: Query, base: str) -> dict[str, Any]:
        segments = rest.split("/")[1:] if rest else []
        match segments:
            case ["users"]:
                return self.users(q, base)
            case ["users", user_id]:
                return self.user(user_id, q, base)
            case ["users", user_id, "library-entries"]:
                return self.nested_entries(user_id, q, base)
            case ["library-entries"]:
                return self.entries(q, base)
            case ["library-entries", entry_id]:
                return self.entry(entry_id, q, base)
            case ["library-entries", entry_id, "anime"]:
                return self.entry_anime(entry_id, q, base)
            case ["favorites"]:
                return self.favorites(q, base)
            case ["anime"]:
                return self.anime_index(q, base)
            case ["anime", anime_id]:
                return self.anime_one(anime_id, q, base)
        raise _route_not_found(rest)

    # -- serialisation ---------------------------------------------------------------------------

    @staticmethod
    def resource(
        rtype: str,
        url_type: str,
        record: Record,
        fields: set[str] | None,
        rels: tuple[str, ...],
        linkage: dict[str, dict[str, str] | None],
        base: str,
    ) -> dict[str, Any]:
        """One resource object as jsonapi-resources 0.9 builds it (kitsu-server
        ``vendor/resource_serializer.rb`` ``object_hash``): ``links.self``; the attributes
        ``fields[type]`` lists (``supplying_attribute_fields``; all without it); every
        relationship ``fields[type]`` lists, each with ``links.self``/``links.related``
        (``link_object_to_one``), and ``data`` only for those in ``linkage`` (the included
        ones, see :meth:`_linked`); empty ``attributes``/``relationships`` are left out."""
        rid = record["id"]
        self_url = f"{base}/{url_type}/{rid}"
        res: dict[str, Any] = {"id": rid, "type": rtype, "links": {"self": self_url}}
        if fields is None:
            attrs = {k: v for k, v in record.items() if k not in INTERNAL_KEYS}
        else:
            attrs = {k: v for k, v in record.items() if k in fields and k not in INTERNAL_KEYS}
        if attrs:
            res["attributes"] = attrs
        relationships = {}
        for rel in rels:
            if fields is not None and rel not in fields:
                continue
            kebab = _KEBAB[rel]
            obj: dict[str, Any] = {
                "links": {
                    "self": f"{self_url}/relationships/{kebab}",
                    "related": f"{self_url}/{kebab}",
                }
            }
            if rel in linkage:
                obj["data"] = linkage[rel]
            relationships[rel] = obj
        if relationships:
            res["relationships"] = relationships
        return res

    def _user_res(self, user: Record, q: Query, base: str) -> dict[str, Any]:
        return self.resource("users", "users", user, q.fields.get("users"), USER_RELS, {}, base)

    def _anime_res(self, anime: Record, q: Query, base: str) -> dict[str, Any]:
        return self.resource("anime", "anime", anime, q.fields.get("anime"), ANIME_RELS, {}, base)

    @staticmethod
    def _linked(rel: str, fields: set[str] | None, included: set[str]) -> bool:
        """Linkage ``data`` only for included relationships: ``link_object_to_one`` in
        kitsu-server ``vendor/resource_serializer.rb`` (jsonapi-resources 0.9) sets ``data``
        only ``if include_linkage``, and Kitsu enables no ``always_include_*_linkage_data``.
        ``fields`` does not add linkage; it only hides relationships it does not list
        (``supplying_relationship_fields``; see :meth:`resource`). Recorded: the crawl-linkage
        case (``filter[animeId]`` with ``user`` in ``fields`` but not in ``include``: no
        ``data``) and every fixture in tests/fixtures/kitsu/recorded/."""
        return rel in included  # ``fields`` is deliberately not consulted

    def _entries_doc(
        self,
        entries: list[Record],
        q: Query,
        base: str,
        path: str,
        status_counts: bool,
    ) -> dict[str, Any]:
        limit, offset = q.paging(MAX_LIBRARY_LIMIT)
        included_rels = q.includes(ENTRY_RELS, "libraryEntries")
        fields = q.fields.get("libraryEntries")
        link_anime = self._linked("anime", fields, included_rels)
        link_user = self._linked("user", fields, included_rels)
        other = [
            r
            for r in ENTRY_RELS
            if r not in ("anime", "user") and self._linked(r, fields, included_rels)
        ]
        page = entries[offset : offset + limit]
        data = []
        included: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in page:
            linkage: dict[str, dict[str, str] | None] = dict.fromkeys(other)
            shown = self.ds.anime_visible(entry["animeId"])
            if link_anime:
                linkage["anime"] = self._anime_linkage(entry, shown)
            if link_user:
                linkage["user"] = {"type": "users", "id": entry["userId"]}
            if "media" in linkage:
                linkage["media"] = {"type": "anime", "id": entry["animeId"]}
            data.append(
                self.resource(
                    "libraryEntries", "library-entries", entry, fields, ENTRY_RELS, linkage, base
                )
            )
            if ("anime" in included_rels or "media" in included_rels) and shown:
                key = ("anime", entry["animeId"])
                if key not in included:
                    included[key] = self._anime_res(self.ds.anime[entry["animeId"]], q, base)
            if "user" in included_rels:
                key = ("users", entry["userId"])
                if key not in included and entry["userId"] in self.ds.users:
                    included[key] = self._user_res(self.ds.users[entry["userId"]], q, base)
        meta: dict[str, Any] = {}
        if status_counts:
            counts = dict.fromkeys((s for s, _ in _STATUS_KEYS), 0)
            for entry in entries:
                counts[entry["status"]] = counts.get(entry["status"], 0) + 1
            meta["statusCounts"] = {camel: counts[s] for s, camel in _STATUS_KEYS if counts[s]}
        return self._collection(data, included, meta, len(entries), q, base, path, limit, offset)

    def _anime_linkage(self, entry: Record, shown: bool) -> dict[str, str] | None:
        """An entry's anime linkage. An anime the policy hides (AnimePolicy::Scope) is never
        included; its entry, let through by its stale nsfw flag, links null or its anime_id
        (:attr:`Dataset.withheld_linkage`; api-docs#96 reports both)."""
        if not shown and self.ds.withheld_linkage == "null":
            return None
        return {"type": "anime", "id": entry["animeId"]}

    def _collection(
        self,
        data: list[dict[str, Any]],
        included: dict[tuple[str, str], dict[str, Any]],
        meta: dict[str, Any],
        count: int,
        q: Query,
        base: str,
        path: str,
        limit: int,
        offset: int,
    ) -> dict[str, Any]:
        # jsonapi-resources 0.9.12 lib/jsonapi/paginator.rb OffsetPaginator#links_page_params:
        # first always, prev when offset > 0, next when offset + limit < count, last at
        # count - limit; meta.count: top_level_meta_include_record_count with the key
        # :count (kitsu-server config/initializers/jsonapi-resources.rb). Recorded: fixtures
        # 1, 2, 4, 5 and 7 in tests/fixtures/kitsu/recorded/.
        url = f"{base}/{path}?"
        links = {"first": url + q.link_query(limit, 0)}
        if offset > 0:
            links["prev"] = url + q.link_query(limit, max(0, offset - limit))
        if offset + limit < count:
            links["next"] = url + q.link_query(limit, offset + limit)
        links["last"] = url + q.link_query(limit, max(0, count - limit))
        doc: dict[str, Any] = {"data": data}
        if included:
            doc["included"] = list(included.values())
        doc["meta"] = {**meta, "count": count}
        doc["links"] = links
        return doc

    @staticmethod
    def _sorted(records: list[Record], q: Query) -> list[Record]:
        for key in reversed(q.sort):
            name = key.lstrip("-")
            if name != "id" and records and name not in records[0]:
                raise _error(
                    400,
                    "Invalid sort criteria",
                    f"{name} is not a valid sort criteria for this resource",
                    "114",
                )
            records = sorted(
                records,
                key=lambda r, n=name: (r.get(n) is None, _sort_key(r.get(n))),
                reverse=key.startswith("-"),
            )
        return records

    # -- users -----------------------------------------------------------------------------------

    def users(self, q: Query, base: str) -> dict[str, Any]:
        q.check_filters(("slug", "name", "query", "id", "self"))
        limit, offset = q.paging(MAX_LIMIT)
        users = list(self.ds.users.values())
        if q.filter("self") is not None:
            # kitsu-server user_resource.rb ``filter :self``: ``where(id: current_user&.id)``,
            # and every request here is anonymous, so nobody.
            users = []
        if (ids := q.filter("id")) is not None:
            wanted = {i.strip() for i in ids.split(",")}
            users = [u for u in users if u["id"] in wanted]
        if (slug := q.filter("slug")) is not None:
            users = [u for u in users if (u["slug"] or "").lower() == slug.lower() != ""]
        if (name := q.filter("name")) is not None:
            users = [u for u in users if u["name"].lower() == name.lower()]
        users.sort(key=lambda u: _sort_key(u["id"]))
        if (text := q.filter("query")) is not None:
            needle = text.strip().lower()
            hits = []
            for u in users:
                name_l, slug_l = u["name"].lower(), (u["slug"] or "").lower()
                if needle and (needle in name_l or needle in slug_l):
                    exact, prefix = needle in (name_l, slug_l), name_l.startswith(needle)
                    rank = 0 if exact else 1 if prefix else 2
                    hits.append((rank, u))
            hits.sort(key=lambda h: h[0])
            users = [u for _, u in hits]
        users = self._sorted(users, q)
        page = users[offset : offset + limit]
        data = [self._user_res(u, q, base) for u in page]
        return self._collection(data, {}, {}, len(users), q, base, "users", limit, offset)

    def user(self, user_id: str, q: Query, base: str) -> dict[str, Any]:
        q.check_filters(())
        user = self.ds.users.get(user_id)
        if user is None:
            raise not_found(user_id)
        return {"data": self._user_res(user, q, base)}

    # -- library entries ---------------------------------------------------------------------------

    _ENTRY_FILTERS = ("userId", "user_id", "animeId", "anime_id", "kind", "since", "status")

    def _filter_entries(self, entries: Iterable[Record], q: Query) -> list[Record]:
        visible = self.ds.entry_visible
        out = [e for e in entries if visible(e)]
        if (kind := q.filter("kind")) is not None and "anime" not in kind.split(","):
            out = []
        if (anime_ids := q.filter("animeId", "anime_id")) is not None:
            wanted = {a.strip() for a in anime_ids.split(",")}
            out = [e for e in out if e["animeId"] in wanted]
        if (user_ids := q.filter("userId", "user_id")) is not None:
            wanted = {u.strip() for u in user_ids.split(",")}
            out = [e for e in out if e["userId"] in wanted]
        if (status := q.filter("status")) is not None:
            wanted = {slugify(s).replace("-", "_") for s in status.split(",")}
            wanted |= {"on_hold"} if "onhold" in wanted else set()
            out = [e for e in out if e["status"] in wanted]
        if (since := q.filter("since")) is not None:
            try:
                moment = _parse_time(since)
            except ValueError:
                raise _error(
                    400, "Invalid filter value", f"{since} is not a valid value for since.", "107"
                ) from None
            out = [e for e in out if e["updatedAt"] and _parse_time(e["updatedAt"]) >= moment]
        return out

    def entries(self, q: Query, base: str) -> dict[str, Any]:
        # kitsu-server app/controllers/library_entries_controller.rb#index: no filter, 400.
        # Filters: app/resources/library_entry_resource.rb (``filters :user_id, ...``, kind,
        # since, status); a value is a comma list (jsonapi-resources 0.9.12 ``verify_filter``
        # splits it with ``CSV.parse_line``), so ``filter[userId]=1,2`` means either user.
        # Order: jsonapi-resources ``default_sort`` (id ascending). ``statusCounts``: kitsu-
        # server app/processors/library_entry_processor.rb (index only, not the nested route).
        if not q.filters:
            raise ApiError(400, {"errors": [{"status": 400, "detail": "No filter provided"}]})
        q.check_filters(self._ENTRY_FILTERS)
        user_ids = q.filter("userId", "user_id")
        anime_ids = q.filter("animeId", "anime_id")
        source: list[Record]
        if user_ids is not None:
            source = []
            for uid in dict.fromkeys(u.strip() for u in user_ids.split(",")):
                source.extend(self.ds.entries.get(uid, ()))
        elif anime_ids is not None:
            source = []
            for aid in dict.fromkeys(a.strip() for a in anime_ids.split(",")):
                source.extend(self.ds.entries_for_anime(aid))
        else:
            source = list(self.ds.all_entries())
        if (user_ids is not None and "," in user_ids) or anime_ids is not None:
            source.sort(key=lambda e: int(e["id"]))
        entries = self._sorted(self._filter_entries(source, q), q)
        return self._entries_doc(entries, q, base, "library-entries", status_counts=True)

    def nested_entries(self, user_id: str, q: Query, base: str) -> dict[str, Any]:
        if user_id not in self.ds.users:
            raise not_found(user_id)
        q.check_filters(self._ENTRY_FILTERS)
        entries = self._sorted(self._filter_entries(self.ds.entries[user_id], q), q)
        path = f"users/{user_id}/library-entries"
        return self._entries_doc(entries, q, base, path, status_counts=False)

    def entry(self, entry_id: str, q: Query, base: str) -> dict[str, Any]:
        q.check_filters(())
        found = self.ds.entry(entry_id)
        if found is None or not self.ds.entry_visible(found):
            raise not_found(entry_id)
        included_rels = q.includes(ENTRY_RELS, "libraryEntries")
        fields = q.fields.get("libraryEntries")
        linkage: dict[str, dict[str, str] | None] = {}
        shown = self.ds.anime_visible(found["animeId"])
        if self._linked("anime", fields, included_rels):
            linkage["anime"] = self._anime_linkage(found, shown)
        if self._linked("user", fields, included_rels):
            linkage["user"] = {"type": "users", "id": found["userId"]}
        doc: dict[str, Any] = {
            "data": self.resource(
                "libraryEntries", "library-entries", found, fields, ENTRY_RELS, linkage, base
            )
        }
        if "anime" in included_rels and shown:
            doc["included"] = [self._anime_res(self.ds.anime[found["animeId"]], q, base)]
        return doc

    def entry_anime(self, entry_id: str, q: Query, base: str) -> dict[str, Any]:
        found = self.ds.entry(entry_id)
        if found is None or not self.ds.entry_visible(found):
            raise not_found(entry_id)
        return {"data": self._anime_res(self.ds.anime[found["animeId"]], q, base)}

    # -- favorites ---------------------------------------------------------------------------------

    def favorites(self, q: Query, base: str) -> dict[str, Any]:
        q.check_filters(("userId", "user_id", "itemType", "item_type", "itemId", "item_id"))
        limit, offset = q.paging(MAX_LIMIT)
        included_rels = q.includes(FAVORITE_RELS, "favorites")
        fields = q.fields.get("favorites")
        if (user_ids := q.filter("userId", "user_id")) is not None:
            favs = [f for u in user_ids.split(",") for f in self.ds.favorites.get(u.strip(), ())]
        else:
            favs = [f for group in self.ds.favorites.values() for f in group]
        # Favourites are not filtered for adult anime: kitsu-server app/policies/
        # favorite_policy.rb keeps ApplicationPolicy::Scope (``resolve`` returns the scope
        # as is). Only the included item goes through AnimePolicy::Scope (below).
        if (item_type := q.filter("itemType", "item_type")) is not None:
            favs = [f for f in favs if f["itemType"] in item_type.split(",")]
        if (item_ids := q.filter("itemId", "item_id")) is not None:
            favs = [f for f in favs if f["itemId"] in item_ids.split(",")]
        favs.sort(key=lambda f: int(f["id"]))
        favs = self._sorted(favs, q)
        data = []
        included: dict[tuple[str, str], dict[str, Any]] = {}
        link_item = self._linked("item", fields, included_rels)
        link_user = self._linked("user", fields, included_rels)
        for fav in favs[offset : offset + limit]:
            item_type_name = "anime" if fav["itemType"] == "Anime" else "characters"
            linkage: dict[str, dict[str, str] | None] = {}
            if link_item:
                linkage["item"] = {"type": item_type_name, "id": fav["itemId"]}
            if link_user:
                linkage["user"] = {"type": "users", "id": fav["userId"]}
            data.append(
                self.resource("favorites", "favorites", fav, fields, FAVORITE_RELS, linkage, base)
            )
            if "item" in included_rels and (item_type_name, fav["itemId"]) not in included:
                item: dict[str, Any] | None = None
                if item_type_name == "anime":
                    anime = self.ds.anime.get(fav["itemId"])
                    # AnimePolicy::Scope drops an adult anime from the preload (app/resources/
                    # concerns/ignore_preloading_nils.rb): linked by id, never described
                    if anime is not None and is_visible_anime(anime):
                        item = self._anime_res(anime, q, base)
                else:
                    item = self._character_res(fav["itemId"], q, base)
                if item is not None:
                    included[(item_type_name, fav["itemId"])] = item
            if "user" in included_rels and ("users", fav["userId"]) not in included:
                user = self.ds.users[fav["userId"]]
                included[("users", fav["userId"])] = self._user_res(user, q, base)
        return self._collection(data, included, {}, len(favs), q, base, "favorites", limit, offset)

    def _character_res(self, char_id: str, q: Query, base: str) -> dict[str, Any]:
        name = f"Character {char_id}"
        record = {
            "id": char_id,
            "slug": slugify(name),
            "names": {"en": name},
            "canonicalName": name,
            "otherNames": [],
            "name": name,
            "malId": int(char_id),
            "description": None,
            "image": None,
        }
        return self.resource(
            "characters", "characters", record, q.fields.get("characters"), CHARACTER_RELS, {}, base
        )

    # -- anime -----------------------------------------------------------------------------------

    def anime_index(self, q: Query, base: str) -> dict[str, Any]:
        q.check_filters(("text", "slug", "id", "subtype"))
        limit, offset = q.paging(MAX_LIMIT)
        anime = [a for a in self.ds.anime.values() if is_visible_anime(a)]
        if (ids := q.filter("id")) is not None:
            wanted = set(ids.split(","))
            anime = [a for a in anime if a["id"] in wanted]
        if (slug := q.filter("slug")) is not None:
            anime = [a for a in anime if a["slug"] in slug.split(",")]
        if (subtype := q.filter("subtype")) is not None:
            wanted_sub = {s.lower() for s in subtype.split(",")}
            anime = [a for a in anime if str(a["subtype"]).lower() in wanted_sub]
        anime.sort(key=lambda a: _sort_key(a["id"]))
        if (text := q.filter("text")) is not None:
            words = text.lower().split()
            hits = []
            for a in anime:
                titles = [a.get("canonicalTitle") or "", *(a.get("titles") or {}).values()]
                hay = " ".join(str(t) for t in titles if t).lower() + " " + str(a["slug"])
                if words and all(w in hay for w in words):
                    exact = text.lower() != str(a.get("canonicalTitle") or "").lower()
                    hits.append((exact, a["popularityRank"], a))
            hits.sort(key=lambda h: (h[0], h[1]))
            anime = [a for _, _, a in hits]
        anime = self._sorted(anime, q)
        data = [self._anime_res(a, q, base) for a in anime[offset : offset + limit]]
        return self._collection(data, {}, {}, len(anime), q, base, "anime", limit, offset)

    def anime_one(self, anime_id: str, q: Query, base: str) -> dict[str, Any]:
        q.check_filters(())
        anime = self.ds.anime.get(anime_id)
        if anime is None or not is_visible_anime(anime):
            raise not_found(anime_id)
        return {"data": self._anime_res(anime, q, base)}


def _sort_key(value: Any) -> Any:
    if isinstance(value, str) and value.isdigit():
        return (0, int(value), "")
    if isinstance(value, int | float):
        return (0, value, "")
    return (1, 0, str(value))


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- the HTTP server -------------------------------------------------------------------------------


class LogEntry(tuple[str, str, int]):
    """``(method, path_with_query, status)`` of one request, plus ``.time`` (its arrival, in
    ``time.time()`` seconds) for rate checks. ``status`` is 0 when no response was sent."""

    time: float

    def __new__(cls, method: str, path: str, status: int, when: float) -> LogEntry:
        entry = super().__new__(cls, (method, path, status))
        entry.time = when
        return entry

    @property
    def method(self) -> str:
        return self[0]

    @property
    def path(self) -> str:
        return self[1]

    @property
    def status(self) -> int:
        return self[2]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a "slow" handler must not hold up stop()
    request_queue_size = 128
    fake: FakeKitsu

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (timeouts, cancelled fetches) are normal here, not errors."""
        exc = traceback.format_exc()
        if not any(
            name in exc
            for name in (
                "ConnectionError",
                "BrokenPipe",
                "ConnectionReset",
                "TimeoutError",
                "socket.timeout",
            )
        ):
            self.fake.errors.append(exc)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms stalls
    timeout = 120  # idle keep-alive connections eventually let their thread go
    server: _Server
    server_version = "FakeKitsu/1.0"

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, on Kitsu's clock (:attr:`Dataset.clock_offset`)."""
        return super().date_time_string(
            self.server.fake.dataset.now() if timestamp is None else timestamp
        )

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.fake._track(self.connection, add=False)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.server.fake
        when = time.time()
        fake._arrive()
        self._done = False
        try:
            self._serve(fake, when)
        finally:
            if not self._done:
                fake._leave(LogEntry(self.command, self.path, 0, when))

    def _mark(self, status: int, when: float) -> None:
        """Log and leave in-flight *before* writing, so a client that has its answer never
        sees its request still counted in flight (max_in_flight must not overcount)."""
        self._done = True
        self.server.fake._leave(LogEntry(self.command, self.path, status, when))

    def _serve(self, fake: FakeKitsu, when: float) -> None:
        if fake.latency > 0 and fake._stopping.wait(fake.latency):
            self.close_connection = True
            return
        faults = fake.faults
        kind = faults.pick() if faults is not None else None
        if kind == "slow":
            assert faults is not None
            if fake._stopping.wait(faults.slow_seconds):
                self.close_connection = True
                return
            kind = None
        host = self.headers.get("Host") or f"127.0.0.1:{fake.port}"
        if kind == "hang":  # accepted and read, never answered (until the server stops)
            fake._stopping.wait()
            self.close_connection = True
            return
        if kind == "recorded":
            assert faults is not None
            self._mark(int(faults.recorded.split(b" ", 2)[1]), when)
            self.wfile.write(faults.recorded)
            return
        if kind == "drop":
            self._mark(0, when)
            self.close_connection = True  # closed (FIN) with nothing written
            return
        if kind == "redirect":
            if self.path.startswith(REDIRECTED_PREFIX):
                target = PREFIX + self.path[len(REDIRECTED_PREFIX) :]
            else:
                target = (
                    REDIRECTED_PREFIX + self.path[len(PREFIX) :]
                    if self.path.startswith(PREFIX)
                    else self.path
                )
            self._send(301, "text/html", b"", when, extra={"Location": f"http://{host}{target}"})
            return
        if kind in ("429", "429-no-retry-after"):
            assert faults is not None
            extra = {"Retry-After": "1"} if kind == "429" and faults.coin() else {}
            self._send(429, "text/plain", b"Retry later", when, extra=extra)
            return
        if kind == "503":
            self._send(503, "text/html", HTML_503, when)
            return
        if kind == "500":
            assert faults is not None
            status: int | str = 500 if faults.coin() else "500"
            body = _dumps(
                {
                    "errors": [
                        {
                            "title": "Internal Server Error",
                            "detail": "Internal Server Error",
                            "code": "500",
                            "status": status,
                        }
                    ]
                }
            )
            self._send(500, JSONAPI, body, when)
            return
        try:
            status_code, body = fake.api.handle(self.path, self.headers.get("Accept"), host)
        except Exception:  # a bug in the fake: make it loud in tests, not a hang
            fake.errors.append(traceback.format_exc())
            status_code, body = (
                500,
                _dumps(
                    {
                        "errors": [
                            {
                                "status": "500",
                                "title": "FakeKitsu bug",
                                "detail": "see server.errors",
                            }
                        ]
                    }
                ),
            )
        if kind == "truncated":
            self._send(status_code, JSONAPI, body[: len(body) // 2], when)
        elif kind == "reset-mid-body":
            self._send(status_code, JSONAPI, body, when, cut=len(body) // 2)
        elif kind == "trickle":
            assert faults is not None
            self._send(status_code, JSONAPI, body, when, trickle=faults.slow_seconds)
        else:
            self._send(status_code, JSONAPI, body, when)

    def _send(
        self,
        status: int,
        content_type: str,
        body: bytes,
        when: float,
        extra: dict[str, str] | None = None,
        cut: int | None = None,
        trickle: float | None = None,
    ) -> None:
        self._mark(status, when)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if cut is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if trickle is not None:
            self._trickle(body, trickle)
            return
        if cut is None:
            self.wfile.write(body)
            return
        self.wfile.write(body[:cut])
        self.wfile.flush()
        self.close_connection = True
        _reset(self.connection)

    def _trickle(self, body: bytes, seconds: float) -> None:
        """Send ``body`` in pieces TRICKLE_GAP apart, so the whole takes about ``seconds``."""
        pieces = max(2, round(seconds / TRICKLE_GAP))
        size = max(1, -(-len(body) // pieces))
        stopping = self.server.fake._stopping
        try:
            for start in range(0, len(body), size):
                self.wfile.write(body[start : start + size])
                self.wfile.flush()
                if stopping.wait(TRICKLE_GAP):
                    break
        except OSError:  # the client gave up: that is the point
            self.close_connection = True


def _reset(sock: socket.socket) -> None:
    """Abort the connection with an RST (SO_LINGER 0), like a CDN node dying mid-answer."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class FakeKitsu:
    """A running fake Kitsu: ``with FakeKitsu(ds) as server: httpx.get(server.url + ...)``.

    ``latency`` (seconds slept per request, in the handler thread) and ``faults`` may be
    changed while serving. ``requests``, ``log``, ``max_in_flight`` are measured on the
    server side so tests can check the client's politeness independently of the client.
    """

    def __init__(
        self,
        dataset: Dataset,
        latency: float = 0.0,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.dataset = dataset
        self.api = KitsuApi(dataset)
        self.latency = latency
        self.faults = faults
        self.host = host
        self.port = port
        self.log: list[LogEntry] = []
        self.errors: list[str] = []
        """Tracebacks of bugs inside the fake itself (tests may assert it stays empty)."""
        self._requests = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.on_request: Callable[[LogEntry], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeKitsu:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server((self.host, self.port), _Handler)
        httpd.fake = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fakekitsu:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes latency and "slow" sleepers
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # idle keep-alive connections would hold threads forever
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeKitsu:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what tests read -------------------------------------------------------------------------

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL the client is given (``ANIMEREC_API_URL``)."""
        return f"{self.root}{PREFIX}"

    @property
    def requests(self) -> int:
        """Requests received so far (faulted ones included)."""
        with self._lock:
            return self._requests

    @property
    def max_in_flight(self) -> int:
        """The most requests being handled at one moment (latency sleeps included)."""
        with self._lock:
            return self._max_in_flight

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def reset_stats(self) -> None:
        with self._lock:
            self._requests = 0
            self._max_in_flight = self._in_flight
            self.log.clear()

    # -- bookkeeping (handler threads) -------------------------------------------------------------

    def _arrive(self) -> None:
        with self._lock:
            self._requests += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)

    def _leave(self, entry: LogEntry) -> None:
        with self._lock:
            self._in_flight -= 1
            self.log.append(entry)
        if self.on_request is not None:
            self.on_request(entry)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
