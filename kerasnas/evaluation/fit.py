"""`FitEvaluator`: build the candidate, train it with `model.fit`, report metrics."""

from __future__ import annotations

import contextlib
import inspect
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from kerasnas._lazy import keras
from kerasnas.builder.builder import ModelBuilder
from kerasnas.data import SearchData, num_samples
from kerasnas.distribute import describe as describe_strategy
from kerasnas.distribute import resolve_strategy, strategy_from_spec
from kerasnas.errors import TrialFailure
from kerasnas.evaluation.base import Evaluation, Evaluator, TrialContext
from kerasnas.evaluation.constraints import Constraints
from kerasnas.evaluation.costs import count_flops, count_params, measure_latency
from kerasnas.evaluation.recipe import LR_SCHEDULES, default_patience
from kerasnas.objective import Objective
from kerasnas.spaces.space import Architecture
from kerasnas.validation import check_int

#: Training steps per call of the compiled function when not given (measured:
#: about 2x faster epochs for small candidates on a CPU; `benchmarks/RESULTS.md`).
DEFAULT_STEPS_PER_EXECUTION = 32

#: Values of `FitEvaluator(input_pipeline=...)`.
INPUT_PIPELINES = ("dataset", "arrays")


class FitEvaluator(Evaluator):
    """Trains each candidate with `model.fit` and returns its best epoch's metrics.

    The default recipe: Adam with a half-cosine learning-rate decay over
    the epochs (`lr_schedule="cosine"`), early stopping when the objective
    has not improved for `patience` epochs, and the weights of the best
    epoch (by the objective, e.g. `val_accuracy`) restored at the end. The
    metrics are that epoch's training and validation logs (`loss`,
    `accuracy`, `val_loss`, `val_accuracy`, ... as Keras names them), plus
    `params`, `flops` and `train_time_s` (and `latency_ms`, the median
    batch-1 CPU latency, when a latency limit is set or `measure_latency`);
    `info["best_epoch"]` says which epoch, `info["epochs"]` how many were
    trained. An objective that is not a per-epoch log (e.g. `params`) gives
    the last epoch's logs. A loss that turns NaN or infinite fails the trial.

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
        learning_rate: the optimizer's initial learning rate
            (`train.learning_rate` overrides).
        optimizer: optimizer name (`train.optimizer` overrides).
        constraints: hard limits checked after building, before training.
        measure_latency: record `latency_ms` even without a latency limit
            (e.g. when it is an objective).
        callbacks: Keras callbacks added to every `fit`.
        verbose: Keras' `fit` verbosity.
        objective: the metric the best epoch is chosen by and early
            stopping watches: a name (`"val_accuracy"`; direction inferred),
            an `Objective` or its JSON; None uses the task's default
            (`val_accuracy` for classification, `val_mae` for regression).
        patience: stop a candidate after this many epochs without
            improvement of the objective; None: `max(4, epochs // 3)`;
            0 turns early stopping off.
        restore_best: restore the best epoch's weights and record its
            metrics (False: the last epoch's).
        lr_schedule: `"cosine"` (half-cosine decay from `learning_rate`
            over the epochs) or `"constant"`.
        min_steps_per_epoch: with array data, an epoch is at least this
            many batches: a small training set is passed several times per
            epoch, so that every candidate gets enough optimizer steps (0:
            one pass per epoch).
        distribution_strategy: train on several devices: a
            `tf.distribute.Strategy` (e.g. `tf.distribute.MirroredStrategy()`),
            a name (`"mirrored"`, `"one_device"`) or a spec dict
            (`{"name": "mirrored", "devices": ["/gpu:0", "/gpu:1"]}`; see
            `kerasnas.distribute`). Models are built and compiled in its
            scope, so `fit` splits each batch across its replicas
            (`batch_size` is the global batch). A name or spec is built
            where the trial runs (a worker process, a Ray actor), on that
            worker's devices.
        loss: a Keras loss (name, function or `keras.losses.Loss`) instead
            of the task's.
        metrics: Keras metrics compiled besides the task's (names,
            functions or metric objects); their validation values
            (`val_<name>`) can be objectives.
        class_weight: `{class_index: weight}` passed to `fit`. Per-sample
            weights come with the data (`SearchData.sample_weight`).
        input_pipeline: how array data reaches `fit`: `"dataset"` (the
            arrays become tensors once, and every trial draws shuffled,
            prefetched batches from them: `kerasnas.evaluation.pipeline`)
            or `"arrays"` (the arrays are given to each `fit`, which
            converts them again each time). `tf.data` datasets are always
            used as given.
        steps_per_execution: training steps per call of the compiled
            training function (Keras' `compile` option). Several steps per
            call remove most of Python's per-batch work, which dominates
            for small candidates on a CPU (about 2x faster epochs measured
            here, `benchmarks/RESULTS.md`); batch-level callbacks, the
            trial time limit and `TerminateOnNaN` then act every this many
            batches. None: 32, or 1 with a `distribution_strategy` (Keras
            3.15's multi-step loop fails under `MirroredStrategy`, so more
            than 1 is refused with one). 1 is Keras' own default.

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
        learning_rate: float = 3e-3,
        optimizer: str = "adam",
        constraints: Constraints | None = None,
        callbacks: Sequence[Any] = (),
        verbose: int = 0,
        measure_latency: bool = False,
        distribution_strategy: Any = None,
        objective: Any = None,
        patience: int | None = None,
        restore_best: bool = True,
        lr_schedule: str = "cosine",
        min_steps_per_epoch: int = 50,
        loss: Any = None,
        metrics: Any = None,
        class_weight: dict | None = None,
        input_pipeline: str = "dataset",
        steps_per_execution: int | None = None,
    ):
        check_int("epochs", epochs, minimum=1)
        if steps_per_execution is not None:
            check_int("steps_per_execution", steps_per_execution, minimum=1)
        if input_pipeline not in INPUT_PIPELINES:
            raise ValueError(
                f"`input_pipeline` must be one of {list(INPUT_PIPELINES)}. "
                f"Received: input_pipeline={input_pipeline!r}"
            )
        check_int("batch_size", batch_size, minimum=1)
        if not learning_rate > 0:
            raise ValueError(
                f"`learning_rate` must be positive. Received: learning_rate={learning_rate!r}"
            )
        if patience is not None and (
            isinstance(patience, bool) or not isinstance(patience, int) or patience < 0
        ):
            raise ValueError(
                f"`patience` must be an int >= 0 or None. Received: patience={patience!r}"
            )
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"`lr_schedule` must be one of {list(LR_SCHEDULES)}. "
                f"Received: lr_schedule={lr_schedule!r}"
            )
        if isinstance(objective, dict):
            objective = Objective.from_json(objective)
        elif isinstance(objective, str):
            objective = Objective(objective)
        elif objective is None:
            objective = Objective(builder.task.default_objective())
        elif not isinstance(objective, Objective):
            raise ValueError(
                "`objective` must be a metric name, an Objective or None. "
                f"Received: objective={objective!r}"
            )
        self.objective = objective
        self.patience = patience
        self.restore_best = bool(restore_best)
        self.lr_schedule = lr_schedule
        if (
            isinstance(min_steps_per_epoch, bool)
            or not isinstance(min_steps_per_epoch, int)
            or min_steps_per_epoch < 0
        ):
            raise ValueError(
                "`min_steps_per_epoch` must be an int >= 0. "
                f"Received: min_steps_per_epoch={min_steps_per_epoch!r}"
            )
        self.min_steps_per_epoch = min_steps_per_epoch
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
        _check_steps_with_strategy(steps_per_execution, self.distribution_spec, self._strategy)
        self.loss = loss
        self.metrics = metrics
        self.class_weight = _check_class_weight(class_weight)
        self.input_pipeline = input_pipeline
        self.steps_per_execution = steps_per_execution
        self._pipeline = None  # built on first use, in the process that trains

    @property
    def distribution_strategy(self):
        """The `tf.distribute.Strategy` candidates train with (None: TensorFlow's default).

        A strategy given by name or spec is built on first use, in the
        process that trains.
        """
        if self._strategy is None and self.distribution_spec is not None:
            self._strategy = strategy_from_spec(self.distribution_spec)
        return self._strategy

    @property
    def effective_steps_per_execution(self) -> int:
        """The steps per execution candidates compile with: the one given, else 32 (1 with a strategy)."""
        if self.steps_per_execution is not None:
            return self.steps_per_execution
        distributed = self._strategy is not None or self.distribution_spec is not None
        return 1 if distributed else DEFAULT_STEPS_PER_EXECUTION

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
                model,
                architecture,
                learning_rate=self.learning_rate,
                optimizer=self.optimizer,
                loss=self.loss,
                metrics=self.metrics,
                steps_per_execution=self.effective_steps_per_execution,
            )

    def costs(self, model: keras.Model) -> dict:
        """Parameters and FLOPs (and latency when it is constrained or asked for)."""
        costs = {"params": count_params(model), "flops": count_flops(model)}
        if self.measure_latency or self.constraints.max_latency_ms is not None:
            costs["latency_ms"] = measure_latency(model, repeats=10)["median_ms"]
        return costs

    def recipe_callbacks(self, epochs: int) -> tuple[list, Any]:
        """The recipe's callbacks for a `fit` of `epochs` epochs: schedule and best epoch."""
        patience = default_patience(epochs) if self.patience is None else self.patience
        from kerasnas.evaluation.recipe_callbacks import BestEpoch, CosineDecay

        best = BestEpoch(self.objective, patience=patience or None, restore=self.restore_best)
        schedule = [CosineDecay(epochs)] if self.lr_schedule == "cosine" else []
        return [*schedule, best], best

    def fit(
        self, model, architecture, epochs, callbacks=(), initial_epoch=0, data=None, seed=None
    ):
        """Runs `model.fit` on the training data; returns the Keras History.

        Only the callbacks given are added (the recipe's come from
        `recipe_callbacks`, which `evaluate` passes in). `seed` orders the
        shuffled batches of the `"dataset"` pipeline (None: TensorFlow's
        global seed).
        """
        data = data or self.data
        batch_size = int(architecture.get("train.batch_size", self.batch_size))
        all_callbacks = [keras.callbacks.TerminateOnNaN(), *self.callbacks, *callbacks]
        common = dict(
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=all_callbacks,
            verbose=self.verbose,
            class_weight=self.class_weight,
        )
        datasets = self._datasets(data, architecture, batch_size, seed)
        if datasets is not None:
            train, validation = datasets
            # A dataset shuffles itself (Keras warns on shuffle=True with one).
            return model.fit(train, validation_data=validation, shuffle=False, **common)
        x, y = data.train
        sample_weight = getattr(data, "sample_weight", None)
        passes = self._passes(x, batch_size)
        if passes > 1:  # small data: several passes make one epoch (fit shuffles them)
            x, y, sample_weight = (_repeat(v, passes) for v in (x, y, sample_weight))
        return model.fit(
            x,
            y,
            batch_size=batch_size,
            validation_data=data.validation,
            shuffle=True,
            sample_weight=sample_weight,
            **common,
        )

    def _passes(self, x, batch_size: int) -> int:
        """Passes over the training arrays per epoch, so that an epoch has `min_steps_per_epoch`."""
        return max(1, math.ceil(self.min_steps_per_epoch / math.ceil(num_samples(x) / batch_size)))

    def _datasets(self, data: SearchData, architecture, batch_size: int, seed):
        """`(train, validation)` datasets for `fit`, or None to give it the arrays."""
        if data.is_dataset:
            train = data.train
            if "train.batch_size" in architecture:
                train = train.unbatch().batch(batch_size)
            return train, data.validation
        if self.input_pipeline != "dataset":
            return None
        pipeline = self.array_pipeline(data)
        passes = self._passes(data.train[0], batch_size)
        return pipeline.train(batch_size, seed=seed, passes=passes), pipeline.validation(batch_size)

    def array_pipeline(self, data: SearchData | None = None):
        """The `ArrayPipeline` over `data` (default: the search's), built once and reused."""
        from kerasnas.evaluation.pipeline import ArrayPipeline

        data = data or self.data
        if self._pipeline is None or self._pipeline[0] is not data:
            self._pipeline = (data, ArrayPipeline(data))
        return self._pipeline[1]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_pipeline"] = None  # tensors stay in the process that made them
        return state

    def evaluate(self, architecture: Architecture, context: TrialContext) -> Evaluation:
        started = time.perf_counter()
        model = self.build(architecture, context.seed)
        built = time.perf_counter()
        costs = self.costs(model)
        self.constraints.check(costs)
        epochs = context.epochs or self.epochs
        recipe, best = self.recipe_callbacks(epochs)
        start = time.perf_counter()
        # The recipe's callbacks go last, so that BestEpoch restores the best
        # weights after anything else (a pruner, a time limit) stopped training.
        history = self.fit(
            model, architecture, epochs, callbacks=[*context.callbacks, *recipe], seed=context.seed
        )
        train_time = time.perf_counter() - start
        # Where the trial's time went (kerasnas.runtime.trial adds its own parts).
        timing = {"build": built - started, "costs": start - built, "fit": train_time}
        logs = history.history
        for i, loss in enumerate(logs.get("loss", [])):
            if not math.isfinite(float(loss)):
                raise TrialFailure(f"the training loss became {loss} at epoch {i + 1}")
        metrics = {k: float(v[-1]) for k, v in logs.items() if v}
        use_best = self.restore_best and best.best_epoch is not None
        if use_best:
            metrics.update({k: v for k, v in best.best_logs.items() if k in metrics})
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
        if use_best:
            info["best_epoch"] = best.best_epoch
        if best.stopped_epoch is not None:
            info["early_stopped"] = {"epoch": best.stopped_epoch, "patience": best.patience}
        if self.distribution_strategy is not None:
            info["distribution"] = describe_strategy(self.distribution_strategy)
        return Evaluation(metrics=metrics, model=model, info=info)

    @classmethod
    def from_config(cls, config: dict, builder: ModelBuilder, data: SearchData, **overrides):
        """Rebuilds an evaluator from `get_config()` (and the builder and data it trains with).

        Settings missing from `config` take this class's defaults, so the
        defaults live in one place. `overrides` replace settings (e.g.
        `epochs` for a final training).

        Example:

        ```python
        import numpy as np
        import kerasnas
        from kerasnas.builder import ModelBuilder
        from kerasnas.data import from_arrays
        data = from_arrays(np.random.rand(64, 8), np.arange(64) % 2)
        space = kerasnas.spaces.ChainSpace(max_layers=1, operations=("dense",))
        builder = ModelBuilder(space, data.input_shape, data.task)
        evaluator = kerasnas.FitEvaluator(builder, data, epochs=3)
        kerasnas.FitEvaluator.from_config(evaluator.get_config(), builder, data).epochs  # 3
        ```
        """
        options = {k: v for k, v in dict(config).items() if k != "class"}
        options.update(overrides)
        if isinstance(options.get("constraints"), dict):
            options["constraints"] = Constraints(**options["constraints"])
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "builder", "data"}
        return cls(builder, data, **{k: v for k, v in options.items() if k in accepted})

    def worker_config(self) -> dict | None:
        """`get_config()` plus what a worker needs that is not JSON, or None with callbacks.

        The user's loss, metrics and class weights travel as the objects
        themselves (pickled by reference when they are not names). A
        subclass whose state `get_config` does not describe should return
        None, so that it is sent whole.

        Example:

        ```python
        import numpy as np
        import kerasnas
        from kerasnas.builder import ModelBuilder
        from kerasnas.data import from_arrays
        data = from_arrays(np.random.rand(64, 8), np.arange(64) % 2)
        space = kerasnas.spaces.ChainSpace(max_layers=1, operations=("dense",))
        evaluator = kerasnas.FitEvaluator(ModelBuilder(space, data.input_shape, data.task), data)
        evaluator.worker_config()["epochs"]  # 5
        ```
        """
        if self.callbacks:
            return None
        config = {k: v for k, v in self.get_config().items() if k != "class"}
        for option in ("loss", "metrics", "class_weight"):
            if getattr(self, option) is not None:
                config[option] = getattr(self, option)
        config["distribution_strategy"] = self.distribution_spec
        return {**config, "verbose": self.verbose}

    def reported_metrics(self) -> set[str] | None:
        """Loss and compiled metrics, with `val_` twins, plus the costs every trial records.

        None (cannot tell) when your own metrics are given by name: Keras
        decides what a name is logged as.
        """
        extra = [] if self.metrics is None else (
            list(self.metrics) if isinstance(self.metrics, (list, tuple)) else [self.metrics])  # fmt: skip
        if any(isinstance(metric, str) for metric in extra):
            return None
        names = ["loss", *_metric_names(self.builder.task.metrics()), *_metric_names(extra)]
        reported = set(names) | {f"val_{name}" for name in names}
        reported |= {"params", "flops", "train_time_s", "latency_ms"}
        return reported

    def get_config(self) -> dict:
        return {
            "class": type(self).__name__,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "optimizer": self.optimizer,
            "objective": self.objective.to_json(),
            "patience": self.patience,
            "restore_best": self.restore_best,
            "lr_schedule": self.lr_schedule,
            "min_steps_per_epoch": self.min_steps_per_epoch,
            "constraints": self.constraints.to_json(),
            "input_pipeline": self.input_pipeline,
            "steps_per_execution": self.steps_per_execution,
            **({"measure_latency": True} if self.measure_latency else {}),
            **self._fit_options_config(),
        }

    def _fit_options_config(self) -> dict:
        """The user's loss, metrics and class weights as JSON (only those set)."""
        config = {}
        if self.loss is not None:
            config["loss"] = describe_keras_object(self.loss)
        if self.metrics is not None:
            metrics = self.metrics if isinstance(self.metrics, (list, tuple)) else [self.metrics]
            config["metrics"] = [describe_keras_object(m) for m in metrics]
        if self.class_weight is not None:
            config["class_weight"] = {str(k): v for k, v in self.class_weight.items()}
        return config


