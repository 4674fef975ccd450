"""Fetch benchmark: animerec's paged, concurrent fetch vs the notebook's approach.

Against the project's fake Kitsu server with a fixed latency per request (default 100 ms), for
libraries of 50, 500, 1,234 and 5,000 entries plus 47 favourites:

* animerec: ``Core.fetch`` (resolve the user, 500-entry pages fetched concurrently after the
  first, favourites 20 per page concurrently, all written to the SQLite cache);
* notebook: pages of 10 library entries followed one by one through ``links.next``, then one
  request per entry for its anime, sequentially (what the original notebook did).

The notebook approach at 5,000 entries needs ~5,500 sequential requests (~10 minutes at
100 ms); unless ``--full`` is given it is estimated from the measured per-request time of the
smaller runs and marked "est.".

    python bench/fetch.py [--latency 0.1] [--full]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from animerec_tui.core.services import Core
from animerec_tui.core.settings import Settings
from animerec_tui.fakekitsu import Dataset, FakeKitsu

SIZES = (50, 500, 1234, 5000)
FAVORITES = 47


async def notebook_fetch(base: str, user_id: str) -> int:
    """The notebook's loop: 10 entries a page, then each entry's anime, one at a time."""
    requests = 0
    headers = {"Accept": "application/vnd.api+json"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        url: str | None = (
            f"{base}/library-entries?filter[userId]={user_id}&filter[kind]=anime&page[limit]=10"
        )
        anime_urls: list[str] = []
        while url:
            doc = (await http.get(url)).json()
            requests += 1
            for entry in doc["data"]:
                anime_urls.append(entry["relationships"]["anime"]["links"]["related"])
            url = doc.get("links", {}).get("next")
        for anime_url in anime_urls:
            (await http.get(anime_url)).raise_for_status()
            requests += 1
    return requests


def _dataset() -> Dataset:
    ds = Dataset(seed=1)
    ds.add_anime(n=8000)
    for i, size in enumerate(SIZES):
        ds.add_user(
            id=str(3000 + i),
            name=f"bench{size}",
            slug=f"bench{size}",
            entries=size,
            favorites=FAVORITES,
        )
    return ds


def _serve(latency: float, urls: mp.Queue, stop: Any) -> None:
    """The fake server in its own process, so its JSON rendering does not share our GIL."""
    with FakeKitsu(_dataset(), latency=latency) as server:
        urls.put(server.url)
        stop.wait()


def _start(latency: float) -> tuple[mp.Process, str, Any]:
    urls: mp.Queue = mp.Queue()
    stop = mp.Event()
    proc = mp.Process(target=_serve, args=(latency, urls, stop), daemon=True)
    proc.start()
    return proc, urls.get(timeout=60), stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument(
        "--full", action="store_true", help="run the notebook approach at 5,000 too"
    )
    args = parser.parse_args()

    rows = []
    per_request: list[float] = []
    servers = {lat: _start(lat) for lat in (0.0, args.latency)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cores = {
                lat: Core.open(Settings(cache_dir=Path(tmp) / str(lat), api_url=url), seed=False)
                for lat, (_, url, _) in servers.items()
            }
            url = servers[args.latency][1]
            for i, size in enumerate(SIZES):
                user_id = str(3000 + i)
                cpu = asyncio.run(cores[0.0].fetch(user_id))
                result = asyncio.run(cores[args.latency].fetch(user_id))
                if size < 5000 or args.full:
                    started = time.perf_counter()
                    nb_requests = asyncio.run(notebook_fetch(url, user_id))
                    nb_seconds = time.perf_counter() - started
                    per_request.append(nb_seconds / nb_requests)
                    nb = (str(nb_requests), f"{nb_seconds:.1f}")
                else:
                    est_requests = -(-size // 10) + size
                    est = est_requests * statistics.median(per_request)
                    nb = (f"{est_requests} (est.)", f"{est:.0f} (est.)")
                trips = (result.seconds - cpu.seconds) / args.latency
                rows.append(
                    (
                        size,
                        result.requests,
                        f"{result.seconds:.2f}",
                        f"{cpu.seconds:.2f}",
                        f"{trips:.1f}",
                        *nb,
                    )
                )
            for core in cores.values():
                core.close()
    finally:
        for proc, _, stop in servers.values():
            stop.set()
            proc.join(timeout=10)
    print(f"Latency {args.latency * 1000:.0f} ms per request, {FAVORITES} favourites per user.\n")
    print(
        "| entries | animerec requests | animerec seconds | of which parsing + caching "
        "(same fetch, 0 ms latency) | round trips of latency | notebook requests "
        "| notebook seconds |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
