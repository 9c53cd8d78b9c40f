"""`ModelBuilder`: architecture encoding → Keras 3 functional model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kerasnas._lazy import keras
from kerasnas.builder.task import Task
from kerasnas.layers.ops import pool_for_head, spatial_rank
from kerasnas.spaces.space import SearchSpace


class ModelBuilder:
    """Turns architectures of a space into Keras 3 functional models.

    The model is `inputs` → optional normalisation → the space's body → head.
    The input layer is named `inputs`; classification models end in layers
    named `logits` and `probabilities`, regression models in `predictions`.

    Example:

    ```python
    import numpy as np
    import kerasnas
    from kerasnas.builder import ModelBuilder, Task
    space = kerasnas.spaces.ChainSpace(max_layers=2)
    builder = ModelBuilder(space, input_shape=(40, 1), task=Task.infer(np.arange(10)))
    model = builder.build(space.sample(0))
    model.summary()
    ```

    Args:
        space: the `SearchSpace`.
        input_shape: shape of one sample, without the batch axis; or a dict
            `{name: shape}` or a list of shapes for models with several
            inputs (spaces that accept them, e.g. `FunctionSpace`). Inputs
            are named after the dict keys (`inputs_0`, ... for a list).
        task: the `Task` (head and loss).
        normalization: optional `(mean, variance)` per channel (last axis),
            baked into the model as a `Normalization` layer so that callers
            feed raw inputs (with several inputs: a dict or list of them).
        target_scaling: for regression, optional `(mean, std)` per target
            of the training targets: the model predicts standardised targets
            and its `predictions` layer rescales them, so training sees
            targets of unit scale and the model returns the user's units.

    Raises:
        ValueError: for an input shape that is not a vector, sequence or image.
    """

    def __init__(
        self,
        space: SearchSpace,
        input_shape,
        task: Task,
        normalization: tuple[Any, Any] | None = None,
        target_scaling: tuple[Any, Any] | None = None,
    ):
        self.space = space
        self.task = task
        self.input_kind, self.input_shape = _check_input_shape(input_shape)
        check = getattr(space, "check_input_shape", None)
        if check is not None:
            check(self.input_kind, self.input_shape)
        # A decisions-only SearchSpace (a search reopened without its code) builds
        # nothing, so it may describe a multi-input search.
        takes_several = getattr(space, "accepts_multiple_inputs", type(space) is SearchSpace)
        if self.input_kind != "single" and not takes_several:
            raise ValueError(
                "Several inputs (a dict or list of input shapes) need a space whose body "
                "takes them: a kerasnas.spaces.FunctionSpace, or a TemplateSpace whose "
                "segments read 'input:NAME'. Received: "
                f"input_shape={input_shape!r} with space {type(space).__name__}"
            )
        self.normalization = None
        if normalization is not None:
            if self.input_kind == "single":
                mean, variance = (np.asarray(v, dtype="float32") for v in normalization)
                self.normalization = (mean, variance)
            else:
                pairs = (
                    normalization.items()
                    if isinstance(normalization, Mapping)
                    else (enumerate(normalization))
                )
                self.normalization = {
                    k: tuple(np.asarray(v, dtype="float32") for v in pair) for k, pair in pairs
                }
                if self.input_kind == "list":
                    self.normalization = [self.normalization[i] for i in sorted(self.normalization)]

        self.target_scaling = None
        if target_scaling is not None and task.kind == "regression":
            mean, std = (np.asarray(v, dtype="float32").reshape(-1) for v in target_scaling)
            self.target_scaling = (mean, std)

    @property
    def multi_input(self) -> bool:
        """Whether models take several named inputs (a dict or a list)."""
        return self.input_kind != "single"

    def _inputs(self):
        """The model's `keras.Input`s and what the body receives."""
        if self.input_kind == "single":
            inputs = keras.Input(shape=self.input_shape, name="inputs")
            x = inputs
            if self.normalization is not None:
                mean, variance = self.normalization
                x = keras.layers.Normalization(mean=mean, variance=variance, name="normalization")(
                    x
                )
            return inputs, x
        if self.input_kind == "dict":
            names = list(self.input_shape)
            shapes = [self.input_shape[k] for k in names]
        else:
            names = [f"inputs_{i}" for i in range(len(self.input_shape))]
            shapes = list(self.input_shape)
        inputs, features = [], []
        for i, (name, shape) in enumerate(zip(names, shapes)):
            tensor = keras.Input(shape=shape, name=name)
            inputs.append(tensor)
            stats = None
            if self.normalization is not None:
                stats = (
                    self.normalization[name] if self.input_kind == "dict" else self.normalization[i]
                )
            if stats is not None:
                tensor = keras.layers.Normalization(
                    mean=stats[0], variance=stats[1], name=f"{name}_normalization"
                )(tensor)
            features.append(tensor)
        if self.input_kind == "dict":
            return dict(zip(names, inputs)), dict(zip(names, features))
        return inputs, features

    def build(self, architecture: Mapping[str, Any]) -> keras.Model:
        """Builds a fresh, uncompiled model for `architecture`.

        Args:
            architecture: an architecture of the builder's space.

        Returns:
            A `keras.Model` (functional API).

        Raises:
            InvalidArchitectureError: if the architecture is not in the space.
        """
        arch = self.space.validate(architecture)
        inputs, x = self._inputs()
        x = self.space.build_body(arch, x)
        if spatial_rank(x) > 0:
            x = pool_for_head(x, "global_avg")
        outputs = self.task.build_head(x, target_scaling=self.target_scaling)
        return keras.Model(inputs, outputs, name=f"kerasnas_{arch.key}")

    def compile(
        self,
        model: keras.Model,
        architecture: Mapping[str, Any] | None = None,
        learning_rate: float = 1e-3,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
        loss: Any = None,
        metrics: Any = None,
        steps_per_execution: int = 1,
    ) -> keras.Model:
        """Compiles `model` with the task's loss and metrics.

        Training decisions in the architecture (`train.learning_rate`,
        `train.optimizer`, `train.weight_decay`) override the arguments.

        Args:
            loss: a Keras loss (name, function or `keras.losses.Loss`)
                instead of the task's.
            metrics: Keras metrics compiled in addition to the task's
                (names, functions or `keras.metrics.Metric` objects; each
                model gets fresh copies of metric objects).
            steps_per_execution: training (and evaluation) steps per call
                of the compiled function (Keras' `compile` option).

        Returns:
            The same model, compiled.
        """
        arch = dict(architecture or {})
        learning_rate = float(arch.get("train.learning_rate", learning_rate))
        optimizer = arch.get("train.optimizer", optimizer)
        weight_decay = float(arch.get("train.weight_decay", weight_decay))
        model.compile(
            optimizer=make_optimizer(optimizer, learning_rate, weight_decay),
            loss=loss if loss is not None else self.task.loss(),
            metrics=_merge_metrics(self.task.metrics(), metrics),
            steps_per_execution=int(steps_per_execution),
        )
        return model

    def get_config(self) -> dict:
        """Returns what is needed to rebuild this builder (but the space)."""
        if self.input_kind == "dict":
            shape: Any = {k: list(v) for k, v in self.input_shape.items()}
        elif self.input_kind == "list":
            shape = [list(v) for v in self.input_shape]
        else:
            shape = list(self.input_shape)
        config = {"input_shape": shape, "task": self.task.to_json()}
        if self.normalization is None:
            return config
        if self.input_kind == "dict":
            config["normalization"] = {
                k: [v.tolist() for v in pair] for k, pair in self.normalization.items()
            }
        elif self.input_kind == "list":
            config["normalization"] = [[v.tolist() for v in pair] for pair in self.normalization]
        else:
            config["normalization"] = [v.tolist() for v in self.normalization]
        if self.target_scaling is not None:
            config["target_scaling"] = [v.tolist() for v in self.target_scaling]
        return config


