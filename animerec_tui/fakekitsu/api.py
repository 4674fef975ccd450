"""The API without sockets: a GET's path, query and Accept header in, (status, JSON body) out.

Routes are the ``jsonapi_resources`` ones of kitsu-server config/routes.rb under
``/api/edge`` (and ``/redirected/api/edge``, where the ``redirect`` fault points). Content
negotiation is jsonapi-resources 0.9.12's ``ensure_valid_accept_media_type``: an Accept
that allows neither ``*/*`` nor ``application/vnd.api+json`` answers 406.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from animerec_tui.fakekitsu import anime, library, people, relations
from animerec_tui.fakekitsu.documents import dumps
from animerec_tui.fakekitsu.errors import ApiError, api_error, route_not_found
from animerec_tui.fakekitsu.query import Query
from animerec_tui.fakekitsu.schema import MAX_LIBRARY_LIMIT
from animerec_tui.fakekitsu.store import Dataset

PREFIX = "/api/edge"
REDIRECTED_PREFIX = "/redirected/api/edge"
JSONAPI = "application/vnd.api+json"


def accept_ok(accept: str | None) -> bool:
    """Whether an Accept header lets Kitsu answer JSON:API (absent or empty: yes)."""
    if accept is None or not accept.strip():
        return True
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(types & {"*/*", "application/*", JSONAPI})


class KitsuApi:
    """Documents for requests: pure (no sockets), so it can be reasoned about on its own.

    ``library_limit`` gives the library paginator's maximum page size when a request is
    answered (500 on Kitsu); :class:`~animerec_tui.fakekitsu.server.FakeKitsu` reads it from
    ``server.MAX_LIBRARY_LIMIT`` so a test may lower it while serving.
    """

    def __init__(self, dataset: Dataset, library_limit: Callable[[], int] | None = None) -> None:
        self.ds = dataset
        self.library_limit = library_limit or (lambda: MAX_LIBRARY_LIMIT)

    def handle(self, raw_path: str, accept: str | None, host: str) -> tuple[int, bytes]:
        """(status, JSON body) for a GET of ``raw_path`` (path + query, as sent)."""
        parts = urlsplit(raw_path)
        path = parts.path
        try:
            if not accept_ok(accept):
                raise api_error(
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
                raise route_not_found(path)
            base = f"http://{host}{prefix}"
            rest = path[len(prefix) :].rstrip("/")
            query = Query(parts.query)
            with self.ds.lock:
                doc = self._route(rest, query, base)
                return 200, dumps(doc)
        except ApiError as exc:
            return exc.status, dumps(exc.body)

    def _route(self, rest: str, q: Query, base: str) -> dict[str, Any]:
        ds = self.ds
        segments = rest.split("/")[1:] if rest else []
        match segments:
            case ["users"]:
                return people.users(ds, q, base)
            case ["users", user_id]:
                return people.user(ds, user_id, q, base)
            case ["users", user_id, "library-entries"]:
                return library.nested_entries(ds, user_id, q, base, self.library_limit())
            case ["library-entries"]:
                return library.entries(ds, q, base, self.library_limit())
            case ["library-entries", entry_id]:
                return library.entry(ds, entry_id, q, base)
            case ["library-entries", entry_id, "anime"]:
                return library.entry_anime(ds, entry_id, q, base)
            case ["favorites"]:
                return people.favorites(ds, q, base)
            case ["anime"]:
                return anime.anime_index(ds, q, base)
            case ["anime", anime_id]:
                return anime.anime_one(ds, anime_id, q, base)
            case ["anime", anime_id, "categories"]:
                return anime.anime_categories(ds, anime_id, q, base)
            case ["media-relationships"]:
                return relations.media_relationships(ds, q, base)
        raise route_not_found(rest)
