"""Resource objects per type: users, anime (with their categories), manga, categories,
characters; each as its kitsu-server resource declares it (app/resources/*_resource.rb)."""

from __future__ import annotations

from typing import Any

from animerec_tui.fakekitsu.documents import Included, Linkage, linked, resource
from animerec_tui.fakekitsu.query import Query
from animerec_tui.fakekitsu.records import Record, slugify
from animerec_tui.fakekitsu.schema import (
    ANIME_RELS,
    CATEGORY_RELS,
    CHARACTER_RELS,
    MANGA_RELS,
    USER_RELS,
)
from animerec_tui.fakekitsu.store import Dataset


def user_res(user: Record, q: Query, base: str) -> dict[str, Any]:
    """A ``users`` resource (user_resource.rb)."""
    return resource("users", "users", user, q.fields.get("users"), USER_RELS, {}, base)


def anime_res(
    ds: Dataset,
    anime: Record,
    q: Query,
    base: str,
    included_rels: set[str] | frozenset[str] = frozenset(),
    included: Included | None = None,
) -> dict[str, Any]:
    """An ``anime`` resource (anime_resource.rb, media_resource.rb). With ``categories`` in
    ``included_rels`` (``include=categories`` on the anime's own request) it carries the
    to-many linkage ``[{"type": "categories", "id"}, ...]`` (``link_object_to_many`` with
    ``include_linkage``) and its categories go into ``included``, as recorded in
    anime-1_include-categories_kitsulib.json."""
    linkage: Linkage = {}
    if linked("categories", set(included_rels)):
        ids = [c for c in anime.get("categoryIds") or () if c in ds.categories]
        linkage["categories"] = [{"type": "categories", "id": c} for c in ids]
        if included is not None:
            for cid in ids:
                included.setdefault(("categories", cid), category_res(ds.categories[cid], q, base))
    fields = q.fields.get("anime")
    return resource("anime", "anime", anime, fields, ANIME_RELS, linkage, base)


def manga_res(manga: Record, q: Query, base: str) -> dict[str, Any]:
    """A ``manga`` resource (manga_resource.rb: MediaResource's attributes and relationships,
    plus chapterCount, volumeCount, serialization, mangaType)."""
    return resource("manga", "manga", manga, q.fields.get("manga"), MANGA_RELS, {}, base)


def category_res(category: Record, q: Query, base: str) -> dict[str, Any]:
    """A ``categories`` resource (category_resource.rb; recorded in the anime-1 fixture)."""
    fields = q.fields.get("categories")
    return resource("categories", "categories", category, fields, CATEGORY_RELS, {}, base)


def character_res(char_id: str, q: Query, base: str) -> dict[str, Any]:
    """A ``characters`` resource with a made-up name (character_resource.rb attributes)."""
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
    fields = q.fields.get("characters")
    return resource("characters", "characters", record, fields, CHARACTER_RELS, {}, base)
