"""Training hyperparameters as decisions, searched jointly with the architecture."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kerasnas.spaces.decisions import Categorical, Decision

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
TRAINING_PREFIX = "train."


def _values(parameter: str, values, check, expected: str) -> tuple:
    values = tuple(values)
    if not values:
        raise ValueError(
            f"`{parameter}` needs at least one value, or None to leave it out. "
            f"Received: {parameter}=()"
        )
    for value in values:
        if not check(value):
            raise ValueError(
                f"`{parameter}` values must be {expected}. Received: {value!r} in "
                f"{parameter}={list(values)}"
            )
    return values


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def training_decisions(
    learning_rates: Sequence[float] | None = (3e-4, 1e-3, 3e-3),
    optimizers: Sequence[str] | None = ("adam", "sgd", "rmsprop"),
    batch_sizes: Sequence[int] | None = (32, 64, 128),
    weight_decays: Sequence[float] | None = (0.0, 1e-4, 1e-3),
) -> list[Decision]:
    """Returns decisions for training settings, to add to any space.

    The decisions are named `train.learning_rate`, `train.optimizer`,
    `train.batch_size` and `train.weight_decay`; `FitEvaluator` (and the
    builder's `compile`) read them, so a search varies architecture and
    training settings jointly and records both in each trial's architecture.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.ChainSpace(max_layers=2).with_decisions(
        kerasnas.spaces.training_decisions(batch_sizes=None, weight_decays=None))
    space.sample(0)["train.learning_rate"]
    ```

    Args:
        learning_rates: positive learning rates, or None to leave the
            learning rate to the search's `learning_rate`.
        optimizers: names from `"adam"`, `"adamw"`, `"sgd"`, `"rmsprop"`, or None.
        batch_sizes: positive batch sizes, or None.
        weight_decays: non-negative weight decays, or None.

    Returns:
        A list of `Categorical` decisions.

    Raises:
        ValueError: for empty or invalid values, naming the argument.
    """
    decisions = []
    if learning_rates is not None:
        values = _values(
            "learning_rates", learning_rates, lambda v: _number(v) and v > 0, "positive numbers"
        )
        decisions.append(Categorical("train.learning_rate", values))
    if optimizers is not None:
        values = _values(
            "optimizers", optimizers, lambda v: v in OPTIMIZERS, f"one of {list(OPTIMIZERS)}"
        )
        decisions.append(Categorical("train.optimizer", values))
    if batch_sizes is not None:
        values = _values(
            "batch_sizes",
            batch_sizes,
            lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
            "positive ints",
        )
        decisions.append(Categorical("train.batch_size", values))
    if weight_decays is not None:
        values = _values(
            "weight_decays",
            weight_decays,
            lambda v: _number(v) and v >= 0,
            "non-negative numbers",
        )
        decisions.append(Categorical("train.weight_decay", values))
    if not decisions:
        raise ValueError(
            "training_decisions() needs at least one setting to search; every argument was None."
        )
    return decisions


def with_training(space, choices: Any):
    """Returns `space` with training decisions added, as `kerasnas.search(training_choices=...)` does.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.with_training(
        kerasnas.spaces.darts(), {"learning_rates": (0.025, 0.05), "optimizers": ("sgd",)})
    [d.name for d in space.decisions][-4:]
    # ['train.learning_rate', 'train.optimizer', 'train.batch_size', 'train.weight_decay']
    ```

    Args:
        space: a `SearchSpace`.
        choices: `True` (the defaults of `training_decisions()`), a dict of
            its keyword arguments, a list of decisions, or None/False
            (returns `space` unchanged).

    Raises:
        ValueError: for any other value, or a space that already has a
            decision of the same name.
    """
    if choices is None or choices is False:
        return space
    if choices is True:
        decisions = training_decisions()
    elif isinstance(choices, Mapping):
        decisions = training_decisions(**choices)
    elif isinstance(choices, (list, tuple)) and all(isinstance(d, Decision) for d in choices):
        decisions = list(choices)
    else:
        raise ValueError(
            "`training_choices` must be True, a dict of training_decisions() arguments "
            f"or a list of decisions. Received: training_choices={choices!r}"
        )
    clash = [d.name for d in decisions if d.name in {x.name for x in space.decisions}]
    if clash:
        raise ValueError(
            f"Space '{space.name}' already has the decisions {clash}. "
            f"Received: training_choices={choices!r}"
        )
    return space.with_decisions(decisions)
