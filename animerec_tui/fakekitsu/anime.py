"""Anime: ``/anime`` (filters, title search), ``/anime/{id}``, ``/anime/{id}/categories``
(kitsu-server app/resources/anime_resource.rb and media_resource.rb; app/policies/
anime_policy.rb hides adult anime from anonymous readers everywhere here)."""

from __future__ import annotations

import math
from typing import Any

from animerec_tui.fakekitsu.documents import Included, collection, sort_key, sort_records
from animerec_tui.fakekitsu.errors import not_found
from animerec_tui.fakekitsu.query import Query
from animerec_tui.fakekitsu.records import Record, is_visible_anime
from animerec_tui.fakekitsu.resources import anime_res, category_res
from animerec_tui.fakekitsu.schema import ANIME_RELS, MAX_LIMIT
from animerec_tui.fakekitsu.store import Dataset

ANIME_FILTERS = ("text", "slug", "id", "subtype", "status", "categories")
"""The filters served (a subset of what anime_resource.rb declares: ``filter :subtype``,
``:status`` in media_resource.rb, ``query :text``, ``:categories`` there too; ``id`` and
``slug`` from jsonapi-resources / SluggableResource). Any other is 400 code 102."""
STATUS_VALUES = ("tba", "unreleased", "upcoming", "current", "finished")
"""media_resource.rb ``filter :status``: only these scopes are applied; others match nothing."""


def anime_index(ds: Dataset, q: Query, base: str) -> dict[str, Any]:
    """``GET /anime``: anonymous readers never see adult anime (AnimePolicy::Scope ``sfw``;
    for a search, ``TypesensualScope``/``AlgoliaScope`` ``NOT ageRating:R18``); page max 20."""
    q.check_filters(ANIME_FILTERS)
    limit, offset = q.paging(MAX_LIMIT)
    included_rels = q.includes(ANIME_RELS, "anime")
    anime = [a for a in ds.anime.values() if is_visible_anime(a)]
    if (ids := q.ids("id")) is not None:
        wanted = set(ids)
        anime = [a for a in anime if a["id"] in wanted]
    if (slugs := q.ids("slug")) is not None:
        anime = [a for a in anime if a["slug"] in slugs]
    if (subtypes := q.ids("subtype")) is not None:
        # ``records.subtypes[v] || v``: the enum's names (TV, movie, OVA, ONA, special, music)
        wanted_sub = {s.lower() for s in subtypes}
        anime = [a for a in anime if str(a["subtype"]).lower() in wanted_sub]
    if (statuses := q.ids("status")) is not None:
        wanted_status = set(statuses) & set(STATUS_VALUES)
        anime = [a for a in anime if a.get("status") in wanted_status]
    if (categories := q.ids("categories")) is not None:
        anime = [a for a in anime if _in_categories(ds, a, categories)]
    anime.sort(key=lambda a: sort_key(a["id"]))
    if (text := q.filter("text")) is not None:
        anime = _search(anime, text)
    anime = sort_records(anime, q)
    included: Included = {}
    data = [
        anime_res(ds, a, q, base, included_rels, included) for a in anime[offset : offset + limit]
    ]
    return collection(data, included, {}, len(anime), q, base, "anime", limit, offset)


def anime_one(ds: Dataset, anime_id: str, q: Query, base: str) -> dict[str, Any]:
    """``GET /anime/{id}``; ``include=categories`` as recorded (anime-1 fixture). 404 for an
    id that does not exist or that the policy hides."""
    q.check_filters(())
    included_rels = q.includes(ANIME_RELS, "anime")
    anime = _visible(ds, anime_id)
    included: Included = {}
    doc: dict[str, Any] = {"data": anime_res(ds, anime, q, base, included_rels, included)}
    if included:
        doc["included"] = list(included.values())
    return doc


def anime_categories(ds: Dataset, anime_id: str, q: Query, base: str) -> dict[str, Any]:
    """``GET /anime/{id}/categories``: the related-resources route jsonapi-resources 0.9.12
    routes for ``has_many :categories`` (``jsonapi_resources :anime``, config/routes.rb),
    paged by CategoryResource's ``paginator :unlimited`` (lib/unlimited_paginator.rb: offset
    paging with no maximum), default 10, with ``meta.count`` and ``links`` as any collection."""
    q.check_filters(("slug", "nsfw", "parent_id", "parentId"))
    limit, offset = q.paging(1 << 62)
    anime = _visible(ds, anime_id)
    records = [ds.categories[c] for c in anime.get("categoryIds") or () if c in ds.categories]
    if (slugs := q.ids("slug")) is not None:
        records = [c for c in records if c["slug"] in slugs]
    records = sort_records(records, q)
    data = [category_res(c, q, base) for c in records[offset : offset + limit]]
    path = f"anime/{anime_id}/categories"
    return collection(data, {}, {}, len(records), q, base, path, limit, offset)


def _visible(ds: Dataset, anime_id: str) -> Record:
    anime = ds.anime.get(anime_id)
    if anime is None or not is_visible_anime(anime):
        raise not_found(anime_id)
    return anime


def _in_categories(ds: Dataset, anime: Record, wanted: list[str]) -> bool:
    """media_resource.rb ``query :categories``: ``match`` with ``operator: 'and'`` over the
    category titles indexed with the anime: every value must name one of its categories
    (by title or slug, case-insensitively)."""
    names = set()
    for cid in anime.get("categoryIds") or ():
        category = ds.categories.get(cid)
        if category is not None:
            names |= {str(category["title"]).lower(), str(category["slug"]).lower()}
    return all(value.lower() in names for value in wanted)


def _search(anime: list[Record], text: str) -> list[Record]:
    """``filter[text]``: an approximation of media_resource.rb ``query :text`` (a search
    index: ``multi_match`` over ``titles.*`` and ``abbreviated_titles``, an exact-title match
    boosted, the score times ``max(log10(user_count), 1)``, results by score).

    Here an anime matches when every word of ``text`` is in one of its titles or its slug
    (case-insensitive); it ranks first by how it matches (a title equal to ``text``, then
    one starting with it, then the rest) and within that by ``max(log10(userCount), 1)``,
    ties by id. No fuzziness: a misspelt query finds nothing.
    """
    needle = " ".join(text.lower().split())
    words = needle.split()
    if not words:
        return []
    hits: list[tuple[int, float, Record]] = []
    for a in anime:
        titles = [a.get("canonicalTitle") or "", *(a.get("titles") or {}).values()]
        titles += list(a.get("abbreviatedTitles") or ())
        lowered = [" ".join(str(t).lower().split()) for t in titles if t]
        hay = " ".join(lowered) + " " + str(a["slug"])
        if not all(w in hay for w in words):
            continue
        tier = 0 if needle in lowered else 1 if any(t.startswith(needle) for t in lowered) else 2
        weight = max(math.log10(max(int(a.get("userCount") or 1), 1)), 1.0)
        hits.append((tier, -weight, a))
    hits.sort(key=lambda h: (h[0], h[1]))  # stable: id order breaks ties
    return [a for _, _, a in hits]