def make_optimizer(name: str, learning_rate: float, weight_decay: float = 0.0):
    """Returns a Keras optimizer by name (`adam`, `adamw`, `sgd`, `rmsprop`).

    Raises:
        ValueError: for an unknown name.
    """
    name = str(name).lower()
    if name == "adam":
        if weight_decay:
            return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay or 1e-4)
    if name == "sgd":
        return keras.optimizers.SGD(
            learning_rate, momentum=0.9, nesterov=True, weight_decay=weight_decay or None
        )
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, weight_decay=weight_decay or None)
    raise ValueError(
        f"Unknown optimizer; use 'adam', 'adamw', 'sgd' or 'rmsprop'. Received: optimizer={name!r}"
    )


def _check_input_shape(input_shape) -> tuple:
    """Returns `(kind, shape)`: one shape, a dict of shapes or a list of shapes."""

    def one(value, label):
        try:
            shape = tuple(int(d) for d in value)
        except (TypeError, ValueError):
            shape = ()
        if not 1 <= len(shape) <= 3 or any(d < 1 for d in shape):
            raise ValueError(
                "input_shape must describe one sample: (features,), (length, "
                "channels) or (height, width, channels), with positive sizes (or a dict "
                f"or list of such shapes for several inputs). Received: {label}={value!r}"
            )
        return shape

    if isinstance(input_shape, Mapping):
        if not input_shape:
            raise ValueError("input_shape is an empty dict. Received: input_shape={}")
        return "dict", {str(k): one(v, f"input_shape[{k!r}]") for k, v in input_shape.items()}
    if (
        isinstance(input_shape, (list, tuple))
        and input_shape
        and all(isinstance(v, (list, tuple)) for v in input_shape)
    ):
        return "list", [one(v, f"input_shape[{i}]") for i, v in enumerate(input_shape)]
    return "single", one(input_shape, "input_shape")


def _merge_metrics(defaults: list, extra) -> list:
    """The task's metrics plus the user's (fresh copies of metric objects)."""
    if extra is None:
        return list(defaults)
    if isinstance(extra, (str, dict)) or not isinstance(extra, (list, tuple)):
        extra = [extra]
    merged = list(defaults)
    for metric in extra:
        if isinstance(metric, str):
            if metric not in merged:
                merged.append(metric)
        elif isinstance(metric, keras.metrics.Metric):
            merged.append(_fresh_metric(metric))
        else:
            merged.append(metric)
    return merged


def _fresh_metric(metric):
    """A new metric object like `metric` (its state must not leak between models)."""
    try:
        return type(metric).from_config(metric.get_config())
    except Exception:  # noqa: BLE001 - a custom metric without a full get_config
        return metric
