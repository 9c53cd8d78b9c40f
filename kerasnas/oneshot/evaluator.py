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
    import numpy as np
    import kerasnas
    x = np.random.rand(128, 16, 1).astype("float32")
    y = (x[:, :8].mean(axis=(1, 2)) > x[:, 8:].mean(axis=(1, 2))).astype("int32")
    space = kerasnas.spaces.EdgeCellSpace(
        ("none", "skip_connect", "nor_conv_3x3"), channels=4, cells_per_stage=1, num_stages=1)
    from kerasnas.data import from_arrays
    from kerasnas.evaluation import TrialContext
    from kerasnas.oneshot import SupernetEvaluator, SupernetTrainer, build_supernet
    data = from_arrays(x, y)
    supernet = build_supernet(space, data.input_shape, data.task)
    trainer = SupernetTrainer(supernet, data)
    rng = np.random.default_rng(0)
    for _ in range(5):  # a few single-path steps (SPOS trains this way)
        trainer.train_path(data.train[0][:32], data.train[1][:32], supernet.sample_indices(rng))
    evaluator = SupernetEvaluator(trainer)
    evaluator.evaluate(space.sample(0), TrialContext(0, 0)).metrics
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
