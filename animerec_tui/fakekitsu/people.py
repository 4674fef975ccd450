"""Users and their favourites: ``/users``, ``/users/{id}``, ``/favorites`` (kitsu-server
app/resources/user_resource.rb, favorite_resource.rb, app/policies/favorite_policy.rb)."""

from __future__ import annotations

from typing import Any

from animerec_tui.fakekitsu.documents import (
    Included,
    Linkage,
    collection,
    linked,
    resource,
    sort_key,
    sort_records,
)
from animerec_tui.fakekitsu.errors import not_found
from animerec_tui.fakekitsu.query import Query
from animerec_tui.fakekitsu.records import is_visible_anime
from animerec_tui.fakekitsu.resources import anime_res, character_res, user_res
from animerec_tui.fakekitsu.schema import FAVORITE_RELS, MAX_LIMIT
from animerec_tui.fakekitsu.store import Dataset


def users(ds: Dataset, q: Query, base: str) -> dict[str, Any]:
    """``GET /users`` (user_resource.rb filters; ``query`` ranks exact, prefix, substring)."""
    q.check_filters(("slug", "name", "query", "id", "self"))
    limit, offset = q.paging(MAX_LIMIT)
    users = list(ds.users.values())
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
    users.sort(key=lambda u: sort_key(u["id"]))
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
    users = sort_records(users, q)
    page = users[offset : offset + limit]
    data = [user_res(u, q, base) for u in page]
    return collection(data, {}, {}, len(users), q, base, "users", limit, offset)


def user(ds: Dataset, user_id: str, q: Query, base: str) -> dict[str, Any]:
    """``GET /users/{id}``."""
    q.check_filters(())
    user = ds.users.get(user_id)
    if user is None:
        raise not_found(user_id)
    return {"data": user_res(user, q, base)}


def favorites(ds: Dataset, q: Query, base: str) -> dict[str, Any]:
    """``GET /favorites`` (favorite_resource.rb: ``filters :user_id, :item_type, :item_id``)."""
    q.check_filters(("userId", "user_id", "itemType", "item_type", "itemId", "item_id"))
    limit, offset = q.paging(MAX_LIMIT)
    included_rels = q.includes(FAVORITE_RELS, "favorites")
    fields = q.fields.get("favorites")
    if (user_ids := q.filter("userId", "user_id")) is not None:
        favs = [f for u in user_ids.split(",") for f in ds.favorites.get(u.strip(), ())]
    else:
        favs = [f for group in ds.favorites.values() for f in group]
    # Favourites are not filtered for adult anime: kitsu-server app/policies/
    # favorite_policy.rb keeps ApplicationPolicy::Scope (``resolve`` returns the scope
    # as is). Only the included item goes through AnimePolicy::Scope (below).
    if (item_type := q.filter("itemType", "item_type")) is not None:
        favs = [f for f in favs if f["itemType"] in item_type.split(",")]
    if (item_ids := q.filter("itemId", "item_id")) is not None:
        favs = [f for f in favs if f["itemId"] in item_ids.split(",")]
    favs.sort(key=lambda f: int(f["id"]))
    favs = sort_records(favs, q)
    data = []
    included: Included = {}
    link_item = linked("item", included_rels)
    link_user = linked("user", included_rels)
    for fav in favs[offset : offset + limit]:
        item_type_name = "anime" if fav["itemType"] == "Anime" else "characters"
        linkage: Linkage = {}
        if link_item:
            linkage["item"] = {"type": item_type_name, "id": fav["itemId"]}
        if link_user:
            linkage["user"] = {"type": "users", "id": fav["userId"]}
        data.append(resource("favorites", "favorites", fav, fields, FAVORITE_RELS, linkage, base))
        if "item" in included_rels and (item_type_name, fav["itemId"]) not in included:
            item: dict[str, Any] | None = None
            if item_type_name == "anime":
                anime = ds.anime.get(fav["itemId"])
                # AnimePolicy::Scope drops an adult anime from the preload (app/resources/
                # concerns/ignore_preloading_nils.rb): linked by id, never described
                if anime is not None and is_visible_anime(anime):
                    item = anime_res(ds, anime, q, base)
            else:
                item = character_res(fav["itemId"], q, base)
            if item is not None:
                included[(item_type_name, fav["itemId"])] = item
        if "user" in included_rels and ("users", fav["userId"]) not in included:
            user = ds.users[fav["userId"]]
            included[("users", fav["userId"])] = user_res(user, q, base)
    return collection(data, included, {}, len(favs), q, base, "favorites", limit, offset)
