"""What the model learns from, said plainly: sample users, Kitsu users, how recent.

The bundled sample is 2016 MyAnimeList lists: a population of only those has never seen a
newer anime, so it can never recommend one. The faces say so, and offer the crawl that fixes
it, with its cost at the crawl's politeness cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from animerec_tui.core.cache import Cache
from animerec_tui.core.settings import Settings

SAMPLE_SOURCE = "2016 MyAnimeList lists"
"""What the bundled sample is (the Kaggle "Anime Recommendations Database", CooperUnion 2016)."""
REQUESTS_PER_NEW_USER = 1.6
"""Kitsu requests a crawl spends per new user (bench/crawl.py's target; the estimate's unit)."""


@dataclass(frozen=True)
class Provenance:
    sample_users: int
    kitsu_users: int
    newest_start_date: str | None
    """The newest ``startDate`` among the anime the population lists (None: none known)."""
    own: bool = False
    """The user asked about is one of ``kitsu_users`` (their own fetched library)."""

    @property
    def sample_only(self) -> bool:
        """No Kitsu user but (maybe) the one asked about: the population is the 2016 sample,
        and a crawl around that user is what brings anything newer."""
        return self.kitsu_users - int(self.own) <= 0

    def summary(self) -> str:
        """One line, e.g. "learned from 756 sample users (2016 MyAnimeList lists) + 12 Kitsu
        users; newest anime started 2024-04-06"."""
        newest = (
            f"newest anime started {self.newest_start_date}"
            if self.newest_start_date
            else "no anime start dates known yet"
        )
        you = " (you included)" if self.own else ""
        return (
            f"learned from {self.sample_users:,} sample users ({SAMPLE_SOURCE}) + "
            f"{self.kitsu_users:,} Kitsu users{you}; {newest}"
        )


def provenance(cache: Cache, user_id: str | None = None) -> Provenance:
    """Counts of synced users by origin and the newest start date among their anime (two
    aggregate queries; anime Kitsu withholds do not count). ``user_id``: the user the faces
    recommend for, whose own Kitsu library does not make the population more than the
    sample (:attr:`Provenance.own`)."""
    sample_users, kitsu_users = cache.synced_origins()
    state = cache.sync_state(user_id) if user_id else None
    own = state is not None and state.source == "kitsu"
    return Provenance(
        sample_users=sample_users,
        kitsu_users=kitsu_users,
        newest_start_date=cache.newest_start_date(),
        own=own,
    )


def crawl_seconds(settings: Settings, users: int) -> float:
    """About how long a crawl of ``users`` new users takes at ``crawl.requests_per_second``."""
    rate = settings.crawl.requests_per_second
    return users * REQUESTS_PER_NEW_USER / rate if rate > 0 else float("inf")


def duration(seconds: float) -> str:
    """``"about 20 s"``, ``"about 3 min"``: the rough scale a person plans by."""
    if seconds == float("inf"):
        return "an unbounded time (no request rate set)"
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    return f"about {round(seconds / 60)} min"
