"""Typed messages: progress and results from workers, intents from screens up to the App.

* Progress messages wrap the core's own report (:mod:`animerec_tui.core.progress`); they are
  posted from thread workers (``post_message`` is thread-safe) and from async callbacks alike,
  and ``can_replace`` lets Textual drop a stale one still in the queue, so a fast ALS loop or
  a busy fetch never floods the UI.
* Result messages end a worker with the core's object (toolong's ``ScanComplete`` style); the
  screen that ran the worker handles them. Errors and cancellation come as
  ``Worker.StateChanged`` instead (:mod:`animerec_tui.tui.screens.base`).
* Intent messages (``OpenUser``, ``RefreshLibrary``, ``ConnectivityChanged``, ``WorkerFailed``,
  ``Steer``) bubble from a screen to the App, which handles them with ``@on``.

Core result types are imported for type checking only (start-up stays free of numpy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker

from animerec_tui.core import progress
from animerec_tui.core.connectivity import Connectivity, Status
from animerec_tui.core.records import Anime, Library, User

if TYPE_CHECKING:
    from animerec_tui.core.population.crawl import CrawlSummary
    from animerec_tui.core.population.provenance import Provenance
    from animerec_tui.core.population.stats import PopulationStats
    from animerec_tui.core.recommend.evaluate import EvaluationReport
    from animerec_tui.core.recommend.filters import RecommendFilters
    from animerec_tui.core.recommend.service import LoadedModel, Recommendation, TrainResult
    from animerec_tui.core.recommend.similar import Similar
    from animerec_tui.core.services import FetchResult, SearchResult
    from animerec_tui.core.settings import ModelParams


class _Progress(Message):
    """A progress message: a newer one of the same class replaces one still queued."""

    def can_replace(self, message: Message) -> bool:
        return type(message) is type(self)


# -- progress ----------------------------------------------------------------------------------


@dataclass
class FetchProgress(_Progress):
    report: progress.LibraryProgress


@dataclass
class TrainProgress(Message):
    report: progress.FitProgress

    def can_replace(self, message: Message) -> bool:
        # Every loss point is plotted, so only replace a message for the same iteration.
        return isinstance(message, TrainProgress) and message.report.done == self.report.done


@dataclass
class StepProgress(_Progress):
    """Evaluation folds and model fits, ``done / total``."""

    report: progress.StepProgress


@dataclass
class CrawlProgress(_Progress):
    report: progress.CrawlProgress


# -- results -----------------------------------------------------------------------------------


@dataclass
class SearchDone(Message):
    result: SearchResult


@dataclass
class LibraryFetched(Message):
    result: FetchResult


@dataclass
class CrawlDone(Message):
    summary: CrawlSummary


@dataclass
class LibraryLoaded(Message):
    library: Library | None


@dataclass
class RecommendationsReady(Message):
    """The shown top list, why it is not personal (``notice``, None when it is), the
    user's planned anime ids and what the model learned from; the "continue" list (later
    entries of franchises the user started), why franchises are not grouped
    (``relations_notice``), the titles of every anime a row names (``names``, by id), whether
    the list is the popularity fallback (``notice`` then says why; otherwise a ``notice`` is
    about a tiny library) and what a filter could not check (``filters_notice``)."""

    recs: list[Recommendation]
    notice: str | None
    planned: set[str]
    origin: Provenance
    spare: list[Recommendation] = field(default_factory=list)
    """The rows the same ranking gives after ``recs`` (:data:`.hiding.SPARE` of them)."""
    continued: list[Recommendation] = field(default_factory=list)
    relations_notice: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    fallback: bool = False
    filters_notice: str | None = None
    relations_wanted: list[str] = field(default_factory=list)
    """Kitsu ids whose relations grouping needs (library and best candidates), when online."""
    marks: tuple[str, ...] = ()
    """The anime marked "not interested" on the screen when this list was ranked."""


@dataclass
class SimilarReady(Message):
    """The anime nearest one anime, and the titles of every anime a row names (by id)."""

    result: Similar
    names: dict[str, str] = field(default_factory=dict)


@dataclass
class AnimeFound(Message):
    """Anime search results for the picks screen, and which of all anime the user likes."""

    anime: list[Anime]
    liked: list[Anime]


@dataclass
class PicksSaved(Message):
    """The user's liked picks after a change (most recently liked first)."""

    liked: list[Anime]


@dataclass
class ModelStatusRead(Message):
    """The effective parameters and the saved model (None: none usable)."""

    params: ModelParams
    saved: LoadedModel | None


@dataclass
class ModelReady(Message):
    """A model is loaded; ``trained`` is set when it was trained just now on request."""

    model: LoadedModel
    trained: TrainResult | None = None


@dataclass
class EvaluationDone(Message):
    report: EvaluationReport


@dataclass
class PopulationCounted(Message):
    stats: PopulationStats


# -- intents: screen -> App --------------------------------------------------------------------


@dataclass
class OpenUser(Message):
    """Open this user: library (fetched or cached) -> model (loaded or trained) -> recs."""

    user: User


@dataclass
class RefreshLibrary(Message):
    """Re-fetch this cached user's library; the asking screen then gets LibraryRefreshed."""

    user: User


@dataclass
class LibraryRefreshed(Message):
    """App -> the screen that asked: the refreshed library is in the cache."""

    result: FetchResult


@dataclass
class ConnectivityChanged(Message):
    """Kitsu answered, or did not: the core's status now, whether the app serves the cache
    because of it (``offline``) and why (``note``; None keeps the reason last given)."""

    status: Status
    offline: bool
    note: str | None = None

    @classmethod
    def now(cls, connectivity: Connectivity, note: str | None = None) -> ConnectivityChanged:
        """The core's view at this moment."""
        return cls(connectivity.status(), connectivity.offline, note)

    @classmethod
    def unreachable(cls, connectivity: Connectivity, note: str | None) -> ConnectivityChanged:
        """Kitsu failed (or was not asked): the cache is served."""
        return cls(connectivity.status(), True, note)


@dataclass
class Steer(Message):
    """Recommend from now on with these filters (None: none) and this niche dial (0..1)."""

    filters: RecommendFilters | None
    niche: float


class Steered(Message):
    """App -> every screen shown: the session's filters or niche changed; list again."""


@dataclass
class WorkerFailed(Message):
    """A screen's worker raised: the App's one failure handler says so."""

    worker: Worker[None]
