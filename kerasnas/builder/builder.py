"""`ModelBuilder`: architecture encoding → Keras 3 functional model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kerasnas._lazy import keras
from kerasnas.builder.ops import pool_for_head, spatial_rank
from kerasnas.builder.task import Task
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
        input_shape: shape of one sample, without the batch axis.
        task: the `Task` (head and loss).
        normalization: optional `(mean, variance)` per channel (last axis),
            baked into the model as a `Normalization` layer so that callers
            feed raw inputs.

    Raises:
        ValueError: for an input shape that is not a vector, sequence or image.
    """

    def __init__(
        self,
        space: SearchSpace,
        input_shape: Sequence[int],
        task: Task,
        normalization: tuple[Any, Any] | None = None,
    ):
        input_shape = tuple(int(d) for d in input_shape)
        if not 1 <= len(input_shape) <= 3 or any(d < 1 for d in input_shape):
            raise ValueError(
                "input_shape must describe one sample: (features,), (length, "
                "channels) or (height, width, channels), with positive sizes. "
                f"Received: input_shape={input_shape}"
            )
        self.space = space
        self.input_shape = input_shape
        self.task = task
        self.normalization = None
        if normalization is not None:
            mean, variance = (np.asarray(v, dtype="float32") for v in normalization)
            self.normalization = (mean, variance)

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
        inputs = keras.Input(shape=self.input_shape, name="inputs")
        x = inputs
        if self.normalization is not None:
            mean, variance = self.normalization
            x = keras.layers.Normalization(mean=mean, variance=variance, name="normalization")(x)
        x = self.space.build_body(arch, x)
        if spatial_rank(x) > 0:
            x = pool_for_head(x, "global_avg")
        outputs = self.task.build_head(x)
        return keras.Model(inputs, outputs, name=f"kerasnas_{arch.key}")

    def compile(
        self,
        model: keras.Model,
        architecture: Mapping[str, Any] | None = None,
        learning_rate: float = 1e-3,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
    ) -> keras.Model:
        """Compiles `model` with the task's loss and metrics.

        Training decisions in the architecture (`train.learning_rate`,
        `train.optimizer`, `train.weight_decay`) override the arguments.

        Returns:
            The same model, compiled.
        """
        arch = dict(architecture or {})
        learning_rate = float(arch.get("train.learning_rate", learning_rate))
        optimizer = arch.get("train.optimizer", optimizer)
        weight_decay = float(arch.get("train.weight_decay", weight_decay))
        model.compile(
            optimizer=make_optimizer(optimizer, learning_rate, weight_decay),
            loss=self.task.loss(),
            metrics=self.task.metrics(),
        )
        return model

    def get_config(self) -> dict:
        """Returns what is needed to rebuild this builder (but the space)."""
        config = {"input_shape": list(self.input_shape), "task": self.task.to_json()}
        if self.normalization is not None:
            config["normalization"] = [v.tolist() for v in self.normalization]
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