def _check_steps_with_strategy(steps_per_execution, spec, strategy) -> None:
    """Refuses several steps per execution under `MirroredStrategy`, which Keras 3.15 fails."""
    if steps_per_execution is None or steps_per_execution == 1:
        return
    mirrored = (spec or {}).get("name") == "mirrored" or type(strategy).__name__ == (
        "MirroredStrategy"
    )
    if mirrored:
        raise ValueError(
            "`steps_per_execution` above 1 fails under a mirrored distribution strategy "
            "(Keras 3.15's multi-step loop); leave it unset or pass 1. Received: "
            f"steps_per_execution={steps_per_execution!r} with distribution_strategy='mirrored'"
        )


def describe_keras_object(value) -> Any:
    """A loss or metric as JSON: its name, or its Keras config for objects."""
    if isinstance(value, str):
        return value
    if hasattr(value, "get_config"):
        try:
            return {"class": type(value).__name__, "config": value.get_config()}
        except Exception:  # noqa: BLE001 - a custom object without get_config
            pass
    return getattr(value, "__name__", type(value).__name__)


def _check_class_weight(class_weight) -> dict | None:
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict) or not class_weight:
        raise ValueError(
            "`class_weight` must be a dict {class_index: weight}. "
            f"Received: class_weight={class_weight!r}"
        )
    checked = {}
    for key, weight in class_weight.items():
        try:
            index, value = int(key), float(weight)
        except (TypeError, ValueError):
            index, value = None, float("nan")
        if index is None or str(index) != str(key).strip() or not value >= 0:
            raise ValueError(
                "`class_weight` maps class indices to non-negative weights. "
                f"Received: class_weight={class_weight!r}"
            )
        checked[index] = value
    return checked


def _repeat(value, passes: int):
    """`value` (an array, a dict or list of arrays, or None) repeated `passes` times."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: np.concatenate([v] * passes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [np.concatenate([v] * passes) for v in value]
    return np.concatenate([value] * passes)


def _metric_names(metrics) -> list[str]:
    """The names Keras logs compiled metrics under (strings or metric objects)."""
    names = []
    for metric in metrics:
        if isinstance(metric, str):
            names.append({"acc": "accuracy"}.get(metric, metric))
        else:
            names.append(getattr(metric, "name", None) or getattr(metric, "__name__", str(metric)))
    return names


def evaluate_model(model: keras.Model, split, batch_size: int = 256, prefix: str = "test") -> dict:
    """Returns `{prefix}_<metric>` for a compiled model on `(x, y)` or a dataset."""
    if isinstance(split, tuple):
        results = model.evaluate(
            split[0], split[1], batch_size=batch_size, verbose=0, return_dict=True
        )
    else:
        results = model.evaluate(split, verbose=0, return_dict=True)
    return {f"{prefix}_{k}": float(v) for k, v in results.items()}
