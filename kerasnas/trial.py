"""The shared vocabulary: trial records, statuses and journal events.

Everything below the search loop speaks it: strategies learn from
`TrialRecord`s, the storage writes them, reports read them. It imports
nothing of kerasnas but the space's `Architecture`, so any module may use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from kerasnas.spaces.space import Architecture

COMPLETED = "completed"
FAILED = "failed"
REJECTED = "rejected"
STATUSES = (COMPLETED, FAILED, REJECTED)

# Journal event names.
SEARCH_STARTED = "search_started"
SEARCH_FINISHED = "search_finished"
TRIAL_STARTED = "trial_started"
TRIAL_FINISHED = "trial_finished"
SPACE_EXHAUSTED = "space_exhausted"


def trial_seed(seed: int, number: int) -> int:
    """The seed of trial `number` in a search seeded with `seed`."""
    return int(np.random.SeedSequence([int(seed), int(number)]).generate_state(1)[0] % (2**31))


def trial_rng(seed: int, number: int) -> np.random.Generator:
    """The random generator a strategy gets for trial `number`."""
    return np.random.default_rng([int(seed), int(number), 7])


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
        """Recreates a record from `to_json()` output.

        Raises:
            ValueError: if `data` is not a record (a field missing or of the
                wrong type), saying which field.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a record must be an object. Received: {_short(data)}")
        for name in ("number", "architecture", "status"):
            if name not in data:
                raise ValueError(f"the record has no '{name}'")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        for name, value in values.items():
            check = _FIELD_CHECKS[name]
            if not check(value):
                raise ValueError(f"the record's '{name}' is invalid. Received: {_short(value)}")
        return cls(**values)

    def __repr__(self) -> str:
        metrics = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.metrics.items()
        )
        return f"<Trial {self.number} {self.status} {metrics}>"


def is_trial_number(value: Any) -> bool:
    """Whether `value` can number a trial (an int in [0, 10**9), not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9


def is_architecture(value: Any) -> bool:
    """Whether `value` looks like an encoding: a dict of str keys to JSON values."""
    return isinstance(value, Mapping) and all(isinstance(k, str) for k in value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_FIELD_CHECKS = {
    "number": is_trial_number,
    "architecture": is_architecture,
    "status": lambda v: v in STATUSES,
    "metrics": lambda v: isinstance(v, Mapping) and all(isinstance(k, str) for k in v),
    "key": lambda v: isinstance(v, str),
    "seed": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "started_at": _is_number,
    "duration_s": _is_number,
    "error": lambda v: v is None or isinstance(v, str),
    "attempt": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1,
    "info": lambda v: isinstance(v, Mapping),
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def no_completed_trial_message(records) -> str:
    """Says that no trial completed, with the failure reasons counted.

    Example: `No trial completed: 3 failed (3x RuntimeError: broken). `
    """
    counts: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for record in records:
        statuses[record.status] = statuses.get(record.status, 0) + 1
        reason = (record.error or "no reason recorded").strip().splitlines()[0][:200]
        counts[reason] = counts.get(reason, 0) + 1
    if not records:
        return "No trial completed: no trial ran."
    tally = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    reasons = "; ".join(f"{n}x {reason}" for reason, n in sorted(counts.items(), key=lambda i: -i[1]))
    return f"No trial completed: {tally}. Reasons: {reasons}."


def counted(records) -> int:
    """Trials that count towards a search's `max_trials`: all but rejected candidates."""
    return sum(1 for r in records if r.status != REJECTED)


def best_record(records, objective) -> TrialRecord | None:
    """The completed record with the best `objective` value (the earliest on ties), or None."""
    completed = [r for r in records if r.ok]
    if not completed:
        return None
    return max(completed, key=lambda r: (objective.score(r.metrics), -r.number))


def best_score(records, objective) -> float | None:
    """The `objective.score` of the best completed record, or None if none completed."""
    best = best_record(records, objective)
    return None if best is None else objective.score(best.metrics)
