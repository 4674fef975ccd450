"""Build the bundled sample population (``animerec_tui/data/sample.json.gz``) from real data.

Re-runnable: ``python scripts/build_sample.py [SOURCE_DIR] [--out DIR] [--with-status-lists]``.

The shipped sample is CC0 data only: the status lists' licence could not be verified.
SOURCE_DIR defaults to ``../shared/data/sample`` next to the checkout; its SOURCES.md says
where each file comes from. The output is one gzip'd JSON document with column arrays (not
one object per entry), because seeding a fresh cache must take well under two seconds and a
column layout loads straight into ``executemany`` without per-row dict building.

Why this script maps things the way it does (Kitsu's terms, from SOURCES.md):

* a ``mal_ratings.csv`` row is a *completed* entry; rating r in 1..10 becomes
  ``ratingTwenty`` 2r and -1 (completed, unrated) becomes null. Its progress is the anime's
  episode count when known, because that is what Kitsu stores for a completed entry and the
  population overview estimates time spent from progress;
* ``mal_animelists_with_status.csv`` keeps real statuses (1 current, 2 completed, 3 on_hold,
  4 dropped, 6 planned), scores (0 = unscored), watched episodes, dates and the rewatching
  flag (a rewatch in progress counts as one reconsume, the signal Kitsu keeps for it);
* anime become Kitsu records: ``type`` -> ``subtype``, MAL mean x 10 -> ``averageRating``,
  ``members`` -> ``userCount`` and a ``popularityRank`` by members over the whole catalogue;
  names are HTML-unescaped (the CSV keeps ``&#039;``; Kitsu sends plain text);
* MAL ids map to Kitsu ids through ``anime_id_map.json``; rows without a Kitsu id are
  dropped and counted in the manifest. Two MAL ids landing on one Kitsu id keep one entry.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import html
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "sample"
DEFAULT_OUT = REPO / "animerec_tui" / "data"
FORMAT = 2

SUBTYPES = {
    "TV": "TV",
    "Movie": "movie",
    "OVA": "OVA",
    "ONA": "ONA",
    "Special": "special",
    "Music": "music",
}
MAL_STATUS = {1: "current", 2: "completed", 3: "on_hold", 4: "dropped", 6: "planned"}

LICENCE = {
    "mal_ratings.csv": (
        "CC0 1.0 (public domain) per the Kaggle 'Anime Recommendations Database' "
        "(CooperUnion, MyAnimeList data, 2016)"
    ),
    "mal_anime.csv": "CC0 1.0, same dataset (anime.csv)",
    "anime_id_map.json": (
        "facts (id correspondences) from the community Fribb/anime-lists mapping, "
        "as copied by the Apache-2.0 app Chesire/Nekomp (2025-09)"
    ),
    "mal_animelists_with_status.csv": (
        "first rows of animelists_cleaned.csv from the Kaggle 'MyAnimeList Dataset' "
        "(azathoth42) via the MIT repo mbyx/recc; its redistribution terms were NOT verified "
        "(the shipped sample leaves them out)"
    ),
}


def _iso_datetime(value: Any) -> str | None:
    """MAL's ``YYYY-MM-DD HH:MM:SS`` / ``YYYY-MM-DD`` as Kitsu's ISO 8601 UTC form."""
    if not isinstance(value, str) or not value or value.startswith("0000"):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return None  # "2013-00-00" and friends: a partial date MAL allowed, Kitsu would not


def _none_if_nan(values: pd.Series) -> list[Any]:
    """A column as JSON-ready Python values, NaN/NA -> None, numpy ints -> int."""
    out: list[Any] = []
    for v in values.tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(int(v))
        else:
            out.append(v)
    return out


def load_anime(source: Path) -> pd.DataFrame:
    anime = pd.read_csv(source / "mal_anime.csv", dtype={"episodes": "string"})
    anime["title"] = anime["name"].map(lambda s: html.unescape(s) if isinstance(s, str) else None)
    anime["subtype"] = anime["type"].map(SUBTYPES)
    episodes = pd.to_numeric(anime["episodes"], errors="coerce")  # "Unknown" -> NaN
    anime["episode_count"] = episodes.where(episodes > 0).astype("Int64")
    anime["average_rating"] = (anime["rating"] * 10).round(2)
    anime["user_count"] = anime["members"].astype("Int64")
    anime["popularity_rank"] = anime["members"].rank(ascending=False, method="min").astype("Int64")
    anime["genres"] = anime["genre"].map(
        lambda g: [s.strip() for s in g.split(",") if s.strip()] if isinstance(g, str) else []
    )
    return anime.set_index("anime_id")


def load_id_map(source: Path) -> dict[int, int]:
    rows = json.loads((source / "anime_id_map.json").read_text(encoding="utf-8"))
    return {
        int(r["mal_id"]): int(r["kitsu_id"])
        for r in rows
        if r.get("mal_id") is not None and r.get("kitsu_id") is not None
    }


def build(source: Path, *, ratings_only: bool = False) -> dict[str, Any]:
    anime = load_anime(source)
    id_map = load_id_map(source)
    episodes = anime["episode_count"]

    ratings = pd.read_csv(source / "mal_ratings.csv")
    rated = pd.DataFrame(
        {
            "key": ratings["user_id"].astype(str),
            "mal_id": ratings["mal_anime_id"].astype(int),
            "status": "completed",
            "rating_twenty": (ratings["rating"] * 2).where(ratings["rating"] > 0).astype("Int64"),
            "progress": ratings["mal_anime_id"].map(episodes).astype("Int64"),
            "reconsume_count": pd.array([None] * len(ratings), dtype="Int64"),
            "started_at": None,
            "finished_at": None,
            "updated_at": None,
            "origin": "ratings",
        }
    )
    frames = [rated]
    if not ratings_only:
        lists = pd.read_csv(source / "mal_animelists_with_status.csv", keep_default_na=False)
        lists = lists[lists["my_status"].isin(MAL_STATUS)]
        rewatching = pd.to_numeric(lists["my_rewatching"], errors="coerce").fillna(0)
        frames.append(
            pd.DataFrame(
                {
                    "key": lists["username"].astype(str),
                    "mal_id": lists["anime_id"].astype(int),
                    "status": lists["my_status"].map(MAL_STATUS),
                    "rating_twenty": (lists["my_score"] * 2)
                    .where(lists["my_score"] > 0)
                    .astype("Int64"),
                    "progress": lists["my_watched_episodes"].astype("Int64"),
                    "reconsume_count": pd.array(
                        [1 if r > 0 else None for r in rewatching], dtype="Int64"
                    ),
                    "started_at": lists["my_start_date"].map(_iso_datetime),
                    "finished_at": lists["my_finish_date"].map(_iso_datetime),
                    "updated_at": lists["my_last_updated"].map(_iso_datetime),
                    "origin": "lists",
                }
            )
        )
    rows = pd.concat(frames, ignore_index=True)
    by_origin = rows.groupby("origin")["key"].unique()
    if len(by_origin) > 1 and set(by_origin["ratings"]) & set(by_origin["lists"]):
        raise SystemExit("a MAL user number collides with a username; keys must be unique")

    rows["anime_id"] = rows["mal_id"].map(id_map).astype("Int64")
    unmapped = rows["anime_id"].isna()
    dropped_unmapped = {
        origin: int(n) for origin, n in rows[unmapped].groupby("origin").size().items()
    }
    rows = rows[~unmapped].copy()
    # Two MAL ids -> one Kitsu id: keep the rated / most recent row for that (user, anime).
    rows["_rated"] = rows["rating_twenty"].notna()
    rows = rows.sort_values(["key", "anime_id", "_rated", "updated_at"], na_position="first")
    before = len(rows)
    rows = rows.drop_duplicates(["key", "anime_id"], keep="last")
    dropped_duplicates = before - len(rows)

    users = sorted(rows["key"].unique(), key=lambda k: (not k.isdigit(), k.zfill(12)))
    user_index = {k: i for i, k in enumerate(users)}
    rows["_user"] = rows["key"].map(user_index)
    rows = rows.sort_values(["_user", "anime_id"])

    used_mal = sorted({m for m in rows["mal_id"].unique().tolist() if m in anime.index})
    catalogue = anime.loc[used_mal].copy()
    catalogue["kitsu_id"] = [id_map[m] for m in used_mal]
    catalogue = catalogue.drop_duplicates("kitsu_id").sort_values("kitsu_id")
    stub_ids = sorted(set(rows["anime_id"].astype(int)) - set(catalogue["kitsu_id"]))

    status_counts = rows["status"].value_counts().to_dict()
    manifest = {
        "format": FORMAT,
        "built_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": "MyAnimeList users' anime lists (Kaggle datasets), anime ids mapped to Kitsu",
        "source_files": LICENCE
        if not ratings_only
        else {k: v for k, v in LICENCE.items() if k != "mal_animelists_with_status.csv"},
        "licence_note": (
            "Anonymous MAL users from a CC0 dataset; the status lists' terms are unverified "
            "(see source_files). Sample users are not Kitsu accounts."
            if not ratings_only
            else "All interaction data CC0 1.0; sample users are not Kitsu accounts."
        ),
        "counts": {
            "users": len(users),
            "users_from_ratings": int((rows.groupby("key")["origin"].first() == "ratings").sum()),
            "users_from_status_lists": int(
                (rows.groupby("key")["origin"].first() == "lists").sum()
            ),
            "anime": len(catalogue) + len(stub_ids),
            "anime_without_metadata": len(stub_ids),
            "entries": len(rows),
            "rated_entries": int(rows["rating_twenty"].notna().sum()),
            "favorites": 0,
            "status_counts": {k: int(v) for k, v in status_counts.items()},
        },
        "dropped": {
            "unmapped_rows": dropped_unmapped,
            "unmapped_total": int(sum(dropped_unmapped.values())),
            "duplicate_rows_after_mapping": int(dropped_duplicates),
        },
    }
    return {
        "manifest": manifest,
        "users": users,
        "anime": {
            "id": catalogue["kitsu_id"].astype(int).tolist() + stub_ids,
            "title": _none_if_nan(catalogue["title"]) + [None] * len(stub_ids),
            "subtype": _none_if_nan(catalogue["subtype"]) + [None] * len(stub_ids),
            "episode_count": _none_if_nan(catalogue["episode_count"]) + [None] * len(stub_ids),
            "average_rating": _none_if_nan(catalogue["average_rating"]) + [None] * len(stub_ids),
            "popularity_rank": _none_if_nan(catalogue["popularity_rank"]) + [None] * len(stub_ids),
            "user_count": _none_if_nan(catalogue["user_count"]) + [None] * len(stub_ids),
            # Pre-encoded as the cache stores them: seeding then needs no json.dumps per anime.
            "titles_json": [
                json.dumps({"en_jp": t}, ensure_ascii=False) if isinstance(t, str) else "{}"
                for t in catalogue["title"]
            ]
            + ["{}"] * len(stub_ids),
            "genres_json": [json.dumps(g, ensure_ascii=False) for g in catalogue["genres"]]
            + ["[]"] * len(stub_ids),
        },
        "entries": {
            "user": rows["_user"].astype(int).tolist(),
            "anime_id": rows["anime_id"].astype(int).tolist(),
            "status": rows["status"].tolist(),
            "progress": _none_if_nan(rows["progress"]),
            "rating_twenty": _none_if_nan(rows["rating_twenty"]),
            "reconsume_count": _none_if_nan(rows["reconsume_count"]),
            "started_at": _none_if_nan(rows["started_at"]),
            "finished_at": _none_if_nan(rows["finished_at"]),
            "updated_at": _none_if_nan(rows["updated_at"]),
        },
        "favorites": {"user": [], "anime_id": []},
    }


def sample_md(data: dict[str, Any]) -> str:
    m = data["manifest"]
    c, d = m["counts"], m["dropped"]
    files = "\n".join(f"| `{name}` | {text} |" for name, text in m["source_files"].items())
    statuses = ", ".join(f"{k} {v:,}" for k, v in c["status_counts"].items())
    return f"""# The bundled sample population

