"""`FitEvaluator`: build the candidate, train it with `model.fit`, report metrics."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from typing import Any

from kerasnas._lazy import keras
from kerasnas.builder.builder import ModelBuilder
from kerasnas.data import SearchData
from kerasnas.distribute import describe as describe_strategy
from kerasnas.distribute import resolve_strategy, strategy_from_spec
from kerasnas.errors import TrialFailure
from kerasnas.evaluation.base import Evaluation, Evaluator, TrialContext
from kerasnas.evaluation.constraints import Constraints
from kerasnas.evaluation.costs import count_flops, count_params, measure_latency
from kerasnas.spaces.space import Architecture


class FitEvaluator(Evaluator):
    """Trains each candidate with `model.fit` and returns its final metrics.

    Metrics are the last epoch's training and validation logs (`loss`,
    `accuracy`, `val_loss`, `val_accuracy`, ... as Keras names them), plus
    `params`, `flops` and `train_time_s` (and `latency_ms`, the median
    batch-1 CPU latency, when a latency limit is set or `measure_latency`). A loss that turns NaN or infinite fails the trial.

    Example:

    ```python
    import numpy as np
    import kerasnas
    from kerasnas.builder import ModelBuilder
    from kerasnas.data import from_arrays
    from kerasnas.evaluation import FitEvaluator, TrialContext

    data = from_arrays(np.random.rand(64, 8), np.arange(64) % 2)
    space = kerasnas.spaces.ChainSpace(max_layers=1, operations=("dense",))
    builder = ModelBuilder(space, data.input_shape, data.task)
    evaluator = FitEvaluator(builder, data, epochs=1)
    result = evaluator.evaluate(space.sample(0), TrialContext(number=0, seed=0))
    result.metrics["val_accuracy"]
    ```

    Args:
        builder: the `ModelBuilder`.
        data: the `SearchData`.
        epochs: training epochs per candidate (a search may lower it per
            trial for multi-fidelity schedules).
        batch_size: batch size for array data (`train.batch_size`
            decisions override it).
        learning_rate: Adam's learning rate (`train.learning_rate` overrides).
        optimizer: optimizer name (`train.optimizer` overrides).
        constraints: hard limits checked after building, before training.
        measure_latency: record `latency_ms` even without a latency limit
            (e.g. when it is an objective).
        callbacks: Keras callbacks added to every `fit`.
        verbose: Keras' `fit` verbosity.
        distribution_strategy: train on several devices: a
            `tf.distribute.Strategy` (e.g. `tf.distribute.MirroredStrategy()`),
            a name (`"mirrored"`, `"one_device"`) or a spec dict
            (`{"name": "mirrored", "devices": ["/gpu:0", "/gpu:1"]}`; see
            `kerasnas.distribute`). Models are built and compiled in its
            scope, so `fit` splits each batch across its replicas
            (`batch_size` is the global batch). A name or spec is built
            where the trial runs (a worker process, a Ray actor), on that
            worker's devices.

    Raises:
        ValueError: for out-of-range settings or an unknown strategy.
    """

    produces_models = True

    def __init__(
        self,
        builder: ModelBuilder,
        data: SearchData,
        epochs: int = 5,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        optimizer: str = "adam",
        constraints: Constraints | None = None,
        callbacks: Sequence[Any] = (),
        verbose: int = 0,
        measure_latency: bool = False,
        distribution_strategy: Any = None,
    ):
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"`epochs` must be a positive int. Received: epochs={epochs!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be a positive int. Received: batch_size={batch_size!r}"
            )
        if not learning_rate > 0:
            raise ValueError(
                f"`learning_rate` must be positive. Received: learning_rate={learning_rate!r}"
            )
        self.builder = builder
        self.data = data
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.constraints = constraints or Constraints()
        self.callbacks = list(callbacks)
        self.verbose = verbose
        self.measure_latency = bool(measure_latency)
        self._strategy, self.distribution_spec = resolve_strategy(distribution_strategy)

    @property
    def distribution_strategy(self):
        """The `tf.distribute.Strategy` candidates train with (None: TensorFlow's default).

        A strategy given by name or spec is built on first use, in the
        process that trains.
        """
        if self._strategy is None and self.distribution_spec is not None:
            self._strategy = strategy_from_spec(self.distribution_spec)
        return self._strategy

    def build(self, architecture: Architecture, seed: int) -> keras.Model:
        """Builds and compiles a fresh model with seeded initial weights.

        With a `distribution_strategy`, in its scope (the model's variables
        are mirrored across its devices).
        """
        strategy = self.distribution_strategy
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            keras.utils.set_random_seed(int(seed) % (2**31))
            model = self.builder.build(architecture)
            return self.builder.compile(
                model, architecture, learning_rate=self.learning_rate, optimizer=self.optimizer
            )

    def costs(self, model: keras.Model) -> dict:
        """Parameters and FLOPs (and latency when it is constrained or asked for)."""
        costs = {"params": count_params(model), "flops": count_flops(model)}
        if self.measure_latency or self.constraints.max_latency_ms is not None:
            costs["latency_ms"] = measure_latency(model, repeats=10)["median_ms"]
        return costs

    def fit(self, model, architecture, epochs, callbacks=(), initial_epoch=0, data=None):
        """Runs `model.fit` on the training data; returns the Keras History."""
        data = data or self.data
        batch_size = int(architecture.get("train.batch_size", self.batch_size))
        all_callbacks = [keras.callbacks.TerminateOnNaN(), *self.callbacks, *callbacks]
        if data.is_dataset:
            train, validation = data.train, data.validation
            if "train.batch_size" in architecture:
                train = train.unbatch().batch(batch_size)
            return model.fit(
                train,
                validation_data=validation,
                epochs=epochs,
                initial_epoch=initial_epoch,
                callbacks=all_callbacks,
                verbose=self.verbose,
            )
        x, y = data.train
        return model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            initial_epoch=initial_epoch,
            validation_data=data.validation,
            callbacks=all_callbacks,
            verbose=self.verbose,
            shuffle=True,
        )

    def evaluate(self, architecture: Architecture, context: TrialContext) -> Evaluation:
        started = time.perf_counter()
        model = self.build(architecture, context.seed)
        built = time.perf_counter()
        costs = self.costs(model)
        self.constraints.check(costs)
        epochs = context.epochs or self.epochs
        start = time.perf_counter()
        history = self.fit(model, architecture, epochs, callbacks=context.callbacks)
        train_time = time.perf_counter() - start
        # Where the trial's time went (kerasnas.runtime.trial adds its own parts).
        timing = {"build": built - started, "costs": start - built, "fit": train_time}
        logs = history.history
        for i, loss in enumerate(logs.get("loss", [])):
            if not math.isfinite(float(loss)):
                raise TrialFailure(f"the training loss became {loss} at epoch {i + 1}")
        metrics = {k: float(v[-1]) for k, v in logs.items() if v}
        for key in list(metrics):
            if key.startswith("val_") and not math.isfinite(metrics[key]):
                raise TrialFailure(f"{key} is {metrics[key]}")
        metrics.update(costs)
        metrics["train_time_s"] = train_time
        info = {
            "epochs": len(logs.get("loss", [])),
            "history": {k: [float(x) for x in v] for k, v in logs.items()},
            "timing": timing,
        }
        if self.distribution_strategy is not None:
            info["distribution"] = describe_strategy(self.distribution_strategy)
        return Evaluation(metrics=metrics, model=model, info=info)

    def get_config(self) -> dict:
        return {
            "class": type(self).__name__,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "optimizer": self.optimizer,
            "constraints": self.constraints.to_json(),
            **({"measure_latency": True} if self.measure_latency else {}),
        }


def evaluate_model(model: keras.Model, split, batch_size: int = 256, prefix: str = "test") -> dict:
    """Returns `{prefix}_<metric>` for a compiled model on `(x, y)` or a dataset."""
    if isinstance(split, tuple):
        results = model.evaluate(
            split[0], split[1], batch_size=batch_size, verbose=0, return_dict=True
        )
    else:
        results = model.evaluate(split, verbose=0, return_dict=True)
    return {f"{prefix}_{k}": float(v) for k, v in results.items()}
