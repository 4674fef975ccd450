"""Query parsing, as jsonapi-resources 0.9.12's ``RequestParser`` reads a GET: filters,
sparse fieldsets (``fields[type]``), ``include``, ``sort`` and page parameters, and the 400
each of them answers when it is wrong. Unknown top-level or page parameters answer 400 code
``"105"`` (``parse_params``/``OffsetPaginator#parse_pagination_params``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote_plus

from animerec_tui.fakekitsu.errors import api_error, bad_page, filter_not_allowed
from animerec_tui.fakekitsu.schema import DEFAULT_LIMIT, FIELDS, TOP_PARAMS


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
            if top not in TOP_PARAMS or (sub is None) != (top in ("include", "sort")):
                raise api_error(400, "Param not allowed", f"{key} is not allowed.", "105")
            if top == "filter":
                self.filters[sub or ""] = value
            elif top == "fields":
                self.fields[sub or ""] = {f.strip() for f in value.split(",") if f.strip()}
            elif top == "page":
                if sub not in ("limit", "offset"):
                    raise api_error(
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
                raise api_error(
                    400, "Invalid field", f"nil is not a valid field for {rtype}.", "104"
                )
            unknown = sorted(names - FIELDS.get(rtype, names))
            if unknown:
                raise api_error(
                    400, "Invalid field", f"{unknown[0]} is not a valid field for {rtype}.", "104"
                )

    def paging(self, max_limit: int) -> tuple[int, int]:
        """``(limit, offset)`` of the page asked for (default 10 and 0); 400 code 118 past
        ``max_limit`` or below 1 (OffsetPaginator#verify_pagination_params)."""
        limit = self._int("limit", DEFAULT_LIMIT)
        offset = self._int("offset", 0)
        if limit < 1:
            raise bad_page(f"{limit} is not a valid value for limit page parameter.")
        if limit > max_limit:
            raise bad_page(f"Limit exceeds maximum page size of {max_limit}.")
        if offset < 0:
            raise bad_page(f"{offset} is not a valid value for offset page parameter.")
        return limit, offset

    def ids(self, *names: str) -> list[str] | None:
        """A filter's comma list (``verify_filter`` splits values with ``CSV.parse_line``),
        stripped, duplicates dropped; None without the filter."""
        raw = self.filter(*names)
        if raw is None:
            return None
        return list(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))

    def _int(self, name: str, default: int) -> int:
        raw = self.page.get(name)
        if raw is None:
            return default
        try:
            return int(raw.strip())
        except ValueError:
            raise bad_page(f"{raw} is not a valid value for {name} page parameter.") from None

    def check_filters(self, allowed: Iterable[str]) -> None:
        """400 code 102 for a filter the resource does not declare (``verify_filter_params``)."""
        allowed = set(allowed)
        for name in self.filters:
            if name not in allowed:
                raise filter_not_allowed(name)

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
                raise api_error(
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


def parse_time(value: str) -> datetime:
    """A ``filter[since]`` value or a stored timestamp as an aware datetime (a ``+`` in the
    offset arrives as a space when the client did not escape it)."""
    parsed = datetime.fromisoformat(value.strip().replace(" ", "+"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
