"""`TrialRecord`: everything the journal keeps about one trial."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kerasnas.spaces.space import Architecture

COMPLETED = "completed"
FAILED = "failed"
REJECTED = "rejected"
STATUSES = (COMPLETED, FAILED, REJECTED)


@dataclasses.dataclass
class TrialRecord:
    """One evaluated architecture.

    Attributes:
        number: trial number, from 0, in the order trials were asked.
        architecture: the encoding that was evaluated.
        status: `"completed"`, `"failed"` (error, NaN loss, timeout) or
            `"rejected"` (broke a hard constraint before training).
        metrics: final metrics (e.g. `val_accuracy`, `loss`, `params`,
            `flops`); empty for failed trials.
        key: canonical key of the architecture (equivalent encodings share it).
        seed: the seed the trial was built and trained with.
        started_at: Unix time at which the trial started.
        duration_s: wall-clock seconds of the whole trial.
        error: the reason a trial failed or was rejected.
        attempt: 1 for the first run, 2 for a retry after a crash.
        info: anything else worth keeping (epochs run, history, budget).
    """

    number: int
    architecture: Architecture
    status: str
    metrics: dict = dataclasses.field(default_factory=dict)
    key: str = ""
    seed: int = 0
    started_at: float = 0.0
    duration_s: float = 0.0
    error: str | None = None
    attempt: int = 1
    info: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.architecture, Architecture):
            self.architecture = Architecture(self.architecture)
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}. Received: status={self.status!r}")
        if not self.key:
            self.key = self.architecture.key

    @property
    def ok(self) -> bool:
        """Whether the trial completed with metrics."""
        return self.status == COMPLETED

    def to_json(self) -> dict:
        """Returns the record as a JSON-compatible dict."""
        data = dataclasses.asdict(self)
        data["architecture"] = dict(self.architecture)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrialRecord:
        """Recreates a record from `to_json()` output."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})

    def __repr__(self) -> str:
        metrics = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.metrics.items()
        )
        return f"<Trial {self.number} {self.status} {metrics}>"
