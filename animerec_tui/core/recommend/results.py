"""The record of one training run, shared by training (:mod:`.service`) and tuning
(:mod:`.tune`, whose result carries the model it trained)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class TrainResult:
    kind: str
    params: dict[str, Any]
    users: int
    anime: int
    interactions: int
    fingerprint: str
    path: str
    build_seconds: float
    fit_seconds: float
    save_seconds: float
    seconds: float
    tuned: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        p = self.params
        what = (
            f"factors {p['factors']}, regularization {p['regularization']:g}, "
            f"alpha {p['alpha']:g}, iterations {p['iterations']}, {p['weighting']} weighting"
            if self.kind in ("als", "blend")
            else self.kind
        )
        if self.kind == "blend":
            what = (
                f"ALS share {p['blend_weight']:g} ({what}), EASE share "
                f"{1 - p['blend_weight']:g} (lambda {p['ease_lambda']:g}, "
                f"{p['ease_weighting']} input)"
            )
        src = " (tuned defaults)" if self.tuned else ""
        return (
            f"Trained {self.kind} on {self.users:,} users x {self.anime:,} anime "
            f"({self.interactions:,} interactions) in {self.seconds:.1f}s{src}: {what}. "
            f"Saved to {self.path}."
        )
