"""Typed errors with one-line messages for people.

Both faces catch :class:`AnimerecError` only and print ``str(error)``; the ``exit_code``
follows the interface contract (2 = bad input, 1 = unrecoverable failure). The tree::

    AnimerecError                 exit 1; str() is one line
    ├── BadInput                  exit 2: the person asked for something invalid
    │   ├── UserNotFound          no Kitsu user (nor cached one) matches the query
    │   └── AmbiguousUser         several users share the name; lists their ids
    ├── KitsuUnavailable          no usable answer from Kitsu after retries (``answered``)
    ├── BadResponse               Kitsu answered something that is not the JSON:API we expect
    ├── KitsuRequestRejected      a 4xx from Kitsu to a request of ours (``status``, ``code``)
    ├── NotCached                 offline, and what was asked for is not in the cache
    ├── CacheError                the cache file is damaged or from a newer animerec
    ├── ModelError                a saved model is unusable (callers retrain)
    └── Cancelled                 long work stopped by the person; nothing partial written

Numerical failures (numpy's ``LinAlgError``, ``FloatingPointError``, implicit's
``ModelFitError``) the core turns into :class:`AnimerecError` where it can predict them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class AnimerecError(Exception):
    """Base class: ``str(err)`` is a single line suitable for stderr or a notification."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self)


class BadInput(AnimerecError):
    """The user asked for something invalid (bad option, bad id)."""

    exit_code = 2


class UserNotFound(BadInput):
    """No Kitsu user (nor cached user) matches ``query`` (an id, slug, name or search)."""

    def __init__(self, query: str) -> None:
        super().__init__(f"No Kitsu user matches {query!r}.")
        self.query = query


@dataclass(frozen=True)
class UserChoice:
    """One candidate of an :class:`AmbiguousUser`: the Kitsu id, name and slug."""

    id: str
    name: str | None
    slug: str | None


class AmbiguousUser(BadInput):
    """Several users are named ``query``; ``candidates`` lists them (the message gives ids)."""

    def __init__(self, query: str, candidates: Sequence[UserChoice]) -> None:
        listed = ", ".join(f"{c.name or '?'} (id {c.id})" for c in candidates)
        super().__init__(
            f"{len(candidates)} users are named {query!r}: {listed}. Use an id instead."
        )
        self.query = query
        self.candidates = list(candidates)


class KitsuUnavailable(AnimerecError):
    """Kitsu could not be reached (after retries) or kept failing.

    ``answered`` is True when every try got an HTTP 500 or 429 from Kitsu itself: Kitsu is up
    and this one request keeps failing (one user's library, say), so it is no reason to take
    Kitsu as unreachable for the next user or action. 502/503/504 (its gateway: Kitsu down),
    no answer in time, refused connections and answers that are not Kitsu's leave it False.
    """

    def __init__(self, detail: str = "", *, answered: bool = False) -> None:
        base = "Kitsu cannot be reached"
        super().__init__(f"{base}: {detail}" if detail else f"{base}.")
        self.detail = detail
        self.answered = answered


class BadResponse(AnimerecError):
    """Kitsu answered with something we cannot understand (even after retries)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"Kitsu sent a response animerec cannot read: {detail}")
        self.detail = detail


class KitsuRequestRejected(AnimerecError):
    """Kitsu answered 4xx to a request (other than 404 on a user): our request was wrong."""

    def __init__(self, status: int, detail: str, code: str | None = None) -> None:
        super().__init__(f"Kitsu rejected the request ({status}): {detail}")
        self.status = status
        self.detail = detail
        self.code = code


class NotCached(AnimerecError):
    """Offline and the thing asked for is not in the cache."""


class CacheError(AnimerecError):
    """The cache file is damaged or from an incompatible version."""


class ModelError(AnimerecError):
    """A saved model cannot be used (corrupt, truncated, foreign); callers retrain."""


class Cancelled(AnimerecError):
    """Long work was cancelled by the user; nothing partial was written."""

    def __init__(self, what: str = "Work") -> None:
        super().__init__(f"{what} cancelled.")
