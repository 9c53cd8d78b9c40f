"""Progress lines printed while a search runs."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from kerasnas.objective import Objective
from kerasnas.runtime.records import TrialRecord


def format_seconds(seconds: float) -> str:
    """`75.2` → `'1m15s'`."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressPrinter:
    """Prints one line per finished trial: summary, metric, time, best so far.

    Args:
        objective: the objective shown in each line.
        max_trials: the trial budget, for `n/N` and the time remaining.
        verbose: 0 prints nothing, 1 one line per trial, 2 also the
            architecture's full summary.
        stream: where to print (standard output by default).
    """

    def __init__(
        self, objective: Objective, max_trials: int, verbose: int = 1, stream: TextIO | None = None
    ):
        self.objective = objective
        self.max_trials = max_trials
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.start = time.time()
        self.done_this_run = 0

    def print(self, text: str) -> None:
        if self.verbose:
            print(text, file=self.stream, flush=True)

    def trial(self, record: TrialRecord, summary: str, done: int, best: TrialRecord | None) -> None:
        """Prints the line of a finished trial."""
        self.done_this_run += 1
        if not self.verbose:
            return
        name = self.objective.name
        if record.ok:
            value = self.objective.value(record.metrics)
            result = f"{name}={value:.4f}" if value is not None else f"{name}=?"
        else:
            reason = (record.error or "").splitlines()[0][:80] if record.error else ""
            result = f"{record.status.upper()} ({reason})"
        elapsed = time.time() - self.start
        remaining = ""
        if 0 < self.done_this_run and done < self.max_trials:
            per_trial = elapsed / self.done_this_run
            remaining = f" ~{format_seconds(per_trial * (self.max_trials - done))} left"
        best_text = ""
        if best is not None:
            best_value = self.objective.value(best.metrics)
            if best_value is not None:
                best_text = f" | best {best_value:.4f} (#{best.number})"
        width = len(str(self.max_trials))
        self.print(
            f"Trial {done:>{width}}/{self.max_trials} #{record.number:<3} {summary[:70]:<70} "
            f"{result} {format_seconds(record.duration_s)}{best_text}"
            f" [{format_seconds(elapsed)}{remaining}]"
        )
