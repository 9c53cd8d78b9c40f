"""The default training recipe: a cosine learning-rate decay and the best epoch's weights.

Two Keras callbacks that `FitEvaluator` adds to every candidate's `fit`:

- `CosineDecay` lowers the learning rate from its initial value along half a
  cosine over the planned epochs (one value per epoch, so it works for
  numpy arrays and datasets of unknown length alike).
- `BestEpoch` watches the search objective (e.g. `val_accuracy`), keeps a
  copy of the weights of the best epoch so far, stops training after
  `patience` epochs without improvement, and restores the best weights when
  training ends (whoever stopped it: itself, a pruner, a time limit or the
  last epoch). The trial then records that epoch's metrics, so a candidate
  is judged by the model that is kept and exported.
"""

from __future__ import annotations

import math

import keras

from kerasnas.objective import Objective

#: Learning-rate schedules accepted by `FitEvaluator(lr_schedule=...)`.
LR_SCHEDULES = ("cosine", "constant")


def auto_batch_size(num_train: int | None) -> int:
    """A batch size for `num_train` samples: 64, smaller for small data sets (at least 16).

    About `num_train / 50` rounded down to a power of two, between 16 and
    64, so that small data sets still give a few dozen steps per epoch.

    Example:

    ```python
    from kerasnas.evaluation.recipe import auto_batch_size
    [auto_batch_size(n) for n in (200, 2000, 3600, 60000)]  # [16, 32, 64, 64]
    ```
    """
    if not num_train:
        return 64
    return int(max(16, min(64, 2 ** int(math.log2(max(num_train / 50, 1))))))


def default_patience(epochs: int) -> int:
    """Epochs without improvement before `BestEpoch` stops: `max(4, epochs // 3)`."""
    return max(4, int(epochs) // 3)


def cosine_learning_rate(initial: float, epoch: int, epochs: int, floor: float = 0.02) -> float:
    """The learning rate of epoch `epoch` (from 0) of `epochs` under half-cosine decay.

    Falls from `initial` at epoch 0 to `initial * floor` after the last epoch.

    Example:

    ```python
    from kerasnas.evaluation.recipe import cosine_learning_rate
    [round(cosine_learning_rate(1e-3, e, 4), 6) for e in range(4)]
    ```
    """
    if epochs <= 1:
        return float(initial)
    progress = min(max(epoch / epochs, 0.0), 1.0)
    return float(initial) * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


class CosineDecay(keras.callbacks.Callback):
    """Sets the optimizer's learning rate at the start of each epoch (half-cosine decay).

    Args:
        epochs: the planned number of epochs (the decay's length).
        initial: the initial learning rate; None reads the optimizer's.
    """

    def __init__(self, epochs: int, initial: float | None = None):
        super().__init__()
        self.epochs = int(epochs)
        self.initial = initial

    def on_train_begin(self, logs=None):
        if self.initial is None:
            self.initial = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_begin(self, epoch, logs=None):
        rate = cosine_learning_rate(self.initial, epoch, self.epochs)
        self.model.optimizer.learning_rate.assign(rate)


class BestEpoch(keras.callbacks.Callback):
    """Early stopping on an objective, with the best epoch's weights restored at the end.

    Example:

    ```python
    import numpy as np
    import keras
    from kerasnas.evaluation.recipe import BestEpoch
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    best = BestEpoch("val_accuracy", patience=2)
    x, y = np.random.rand(64, 4), np.arange(64) % 2
    model.fit(x, y, validation_split=0.25, epochs=5, callbacks=[best], verbose=0)
    best.best_epoch, best.best_logs["val_accuracy"]
    ```

    Args:
        objective: the metric to watch, a name (direction inferred) or an
            `Objective`. Epochs whose logs lack it are ignored; if no epoch
            has it, nothing is stopped or restored.
        patience: stop after this many epochs without improvement (None:
            never stop early, only restore).
        restore: restore the best epoch's weights when training ends.

    Attributes:
        best_epoch: the best epoch, from 1 (None before any).
        best_logs: that epoch's logs.
        stopped_epoch: the epoch after which this callback stopped training,
            or None.
    """

    def __init__(self, objective, patience: int | None = None, restore: bool = True):
        super().__init__()
        self.objective = objective if isinstance(objective, Objective) else Objective(objective)
        self.patience = patience
        self.restore = restore
        self.best_epoch: int | None = None
        self.best_logs: dict = {}
        self.stopped_epoch: int | None = None
        self._best_score = -math.inf
        self._best_weights = None
        self._last_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        self._last_epoch = epoch + 1
        if self.objective.name not in logs:
            return
        score = self.objective.score(logs)
        if not math.isfinite(score):
            return
        if score > self._best_score:
            self._best_score = score
            self.best_epoch = epoch + 1
            self.best_logs = {k: float(v) for k, v in logs.items()}
            if self.restore:
                self._best_weights = self.model.get_weights()
            return
        if self.patience is not None and self._last_epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = self._last_epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore and self._best_weights is not None and self.best_epoch != self._last_epoch:
            self.model.set_weights(self._best_weights)
        self._best_weights = None
