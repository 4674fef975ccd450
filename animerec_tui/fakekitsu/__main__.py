"""Serve a demo Kitsu population until Ctrl-C, for trying the app with no internet.

python -m animerec_tui.fakekitsu --port 8123 --users 200 --latency 0.05 [--faults 0.3]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from animerec_tui.fakekitsu.dataset import demo_dataset
from animerec_tui.fakekitsu.faults import KINDS, Faults
from animerec_tui.fakekitsu.server import FakeKitsu, LogEntry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m animerec_tui.fakekitsu", description=__doc__.strip().splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123, help="0 picks a free port")
    parser.add_argument("--users", type=int, default=200, help="population size (ids from 5000)")
    parser.add_argument(
        "--anime", type=int, default=3000, help="catalogue size (the sample's anime first)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--faults",
        type=float,
        default=0.0,
        metavar="RATE",
        help="share of requests that fail (0..1)",
    )
    parser.add_argument(
        "--fault-kinds", default="429,503,500", help=f"comma-separated, from: {','.join(KINDS)}"
    )
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="Kitsu's clock ahead of this machine's (negative: behind): updatedAt and Date",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="print every request")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    ds = demo_dataset(users=args.users, seed=args.seed, anime=args.anime)
    ds.clock_offset = args.clock_offset
    faults = None
    if args.faults > 0:
        try:
            faults = Faults(rate=args.faults, kinds=args.fault_kinds.split(","), seed=args.seed)
        except ValueError as exc:
            parser.error(str(exc))
    server = FakeKitsu(ds, latency=args.latency, faults=faults, host=args.host, port=args.port)
    if args.verbose:

        def show(entry: LogEntry) -> None:
            print(f"{entry.status:3d} {entry.method} {entry.path}", flush=True)

        server.on_request = show
    try:
        server.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    entries = sum(len(v) for v in ds.entries.values())
    print(
        f"Fake Kitsu: {len(ds.users)} users, {len(ds.anime)} anime, {entries} library entries "
        f"(built in {time.perf_counter() - started:.1f}s). Try alice (1001), sam (ambiguous), "
        "bigfan, newbie, mallory. Ctrl-C stops.",
        flush=True,
    )
    print(f"export ANIMEREC_API_URL={server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
