"""Kitsu's ISO-8601 timestamps compared as moments, not strings.

Kitsu writes ``2016-09-27T08:39:21.538Z``; other spellings of the same moment (``+00:00``, no
fraction) must compare equal, and a refresh watermark must be the newest moment seen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def moment(stamp: str | None) -> datetime | None:
    """The UTC moment of an ISO-8601 stamp (naive ones are UTC), or None if unparseable."""
    if not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def newest_stamp(*stamps: str | None) -> str | None:
    """The newest of some stamps, spelled as given (unparseable ones ignored), or None."""
    best: tuple[datetime, str] | None = None
    for stamp in stamps:
        when = moment(stamp)
        if when is not None and stamp and (best is None or when > best[0]):
            best = (when, stamp)
    return best[1] if best else None


def iso_z(when: datetime) -> str:
    """``when`` as Kitsu-style UTC ISO-8601 with a ``Z`` (second precision)."""
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def before(stamp: str, delta: timedelta) -> str:
    """``stamp`` moved ``delta`` earlier, as :func:`iso_z` (ValueError if unparseable)."""
    when = moment(stamp)
    if when is None:
        raise ValueError(f"not an ISO-8601 timestamp: {stamp!r}")
    return iso_z(when - delta)
