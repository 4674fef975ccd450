"""Kitsu's media relationships between anime: JSON:API parsing and the batched fetch.

Kitsu serves them as ``mediaRelationships`` resources (kitsu-server
``app/resources/media_relationship_resource.rb``: ``attribute :role``, ``has_one :source,
polymorphic: true``, ``has_one :destination, polymorphic: true``, ``filters :source_type,
:source_id, :destination_id``). ``role`` is the enum of ``app/models/media_relationship.rb``
(sequel, prequel, alternative_setting, alternative_version, side_story, parent_story, summary,
full_story, spinoff, adaptation, character, other). A request::

    GET /media-relationships?filter[source_id]=1,2&filter[source_type]=Anime
        &include=source,destination&fields[anime]=...&page[limit]=20

* ``filter[source_id]`` takes a comma list: jsonapi-resources 0.9.12 splits a filter value with
  ``CSV.parse_line`` (``Resource.verify_filter``, lib/jsonapi/resource.rb).
* Linkage (``relationships.source.data``) is serialised only for relationships named in
  ``include`` (``relationship_object_to_one``, lib/jsonapi/resource_serializer.rb at v0.9.12;
  Kitsu sets no ``always_include_linkage_data``). With 20 sources per request the source of
  each relationship is therefore only known when ``source`` is included too, so both are.
* Polymorphic linkage types come from the model's ``*_type`` column through the resource's
  ``_type`` (``Relationship#type_for_source``): ``"anime"`` or ``"manga"`` (the destination of an
  adaptation is often manga: those are skipped).
* ``page[limit]`` is at most 20 off the library route; ``links.next`` is present while more
  pages follow (docs/kitsu-api.md, "Paging").
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from animerec_tui.core.errors import AnimerecError, BadResponse, KitsuUnavailable
from animerec_tui.core.kitsu import jsonapi
from animerec_tui.core.kitsu.jsonapi import JsonObject
from animerec_tui.core.records import Anime

if TYPE_CHECKING:
    from animerec_tui.core.kitsu.client import KitsuClient

ROLES: Final = (
    "sequel",
    "prequel",
    "alternative_setting",
    "alternative_version",
    "side_story",
    "parent_story",
    "summary",
    "full_story",
    "spinoff",
    "adaptation",
    "character",
    "other",
)
"""Kitsu's ``MediaRelationship.role`` enum, in its order (app/models/media_relationship.rb)."""

FRANCHISE_ROLES: Final = frozenset(
    {"sequel", "prequel", "parent_story", "side_story", "summary", "full_story"}
)
"""Roles that make two anime one franchise (see :mod:`animerec_tui.core.recommend.franchise`
for why the others do not)."""

PATH: Final = "media-relationships"
SOURCE_BATCH: Final = 20
"""Source ids per request: Kitsu's page maximum, so one page often holds a whole batch."""
PAGE_LIMIT: Final = 20
MAX_PAGES: Final = 200
"""Pages for one batch of 20 sources beyond which ``links.next`` is taken to be looping."""
_TYPES: Final = frozenset({"mediaRelationships", "media-relationships", "media_relationships"})


@dataclass(frozen=True, slots=True, order=True)
class Relation:
    """One directed Kitsu media relationship between two anime: ``destination`` is the
    ``source``'s ``role`` (e.g. a sequel of it). Ids are Kitsu anime ids as strings."""

    source_id: str
    destination_id: str
    role: str


@dataclass(frozen=True, slots=True)
class RelationsPage:
    """One parsed ``/media-relationships`` document.

    ``relations``: anime -> anime relationships, in document order (non-anime destinations
    and records without a string ``role`` left out); ``anime``: the included anime records by
    id (R18 ones are absent: linked, never included, as for library entries); ``next_offset``:
    ``page[offset]`` of the next page from ``links.next``, None on the last page.
    """

    relations: list[Relation]
    anime: dict[str, Anime]
    next_offset: int | None
    statuses: dict[str, str] = field(default_factory=dict)
    """Airing status of the included anime (:func:`.jsonapi.anime_statuses`)."""


@dataclass(slots=True)
class RelationsFetch:
    """What :func:`fetch_relations` brings back.

    ``fetched``: the source ids whose relationships came back complete (every page): only
    these may be recorded as "relations known", a source with no relationships included.
    ``failed``: source id -> one-line reason for batches Kitsu would not answer. ``anime``:
    anime records Kitsu included (sources and destinations), to cache with the relations.
    """

    relations: list[Relation] = field(default_factory=list)
    fetched: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    anime: dict[str, Anime] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    """Airing status of the included anime, by id."""


def _linkage(obj: JsonObject, name: str, where: str) -> tuple[str, str]:
    """(type, id) of a to-one relationship's linkage; BadResponse when it is absent (we
    asked ``include`` for it, so the server ignored the request) or malformed."""
    rels = obj.get("relationships")
    rel = rels.get(name) if isinstance(rels, dict) else None
    data = rel.get("data") if isinstance(rel, dict) else None
    if not isinstance(data, dict):
        raise BadResponse(f"{where} has no {name} linkage (include={name} was asked)")
    rtype, rid = data.get("type"), data.get("id")
    if isinstance(rid, int) and not isinstance(rid, bool):
        rid = str(rid)
    if not isinstance(rtype, str) or not isinstance(rid, str) or not rid:
        raise BadResponse(f"{where}: {name} linkage without a valid type and id")
    return rtype, rid


