"""``GET /media-relationships``: relations between media, the franchise graph.

As kitsu-server serves them: app/resources/media_relationship_resource.rb (``attribute
:role``; ``has_one :source, polymorphic: true``; ``has_one :destination, polymorphic:
true``; ``filters :source_type, :source_id, :destination_id``; ``filter :role`` by enum name
or number), routed by ``jsonapi_resources :media_relationships`` (config/routes.rb), paged by
the default offset paginator (max 20), ``default_sort`` id ascending.

Visibility. MediaRelationshipPolicy keeps ApplicationPolicy::Scope (``resolve`` returns the
scope as is), so every row is listed, whatever its media. A polymorphic ``include`` is not
preloaded (app/resources/concerns/ignore_preloading_nils.rb: "Can't preload through a
polymorphic belongs_to association"), so the serializer loads ``record_for_destination``,
which calls BaseResource#records_for (app/resources/base_resource.rb): a to-one association
is a record, not an ActiveRecord::Relation, so it is returned *before* Pundit::Resource's
policy check (pundit-resources ``records_for``, reached only through ``super``). An adult
destination is therefore included even for an anonymous reader, and its linkage is the
row's own ``destination_type``/``destination_id`` (jsonapi-resources 0.9.12
``Relationship#type_for_source`` reads the type column; ``foreign_key_value`` the id).
"""

from __future__ import annotations

from typing import Any

from animerec_tui.fakekitsu.documents import (
    Included,
    Linkage,
    collection,
    linked,
    resource,
    sort_records,
)
from animerec_tui.fakekitsu.query import Query
from animerec_tui.fakekitsu.records import Record
from animerec_tui.fakekitsu.resources import anime_res, manga_res
from animerec_tui.fakekitsu.schema import MAX_LIMIT, RELATION_RELS, ROLES
from animerec_tui.fakekitsu.store import Dataset

RELATION_FILTERS = (
    "id",
    "role",
    "source_type",
    "sourceType",
    "source_id",
    "sourceId",
    "destination_id",
    "destinationId",
)
"""Declared filters, under both spellings: jsonapi-resources unformats ``sourceId`` to
``source_id`` (``json_key_format = :camelized_key``). Anything else is 400 code 102."""
_TYPES = {"Anime": "anime", "Manga": "manga"}
"""Rails type -> JSON:API type (``resource_for(model_type)._type``)."""


def media_relationships(ds: Dataset, q: Query, base: str) -> dict[str, Any]:
    """``/media-relationships?filter[source_id]=1,2&filter[source_type]=Anime&include=
    destination&page[limit]=20``: rows of ``{"type": "mediaRelationships", "attributes":
    {"createdAt", "updatedAt", "role"}, "relationships": {"source", "destination"}}``, linkage
    only for included relationships, the included destinations (``anime`` or ``manga``)."""
    q.check_filters(RELATION_FILTERS)
    limit, offset = q.paging(MAX_LIMIT)
    included_rels = q.includes(RELATION_RELS, "mediaRelationships")
    rows = ds.relations_from(q.ids("source_type", "sourceType"), q.ids("source_id", "sourceId"))
    if (destinations := q.ids("destination_id", "destinationId")) is not None:
        rows = [r for r in rows if r["destinationId"] in destinations]
    if (ids := q.ids("id")) is not None:
        rows = [r for r in rows if r["id"] in ids]
    if (roles := q.ids("role")) is not None:
        rows = [r for r in rows if r["role"] in _roles(roles)]
    rows = sort_records(rows, q)
    fields = q.fields.get("mediaRelationships")
    data = []
    included: Included = {}
    for row in rows[offset : offset + limit]:
        linkage: Linkage = {}
        for rel in RELATION_RELS:
            if linked(rel, included_rels):
                linkage[rel] = {"type": _TYPES[row[f"{rel}Type"]], "id": row[f"{rel}Id"]}
                _include(ds, row, rel, q, base, included)
        data.append(
            resource(
                "mediaRelationships",
                "media-relationships",
                row,
                fields,
                RELATION_RELS,
                linkage,
                base,
            )
        )
    path = "media-relationships"
    return collection(data, included, {}, len(rows), q, base, path, limit, offset)


def _roles(values: list[str]) -> set[str]:
    """media_relationship_resource.rb ``filter :role``: ``MediaRelationship.roles.values_at``
    (names); when no value is a name, the values themselves (enum numbers)."""
    named = {v for v in values if v in ROLES}
    if named:
        return named
    return {ROLES[int(v)] for v in values if v.isdigit() and int(v) < len(ROLES)}


def _include(ds: Dataset, row: Record, rel: str, q: Query, base: str, included: Included) -> None:
    """The related media into ``included`` (unfiltered by policy: see the module docstring)."""
    media_type, media_id = row[f"{rel}Type"], row[f"{rel}Id"]
    key = (_TYPES[media_type], media_id)
    record = ds.media(media_type, media_id)
    if key in included or record is None:
        return
    if media_type == "Anime":
        included[key] = anime_res(ds, record, q, base)
    else:
        included[key] = manga_res(record, q, base)
