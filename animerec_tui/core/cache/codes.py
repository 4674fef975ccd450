"""How a library entry's status is stored: a small integer per :data:`records.STATUSES` name.

Private to the cache: every reader outside it gets :data:`~animerec_tui.core.records.Status`
names, or (the recommender's bulk arrays) the status's position in ``STATUSES``.
"""

from __future__ import annotations

from animerec_tui.core.records import STATUSES, Status

STATUS_CODES: dict[Status, int] = {
    "completed": 1,
    "current": 2,
    "planned": 3,
    "on_hold": 4,
    "dropped": 5,
}
"""Status name -> the code in ``entries.status`` (fixed by the schema: never renumber)."""
STATUS_NAMES: dict[int, Status] = {v: k for k, v in STATUS_CODES.items()}
"""Stored code -> status name."""
CODE_TO_INDEX: dict[int, int] = {STATUS_CODES[s]: i for i, s in enumerate(STATUSES)}
"""Stored code -> position in :data:`~animerec_tui.core.records.STATUSES`."""
