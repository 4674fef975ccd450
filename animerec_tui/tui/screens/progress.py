"""Modals for long network work: fetching one library, crawling the population.

Both run an async worker (network I/O stays on the event loop, so keys are answered at once)
and dismiss with the core's result, or ``None`` when cancelled or failed. Escape cancels the
worker: the core writes a library in one transaction at the end and a crawl commits user by
user, so a cancel leaves the cache exactly as it was (plus whole users, for a crawl).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Label, ProgressBar
from textual.worker import Worker, WorkerState

from animerec_tui.core.records import User
from animerec_tui.tui.messages import CrawlProgress, FetchProgress
from animerec_tui.tui.screens.base import AnimerecModal
from animerec_tui.tui.text import inert

if TYPE_CHECKING:
    from animerec_tui.core.services import FetchResult


class FetchScreen(AnimerecModal["FetchResult | None"]):
    """Downloads one user's library with a progress bar of entries and pages."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="cancel-fetch",
            tooltip="Stop the download; the cache is left unchanged",
        ),
    ]

    def __init__(self, user: User, *, refresh: bool = False) -> None:
        super().__init__(id="fetch", classes="progress-modal")
        self.user = user
        self.incremental = refresh

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            verb = "Refreshing" if self.incremental else "Fetching"
            yield Label(inert(f"{verb} {self.user.label}'s library from Kitsu"), classes="title")
            yield ProgressBar(total=None, show_eta=False, id="fetch-bar")
            yield Label("connecting…", id="fetch-detail")
            yield Label("escape cancels; the cache stays as it was", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._progressed = False
        self.set_interval(0.5, self._tick)
        self.fetch()

    def _tick(self) -> None:
        """Until the first page arrives, say how long Kitsu has been waited for and how many
        attempts it took (``network.fetch_deadline`` bounds it): a silent "connecting…" for a
        minute looks stuck."""
        wait = self.core.connectivity.wait
        if not self._progressed and wait is not None and wait.what == "fetch":
            self.query_one("#fetch-detail", Label).update(inert(wait.describe()))

    @work(group="fetch", exclusive=True, exit_on_error=False, name="fetch")
    async def fetch(self) -> FetchResult:
        def progress(p: Any) -> None:
            self.post_message(
                FetchProgress(p.entries_done, p.entries_total, p.pages_done, p.pages_total)
            )

        return await self.core.fetch(self.user.id, refresh=self.incremental, progress=progress)

    def on_fetch_progress(self, message: FetchProgress) -> None:
        self._progressed = True
        bar = self.query_one("#fetch-bar", ProgressBar)
        bar.update(total=message.entries_total, progress=message.entries_done)
        entries = f"{message.entries_done:,}"
        if message.entries_total is not None:
            entries += f" of {message.entries_total:,}"
        pages = f"{message.pages_done}"
        if message.pages_total is not None:
            pages += f" of {message.pages_total}"
        self.query_one("#fetch-detail", Label).update(f"entries {entries} · pages {pages}")

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "fetch")

    def worker_finished(self, worker: Worker[Any], state: WorkerState) -> None:
        if worker.name != "fetch":
            return
        if state == WorkerState.SUCCESS:
            result: FetchResult = worker.result  # type: ignore[assignment]
            if result.offline:  # its note says "cached data", not why: keep the banner's reason
                self.animerec.go_offline(None)
            elif result.mode != "cached":
                self.animerec.back_online()
            self.dismiss(result)
            return
        if state == WorkerState.CANCELLED:
            self.notify("Fetch cancelled; the cache is unchanged.", severity="warning")
        self.dismiss(None)


class CrawlScreen(AnimerecModal[Any]):
    """Grows the training population from Kitsu with a users-done progress bar."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="cancel-crawl",
            tooltip="Stop crawling; users already fetched stay cached",
        ),
    ]

    def __init__(self, *, around: User | None = None, max_users: int = 50) -> None:
        super().__init__(id="crawl", classes="progress-modal")
        self.around = around
        self.max_users = max_users
        self.stop = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            where = f"around {self.around.label}" if self.around else "from random Kitsu users"
            yield Label(inert(f"Crawling up to {self.max_users} users {where}"), classes="title")
            yield ProgressBar(total=self.max_users, show_eta=False, id="crawl-bar")
            yield Label("starting…", id="crawl-detail")
            yield Label("escape stops; users already fetched stay cached", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.crawl()

    @work(group="crawl", exclusive=True, exit_on_error=False, name="crawl")
    async def crawl(self) -> Any:
        from animerec_tui.core.population.crawl import crawl

        def progress(p: Any) -> None:
            self.post_message(
                CrawlProgress(p.users_done, p.users_target, p.requests, p.elapsed, p.eta)
            )

        crawl_settings = self.core.settings.crawl
        client = self.core.client(
            max_rps=crawl_settings.requests_per_second, concurrency=crawl_settings.concurrency
        )
        async with client:
            return await crawl(
                self.core.cache,
                client,
                self.core.settings,
                around=self.around.id if self.around else None,
                random=self.around is None,
                max_users=self.max_users,
                progress=progress,
                cancel=self.stop,
            )

    def on_crawl_progress(self, message: CrawlProgress) -> None:
        self.query_one("#crawl-bar", ProgressBar).update(
            total=message.users_target, progress=message.users_done
        )
        eta = f" · about {message.eta:.0f}s left" if message.eta is not None else ""
        self.query_one("#crawl-detail", Label).update(
            f"users {message.users_done} of {message.users_target} · "
            f"{message.requests} requests · {message.elapsed:.0f}s{eta}"
        )

    def action_cancel(self) -> None:
        """Ask the crawl to stop between users; cancel outright if it does not within 2 s."""
        self.stop.set()
        self.query_one("#crawl-detail", Label).update("stopping after the current user…")
        self.set_timer(2.0, lambda: self.workers.cancel_group(self, "crawl"))

    def worker_finished(self, worker: Worker[Any], state: WorkerState) -> None:
        if worker.name != "crawl":
            return
        if state == WorkerState.SUCCESS:
            summary = worker.result
            text = summary.summary() if hasattr(summary, "summary") else "Crawl finished."
            self.animerec.back_online()
            self.notify(inert(text).plain, markup=False)
            self.dismiss(summary)
            return
        if state == WorkerState.CANCELLED:
            self.notify("Crawl stopped; users already fetched stay cached.", severity="warning")
        self.dismiss(None)
