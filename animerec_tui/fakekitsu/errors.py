"""JSON:API error answers, as jsonapi-resources 0.9.12 renders them for Kitsu.

Codes are jsonapi-resources' (lib/jsonapi/error_codes.rb): FILTER_NOT_ALLOWED ``"102"``,
INVALID_FIELD ``"104"``, PARAM_NOT_ALLOWED ``"105"``, INVALID_FILTER_VALUE ``"107"``,
INVALID_INCLUDE ``"112"``, INVALID_SORT_CRITERIA ``"114"``, INVALID_PAGE_VALUE ``"118"``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A JSON:API error answer; raised anywhere while building a document, rendered once
    (``status``: the HTTP status; ``body``: ``{"errors": [...]}``)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def api_error(
    status: int, title: str, detail: str, code: str, int_status: bool = False
) -> ApiError:
    """One error object; ``status`` a string as jsonapi-resources writes it, or an int where
    Kitsu's own code writes one (404s from kitsu-server's ``ErrorHandling`` concern)."""
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
    """jsonapi-resources ``RecordNotFound``, as Kitsu answers an unknown or hidden id."""
    return api_error(
        404,
        "Record not found",
        f"The record identified by {record_id} could not be found.",
        "404",
        int_status=True,
    )


def route_not_found(path: str) -> ApiError:
    """Rails' routing error for a path no ``jsonapi_resources`` route matches."""
    return api_error(404, "Route not found", f"No route matches [GET] {path!r}", "404")


def bad_page(detail: str) -> ApiError:
    """InvalidPageValue (118): a page[limit]/page[offset] out of range or not a number."""
    return api_error(400, "Invalid Page Value", detail, "118")


def filter_not_allowed(name: str) -> ApiError:
    """FilterNotAllowed (102): a filter the resource does not declare."""
    return api_error(400, "Filter not allowed", f"{name} is not allowed.", "102")


def no_filter() -> ApiError:
    """kitsu-server app/controllers/library_entries_controller.rb#index with no filter."""
    return ApiError(400, {"errors": [{"status": 400, "detail": "No filter provided"}]})
