"""Training a chosen architecture from scratch, on training (plus validation) data."""

from __future__ import annotations

import dataclasses

import numpy as np

from kerasnas.data import SearchData
from kerasnas.evaluation.fit import FitEvaluator
from kerasnas.spaces.space import Architecture


def merged_training_data(data: SearchData) -> SearchData:
    """Returns `data` whose training split also holds the validation split.

    The validation split stays as it is, so validation metrics of a model
    trained on the merged data are optimistic; report test metrics instead.
    Several inputs are merged input by input; with per-sample weights, the
    validation samples get weight 1.
    """
    if data.is_dataset:
        return dataclasses.replace(data, train=data.train.concatenate(data.validation))
    x_train, x_val = data.train[0], data.validation[0]
    if isinstance(x_train, dict):
        x = {k: np.concatenate([x_train[k], x_val[k]]) for k in x_train}
    elif isinstance(x_train, (list, tuple)):
        x = [np.concatenate([a, b]) for a, b in zip(x_train, x_val)]
    else:
        x = np.concatenate([x_train, x_val])
    train = (x, np.concatenate([data.train[1], data.validation[1]]))
    weights = data.sample_weight
    if weights is not None:
        # Validation samples carry no weights of their own: they count once each.
        weights = np.concatenate([weights, np.ones(len(data.validation[1]), dtype="float32")])
    return dataclasses.replace(data, train=train, sample_weight=weights)


def train_final_model(
    evaluator: FitEvaluator,
    architecture: Architecture,
    epochs: int,
    seed: int = 0,
    include_validation: bool = False,
):
    """Builds `architecture` with seeded weights and trains it for `epochs`.

    With the evaluator's training recipe: its learning-rate schedule and,
    when the validation split is not trained on, the best epoch's weights
    by the objective (with early stopping). With `include_validation` the
    validation metrics say nothing, so every epoch is trained and the last
    weights kept.

    Example:

    ```python
    # result = kerasnas.search(...)
    # model = train_final_model(evaluator, result.best_architecture, epochs=20)
    ```

    Args:
        evaluator: a `FitEvaluator` (its builder, data and training settings).
        architecture: the architecture to train.
        epochs: training epochs.
        seed: weight and shuffling seed.
        include_validation: also train on the validation split.

    Returns:
        The trained `keras.Model`.
    """
    model = evaluator.build(architecture, seed)
    data = merged_training_data(evaluator.data) if include_validation else evaluator.data
    recipe, _ = evaluator.recipe_callbacks(epochs)
    if include_validation:
        from kerasnas.evaluation.recipe_callbacks import BestEpoch

        recipe = [c for c in recipe if not isinstance(c, BestEpoch)]
    evaluator.fit(model, architecture, epochs, callbacks=recipe, data=data)
    return model
