"""SPOS: single-path one-shot NAS with uniform sampling (Guo et al., ECCV 2020)."""

from __future__ import annotations

import time

import numpy as np

from kerasnas.errors import SpaceExhaustedError
from kerasnas.evaluation.base import TrialContext
from kerasnas.objective import Objective
from kerasnas.oneshot.base import OneShotRun, OneShotStrategy, derived_seed
from kerasnas.oneshot.evaluator import SupernetEvaluator
from kerasnas.strategies.evolution import RegularizedEvolution, check_int


class SPOS(OneShotStrategy):
    """Single-path one-shot: uniform path training, then evolution on inherited weights.

    1. **Supernet training.** Every batch trains one path, drawn uniformly
       from the space, so every candidate's shared weights get a fair share
       of the updates.
    2. **Candidate search.** Regularized (aging) evolution proposes
       `candidates` sub-networks; each is scored on the validation split
       with the weights it inherits from the supernet (`SupernetEvaluator`,
       no retraining). Each score is a journal event, so a resumed search
       replays them and evolution continues exactly where it stopped.
    3. The best `top_k` (by shared-weight score) are retrained from scratch
       by the search as ordinary trials.

    Example:

    ```python
    import numpy as np
    import kerasnas
    x = np.random.rand(128, 16, 1).astype("float32")
    y = (x[:, :8].mean(axis=(1, 2)) > x[:, 8:].mean(axis=(1, 2))).astype("int32")
    space = kerasnas.spaces.EdgeCellSpace(
        ("none", "skip_connect", "nor_conv_3x3"), channels=4, cells_per_stage=1, num_stages=1)
    result = kerasnas.search(
        x, y, space=space, strategy="spos", epochs=1,
        strategy_options={"epochs": 2, "candidates": 20, "population_size": 5},
        directory="runs/spos-example", overwrite=True, verbose=0)
    result.best_architecture
    ```

    Args:
        epochs: supernet epochs (None: the search's `epochs`).
        candidates: sub-networks scored by the evolutionary search.
        population_size: evolution's population (and random start).
        sample_size: evolution's tournament size (None: its default).
        **kwargs: the options of `OneShotStrategy` (`top_k`, ...).

    Raises:
        ValueError: for out-of-range options, naming the option.
    """

    name = "spos"

    def __init__(
        self,
        epochs: int | None = None,
        candidates: int = 100,
        population_size: int = 20,
        sample_size: int | None = None,
        **kwargs,
    ):
        super().__init__(epochs=epochs, **kwargs)
        self.candidates = check_int("candidates", candidates, 1)
        self.population_size = check_int("population_size", population_size, 2)
        self.evolution = RegularizedEvolution(self.population_size, sample_size)
        self.sample_size = self.evolution.sample_size

    def _options(self) -> dict:
        return {
            "candidates": self.candidates,
            "population_size": self.population_size,
            "sample_size": self.sample_size,
        }

    def _search(self, run: OneShotRun):
        trainer, supernet = run.trainer, run.supernet
        name = trainer.metric_name
        for epoch in range(run.resumed_epoch + 1, run.epochs + 1):
            start = time.time()
            rng = np.random.default_rng(derived_seed(run.seed, epoch, 2))
            losses, metrics = [], []
            for x, y in run.train_batches(epoch):
                loss, metric = trainer.train_path(x, y, supernet.sample_indices(rng))
                losses.append(loss)
                metrics.append(metric)
            run.end_epoch(
                epoch,
                {"loss": float(np.mean(losses)), name: float(np.mean(metrics))},
                time.time() - start,
            )
        evaluator = SupernetEvaluator(trainer)
        objective = Objective(f"shared_val_{name}", "max" if name == "accuracy" else "min")
        self.evolution.setup(self.space, [objective])
        history = run.candidates("evolution")
        for record in history:
            self.evolution.tell(record)
        for number in range(len(history), self.candidates):
            rng = np.random.default_rng([run.seed, number, 7])
            try:
                arch = self.space.validate(self.evolution.ask(history, rng))
            except SpaceExhaustedError:
                break
            start = time.time()
            evaluation = evaluator.evaluate(arch, TrialContext(number=number, seed=run.seed))
            record = run.candidate(
                number, arch, evaluation.metrics, time.time() - start, "evolution"
            )
            history.append(record)
            self.evolution.tell(record)
            if run.verbose and (number + 1) % max(1, self.candidates // 5) == 0:
                best = max(objective.score(r.metrics) for r in history)
                run.print(
                    f"One-shot spos: {number + 1}/{self.candidates} candidates scored, best "
                    f"shared-weight {objective.name}={abs(best):.4f}"
                )
        return run.rank(history)
