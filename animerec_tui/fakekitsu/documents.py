"""Document building, as jsonapi-resources 0.9 serialises for Kitsu (kitsu-server
``vendor/resource_serializer.rb``, loaded by ``config/initializers/jsonapi-resources.rb``):
resource objects, relationship linkage, ``included``, and a collection's ``meta``/``links``.

Relationship linkage (``relationships.X.data``) is sent only for relationships named in
``include``, never because ``X`` is listed in ``fields[...]``: ``link_object_to_one`` adds
``data`` only when ``include_linkage`` (the relationship's include directive) is set, and the
initializer sets no ``always_include_*_linkage_data``. ``fields[type]`` only decides which
relationships appear at all (``supplying_relationship_fields``). The recorded responses agree
(tests/fakekitsu/test_conformance.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from animerec_tui.fakekitsu.errors import api_error
from animerec_tui.fakekitsu.query import Query
from animerec_tui.fakekitsu.records import INTERNAL_KEYS, Record
from animerec_tui.fakekitsu.schema import KEBAB

Linkage = dict[str, Any]
"""``{relationship name: linkage}``: a ``{"type", "id"}`` object, None, or a list of them."""
Included = dict[tuple[str, str], dict[str, Any]]
"""``included`` under construction, keyed by ``(type, id)`` so each resource comes once."""


def resource(
    rtype: str,
    url_type: str,
    record: Record,
    fields: set[str] | None,
    rels: tuple[str, ...],
    linkage: Linkage,
    base: str,
) -> dict[str, Any]:
    """One resource object as jsonapi-resources 0.9 builds it (``object_hash``): ``links.self``;
    the attributes ``fields[type]`` lists (``supplying_attribute_fields``; all without it);
    every relationship ``fields[type]`` lists, each with ``links.self``/``links.related``
    (``link_object_to_one``/``_to_many``), and ``data`` only for those in ``linkage`` (the
    included ones, see :func:`linked`); empty ``attributes``/``relationships`` are left out."""
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
        kebab = KEBAB[rel]
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


def linked(rel: str, included: set[str]) -> bool:
    """Linkage ``data`` only for included relationships: ``link_object_to_one`` in kitsu-server
    ``vendor/resource_serializer.rb`` (jsonapi-resources 0.9) sets ``data`` only ``if
    include_linkage``, and Kitsu enables no ``always_include_*_linkage_data``. ``fields`` does
    not add linkage; it only hides relationships it does not list (see :func:`resource`), so
    it is deliberately not a parameter here. Recorded: the crawl-linkage case
    (``filter[animeId]`` with ``user`` in ``fields`` but not in ``include``: no ``data``) and
    every fixture in tests/fixtures/kitsu/recorded/."""
    return rel in included


def collection(
    data: list[dict[str, Any]],
    included: Included,
    meta: dict[str, Any],
    count: int,
    q: Query,
    base: str,
    path: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """A collection document: ``data``, ``included`` (when any), ``meta`` with ``count``,
    ``links``.

    jsonapi-resources 0.9.12 lib/jsonapi/paginator.rb OffsetPaginator#links_page_params:
    first always, prev when offset > 0, next when offset + limit < count, last at
    count - limit; meta.count: top_level_meta_include_record_count with the key :count
    (kitsu-server config/initializers/jsonapi-resources.rb). Recorded: fixtures 1, 2, 4, 5
    and 7 in tests/fixtures/kitsu/recorded/.
    """
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


def sort_records(records: list[Record], q: Query) -> list[Record]:
    """``sort=a,-b`` applied (stable, last key first); 400 code 114 for a field the records
    do not have (jsonapi-resources ``parse_sort_criteria`` against ``sortable_fields``)."""
    for key in reversed(q.sort):
        name = key.lstrip("-")
        if name != "id" and records and name not in records[0]:
            raise api_error(
                400,
                "Invalid sort criteria",
                f"{name} is not a valid sort criteria for this resource",
                "114",
            )
        records = sorted(records, key=_by(name), reverse=key.startswith("-"))
    return records


def _by(name: str) -> Callable[[Record], tuple[bool, Any]]:
    """Sort key on one attribute: missing/None values last (BaseResource.apply_sort
    ``nulls last``), then :func:`sort_key`."""

    def key(record: Record) -> tuple[bool, Any]:
        return (record.get(name) is None, sort_key(record.get(name)))

    return key


def sort_key(value: Any) -> Any:
    """Numeric ids in number order, then anything else as text (default_sort: id ascending)."""
    if isinstance(value, str) and value.isdigit():
        return (0, int(value), "")
    if isinstance(value, int | float):
        return (0, value, "")
    return (1, 0, str(value))


def dumps(doc: Any) -> bytes:
    """A document as compact UTF-8 JSON (Kitsu sends non-ASCII titles unescaped)."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
