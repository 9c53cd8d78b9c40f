"""The default training recipe: a cosine learning-rate decay and the best epoch's weights.

Two Keras callbacks that `FitEvaluator` adds to every candidate's `fit`
(in `kerasnas.evaluation.recipe_callbacks`, which loads Keras; this module
does not):

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