def _next_offset(doc: JsonObject) -> int | None:
    """``page[offset]`` of ``links.next`` (its host is never trusted, only its query)."""
    links = doc.get("links")
    nxt = links.get("next") if isinstance(links, dict) else None
    if not isinstance(nxt, str) or not nxt:
        return None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(nxt).query)
    values = query.get("page[offset]") or []
    if len(values) != 1 or not values[0].isascii() or not values[0].isdigit():
        raise BadResponse(f"links.next has no usable page[offset]: {jsonapi.one_line(nxt, 80)}")
    return int(values[0])


def parse_relations_page(doc: object) -> RelationsPage:
    """Parse one ``/media-relationships`` JSON:API document (``include=source,destination``).

    Raises BadResponse when ``data`` is not a list, a resource is not a media relationship,
    a source or destination linkage is missing, or ``links.next`` cannot be followed.
    Relationships whose destination is not anime (manga, drama) are skipped, as are those
    whose source is not anime (``filter[source_type]=Anime`` excludes them on Kitsu anyway)
    or whose ``role`` is missing.
    """
    data = jsonapi.data_list(doc)
    assert isinstance(doc, dict)  # data_list checked it
    relations: list[Relation] = []
    for i, obj in enumerate(data):
        where = f"data[{i}]"
        if not isinstance(obj, dict) or obj.get("type") not in _TYPES:
            raise BadResponse(f"{where} is not a media relationship")
        attributes = obj.get("attributes")
        role = attributes.get("role") if isinstance(attributes, dict) else None
        source_type, source_id = _linkage(obj, "source", where)
        dest_type, dest_id = _linkage(obj, "destination", where)
        if not isinstance(role, str) or source_type != "anime" or dest_type != "anime":
            continue
        if not (jsonapi.is_numeric_id(source_id) and jsonapi.is_numeric_id(dest_id)):
            raise BadResponse(f"{where} links non-numeric anime ids")
        if source_id != dest_id:
            relations.append(Relation(source_id, dest_id, role))
    return RelationsPage(
        relations, jsonapi.included_anime(doc), _next_offset(doc), jsonapi.anime_statuses(doc)
    )


def relations_params(source_ids: Sequence[str], offset: int = 0) -> dict[str, str]:
    """Query parameters for one page of the relationships of up to 20 anime."""
    from animerec_tui.core.kitsu.client import ANIME_FIELDS

    params = {
        "filter[source_id]": ",".join(source_ids),
        "filter[source_type]": "Anime",
        "include": "source,destination",
        "fields[anime]": ANIME_FIELDS,
        "page[limit]": str(PAGE_LIMIT),
    }
    if offset:
        params["page[offset]"] = str(offset)
    return params


async def kitsu_get(client: KitsuClient, path: str, params: dict[str, str]) -> JsonObject:
    """GET one Kitsu JSON:API document through the client's own request path (its retries,
    rate cap, deadline and errors: KitsuUnavailable, KitsuRequestRejected, BadResponse).

    The client has no public generic GET yet; this is the one place outside it that reaches
    its request method, so that when one is added only this line changes.
    """
    return await client._get(path, params)


async def _batch(client: KitsuClient, ids: list[str]) -> RelationsPage:
    """Every page of one batch's relationships, merged (``next_offset`` None)."""
    relations: list[Relation] = []
    anime: dict[str, Anime] = {}
    statuses: dict[str, str] = {}
    offset = 0
    for _ in range(MAX_PAGES):
        page = parse_relations_page(await kitsu_get(client, PATH, relations_params(ids, offset)))
        wanted = set(ids)
        relations.extend(r for r in page.relations if r.source_id in wanted)
        anime.update(page.anime)
        statuses.update(page.statuses)
        if page.next_offset is None:
            return RelationsPage(relations, anime, None, statuses)
        if page.next_offset <= offset:
            raise BadResponse(f"links.next goes back to offset {page.next_offset}")
        offset = page.next_offset
    raise BadResponse(f"more than {MAX_PAGES} pages of relationships for {len(ids)} anime")


async def fetch_relations(client: KitsuClient, anime_ids: Iterable[str]) -> RelationsFetch:
    """The media relationships of ``anime_ids`` (Kitsu anime ids), 20 sources a request.

    Batches run concurrently (bounded by the client's concurrency); each follows
    ``links.next`` to its last page. A batch Kitsu rejects or answers badly is reported in
    ``failed`` and the others still count (one bad item never sinks the rest); when *every*
    batch failed because Kitsu is unreachable, that KitsuUnavailable is raised, so callers
    go offline as for any other read. Non-numeric ids are skipped; duplicates asked once.
    Relations are returned sorted (source, destination, role) and deduplicated.
    """
    wanted = list(dict.fromkeys(a for a in anime_ids if jsonapi.is_numeric_id(a)))
    batches = [wanted[i : i + SOURCE_BATCH] for i in range(0, len(wanted), SOURCE_BATCH)]
    out = RelationsFetch()
    if not batches:
        return out

    async def one(ids: list[str]) -> RelationsPage | AnimerecError:
        try:
            return await _batch(client, ids)
        except AnimerecError as exc:
            return exc

    results = await asyncio.gather(*(one(ids) for ids in batches))
    unreachable = [r for r in results if isinstance(r, KitsuUnavailable)]
    if len(unreachable) == len(results):
        raise unreachable[0]
    found: set[Relation] = set()
    for ids, result in zip(batches, results, strict=True):
        if isinstance(result, AnimerecError):
            out.failed.update(dict.fromkeys(ids, str(result)))
            continue
        found.update(result.relations)
        out.anime.update(result.anime)
        out.statuses.update(result.statuses)
        out.fetched.update(ids)
    out.relations = sorted(found)
    return out
