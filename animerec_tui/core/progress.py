"""Progress reports of the core's long work, one shape for all: frozen dataclasses.

Every long-running entry point takes ``progress: Callable[[X], None] | None`` with ``X`` one
of these classes, called from the worker thread (or the event loop for the async fetches).
Each has ``done`` and ``total`` (``total`` is None while unknown), so a face can draw any of
them as a bar; the rest is what that work can say on top. The app's messages wrap these
objects instead of copying their fields (``tui/messages.py``); the CLI draws Rich bars.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LibraryProgress:
    """Progress of ``KitsuClient.fetch_library``, reported after each page.

    ``pages_*`` count library and favourites pages together (they are all requests the user
    waits for); the first report comes once both first pages are in, because only then are
    both totals known exactly.
    """

    entries_done: int
    entries_total: int
    pages_done: int
    pages_total: int

    @property
    def done(self) -> int:
        return self.pages_done

    @property
    def total(self) -> int | None:
        return self.pages_total


@dataclass(frozen=True)
class CrawlProgress:
    """Progress of a population crawl: users cached of the target, requests sent, seconds
    elapsed and the estimated seconds left (None until a rate is known)."""

    users_done: int
    users_target: int
    requests: int
    elapsed: float
    eta: float | None

    @property
    def done(self) -> int:
        return self.users_done

    @property
    def total(self) -> int | None:
        return self.users_target


@dataclass(frozen=True)
class FitProgress:
    """Progress of fitting a model: ``done`` of ``total`` iterations (1 of 1 for closed-form
    models); ``loss`` is ALS's training loss after the iteration, when it is computed."""

    done: int
    total: int | None
    loss: float | None = None


@dataclass(frozen=True)
class StepProgress:
    """Progress through named steps (evaluation: fitting and scoring each model; tuning: the
    parameter sets tried). ``what`` names the step now running ("fitting als", "done")."""

    done: int
    total: int | None
    what: str = ""
