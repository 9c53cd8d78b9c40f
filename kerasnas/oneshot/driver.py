"""`run_one_shot`: a one-shot strategy, then the ordinary retraining trial(s)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from kerasnas.evaluation.fit import FitEvaluator
from kerasnas.oneshot.base import OneShotStrategy, check_one_shot  # noqa: F401 - re-exported
from kerasnas.result import SearchResult
from kerasnas.spaces.space import SearchSpace


def run_one_shot(
    strategy: OneShotStrategy,
    space: SearchSpace,
    evaluator: FitEvaluator,
    objectives: Any,
    directory: str | os.PathLike,
    max_trials: int = 1,
    seed: int = 0,
    overwrite: bool = False,
    keep_best_models: int = 3,
    verbose: int = 1,
    callbacks: Sequence[Any] = (),
    **search_options,
) -> SearchResult:
    """Runs a one-shot search: supernet phase, derivation, retraining from scratch.

    `kerasnas.search(..., strategy="darts" | "enas" | "spos")` calls this.
    The retraining is an ordinary `kerasnas.Search` trial with `evaluator`,
    so the result's best model is a standalone functional Keras model.

    Example:

    ```python
    import numpy as np
    import kerasnas
    x = np.random.rand(128, 16, 1).astype("float32")
    y = (x[:, :8].mean(axis=(1, 2)) > x[:, 8:].mean(axis=(1, 2))).astype("int32")
    space = kerasnas.spaces.EdgeCellSpace(
        ("none", "skip_connect", "nor_conv_3x3"), channels=4, cells_per_stage=1, num_stages=1)
    from kerasnas.builder import ModelBuilder
    from kerasnas.data import from_arrays
    from kerasnas.oneshot import SPOS, run_one_shot
    data = from_arrays(x, y)
    builder = ModelBuilder(space, data.input_shape, data.task, data.normalization)
    result = run_one_shot(
        SPOS(epochs=1, candidates=10), space, kerasnas.FitEvaluator(builder, data, epochs=1),
        "val_accuracy", "runs/spos-driver", overwrite=True, verbose=0)
    result.best_model.summary()
    ```

    Args:
        strategy: a `DARTS`, `ENAS` or `SPOS` instance.
        space: the search space.
        evaluator: the `FitEvaluator` that retrains derived architectures
            (its data and settings also train the supernet).
        objectives: the search objective(s), as for `kerasnas.Search`.
        directory: the search directory.
        max_trials: retrain at most this many derived architectures (also
            at most `strategy.top_k`).
        seed: the search seed.
        overwrite: discard a previous search in `directory`.
        keep_best_models: trained models kept on disk.
        verbose: 0 silent, 1 one line per supernet epoch and trial.
        callbacks: Keras callbacks for the retraining `fit`.
        **search_options: other `kerasnas.Search` arguments for the
            retraining trials (`executor`, `trial_timeout`, `tensorboard`,
            `progress_bar`, ...).

    Returns:
        A `SearchResult` whose trials are the retrained architectures.

    Raises:
        ValueError: for an evaluator that does not train on data, or a
            space the supernets do not support (naming it).
    """
    from kerasnas.search import Search

    if not isinstance(strategy, OneShotStrategy):
        raise ValueError(
            f"`strategy` must be a one-shot strategy (DARTS, ENAS or SPOS). "
            f"Received: strategy={strategy!r}"
        )
    search = Search(
        space,
        strategy,
        evaluator,
        objectives,
        directory,
        max_trials=check_one_shot(strategy, space, evaluator, max_trials),
        seed=seed,
        builder=getattr(evaluator, "builder", None),
        data=getattr(evaluator, "data", None),
        overwrite=overwrite,
        keep_best_models=keep_best_models,
        verbose=verbose,
        callbacks=callbacks,
        **search_options,
    )
    return search.run()
