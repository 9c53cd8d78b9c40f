"""The Keras callbacks a trial adds to `fit`: its time limit and its pruning rule.

Kept apart from `runtime.trial` and `runtime.pruning` so that importing
those does not import Keras; this module is imported when a trial trains.

Example:

```python
import time
from kerasnas.runtime.trial_callbacks import TimeLimit
limit = TimeLimit(seconds=60.0, start=time.time())
```
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import keras


class TimeLimit(keras.callbacks.Callback):
    """Stops training at the next batch end once `seconds` have passed since `start`.

    Keras reports a batch end once per call of the compiled training
    function, so with `steps_per_execution=N` the check runs every N batches.

    Args:
        seconds: the time limit.
        start: the Unix time the trial started.
    """

    def __init__(self, seconds: float, start: float):
        super().__init__()
        self.seconds = seconds
        self.start = start
        self.expired = False

    def _check(self):
        if time.time() - self.start > self.seconds:
            self.expired = True
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        self._check()

    def on_epoch_end(self, epoch, logs=None):
        self._check()


class PruningCallback(keras.callbacks.Callback):
    """Applies a pruning rule at the end of each epoch of `fit`.

    Args:
        pruner: the `kerasnas.runtime.pruning.Pruner`.
        objective: the search objective (a per-epoch Keras log, e.g. `val_accuracy`).
        number: the trial number.
        table: `{epoch: [scores of earlier trials]}`.
    """

    def __init__(self, pruner, objective, number: int, table: Mapping):
        super().__init__()
        self.pruner = pruner
        self.objective = objective
        self.number = number
        self.table = {int(k): list(v) for k, v in table.items()}
        self.stopped: dict | None = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.objective.name not in logs:
            return
        score = self.objective.score(logs)
        if not math.isfinite(score):
            return
        done = epoch + 1
        if done >= int((self.params or {}).get("epochs") or 0):
            return  # the last epoch: nothing left to save
        reason = self.pruner.should_stop(self.number, done, score, self.table.get(done, []))
        if reason is not None:
            self.stopped = {"epoch": done, "reason": reason}
            self.model.stop_training = True
