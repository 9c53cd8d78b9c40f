"""Progress lines printed while a search runs."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from kerasnas.objective import Objective
from kerasnas.trial import TrialRecord


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


def shorten(text: str, width: int) -> str:
    """`text` cut to at most `width` characters at a space, never inside a token.

    A cut is marked with `…`; a first token longer than `width` is kept whole.
    """
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, max(1, width - 1))
    if cut <= 0:
        cut = text.find(" ")
        return text if cut < 0 else text[:cut] + " …"
    return text[:cut] + " …"


def interactive() -> bool:
    """Whether output goes to a person: a notebook, or a terminal on standard error."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
            return True
    except Exception:  # noqa: BLE001 - IPython missing or not running
        pass
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class ProgressPrinter:
    """Shows a search's progress: a bar and one line per finished trial.

    The bar (`tqdm.auto`: a widget in notebooks, a text bar in terminals)
    shows trials done out of `max_trials`, elapsed and remaining time and
    the best value so far. Each finished trial also prints one line with
    its summary, objective value, duration and the best so far.

    Example:

    ```python
    from kerasnas import Objective
    from kerasnas.runtime.progress import ProgressPrinter
    progress = ProgressPrinter(Objective("val_accuracy"), max_trials=10, bar=False)
    progress.print("starting")
    ```

    Args:
        objective: the objective shown in each line.
        max_trials: the trial budget, for `n/N` and the time remaining.
        verbose: 0 prints nothing (quiet), 1 one line per trial, 2 the same
            plus Keras' own training progress (set by the search).
        stream: where to print the lines (standard output by default).
        bar: show the progress bar; None shows it when `verbose >= 1` and
            the output is a notebook or a terminal.
        workers: trials that run at once (for the time remaining).
    """

    def __init__(
        self,
        objective: Objective,
        max_trials: int,
        verbose: int = 1,
        stream: TextIO | None = None,
        bar: bool | None = None,
        workers: int = 1,
    ):
        self.objective = objective
        self.workers = max(1, int(workers))
        self._first_finish: float | None = None
        self._durations: list[float] = []
        self.max_trials = max_trials
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.start_time = time.time()
        self.done_this_run = 0
        self.show_bar = bool(verbose) and (interactive() if bar is None else bool(bar))
        self.bar = None

    def start(self, done: int = 0, best: TrialRecord | None = None) -> None:
        """Opens the bar at `done` trials already finished (on resume)."""
        if not self.show_bar or self.bar is not None:
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=self.max_trials,
            initial=min(done, self.max_trials),
            desc="Search",
            unit="trial",
            dynamic_ncols=True,
            leave=True,
        )
        self._postfix(best)

    def _postfix(self, best: TrialRecord | None) -> None:
        if self.bar is None or best is None:
            return
        value = self.objective.value(best.metrics)
        if value is not None:
            self.bar.set_postfix_str(f"best {self.objective.name}={value:.4f} (#{best.number})")

    def close(self) -> None:
        """Closes the bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def print(self, text: str) -> None:
        """Prints a line (above the bar, if any) unless quiet."""
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def trial(self, record: TrialRecord, summary: str, done: int, best: TrialRecord | None) -> None:
        """Prints the line of a finished trial."""
        self.done_this_run += 1
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.n = min(done, self.max_trials)
            self.bar.refresh()
            self._postfix(best)
        name = self.objective.name
        if record.ok:
            value = self.objective.value(record.metrics)
            result = f"{name}={value:.4f}" if value is not None else f"{name}=?"
            stopped = record.info.get("stopped_early")
            if stopped:
                result += f" (stopped at epoch {stopped.get('epoch')})"
        else:
            reason = shorten(record.error.splitlines()[0], 80) if record.error else ""
            result = f"{record.status.upper()} ({reason})"
        now = time.time()
        elapsed = now - self.start_time
        remaining = ""
        left = self.remaining_seconds(record, done, now)
        if left is not None:
            remaining = f" ~{format_seconds(left)} left"
        best_text = ""
        if best is not None:
            best_value = self.objective.value(best.metrics)
            if best_value is not None:
                best_text = f" | best {best_value:.4f} (#{best.number})"
        width = len(str(self.max_trials))
        self.print(
            f"Trial {done:>{width}}/{self.max_trials} #{record.number:<3} "
            f"{shorten(summary, 70):<70} "
            f"{result} {format_seconds(record.duration_s)}{best_text}"
            f" [{format_seconds(elapsed)}{remaining}]"
        )

    def remaining_seconds(self, record: TrialRecord, done: int, now: float) -> float | None:
        """Estimated seconds until `max_trials` trials are done (None when finished).

        Start-up (TensorFlow, worker processes, resuming) happens once, so it
        must not be spread over the trials still to run: the first estimate
        uses the finished trial's own duration (divided among `workers`),
        later ones the wall time between finished trials.
        """
        self._durations.append(float(record.duration_s or 0.0))
        if self._first_finish is None:
            self._first_finish = now
        to_go = self.max_trials - done
        if to_go <= 0:
            return None
        finished = len(self._durations)
        if finished >= 2 + self.workers and now > self._first_finish:
            per_trial = (now - self._first_finish) / (finished - 1)
        else:
            per_trial = sum(self._durations) / finished / self.workers
        return per_trial * to_go