`sample.json.gz` seeds a new or empty animerec cache so every command works offline on a fresh
machine. It is built by `scripts/build_sample.py` (re-runnable) from the files described in
the project's shared `data/sample/SOURCES.md`; built {m["built_at"]}.

**What it is:** {m["source"]}: {c["users"]:,} users ({c["users_from_ratings"]:,} anonymous \
rating lists, {c["users_from_status_lists"]:,} lists with real statuses), {c["anime"]:,} anime \
({c["anime_without_metadata"]:,} without metadata), {c["entries"]:,} entries \
({c["rated_entries"]:,} rated). Status mix: {statuses}. No favourites (the sources have none).

**Dropped while building:** {d["unmapped_total"]:,} rows whose MyAnimeList anime has no \
Kitsu id ({", ".join(f"{k}: {v:,}" for k, v in d["unmapped_rows"].items()) or "none"}), and \
{d["duplicate_rows_after_mapping"]:,} rows that duplicated a (user, anime) pair after mapping.

**Not Kitsu users.** Sample users have ids `sample:<key>` and names `sample-<key>` (key = the
MAL user number or user name) and no slug, so they can never collide with a Kitsu account;
animerec labels them "(sample)" wherever they appear.

## Sources and licences
| file | licence / origin |
|---|---|
{files}

{m["licence_note"]}
"""


def write(data: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "sample.json.gz"
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    tmp = path.with_suffix(".tmp")
    with (
        open(tmp, "wb") as fh,
        gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, compresslevel=9) as gz,
    ):
        gz.write(raw)
    tmp.replace(path)
    (out_dir / "SAMPLE.md").write_text(sample_md(data), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--with-status-lists",
        action="store_true",
        help="also include mal_animelists_with_status.csv (real statuses, but its "
        "redistribution terms are unverified: the shipped sample leaves it out)",
    )
    args = parser.parse_args(argv)
    if not (args.source / "mal_ratings.csv").is_file():
        print(f"error: {args.source} has no mal_ratings.csv", file=sys.stderr)
        return 2
    data = build(args.source, ratings_only=not args.with_status_lists)
    path = write(data, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    print(json.dumps(data["manifest"]["counts"] | {"dropped": data["manifest"]["dropped"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
