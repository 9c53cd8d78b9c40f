"""What the model predicts: the head, loss and metrics that follow from the labels."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from kerasnas._lazy import keras

CLASSIFICATION = "classification"
REGRESSION = "regression"


@dataclasses.dataclass(frozen=True)
class Task:
    """The prediction task: classification (sparse or one-hot labels) or regression.

    Usually inferred from the labels by `Task.infer(y)`.

    Example:

    ```python
    import numpy as np
    from kerasnas.builder import Task
    Task.infer(np.array([0, 2, 1]))        # 3-class, integer labels
    Task.infer(np.array([[0.5], [1.5]]))   # regression, one output
    ```

    Attributes:
        kind: `"classification"` or `"regression"`.
        num_classes: number of classes (classification).
        label_format: `"sparse"` (integer labels) or `"one_hot"`.
        output_dim: number of regression targets.
    """

    kind: str
    num_classes: int | None = None
    label_format: str | None = None
    output_dim: int | None = None

    def __post_init__(self):
        if self.kind not in (CLASSIFICATION, REGRESSION):
            raise ValueError(
                f"`task` must be 'classification' or 'regression'. Received: task={self.kind!r}"
            )
        if self.kind == CLASSIFICATION:
            if not isinstance(self.num_classes, int) or self.num_classes < 2:
                raise ValueError(
                    "A classification task needs num_classes >= 2. "
                    f"Received: num_classes={self.num_classes!r}"
                )
            if self.label_format not in ("sparse", "one_hot"):
                raise ValueError(
                    "label_format must be 'sparse' or 'one_hot'. "
                    f"Received: label_format={self.label_format!r}"
                )
        elif not isinstance(self.output_dim, int) or self.output_dim < 1:
            raise ValueError(
                f"A regression task needs output_dim >= 1. Received: output_dim={self.output_dim!r}"
            )

    # --------------------------------------------------------------- infer
    @classmethod
    def infer(cls, y, task: str | None = None, num_classes: int | None = None) -> Task:
        """Infers the task from labels.

        Integer labels of shape `(N,)` or `(N, 1)` mean sparse classification;
        rows of zeros with a single one mean one-hot classification; floats
        mean regression.

        Args:
            y: the training labels (array-like).
            task: force `"classification"` or `"regression"`.
            num_classes: force the number of classes.

        Returns:
            A `Task`.

        Raises:
            ValueError: for labels that fit no task, naming the parameter `y`.
        """
        y = np.asarray(y)
        if y.size == 0:
            raise ValueError(f"`y` is empty. Received: y.shape={y.shape}")
        if task not in (None, CLASSIFICATION, REGRESSION):
            raise ValueError(
                f"`task` must be 'classification', 'regression' or None. Received: task={task!r}"
            )
        if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
            raise ValueError(
                f"`y` must be numeric (integer class labels, one-hot rows or float "
                f"targets). Received: y.dtype={y.dtype}"
            )
        if not np.all(np.isfinite(y)):
            raise ValueError("`y` contains NaN or infinite values.")
        integral = np.issubdtype(y.dtype, np.integer) or y.dtype == bool
        one_hot = (
            y.ndim == 2
            and y.shape[1] > 1
            and np.all((y == 0) | (y == 1))
            and np.all(y.sum(axis=1) == 1)
        )
        sparse_shape = y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)
        if task is None:
            if one_hot:
                task = CLASSIFICATION
            elif integral and sparse_shape:
                task = CLASSIFICATION
            else:
                task = REGRESSION
        if task == REGRESSION:
            return cls(REGRESSION, output_dim=1 if y.ndim == 1 else int(np.prod(y.shape[1:])))
        if one_hot:
            n = int(y.shape[1])
            if num_classes is not None and num_classes != n:
                raise ValueError(
                    f"One-hot labels have {n} columns but num_classes={num_classes}. "
                    f"Received: y.shape={y.shape}"
                )
            return cls(CLASSIFICATION, num_classes=n, label_format="one_hot")
        if not sparse_shape:
            raise ValueError(
                "Classification labels must be integers of shape (N,) or (N, 1), or "
                f"one-hot rows of shape (N, classes). Received: y.shape={y.shape}"
            )
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError(
                "Classification labels must be whole numbers. Received: y with "
                f"non-integer values such as {y.ravel()[np.mod(y.ravel(), 1) != 0][0]!r}"
            )
        if y.min() < 0:
            raise ValueError(
                f"Class labels must be >= 0. Received: a label of {int(y.min())} in `y`"
            )
        n = int(y.max()) + 1 if num_classes is None else int(num_classes)
        if y.max() >= n:
            raise ValueError(
                f"Class labels must be < num_classes={n}. Received: a label of {int(y.max())} in `y`"
            )
        return cls(CLASSIFICATION, num_classes=max(n, 2), label_format="sparse")

    def check_labels(self, y, name: str = "y") -> None:
        """Checks that labels (e.g. validation labels) fit this task.

        Raises:
            ValueError: naming `name` and the offending value.
        """
        y = np.asarray(y)
        if y.size == 0:
            raise ValueError(f"`{name}` is empty. Received: {name}.shape={y.shape}")
        if self.kind == REGRESSION:
            got = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
            if got != self.output_dim:
                raise ValueError(
                    f"`{name}` has {got} targets per sample but the training labels have "
                    f"{self.output_dim}. Received: {name}.shape={y.shape}"
                )
            return
        if self.label_format == "one_hot":
            if y.ndim != 2 or y.shape[1] != self.num_classes:
                raise ValueError(
                    f"`{name}` must be one-hot rows of {self.num_classes} classes like the "
                    f"training labels. Received: {name}.shape={y.shape}"
                )
            return
        if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            raise ValueError(
                f"`{name}` must be integer labels of shape (N,) like the training "
                f"labels. Received: {name}.shape={y.shape}"
            )
        if y.min() < 0 or y.max() >= self.num_classes:
            bad = y.min() if y.min() < 0 else y.max()
            raise ValueError(
                f"`{name}` labels must lie in [0, {self.num_classes - 1}] (the classes "
                f"seen in training). Received: a label of {bad!r} in `{name}`"
            )

    # ---------------------------------------------------------------- head
    def build_head(self, features, target_scaling=None):
        """Adds the output layers to a feature vector.

        Classification: a `Dense` layer named `logits` and a `Softmax` layer
        named `probabilities` (the model's output). Regression: a linear
        `Dense` layer named `predictions`; with `target_scaling=(mean, std)`
        the `Dense` layer (`predictions_standardized`) predicts standardised
        targets and a `Rescaling` layer named `predictions` maps them back
        to the targets' units (`std * z + mean`), so the model is trained
        on targets of unit scale and still returns the user's units.
        """
        if self.kind == CLASSIFICATION:
            logits = keras.layers.Dense(self.num_classes, name="logits")(features)
            return keras.layers.Softmax(name="probabilities", dtype="float32")(logits)
        if target_scaling is None:
            return keras.layers.Dense(self.output_dim, name="predictions", dtype="float32")(
                features
            )
        mean, std = (np.asarray(v, dtype="float64").reshape(-1) for v in target_scaling)
        z = keras.layers.Dense(self.output_dim, name="predictions_standardized")(features)
        scale = [float(v) for v in std] if std.size > 1 else float(std[0])
        offset = [float(v) for v in mean] if mean.size > 1 else float(mean[0])
        return keras.layers.Rescaling(scale, offset, name="predictions", dtype="float32")(z)

    def loss(self) -> str:
        """The Keras loss name for this task."""
        if self.kind == REGRESSION:
            return "mean_squared_error"
        if self.label_format == "one_hot":
            return "categorical_crossentropy"
        return "sparse_categorical_crossentropy"

    def metrics(self) -> list[str]:
        """Keras metric names compiled into every candidate."""
        return ["mae"] if self.kind == REGRESSION else ["accuracy"]

    def default_objective(self) -> str:
        """The objective searched when the user gives none."""
        return "val_mae" if self.kind == REGRESSION else "val_accuracy"

    def output_names(self) -> list[str]:
        """Names of the serving signature's outputs."""
        if self.kind == REGRESSION:
            return ["predictions"]
        return ["logits", "probabilities"]

    # ---------------------------------------------------------------- json
    def to_json(self) -> dict:
        """Returns the task as a JSON-compatible dict."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        """Recreates a task from `to_json()` output."""
        return cls(**data)
