"""Keep the UI responsive while a thread worker crunches numbers.

Training and evaluation are CPU-bound. On a small machine (the target has 2 cores) an ALS fit
that takes every core starves the event loop, and key presses wait hundreds of milliseconds.
So heavy thread workers run inside :func:`background_priority`: the worker thread lowers its own
scheduling priority (Linux threads are tasks, so ``setpriority`` on the native thread id affects
only this thread and the OpenMP threads it starts) and OpenMP is limited to all cores but one.
Both are best effort: where unsupported, the work simply runs as before.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

NICENESS = 19


def _lower_thread_priority() -> None:
    if not hasattr(os, "setpriority"):
        return
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if current < NICENESS:
            os.setpriority(os.PRIO_PROCESS, tid, NICENESS)


@contextlib.contextmanager
def background_priority() -> Iterator[None]:
    """Run the body at low priority with OpenMP on ``cpu_count - 1`` threads (at least one)."""
    _lower_thread_priority()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=max(1, (os.cpu_count() or 2) - 1), user_api="openmp"):
        yield
