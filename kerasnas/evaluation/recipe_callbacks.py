"""The recipe's Keras callbacks (see `kerasnas.evaluation.recipe`); importing this loads Keras."""

from __future__ import annotations

import math

import keras

from kerasnas.evaluation.recipe import cosine_learning_rate  # noqa: F401 - used below
from kerasnas.objective import Objective


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
