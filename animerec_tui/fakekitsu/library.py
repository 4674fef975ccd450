"""Library entries: ``/library-entries``, ``/users/{id}/library-entries``, one entry and its
anime (kitsu-server app/resources/library_entry_resource.rb, app/policies/
library_entry_policy.rb, app/processors/library_entry_processor.rb)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from animerec_tui.fakekitsu.documents import (
    Included,
    Linkage,
    collection,
    linked,
    resource,
    sort_records,
)
from animerec_tui.fakekitsu.errors import api_error, no_filter, not_found
from animerec_tui.fakekitsu.query import Query, parse_time
from animerec_tui.fakekitsu.records import Record, slugify
from animerec_tui.fakekitsu.resources import anime_res, user_res
from animerec_tui.fakekitsu.schema import ENTRY_RELS, STATUS_KEYS
from animerec_tui.fakekitsu.store import Dataset


def _entries_doc(
    ds: Dataset,
    entries: list[Record],
    q: Query,
    base: str,
    path: str,
    status_counts: bool,
    max_limit: int,
) -> dict[str, Any]:
    limit, offset = q.paging(max_limit)
    included_rels = q.includes(ENTRY_RELS, "libraryEntries")
    fields = q.fields.get("libraryEntries")
    link_anime = linked("anime", included_rels)
    link_user = linked("user", included_rels)
    other = [r for r in ENTRY_RELS if r not in ("anime", "user") and linked(r, included_rels)]
    page = entries[offset : offset + limit]
    data = []
    included: Included = {}
    for entry in page:
        linkage: Linkage = dict.fromkeys(other)
        shown = ds.anime_visible(entry["animeId"])
        if link_anime:
            linkage["anime"] = _anime_linkage(ds, entry, shown)
        if link_user:
            linkage["user"] = {"type": "users", "id": entry["userId"]}
        if "media" in linkage:
            linkage["media"] = {"type": "anime", "id": entry["animeId"]}
        data.append(
            resource("libraryEntries", "library-entries", entry, fields, ENTRY_RELS, linkage, base)
        )
        if ("anime" in included_rels or "media" in included_rels) and shown:
            key = ("anime", entry["animeId"])
            if key not in included:
                included[key] = anime_res(ds, ds.anime[entry["animeId"]], q, base)
        if "user" in included_rels:
            key = ("users", entry["userId"])
            if key not in included and entry["userId"] in ds.users:
                included[key] = user_res(ds.users[entry["userId"]], q, base)
    meta: dict[str, Any] = {}
    if status_counts:
        counts = dict.fromkeys((s for s, _ in STATUS_KEYS), 0)
        for entry in entries:
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        meta["statusCounts"] = {camel: counts[s] for s, camel in STATUS_KEYS if counts[s]}
    return collection(data, included, meta, len(entries), q, base, path, limit, offset)


def _anime_linkage(ds: Dataset, entry: Record, shown: bool) -> dict[str, str] | None:
    """An entry's anime linkage. An anime the policy hides (AnimePolicy::Scope) is never
    included; its entry, let through by its stale nsfw flag, links null or its anime_id
    (:attr:`Dataset.withheld_linkage`; api-docs#96 reports both)."""
    if not shown and ds.withheld_linkage == "null":
        return None
    return {"type": "anime", "id": entry["animeId"]}


# -- library entries ---------------------------------------------------------------------------

ENTRY_FILTERS = ("userId", "user_id", "animeId", "anime_id", "kind", "since", "status")


def _filter_entries(ds: Dataset, entries: Iterable[Record], q: Query) -> list[Record]:
    visible = ds.entry_visible
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
            moment = parse_time(since)
        except ValueError:
            raise api_error(
                400, "Invalid filter value", f"{since} is not a valid value for since.", "107"
            ) from None
        out = [e for e in out if e["updatedAt"] and parse_time(e["updatedAt"]) >= moment]
    return out


def entries(ds: Dataset, q: Query, base: str, max_limit: int) -> dict[str, Any]:
    """``GET /library-entries`` (``max_limit``: the library paginator's, 500)."""
    # kitsu-server app/controllers/library_entries_controller.rb#index: no filter, 400.
    # Filters: app/resources/library_entry_resource.rb (``filters :user_id, ...``, kind,
    # since, status); a value is a comma list (jsonapi-resources 0.9.12 ``verify_filter``
    # splits it with ``CSV.parse_line``), so ``filter[userId]=1,2`` means either user.
    # Order: jsonapi-resources ``default_sort`` (id ascending). ``statusCounts``: kitsu-
    # server app/processors/library_entry_processor.rb (index only, not the nested route).
    if not q.filters:
        raise no_filter()
    q.check_filters(ENTRY_FILTERS)
    user_ids = q.filter("userId", "user_id")
    anime_ids = q.filter("animeId", "anime_id")
    source: list[Record]
    if user_ids is not None:
        source = []
        for uid in dict.fromkeys(u.strip() for u in user_ids.split(",")):
            source.extend(ds.entries.get(uid, ()))
    elif anime_ids is not None:
        source = []
        for aid in dict.fromkeys(a.strip() for a in anime_ids.split(",")):
            source.extend(ds.entries_for_anime(aid))
    else:
        source = list(ds.all_entries())
    if (user_ids is not None and "," in user_ids) or anime_ids is not None:
        source.sort(key=lambda e: int(e["id"]))
    entries = sort_records(_filter_entries(ds, source, q), q)
    return _entries_doc(ds, entries, q, base, "library-entries", True, max_limit)


def nested_entries(
    ds: Dataset, user_id: str, q: Query, base: str, max_limit: int
) -> dict[str, Any]:
    """``GET /users/{id}/library-entries`` (only ``meta.count``: no statusCounts processor)."""
    if user_id not in ds.users:
        raise not_found(user_id)
    q.check_filters(ENTRY_FILTERS)
    entries = sort_records(_filter_entries(ds, ds.entries[user_id], q), q)
    path = f"users/{user_id}/library-entries"
    return _entries_doc(ds, entries, q, base, path, False, max_limit)


def entry(ds: Dataset, entry_id: str, q: Query, base: str) -> dict[str, Any]:
    """``GET /library-entries/{id}``: 404 for a private or adult-flagged entry."""
    q.check_filters(())
    found = ds.entry(entry_id)
    if found is None or not ds.entry_visible(found):
        raise not_found(entry_id)
    included_rels = q.includes(ENTRY_RELS, "libraryEntries")
    fields = q.fields.get("libraryEntries")
    linkage: Linkage = {}
    shown = ds.anime_visible(found["animeId"])
    if linked("anime", included_rels):
        linkage["anime"] = _anime_linkage(ds, found, shown)
    if linked("user", included_rels):
        linkage["user"] = {"type": "users", "id": found["userId"]}
    doc: dict[str, Any] = {
        "data": resource(
            "libraryEntries", "library-entries", found, fields, ENTRY_RELS, linkage, base
        )
    }
    if "anime" in included_rels and shown:
        doc["included"] = [anime_res(ds, ds.anime[found["animeId"]], q, base)]
    return doc


def entry_anime(ds: Dataset, entry_id: str, q: Query, base: str) -> dict[str, Any]:
    """``GET /library-entries/{id}/anime``."""
    found = ds.entry(entry_id)
    if found is None or not ds.entry_visible(found):
        raise not_found(entry_id)
    return {"data": anime_res(ds, ds.anime[found["animeId"]], q, base)}
