"""Backoff arithmetic for the Kitsu client, kept pure so it can be tested without a network.

Kitsu sits behind a CDN that answers 429/5xx under load; many clients retrying in lockstep
would keep it overloaded, hence *full* jitter (a uniform delay between 0 and the exponential
ceiling) rather than a fixed exponential schedule. A server's ``Retry-After`` knows better
than our guess, so it wins, but is capped so a hostile or broken header cannot park us for
hours.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""4xx answers that mean "not now" rather than "wrong request"; all 5xx are retryable too."""

_PAGE_SIZE = re.compile(r"maximum page size of\s+([0-9]{1,6})", re.IGNORECASE)


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter delay before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
    ceiling = min(cap, base * (2 ** min(attempt, 60)))
    return rng.uniform(0.0, max(ceiling, 0.0))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    ``None`` when absent or unreadable, so the caller falls back to its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds and seconds != float("inf") else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


def retry_delay(
    attempt: int,
    *,
    retry_after: float | None,
    base: float,
    cap: float,
    rng: random.Random,
) -> float:
    if retry_after is not None:
        return min(retry_after, cap)
    return backoff_delay(attempt, base, cap, rng)


def max_page_size(detail: str | None) -> int | None:
    """N from Kitsu's error 118 detail "Limit exceeds maximum page size of N."."""
    if not detail:
        return None
    match = _PAGE_SIZE.search(detail)
    if match is None:
        return None
    size = int(match.group(1))
    return size if size >= 1 else None
