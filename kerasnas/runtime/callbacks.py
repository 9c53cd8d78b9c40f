"""Search callbacks: what watches a search (progress, TensorBoard) without being the loop.

A callback gets the search at its start and end, every finished trial, and
the loop's messages. Pass your own with `kerasnas.Search(...,
search_callbacks=[...])`.

Example:

```python
import tempfile
import kerasnas
from kerasnas.runtime.callbacks import SearchCallback

class Count(SearchCallback):
    def __init__(self):
        self.trials = 0

    def on_trial_end(self, search, record):
        self.trials += 1

count = Count()
kerasnas.Search(
    kerasnas.spaces.ChainSpace(max_layers=2), kerasnas.strategies.RandomSearch(),
    kerasnas.evaluation.CallableEvaluator(lambda a: a["num_layers"], "depth"), "depth",
    tempfile.mkdtemp(), max_trials=3, verbose=0, search_callbacks=[count]).run()
count.trials  # 3
```
"""

from __future__ import annotations

import pathlib

from kerasnas.trial import TrialRecord


class SearchCallback:
    """Hooks into a search; every method does nothing by default."""

    def on_search_begin(self, search) -> None:
        """Called once the history is replayed, before the first new trial."""

    def on_trial_end(self, search, record: TrialRecord) -> None:
        """Called after each trial is recorded."""

    def on_message(self, search, text: str) -> None:
        """Called with the loop's messages (resuming, stopping early)."""

    def on_search_end(self, search) -> None:
        """Called when the search stops, normally or not."""


class ProgressCallback(SearchCallback):
    """A progress bar and one line per trial (see `kerasnas.runtime.progress`).

    Args:
        verbose: 0 silent, 1 one line per trial, 2 more detail.
        bar: show a bar (None: in terminals and notebooks when verbose).
    """

    def __init__(self, verbose: int = 1, bar: bool | None = None):
        self.verbose = verbose
        self.bar = bar
        self.printer = None

    def on_search_begin(self, search) -> None:
        from kerasnas.runtime.progress import ProgressPrinter

        self.printer = ProgressPrinter(
            search.objective, search.max_trials, self.verbose, bar=self.bar,
            workers=search.executor.capacity,
        )  # fmt: skip
        self.printer.start(search.counted(), search.best_trial())

    def on_trial_end(self, search, record: TrialRecord) -> None:
        self.printer.trial(
            record, search.space.describe(record.architecture), search.counted(),
            search.best_trial(),
        )  # fmt: skip

    def on_message(self, search, text: str) -> None:
        self.printer.print(text)

    def on_search_end(self, search) -> None:
        if self.printer is not None:
            self.printer.close()


class TensorBoardCallback(SearchCallback):
    """Per-trial scalars and the HParams dashboard (see `kerasnas.runtime.tensorboard`).

    Args:
        log_dir: the log directory.
    """

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.logger = None

    def on_search_begin(self, search) -> None:
        from kerasnas.runtime.tensorboard import TensorBoardLogger

        self.logger = TensorBoardLogger(self.log_dir, search.space, search.objectives)
        self.logger.start(search.history)

    def on_trial_end(self, search, record: TrialRecord) -> None:
        self.logger.trial(record)

    def on_search_end(self, search) -> None:
        if self.logger is not None:
            self.logger.close()


def default_callbacks(callbacks, verbose: int, bar, tensorboard, root) -> list[SearchCallback]:
    """The user's callbacks, then progress (when `verbose`) and TensorBoard (when asked).

    Args:
        callbacks: the user's `SearchCallback`s.
        verbose: 0 silent, 1 one line per trial, 2 more detail.
        bar: show a progress bar (None: in terminals and notebooks).
        tensorboard: a log directory, True for `<root>/tensorboard`, or None.
        root: the search directory (None in memory).
    """
    callbacks = list(callbacks)
    if verbose:
        callbacks.append(ProgressCallback(verbose, bar=bar))
    if tensorboard:
        root = pathlib.Path(root) if root is not None else pathlib.Path(".")
        callbacks.append(TensorBoardCallback(root / "tensorboard" if tensorboard is True else tensorboard))
    return callbacks
