"""Crawl benchmark: ``crawl --around`` for 500 users against the fake Kitsu server.

The server (50 ms latency per request by default) runs in this process; the crawl runs in a
child process so its peak memory (``ru_maxrss``, and the Python heap peak from tracemalloc)
is the crawler's own, not the server's. Politeness is the default ``CrawlSettings``
(concurrency 3, 4 requests/second), so the rate cap, not the latency, sets the pace:
expect roughly ``4 x 60 / requests-per-user`` users a minute. Targets (issue 11): at most
1.6 requests per new user, at least 150 new users a minute.

The fake links only included relationships, as Kitsu (jsonapi-resources 0.9.12) does, so a
crawler that reads user ids from relationships it did not include finds nobody here.

    python bench/crawl.py [--users 500] [--latency 0.05] [--rps 4] [--concurrency 3] [--heap]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _peak_rss_mb() -> float:
    """This process's peak RSS. ``/proc/self/status`` VmHWM first: on Linux ``ru_maxrss``
    carries the *parent's* peak across fork+exec, which here is the fake server's dataset."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def worker(url: str, cache_dir: str, users: int, rps: float, concurrency: int, heap: bool) -> None:
    """The child: one crawl, then a JSON line with its summary and memory.

    tracemalloc is opt-in (``--heap``): its per-allocation bookkeeping inflates the RSS it
    would be reported beside.
    """
    if heap:
        tracemalloc.start()
    from animerec_tui.core.cache import Cache
    from animerec_tui.core.population.crawl import crawl, crawl_client
    from animerec_tui.core.settings import CrawlSettings, Settings

    settings = Settings(cache_dir=Path(cache_dir), api_url=url)
    settings = replace(
        settings,
        crawl=replace(CrawlSettings(), requests_per_second=rps, concurrency=concurrency),
    )

    async def go() -> dict[str, object]:
        with Cache(settings.db_path) as cache:
            async with crawl_client(settings) as client:
                summary = await crawl(
                    cache, client, settings, around="1001", max_users=users, seed=7
                )
        return summary.to_json()

    started = time.monotonic()
    data = asyncio.run(go())
    data["wall_seconds"] = time.monotonic() - started
    data["py_heap_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6 if heap else None
    data["max_rss_mb"] = _peak_rss_mb()
    data.pop("user_ids", None)
    print(json.dumps(data), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rps", type=float, default=None, help="default: CrawlSettings")
    parser.add_argument("--concurrency", type=int, default=None, help="default: CrawlSettings")
    parser.add_argument("--population", type=int, default=2500)
    parser.add_argument("--heap", action="store_true", help="also trace the Python heap peak")
    parser.add_argument(
        "--worker", nargs=3, metavar=("URL", "CACHE", "USERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()

    from animerec_tui.core.settings import CrawlSettings

    rps = args.rps if args.rps is not None else CrawlSettings().requests_per_second
    concurrency = args.concurrency if args.concurrency is not None else CrawlSettings().concurrency
    if args.worker:
        url, cache_dir, users = args.worker
        worker(url, cache_dir, int(users), rps, concurrency, args.heap)
        return 0

    from animerec_tui.fakekitsu import Dataset, FakeKitsu

    ds = Dataset(seed=3)
    ds.add_anime(n=3000)
    ds.add_user(id="1001", name="alice", slug="alice", entries=500, favorites=10)
    ds.add_population(n_users=args.population, first_id=5000, min_entries=5, max_entries=400)

    with tempfile.TemporaryDirectory() as tmp, FakeKitsu(ds, latency=args.latency) as server:
        cmd = [
            sys.executable,
            __file__,
            "--rps",
            str(rps),
            "--concurrency",
            str(concurrency),
            *(["--heap"] if args.heap else []),
            "--worker",
            server.url,
            tmp,
            str(args.users),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        data = json.loads(done.stdout.strip().splitlines()[-1])
        max_in_flight = server.max_in_flight

    users = data["fetched_this_run"]
    seconds = data["seconds"]
    rows = [
        ("new users cached", f"{users}"),
        ("users skipped (< min entries / missing)", f"{data['skipped']}"),
        ("users failing on Kitsu (skipped, remembered)", f"{data.get('failed', 0)}"),
        ("requests", f"{data['requests']}"),
        ("requests per new user (target <= 1.6)", f"{data['requests'] / max(users, 1):.2f}"),
        ("crawl time", f"{seconds:.1f} s"),
        ("new users per minute (target >= 150)", f"{60 * users / seconds:.1f}"),
        ("requests per second (achieved)", f"{data['requests'] / seconds:.2f}"),
        ("max requests in flight (server)", f"{max_in_flight}"),
        ("peak RSS of the crawl process", f"{data['max_rss_mb']:.0f} MB"),
    ]
    if data["py_heap_peak_mb"] is not None:
        rows.append(("peak Python heap (tracemalloc)", f"{data['py_heap_peak_mb']:.1f} MB"))
    print(
        f"Crawl benchmark: --around a 500-entry user, {args.users} users, fake Kitsu with "
        f"{args.latency * 1000:.0f} ms latency, concurrency {concurrency}, {rps:g} requests/s\n"
    )
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
