"""`SupernetEvaluator`: scores an architecture with a trained supernet's shared weights."""

from __future__ import annotations

import time

from kerasnas.evaluation.base import Evaluation, Evaluator, TrialContext
from kerasnas.oneshot.training import SupernetTrainer
from kerasnas.spaces.space import Architecture


class SupernetEvaluator(Evaluator):
    """Scores architectures on the validation split with inherited supernet weights.

    Nothing is trained: the architecture's path through the supernet is
    evaluated as is (batch statistics for normalisation, no dropout). SPOS
    uses it to search the trained supernet; you may also hand it to a
    `kerasnas.Search` with any strategy (objective `shared_val_accuracy`,
    or `shared_val_mae` for regression).

    Example:

    ```python
    # supernet trained by kerasnas.oneshot (see SPOS); `trainer` is its SupernetTrainer
    # evaluator = SupernetEvaluator(trainer)
    # evaluator.evaluate(space.sample(0), TrialContext(0, 0)).metrics
    ```

    Args:
        trainer: the `SupernetTrainer` holding the trained supernet and data.

    Returns (of `evaluate`):
        An `Evaluation` with `shared_val_loss`, `shared_val_accuracy` (or
        `shared_val_mae`) and `eval_time_s`.
    """

    def __init__(self, trainer: SupernetTrainer):
        self.trainer = trainer

    def evaluate(self, architecture: Architecture, context: TrialContext) -> Evaluation:
        supernet = self.trainer.supernet
        start = time.perf_counter()
        result = self.trainer.evaluate_path(supernet.encode(architecture))
        name = self.trainer.metric_name
        metrics = {
            "shared_val_loss": result["loss"],
            f"shared_val_{name}": result[name],
            "eval_time_s": time.perf_counter() - start,
        }
        return Evaluation(metrics=metrics)

    def get_config(self) -> dict:
        return {"class": type(self).__name__, "space": self.trainer.supernet.space.name}
