"""Typed messages from workers to screens.

Progress messages are posted from thread workers (thread-safe ``post_message``) and from async
callbacks alike; ``can_replace`` lets Textual drop a stale progress message still in the queue,
so a fast ALS loop or a busy fetch never floods the UI.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class FetchProgress(Message):
    entries_done: int
    entries_total: int | None
    pages_done: int
    pages_total: int | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FetchProgress)


@dataclass
class TrainProgress(Message):
    iteration: int
    total: int
    loss: float | None

    def can_replace(self, message: Message) -> bool:
        # Every loss point is plotted, so only replace a message for the same iteration.
        return isinstance(message, TrainProgress) and message.iteration == self.iteration


@dataclass
class StepProgress(Message):
    """Generic ``done / total`` progress (evaluation folds, model fits)."""

    done: int
    total: int | None
    what: str = ""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StepProgress)


@dataclass
class CrawlProgress(Message):
    users_done: int
    users_target: int
    requests: int
    elapsed: float
    eta: float | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CrawlProgress)
