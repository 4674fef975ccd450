"""The population overview behind ``animerec stats`` and the TUI's population screen.

Only users whose library is cached (a ``sync_state`` row) count: users merely seen in search
results are not part of what the model learns from. Everything is computed with two or three
aggregate SQL queries and pandas, never a Python loop per entry, so it stays fast on caches
with millions of entries.

Activity segments follow the original notebook: an interaction score

    score = log(time spent + 1.25 x ratings + 1.5 x favourites)

cut into low / medium / high tertiles. The notebook read time spent from Kitsu's
``lifeSpentOnAnime``, but Kitsu often returns 0 or a stale value there and sample users have
none, so a score built on it would put most users in "low" for reasons unrelated to their
activity. Instead time spent is *estimated* the same way for every user, from what the cache
really holds: minutes = sum over entries of episodes watched x typical episode length, where
episodes watched is the entry's ``progress`` (or the anime's episode count for a completed
entry without progress) and the typical length is 24 minutes (90 for a movie, 4 for a music
video). Ratings are the user's entries with a ``ratingTwenty``; favourites are cached anime
favourites. ``log1p`` stands in for ``log`` so an empty library scores 0 rather than
-inf (it is monotone, so the tertiles are unchanged). Tertiles are taken on the score's
rank, so ties (e.g. many tiny libraries) still give three non-empty segments.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from animerec_tui.core.cache import Cache
from animerec_tui.core.population.provenance import provenance
from animerec_tui.core.records import Status

EPISODE_MINUTES = 24
MOVIE_MINUTES = 90
MUSIC_MINUTES = 4
RATING_WEIGHT = 1.25
FAVORITE_WEIGHT = 1.5
SEGMENTS = ("low", "medium", "high")
HISTOGRAM_EDGES = (0, 1, 10, 25, 50, 100, 250, 500, 1000)
ACTIVITY_FORMULA = (
    "log(1 + estimated minutes watched + 1.25 x rated entries + 1.5 x favourites); "
    "minutes = progress x 24 (movie 90, music 4)"
)


@dataclass
class PopulationStats:
    users: int = 0
    kitsu_users: int = 0
    sample_users: int = 0
    anime: int = 0
    entries: int = 0
    rated_entries: int = 0
    favorites: int = 0
    status_counts: dict[Status, int] = field(default_factory=dict)
    """Entries of synced users per status, every status of ``records.STATUSES``."""
    library_sizes: dict[str, float] = field(default_factory=dict)
    """Quantiles of entries per user: min, p10, p25, median, p75, p90, max, mean."""
    library_size_histogram: dict[str, int] = field(default_factory=dict)
    """Users per library-size bucket ("0", "1-9", ..., "1000+")."""
    activity_segments: dict[str, dict[str, float]] = field(default_factory=dict)
    activity_formula: str = ACTIVITY_FORMULA
    newest_start_date: str | None = None
    """The newest anime start date in the population (None: none known)."""
    learned_from: str = ""
    """One line: N sample users (2016 MyAnimeList lists) + M Kitsu users, newest anime."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def per_user_activity(cache: Cache) -> pd.DataFrame:
    """One row per cached user: entries, ratings, favourites, minutes, score, segment."""
    rows = cache.user_activity({"movie": MOVIE_MINUTES, "music": MUSIC_MINUTES}, EPISODE_MINUTES)
    columns = ["uid", "sample", "favorites", "entries", "ratings", "minutes"]
    frame = pd.DataFrame(
        [(r.uid, r.sample, r.favorites, r.entries, r.ratings, r.minutes) for r in rows],
        columns=columns,
    ).astype("int64")
    frame["score"] = np.log1p(
        frame["minutes"] + RATING_WEIGHT * frame["ratings"] + FAVORITE_WEIGHT * frame["favorites"]
    )
    frame["segment"] = _tertiles(frame["score"])
    return frame


def _tertiles(score: pd.Series) -> pd.Series:
    if score.empty:
        return pd.Series([], dtype="object")
    if len(score) < len(SEGMENTS):
        return pd.Series(["medium"] * len(score), index=score.index, dtype="object")
    ranks = score.rank(method="first")
    return pd.qcut(ranks, len(SEGMENTS), labels=list(SEGMENTS)).astype("object")


def _quantiles(sizes: pd.Series) -> dict[str, float]:
    if sizes.empty:
        return {}
    q = sizes.quantile([0.1, 0.25, 0.5, 0.75, 0.9])
    return {
        "min": int(sizes.min()),
        "p10": round(float(q[0.1]), 2),
        "p25": round(float(q[0.25]), 2),
        "median": round(float(q[0.5]), 2),
        "p75": round(float(q[0.75]), 2),
        "p90": round(float(q[0.9]), 2),
        "max": int(sizes.max()),
        "mean": round(float(sizes.mean()), 2),
    }


def _histogram(sizes: pd.Series) -> dict[str, int]:
    if sizes.empty:
        return {}
    edges = [*HISTOGRAM_EDGES, np.inf]
    labels = []
    for lo, hi in itertools.pairwise(edges):
        if hi == lo + 1:
            labels.append(str(lo))
        elif np.isinf(hi):
            labels.append(f"{lo}+")
        else:
            labels.append(f"{lo}-{int(hi) - 1}")
    buckets = pd.cut(sizes, bins=edges, right=False, labels=labels)
    counts = buckets.value_counts(sort=False)
    return {str(k): int(v) for k, v in counts.items()}


def _segments(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    if frame.empty:
        return {}
    total = len(frame)
    out: dict[str, dict[str, float]] = {}
    for name in SEGMENTS:
        part = frame[frame["segment"] == name]
        if part.empty:
            continue
        out[name] = {
            "users": len(part),
            "share": round(len(part) / total, 4),
            "sample_users": int(part["sample"].sum()),
            "score_min": round(float(part["score"].min()), 3),
            "score_max": round(float(part["score"].max()), 3),
            "median_entries": float(part["entries"].median()),
            "median_ratings": float(part["ratings"].median()),
            "median_favorites": float(part["favorites"].median()),
            "median_hours": round(float(part["minutes"].median()) / 60, 1),
        }
    return out


def population_stats(cache: Cache) -> PopulationStats:
    frame = per_user_activity(cache)
    status_counts = cache.population_status_counts()
    anime = cache.population_anime_count()
    sample_users = int(frame["sample"].sum()) if not frame.empty else 0
    origin = provenance(cache)
    return PopulationStats(
        users=len(frame),
        kitsu_users=len(frame) - sample_users,
        sample_users=sample_users,
        anime=int(anime),
        entries=int(frame["entries"].sum()) if not frame.empty else 0,
        rated_entries=int(frame["ratings"].sum()) if not frame.empty else 0,
        favorites=int(frame["favorites"].sum()) if not frame.empty else 0,
        status_counts=status_counts,
        library_sizes=_quantiles(frame["entries"]),
        library_size_histogram=_histogram(frame["entries"]),
        activity_segments=_segments(frame),
        newest_start_date=origin.newest_start_date,
        learned_from=origin.summary(),
    )
