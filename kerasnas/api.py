"""The front door: `kerasnas.search(...)` resolves names and defaults into the loop's pieces.

Each resolver turns one group of arguments into one object (the data, the
space, the evaluator, the executor, the pruner); `search` then hands them to
`kerasnas.Search`, the loop. Nothing here runs trials.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

from kerasnas import spaces as spaces_lib
from kerasnas import strategies as strategies_lib
from kerasnas.builder.builder import ModelBuilder
from kerasnas.data import resolve_data
from kerasnas.evaluation.base import CallableEvaluator, Evaluator
from kerasnas.evaluation.constraints import Constraints
from kerasnas.evaluation.fit import FitEvaluator
from kerasnas.evaluation.recipe import auto_batch_size
from kerasnas.objective import as_objectives
from kerasnas.result import SearchResult
from kerasnas.runtime.executors import Executor, choose_executor
from kerasnas.runtime.pruning import Pruner, get_pruner
from kerasnas.search import Search
from kerasnas.spaces.space import SearchSpace
from kerasnas.strategies.base import Strategy
from kerasnas.validation import check_int


def default_strategy(objective: Any = None) -> str:
    """The strategy `search` uses when none is given: BANANAS, or NSGA-II for several objectives.

    Example:

    ```python
    from kerasnas.api import default_strategy
    default_strategy("val_accuracy")  # 'bananas'
    default_strategy(["val_accuracy", "params"])  # 'nsga2'
    ```

    Args:
        objective: the `objective=` argument of `search` (None: the task's
            single default objective).

    Returns:
        A strategy name.
    """
    several = objective is not None and len(as_objectives(objective)) > 1
    return "nsga2" if several else "bananas"


def search(
    x=None,
    y=None,
    *,
    validation_data=None,
    data=None,
    test_data=None,
    space: str | SearchSpace = "chain",
    strategy: str | Strategy | None = None,
    objective: Any = None,
    max_trials: int = 10,
    epochs: int = 15,
    batch_size: int | None = None,
    directory: str | os.PathLike | None = None,
    seed: int = 0,
    evaluator: Callable | Evaluator | None = None,
    task: str | None = None,
    validation_split: float = 0.1,
    learning_rate: float = 3e-3,
    optimizer: str = "adam",
    max_params: int | None = None,
    max_flops: int | None = None,
    max_latency_ms: float | None = None,
    normalize: bool = True,
    callbacks: Sequence[Any] = (),
    keep_best_models: int = 3,
    overwrite: bool = False,
    verbose: int = 1,
    strategy_options: dict | None = None,
    space_options: dict | None = None,
    training_choices: Any = None,
    executor: str | Executor = "auto",
    workers: int | None = None,
    max_memory_mb: float | None = None,
    ray_address: str | None = None,
    distribution_strategy: Any = None,
    trial_timeout: float | None = None,
    pruner: str | Pruner | None = None,
    pruner_options: dict | None = None,
    proxy: str | None = None,
    proxy_candidates: int = 8,
    tensorboard: bool | str | os.PathLike | None = None,
    progress_bar: bool | None = None,
    warm_start: bool | Sequence[dict] = True,
    patience: int | None = None,
    loss: Any = None,
    metrics: Any = None,
    class_weight: dict | None = None,
    sample_weight: Any = None,
    measure_latency: bool | str = "best",
    steps_per_execution: int | None = None,
) -> SearchResult:
    """Searches for a Keras model for your data. The front door of kerasnas.

    Example:

    ```python
    import numpy as np
    import kerasnas
    x = np.random.rand(200, 16, 1).astype("float32")
    y = (x.mean(axis=(1, 2)) > 0.5).astype("int32")
    result = kerasnas.search(
        x, y, space="chain", strategy="random", max_trials=2, epochs=1,
        directory="runs/doc-example", overwrite=True, verbose=0)
    result.best_architecture
    ```

    Args:
        x: training inputs (numpy array) or a `tf.data.Dataset` of `(x, y)`.
        y: training labels: integer classes, one-hot rows or float targets.
        validation_data: `(x_val, y_val)` or a dataset; if None, a
            `validation_split` fraction of the training data is held out.
        data: instead of `x`/`y`: `"mnist1d"` (generated offline) or
            `"tfds:NAME"` (TensorFlow Datasets, already on disk).
        test_data: optional `(x_test, y_test)` for the final test metrics.
        space: a space name (`"chain"`, and the others listed in
            `kerasnas.spaces.SPACE_NAMES`) or a `SearchSpace`.
        strategy: a strategy name (see `kerasnas.strategies.STRATEGY_NAMES`)
            or a `Strategy`. None: `"bananas"` (predictor-guided search, the
            most sample-efficient across the benchmarks we ran: the README's
            "Local search and predictor-guided search") with one objective,
            `"nsga2"` with several (BANANAS is single-objective).
        objective: the metric to optimise; defaults to `val_accuracy` for
            classification and `val_mae` for regression (with `evaluator=`,
            the callable's float result is recorded under this name,
            `"score"` by default).
        max_trials: trials to run.
        epochs: training epochs per candidate (at most: a candidate stops
            early after `patience` epochs without improvement, and the
            best epoch's weights and metrics are kept).
        batch_size: training batch size; None: 64, or less for small
            training sets (`kerasnas.evaluation.recipe.auto_batch_size`).
        directory: the search directory; the same call on the same directory
            resumes. Defaults to `kerasnas_runs/<space>-<strategy>-seed<seed>`.
        seed: same seed, same search.
        evaluator: a callable `fn(architecture) -> float | dict` (nothing is
            trained and no data is needed) or an `Evaluator`.
        task: force `"classification"` or `"regression"`.
        validation_split: fraction held out when no validation data is given.
        learning_rate: Adam's initial learning rate for candidates (it
            decays along half a cosine over the epochs).
        optimizer: `"adam"`, `"adamw"`, `"sgd"` or `"rmsprop"`.
        max_params: reject candidates with more weights, before training
            (with a callable `evaluator`, checked against the `params` it
            returns; rejected candidates do not count towards `max_trials`).
        max_flops: reject candidates with more FLOPs per sample.
        max_latency_ms: reject candidates slower than this (median batch-1
            CPU; measured too when `latency_ms` is an objective).
        normalize: bake per-channel normalisation of the training inputs into
            every model, so they take raw inputs; for regression, also train
            on standardised targets (mean and standard deviation of the
            training targets) with the inverse baked into the model, so it
            returns, and its metrics report, the targets' own units.
        callbacks: Keras callbacks for every candidate's `fit`.
        keep_best_models: trained models kept on disk (best by objective).
        overwrite: discard a previous search in `directory`.
        verbose: 0 silent, 1 one line per trial, 2 also Keras' progress.
        strategy_options: keyword arguments for a strategy given by name.
        space_options: keyword arguments for a space given by name.
        training_choices: search training settings jointly with the
            architecture: `True` for the defaults of
            `kerasnas.spaces.training_decisions()` (learning rate,
            optimizer, batch size, weight decay), a dict of its arguments,
            or a list of decisions. Each trial's architecture records them.
        executor: where trials run: `"auto"` (the default: worker
            processes for searches of more than 20 trials or with a
            `trial_timeout`, in-process otherwise), `"local"` (in this
            process: instant start, fastest for small searches),
            `"process"` (reusable worker processes, recycled every 25
            trials: flat memory, hard time and memory limits, a crash
            fails only its trial), `"ray"` (Ray actors on this machine or
            a Ray cluster; see `kerasnas.runtime.RayExecutor`), or an
            `Executor`.
        workers: worker processes (`"process"`) or Ray actors (`"ray"`):
            trials in flight.
        max_memory_mb: with `"process"`, kill and fail a trial whose worker
            uses more resident memory than this.
        ray_address: with `"ray"`: None starts a private local Ray bound
            to 127.0.0.1 (or uses this process's Ray if connected);
            `"auto"` or `"ray://host:10001"` use an existing cluster.
        distribution_strategy: train each candidate on several devices: a
            `tf.distribute.Strategy` (e.g. `tf.distribute.MirroredStrategy()`),
            or a name (`"mirrored"`) or spec that worker processes and Ray
            actors build on their own devices (see `kerasnas.distribute`).
        trial_timeout: seconds after which a trial fails and the search
            goes on.
        pruner: stop unpromising trials early, with any strategy:
            `"successive_halving"` (alias `"asha"`), `"hyperband"`,
            `"median"`, or a `kerasnas.runtime.Pruner`. `epochs` is the
            full budget.
        pruner_options: keyword arguments for a pruner given by name (e.g.
            `{"min_epochs": 1, "reduction_factor": 3}`).
        proxy: `"synflow"` or `"naswot"`: rank `proxy_candidates`
            untrained candidates per trial with this zero-cost proxy and
            train only the best.
        proxy_candidates: candidates ranked per trial when `proxy` is set.
        tensorboard: True (logs in `<directory>/tensorboard`) or a log
            directory: per-trial scalars and the HParams dashboard.
        progress_bar: show a progress bar; None shows it in terminals and
            notebooks unless `verbose=0`.
        warm_start: try a few reference architectures first (a small CNN
            for sequences and images, an MLP on the flattened input; MLPs
            and a linear model for vectors: the space's
            `reference_architectures(input_shape)`), then let the strategy
            search; they count towards `max_trials`. True (the default)
            for searches that train models, False to turn it off, or a
            list of architectures to try first (with any evaluator). See
            `kerasnas.strategies.WarmStart`.
        patience: a candidate stops training after this many epochs
            without improvement of the objective; None for
            `max(4, epochs // 3)`, 0 to train every epoch.
        loss: a Keras loss for every candidate (name, function or
            `keras.losses.Loss`) instead of the task's default.
        metrics: Keras metrics compiled into every candidate besides the
            task's (names, functions or `keras.metrics.Metric` objects);
            `objective="val_<name>"` searches on one of them.
        class_weight: `{class_index: weight}` for `fit`, as in Keras.
        sample_weight: one weight per training sample (array data), as in
            Keras's `fit`; split off with the data when `validation_split`
            holds out validation data.

        measure_latency: when to record `latency_ms`, a trained model's
            median batch-1 CPU latency (10 calls of a compiled forward pass
            after warm-up): `"best"` (the default) for each model that beats
            every earlier trial when it is trained, so the search's best
            model always has it; `"kept"` for every model kept on disk (the
            ones you can export); True for every trained model; False never.
            Measuring traces the model once more (0.04-0.09 s for a small
            candidate on a CPU). With latency as an objective or
            `max_latency_ms`, every candidate is measured.
        steps_per_execution: training steps per call of the compiled
            training function, as in Keras' `compile`; None: 32, which
            trains small candidates about twice as fast on a CPU as Keras'
            default of 1 (`benchmarks/RESULTS.md`), or 1 with a
            `distribution_strategy`. Batch-level callbacks and the trial
            time limit act every this many batches.

    `x` may also be a dict `{input_name: array}` or a list of arrays for
    models with several inputs (with a space whose body takes them, e.g.
    `kerasnas.spaces.FunctionSpace` built with the same input names).

    Returns:
        A `SearchResult` with `best_model`, `best_architecture`, `trials`
        and `export(...)`.

    Raises:
        ValueError: for unknown names and data that does not fit, naming
            the parameter and the value received.
        IncompatibleSearchError: when `directory` holds a different search.
    """
    if not isinstance(verbose, int) or verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 0, 1 or 2. Received: verbose={verbose!r}")
    check_int("epochs", epochs, minimum=1)
    fit_options = {"loss": loss, "metrics": metrics, "class_weight": class_weight}
    if steps_per_execution is not None:  # checked by FitEvaluator, before any training
        fit_options["steps_per_execution"] = steps_per_execution
    if class_weight is not None and sample_weight is not None:
        raise ValueError(
            "Pass `class_weight` or `sample_weight`, not both (Keras's fit refuses the pair); "
            "fold the class weights into the sample weights. Received: class_weight="
            f"{class_weight!r} and sample_weight"
        )
    constraints = Constraints(max_params, max_flops, max_latency_ms)
    strategy_obj = strategies_lib.get(
        default_strategy(objective) if strategy is None else strategy, **(strategy_options or {})
    )
    if evaluator is not None:
        for label, value in {**fit_options, "sample_weight": sample_weight}.items():
            if value is not None:
                raise ValueError(
                    f"`{label}` applies to training; with `evaluator=` nothing is trained. "
                    f"Received: {label}={value!r}"
                )
        space_obj, evaluator_obj, objectives = _callable_pieces(
            evaluator, x, data, objective, space, space_options, training_choices,
            constraints, distribution_strategy,
        )  # fmt: skip
        builder, search_data = None, None
    else:
        search_data = resolve_data(
            x, y, validation_data=validation_data, data=data, test_data=test_data,
            validation_split=validation_split, task=task, batch_size=batch_size or 64,
            seed=seed, sample_weight=sample_weight,
        )  # fmt: skip
        if batch_size is None:
            batch_size = auto_batch_size(search_data.num_train())
        objectives = as_objectives(objective or search_data.task.default_objective())
        space_obj = _resolve_space(
            space, space_options, training_choices, search_data.input_shape
        )
        if getattr(strategy_obj, "one_shot", False) and isinstance(space, str):
            space_obj = _one_shot_version(space_obj, search_data, strategy_obj, verbose)
        builder = ModelBuilder(
            space_obj, search_data.input_shape, search_data.task,
            normalization=search_data.normalization if normalize else None,
            target_scaling=search_data.target_scaling if normalize else None,
        )  # fmt: skip
        evaluator_obj = FitEvaluator(
            builder, search_data, epochs=epochs, batch_size=batch_size,
            learning_rate=learning_rate, optimizer=optimizer, constraints=constraints,
            verbose=1 if verbose == 2 else 0,
            measure_latency=any(o.name == "latency_ms" for o in objectives),
            distribution_strategy=distribution_strategy, objective=objectives[0],
            patience=patience, **fit_options,
        )  # fmt: skip
    executor_obj = _resolve_executor(
        executor, evaluator_obj, max_trials, trial_timeout, workers, max_memory_mb, ray_address
    )
    pruner_obj = get_pruner(
        pruner, max_epochs=epochs if evaluator is None else None, **(pruner_options or {})
    )
    if directory is None:
        directory = pathlib.Path("kerasnas_runs") / (
            f"{space_obj.name}-{strategy_obj.name}-seed{seed}"
        )
    references = _warm_start_architectures(
        warm_start, space_obj, search_data, trained=evaluator is None
    )
    if getattr(strategy_obj, "one_shot", False):
        from kerasnas.oneshot.base import check_one_shot

        max_trials = check_one_shot(
            strategy_obj, space_obj, evaluator_obj, max_trials, pruner_obj, proxy
        )
    elif references:
        strategy_obj = strategies_lib.WarmStart(strategy_obj, references)
    runner = Search(
        space_obj, strategy_obj, evaluator_obj, objectives, directory,
        max_trials=max_trials, seed=seed, builder=builder, data=search_data,
        overwrite=overwrite, keep_best_models=keep_best_models, verbose=verbose,
        callbacks=callbacks, executor=executor_obj, trial_timeout=trial_timeout,
        pruner=pruner_obj, proxy=proxy, proxy_candidates=proxy_candidates,
        tensorboard=tensorboard, progress_bar=progress_bar, measure_latency=measure_latency,
    )  # fmt: skip
    return runner.run()


def _resolve_space(space, space_options, training_choices, input_shape=None) -> SearchSpace:
    """The space a name (with options) stands for, with training decisions if asked."""
    if input_shape is None:
        space_obj = spaces_lib.get(space, **(space_options or {}))
    else:
        space_obj = spaces_lib.get(space, input_shape=input_shape, **(space_options or {}))
    return spaces_lib.with_training(space_obj, training_choices)


def _callable_pieces(
    evaluator, x, data, objective, space, space_options, training_choices, constraints,
    distribution_strategy,
):  # fmt: skip
    """Space, evaluator and objectives of a search that trains nothing (`evaluator=`)."""
    if distribution_strategy is not None:
        raise ValueError(
            "`distribution_strategy` applies to training; with `evaluator=` nothing is "
            f"trained. Received: distribution_strategy={distribution_strategy!r}"
        )
    if x is not None or data is not None:
        raise ValueError(
            "With `evaluator=`, nothing is trained: pass no data. "
            f"Received: evaluator={evaluator!r} and data"
        )
    objectives = as_objectives(objective or "score")
    space_obj = _resolve_space(space, space_options, training_choices)
    if isinstance(evaluator, Evaluator):
        if constraints.active:
            raise ValueError(
                "max_params/max_flops/max_latency_ms apply to training and to callables; "
                f"give an Evaluator its own limits. Received: evaluator={evaluator!r} "
                f"with {constraints.to_json()}"
            )
        return space_obj, evaluator, objectives
    if callable(evaluator):
        return space_obj, CallableEvaluator(evaluator, objectives[0].name, constraints), objectives
    raise ValueError(
        f"`evaluator` must be a callable or an Evaluator. Received: evaluator={evaluator!r}"
    )


def _resolve_executor(
    executor, evaluator, max_trials, trial_timeout, workers, max_memory_mb, ray_address
) -> Executor:
    """The executor a name (with worker, memory and Ray settings) stands for."""
    options = {}
    if workers is not None:
        options["workers"] = workers
    if max_memory_mb is not None:
        options["max_memory_mb"] = max_memory_mb
    if ray_address is not None:
        if executor != "ray":
            raise ValueError(
                "`ray_address` is for executor='ray'. "
                f"Received: ray_address={ray_address!r} with executor={executor!r}"
            )
        options["address"] = ray_address
    return choose_executor(
        executor, trains_models=evaluator.produces_models, max_trials=max_trials,
        trial_timeout=trial_timeout, **options,
    )  # fmt: skip


def _one_shot_version(space, data, strategy, verbose: int) -> SearchSpace:
    """A space given by name (the default "chain") becomes its one-shot-compatible version."""
    from kerasnas.oneshot.compat import one_shot_space

    space, note = one_shot_space(space, data.input_shape, getattr(strategy, "max_candidates", 64))
    if note and verbose:
        print(note, flush=True)
    return space


def _warm_start_architectures(warm_start, space, data, trained: bool) -> list:
    """The architectures `search(warm_start=...)` tries first."""
    if warm_start is True:
        if not trained:
            return []
        return list(space.reference_architectures(data.input_shape))
    if warm_start is False or warm_start is None:
        return []
    if isinstance(warm_start, (list, tuple)) and all(isinstance(a, dict) for a in warm_start):
        return [dict(a) for a in warm_start]
    raise ValueError(
        "`warm_start` must be True, False or a list of architectures (dicts). "
        f"Received: warm_start={warm_start!r}"
    )


__all__ = ["search"]
