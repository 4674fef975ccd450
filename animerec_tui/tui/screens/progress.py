"""Modals for long network work: fetching one library, crawling the population.

Both run an async worker (network I/O stays on the event loop, so keys are answered at once)
and dismiss with the core's result, or ``None`` when cancelled or failed. Escape cancels the
worker: the core writes a library in one transaction at the end and a crawl commits user by
user, so a cancel leaves the cache exactly as it was (plus whole users, for a crawl).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Label, ProgressBar
from textual.worker import Worker, WorkerState

from animerec_tui.core import progress
from animerec_tui.core.records import User
from animerec_tui.tui.messages import (
    ConnectivityChanged,
    CrawlDone,
    CrawlProgress,
    FetchProgress,
    LibraryFetched,
)
from animerec_tui.tui.screens.base import AnimerecModal, AnimerecScreen
from animerec_tui.tui.session import Session
from animerec_tui.tui.text import inert

if TYPE_CHECKING:
    from animerec_tui.core.population.crawl import CrawlSummary
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

    def __init__(self, session: Session, user: User, *, refresh: bool = False) -> None:
        super().__init__(session, id="fetch")
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
    async def fetch(self) -> None:
        def report(p: progress.LibraryProgress) -> None:
            self.post_message(FetchProgress(p))

        result = await self.core.fetch(self.user.id, refresh=self.incremental, progress=report)
        self.post_message(LibraryFetched(result))

    def on_fetch_progress(self, message: FetchProgress) -> None:
        self._progressed = True
        p = message.report
        bar = self.query_one("#fetch-bar", ProgressBar)
        bar.update(total=p.entries_total, progress=p.entries_done)
        entries = f"{p.entries_done:,}"
        if p.entries_total is not None:
            entries += f" of {p.entries_total:,}"
        pages = f"{p.pages_done}"
        if p.pages_total is not None:
            pages += f" of {p.pages_total}"
        self.query_one("#fetch-detail", Label).update(f"entries {entries} · pages {pages}")

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "fetch")

    @on(LibraryFetched)
    async def fetched(self, message: LibraryFetched) -> None:
        result: FetchResult = message.result
        connectivity = self.core.connectivity
        if result.offline:  # its note says "cached data", not why: keep the banner's reason
            self.app.post_message(ConnectivityChanged.unreachable(connectivity, None))
        elif result.mode != "cached":
            self.app.post_message(ConnectivityChanged.now(connectivity))
        await self.close_with(result)

    def worker_stopped(self, worker: Worker[None], state: WorkerState) -> None:
        if state == WorkerState.CANCELLED:
            self.notify("Fetch cancelled; the cache is unchanged.", severity="warning")
        self.dismiss(None)


class CrawlScreen(AnimerecModal["CrawlSummary | None"]):
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

    def __init__(self, session: Session, *, around: User | None, max_users: int) -> None:
        super().__init__(session, id="crawl")
        self.around = around
        self.max_users = max_users
        self.stop = threading.Event()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            where = f"around {self.around.label}" if self.around else "from random Kitsu users"
            yield Label(inert(f"Crawling up to {self.max_users:,} users {where}"), classes="title")
            yield ProgressBar(total=self.max_users, show_eta=False, id="crawl-bar")
            yield Label("starting…", id="crawl-detail")
            yield Label("escape stops; users already fetched stay cached", classes="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.crawl()

    @work(group="crawl", exclusive=True, exit_on_error=False, name="crawl")
    async def crawl(self) -> None:
        from animerec_tui.core.population.crawl import crawl

        def report(p: progress.CrawlProgress) -> None:
            self.post_message(CrawlProgress(p))

        crawl_settings = self.core.settings.crawl
        client = self.core.client(
            max_rps=crawl_settings.requests_per_second, concurrency=crawl_settings.concurrency
        )
        async with client:
            summary = await crawl(
                self.core.cache,
                client,
                self.core.settings,
                around=self.around.id if self.around else None,
                random=self.around is None,
                max_users=self.max_users,
                progress=report,
                cancel=self.stop,
            )
        self.post_message(CrawlDone(summary))

    def on_crawl_progress(self, message: CrawlProgress) -> None:
        p = message.report
        self.query_one("#crawl-bar", ProgressBar).update(
            total=p.users_target, progress=p.users_done
        )
        from animerec_tui.core.population.provenance import duration

        eta = f" · {duration(p.eta)} left" if p.eta is not None else ""
        self.query_one("#crawl-detail", Label).update(
            f"users {p.users_done:,} of {p.users_target:,} · "
            f"{p.requests:,} requests · {p.elapsed:.0f} s{eta}"
        )

    def action_cancel(self) -> None:
        """Ask the crawl to stop between users; cancel outright if it does not within 2 s."""
        self.stop.set()
        self.query_one("#crawl-detail", Label).update("stopping after the current user…")
        self.set_timer(2.0, lambda: self.workers.cancel_group(self, "crawl"))

    @on(CrawlDone)
    async def crawled(self, message: CrawlDone) -> None:
        self.app.post_message(ConnectivityChanged.now(self.core.connectivity))
        self.notify(inert(message.summary.summary()).plain, markup=False)
        await self.close_with(message.summary)

    def worker_stopped(self, worker: Worker[None], state: WorkerState) -> None:
        if state == WorkerState.CANCELLED:
            self.notify("Crawl stopped; users already fetched stay cached.", severity="warning")
        self.dismiss(None)


def start_crawl(
    screen: AnimerecScreen, around: User | None, done: Callable[[CrawlSummary | None], None]
) -> None:
    """Crawl from a screen (``c``): an explicit retry of Kitsu, then the crawl modal; ``done``
    gets its summary (None when it was cancelled or failed)."""
    session = screen.session
    session.retry_kitsu()
    if session.core.offline:
        screen.notify("Crawling needs Kitsu, and offline mode is on.", severity="warning")
        return
    crawl = CrawlScreen(session, around=around, max_users=session.crawl_target)
    screen.app.push_screen(crawl, done)
