"""Training benchmark on a synthetic, anime-shaped population.

    python bench/train.py            # 100k users x 15k anime x ~5M entries (minutes, ~2 GB)
    python bench/train.py --small    # 10k users x 15k anime x ~500k entries (seconds)

The population is written straight into a fresh cache in a temp folder (bulk ``executemany``
in one transaction: the fetch path's per-library transactions would dominate otherwise).
Item popularity is Zipf-like and user activity log-normal, like Kitsu's. The measurements run
in a child process so its peak RSS is the training path's, not the generator's:

* reading the cache, building the matrix from it, a bare fit of the default model (blend: a bare
  implicit ALS fit of the same matrix and parameters, confidence already applied, plus the EASE
  fit on the same strengths, EASE being our own numpy code), and ``service.train`` end to end
  (read cache + build + confidence + fit + save: what ``animerec train`` runs), alternated in
  the same process, best of two each; train's overhead over the bare fit (target <= 1.10),
  save time, peak memory;
* ``service.recommend`` latency per user after load, for users in the model and for users
  added after training (folded in from their cached library; target <= 20 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from animerec_tui.core.cache import Cache  # noqa: E402
from animerec_tui.core.settings import Settings  # noqa: E402

SUBTYPES = ("TV", "movie", "OVA", "ONA", "special", "music")
STATUS_P = np.array([0.55, 0.10, 0.22, 0.06, 0.07])  # completed current planned on_hold dropped


def synth(
    n_users: int, n_items: int, n_entries: int, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(user, item) pairs, unique, Zipf-ish item popularity and log-normal user activity."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(10, n_items + 10) ** 1.05
    pop /= pop.sum()
    activity = rng.lognormal(0.0, 1.0, n_users)
    counts = np.maximum(1, activity / activity.sum() * n_entries * 1.08).astype(np.int64)
    counts = np.minimum(counts, n_items // 2)
    users = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    # taste clusters: each user prefers one of 50 genres, boosting a random tenth of the catalogue
    genre = rng.integers(0, 50, n_users)
    item_genre = rng.integers(0, 50, n_items)
    items = rng.choice(n_items, size=len(users), p=pop)
    boosted = rng.random(len(users)) < 0.35
    pool = [np.flatnonzero(item_genre == g) for g in range(50)]
    for g in range(50):
        sel = np.flatnonzero(boosted & (genre[users] == g))
        items[sel] = rng.choice(pool[g], size=len(sel))
    key = np.unique(users * n_items + items)
    return key // n_items, key % n_items


def populate(
    cache: Cache, n_users: int, n_items: int, users: np.ndarray, items: np.ndarray
) -> None:
    rng = np.random.default_rng(2)
    status = rng.choice(5, size=len(users), p=STATUS_P) + 1
    rating = np.where(rng.random(len(users)) < 0.6, rng.integers(2, 21, len(users)), 0)
    fav = rng.random(len(users)) < 0.02
    anime_id = items + 1
    with cache.transaction() as db:
        db.executemany(
            "INSERT INTO users (uid, id, name, slug, sample, attrs) VALUES (?, ?, ?, ?, 0, '{}')",
            ((u + 1, str(1_000_000 + u), f"user{u}", f"user{u}") for u in range(n_users)),
        )
        db.executemany(
            "INSERT INTO anime (id, title, subtype, age_rating, nsfw) VALUES (?, ?, ?, ?, ?)",
            (
                (i + 1, f"Anime {i + 1}", SUBTYPES[i % 6], "R18" if i % 97 == 0 else "PG", 0)
                for i in range(n_items)
            ),
        )
        db.executemany(
            "INSERT INTO entries (uid, anime_id, status, rating_twenty) VALUES (?, ?, ?, ?)",
            zip(
                (users + 1).tolist(),
                anime_id.tolist(),
                status.tolist(),
                [r or None for r in rating.tolist()],
                strict=True,
            ),
        )
        db.executemany(
            "INSERT INTO favorites (uid, anime_id) VALUES (?, ?)",
            zip((users[fav] + 1).tolist(), anime_id[fav].tolist(), strict=True),
        )
        per_user = np.bincount(users, minlength=n_users)
        db.executemany(
            "INSERT INTO sync_state (uid, synced_at, entry_count, favorite_count) "
            "VALUES (?, '2026-01-01', ?, 0)",
            ((u + 1, int(per_user[u])) for u in range(n_users)),
        )
        db.execute("UPDATE meta SET value = '1' WHERE key = 'data_version'")


def add_new_users(cache: Cache, n: int, n_items: int, start_uid: int) -> list[str]:
    """Users fetched after training: their libraries go through the normal save path."""
    from animerec_tui.core.records import Anime, Library, LibraryEntry, User

    rng = np.random.default_rng(3)
    ids = []
    for k in range(n):
        uid = str(9_000_000 + start_uid + k)
        chosen = rng.choice(n_items // 4, size=60, replace=False) + 1
        entries = [LibraryEntry(uid, str(a), "completed") for a in chosen.tolist()]
        anime = {str(a): Anime(id=str(a), title=f"Anime {a}") for a in chosen.tolist()}
        cache.save_library(
            Library(User(id=uid, name=f"new{k}"), entries, [], anime), synced_at="2026-01-02"
        )
        ids.append(uid)
    return ids


def measure(cache_dir: Path, n_items: int) -> dict[str, float]:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    from animerec_tui.core.recommend import service
    from animerec_tui.core.recommend.matrix import Confidence, build_interactions
    from animerec_tui.core.recommend.models import make_model

    settings = Settings(cache_dir=cache_dir)
    cache = Cache(settings.db_path)
    params = service.effective_params(cache, settings)
    out: dict[str, float] = {}

    t0 = time.perf_counter()
    arrays = cache.interaction_arrays()  # the one read path (build_interactions calls it)
    out["read_s"] = time.perf_counter() - t0
    del arrays
    t0 = time.perf_counter()
    inter = build_interactions(cache, settings.weights)
    out["build_s"] = time.perf_counter() - t0
    out["users"], out["anime"] = inter.shape
    out["entries"] = inter.strength.nnz

    conf = Confidence.fit(inter.strength, params).apply(inter.strength)
    strength = inter.strength
    del inter
    kind = service.DEFAULT_KIND

    def bare_fit(conf: sp.csr_matrix, strength: sp.csr_matrix) -> float:
        t = bare_als(conf)
        if kind == "blend":  # the blend's second part: EASE on the same strengths
            ease = make_model("ease", params)
            t0 = time.perf_counter()
            ease.fit(strength)
            t += time.perf_counter() - t0
            del ease
        return t

    def bare_als(conf: sp.csr_matrix) -> float:
        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bare = AlternatingLeastSquares(
                factors=params.factors,
                regularization=params.regularization,
                alpha=params.alpha,
                iterations=params.iterations,
                random_state=params.random_state,
            )
            t0 = time.perf_counter()
            bare.fit(conf, show_progress=False)
            return time.perf_counter() - t0

    # alternate bare and wrapped runs, best of two each: the machine is shared, so a single
    # pair of runs mostly measures the neighbours
    bare_times, train_times, results = [], [], []
    for _ in range(2):
        bare_times.append(bare_fit(conf, strength))
        t0 = time.perf_counter()
        results.append(service.train(cache, settings))
        train_times.append(time.perf_counter() - t0)
    del conf, strength  # free them before the recommend measurements
    best = int(np.argmin(train_times))
    result = results[best]
    out["bare_fit_s"] = min(bare_times)
    out["train_s"] = train_times[best]
    out["train_fit_s"] = result.fit_seconds
    out["train_build_s"] = result.build_seconds
    out["save_s"] = result.save_seconds
    out["ratio"] = out["train_s"] / out["bare_fit_s"]
    out["ratio_fit_only"] = out["train_fit_s"] / out["bare_fit_s"]
    # what train adds around the fit (read, build, confidence, save), over the bare fit: the
    # two fits' own run-to-run noise on a shared machine (+-20%) cancels out of this one
    out["ratio_overhead"] = 1.0 + (out["train_s"] - out["train_fit_s"]) / out["bare_fit_s"]
    out["model_mb"] = sum(p.stat().st_size for p in settings.model_dir.iterdir()) / 1e6

    service._memo.clear()  # measure a cold load, as a new process would
    t0 = time.perf_counter()
    loaded = service.load(cache, settings)
    out["load_s"] = time.perf_counter() - t0
    rng = np.random.default_rng(5)
    in_model = [loaded.meta.user_ids[i] for i in rng.choice(len(loaded.meta.user_ids), 200)]
    service.recommend(cache, settings, in_model[0], model=loaded)  # warm-up
    lat = []
    for uid in in_model:
        t0 = time.perf_counter()
        service.recommend(cache, settings, uid, n=10, model=loaded)
        lat.append(time.perf_counter() - t0)
    out["rec_in_model_ms_p50"] = float(np.median(lat) * 1000)
    out["rec_in_model_ms_p95"] = float(np.percentile(lat, 95) * 1000)

    new_ids = add_new_users(cache, 50, n_items, 0)
    loaded.refresh_stale(cache)
    lat = []
    for uid in new_ids:
        t0 = time.perf_counter()
        recs = service.recommend(cache, settings, uid, n=10, model=loaded)
        lat.append(time.perf_counter() - t0)
        assert len(recs) == 10
    out["rec_fold_in_ms_p50"] = float(np.median(lat) * 1000)
    out["rec_fold_in_ms_p95"] = float(np.percentile(lat, 95) * 1000)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.update({f"param_{k}": v for k, v in vars(params).items() if isinstance(v, int | float)})
    out["weighting_bm25"] = float(params.weighting == "bm25")
    out["blend"] = float(kind == "blend")
    cache.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="10k users (a quick run)")
    ap.add_argument("--users", type=int)
    ap.add_argument("--anime", type=int, default=15_000)
    ap.add_argument("--entries", type=int)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help="keep the temp cache folder")
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.anime)))
        return
    n_users = args.users or (10_000 if args.small else 100_000)
    n_entries = args.entries or n_users * 50
    tmp = Path(tempfile.mkdtemp(prefix="animerec-bench-"))
    t0 = time.perf_counter()
    users, items = synth(n_users, args.anime, n_entries)
    settings = Settings(cache_dir=tmp)
    with Cache(settings.db_path) as cache:
        populate(cache, n_users, args.anime, users, items)
    gen_s = time.perf_counter() - t0
    del users, items
    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "")}
    env.pop("OPENBLAS_NUM_THREADS") if not env["OPENBLAS_NUM_THREADS"] else None
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", str(tmp), "--anime", str(args.anime)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(proc.returncode)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    weighting = "bm25" if r["weighting_bm25"] else "linear"
    print(
        f"\nSynthetic population: {int(r['users']):,} users x {int(r['anime']):,} anime x "
        f"{int(r['entries']):,} user-anime pairs (generated + written in {gen_s:.0f}s). "
        f"{'Blend of ' if r.get('blend') else ''}ALS {weighting}, factors "
        f"{int(r['param_factors'])}, iterations {int(r['param_iterations'])}"
        f"{' and EASE (BM25 input, 6,000 anime)' if r.get('blend') else ''}, "
        f"{os.cpu_count()} cores.\n"
    )
    rows = [
        ("read cache (Cache.interaction_arrays)", f"{r['read_s']:.2f} s", ""),
        ("build matrix from cache (read included)", f"{r['build_s']:.2f} s", ""),
        ("bare fit (implicit ALS + EASE, same matrix, params)", f"{r['bare_fit_s']:.2f} s", ""),
        ("service.train wall (read+build+fit+save)", f"{r['train_s']:.2f} s", ""),
        ("  of which fit", f"{r['train_fit_s']:.2f} s", ""),
        ("  of which save", f"{r['save_s']:.2f} s", f"{r['model_mb']:.1f} MB on disk"),
        ("train / bare fit", f"{r['ratio']:.2f}x", ""),
        ("train fit / bare fit", f"{r['ratio_fit_only']:.2f}x", "the two fits' noise"),
        (
            "1 + (train - its fit) / bare fit",
            f"{r['ratio_overhead']:.2f}x",
            "train's own overhead, fit noise removed (target <= 1.10x)",
        ),
        ("load model", f"{r['load_s'] * 1000:.0f} ms", ""),
        (
            "recommend, user in model",
            f"{r['rec_in_model_ms_p50']:.1f} ms",
            f"p95 {r['rec_in_model_ms_p95']:.1f} ms (target <= 20)",
        ),
        (
            "recommend, folded-in user",
            f"{r['rec_fold_in_ms_p50']:.1f} ms",
            f"p95 {r['rec_fold_in_ms_p95']:.1f} ms (target <= 20)",
        ),
        ("peak RSS of the measuring process", f"{r['peak_rss_mb']:.0f} MB", "target < 4096"),
    ]
    print("| step | value | note |\n|---|---:|---|")
    for name, value, note in rows:
        print(f"| {name} | {value} | {note} |")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"\ncache kept in {tmp}")


if __name__ == "__main__":
    main()
