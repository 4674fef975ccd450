"""What every screen is handed: the typed state of one app session (data comes down).

The App builds one :class:`Session` and passes it to each screen's constructor (braindrop's
``Main(API)`` style); screens read it and say what they want in messages
(:mod:`animerec_tui.tui.messages`) that the App handles. Only the App changes ``model``,
``current_user`` and ``link``; a screen may note what it has already told the user
(``stale_warned``) and cache what it computed (``evaluations``). The discovery choices
(``filters``, ``niche``) are changed by the App too, on a :class:`~.messages.Steer` intent.

Core types are imported for type checking only: the recommender (numpy, implicit) must stay out
of the start-up imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from animerec_tui.core.connectivity import Connectivity, Status
from animerec_tui.core.records import User

if TYPE_CHECKING:
    from animerec_tui.core.recommend.evaluate import EvaluationReport
    from animerec_tui.core.recommend.filters import RecommendFilters
    from animerec_tui.core.recommend.service import LoadedModel
    from animerec_tui.core.services import Core

CRAWL_USERS = 50
"""Users one crawl from the Population or Recommendations screen adds by default."""


@dataclass(frozen=True)
class Link:
    """Connectivity as the banner shows it: the core's :class:`Status` at the last change,
    whether the app is serving the cache because Kitsu failed (``offline``), and the last
    reason given for it (``note``, kept until Kitsu answers again)."""

    status: Status
    offline: bool = False
    note: str = ""


@dataclass
class Session:
    """The core, the loaded model, the current user and what screens share, for one run.

    ``evaluations``: evaluation reports by (cache fingerprint, K), so re-opening the
    Evaluation screen on an unchanged cache is instant. ``filters``: what every list of
    recommendations or similar anime is narrowed to, for the whole session (None: nothing
    chosen; the core's filters module imports numpy, so start-up builds none). ``niche``: the
    mainstream-to-niche dial, 0..1 (one of ``niche.DIAL_STEPS``). ``crawl_users`` /
    ``evaluation_models``: options (None: the defaults). ``stale_warned``: the stale-model
    notice was shown (once).
    """

    core: Core
    model: LoadedModel | None = None
    current_user: User | None = None
    evaluations: dict[tuple[str, int], EvaluationReport] = field(default_factory=dict)
    filters: RecommendFilters | None = None
    niche: float = 0.0
    crawl_users: int | None = None
    evaluation_models: tuple[str, ...] | None = None
    stale_warned: bool = False
    link: Link = field(init=False)

    def __post_init__(self) -> None:
        self.link = Link(self.connectivity.status(), self.core.offline)

    @property
    def connectivity(self) -> Connectivity:
        return self.core.connectivity

    @property
    def crawl_target(self) -> int:
        """How many users one crawl adds."""
        return self.crawl_users or CRAWL_USERS

    def retry_kitsu(self) -> None:
        """An explicit retry (ctrl+r: refresh, "retry Kitsu" on the search screen; a crawl):
        end the cool-down so the next action asks Kitsu at once.

        After a failure :class:`Connectivity` takes Kitsu as unreachable for
        ``network.cooldown`` seconds, so searches and opening users serve the cache without
        waiting again; only an explicit retry cuts that short. Offline mode chosen in the
        settings is kept. The banner stays up until Kitsu really answers.
        """
        self.connectivity.retry_now()
