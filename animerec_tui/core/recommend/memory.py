"""Checking a fit's memory plan before allocating it.

A dense item x item model over a huge catalogue (EASE with a large ``ease_max_items``) or
absurd factor counts would otherwise ask numpy for hundreds of gigabytes and end in a
MemoryError (or the kernel's OOM killer) minutes later. The estimate is compared with the
machine's physical memory (or the cgroup limit, when lower), so a plan that can never fit is
refused at once, in one line naming the setting to lower.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from animerec_tui.core.errors import BadInput

CGROUP_LIMIT = Path("/sys/fs/cgroup/memory.max")


def memory_limit() -> int | None:
    """Bytes this process could ever use: physical memory, or a lower cgroup v2 limit."""
    limits: list[int] = []
    with contextlib.suppress(ValueError, OSError, AttributeError):  # not on this platform
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    try:
        text = CGROUP_LIMIT.read_text().strip()
        if text.isdigit():
            limits.append(int(text))
    except OSError:
        pass
    return min(limits) if limits else None


def _size(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1e3:.0f} kB"


def check_plan(needed: float, what: str, setting: str) -> None:
    """Raise BadInput (exit 2) when ``needed`` bytes exceed what the machine can hold.

    ``what`` names the work ("EASE over 300,000 anime"), ``setting`` the ``section.key`` that
    bounds it. Does nothing when the limit cannot be read.
    """
    limit = memory_limit()
    if limit is not None and needed > limit:
        raise BadInput(
            f"{what} needs about {_size(needed)} of memory, more than this machine's "
            f"{_size(limit)}: lower {setting} in the settings file."
        )
