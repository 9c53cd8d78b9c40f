"""The `Search` orchestrator and the `kerasnas.search(...)` front door."""

from __future__ import annotations

import gc
import os
import pathlib
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kerasnas import spaces as spaces_lib
from kerasnas import strategies as strategies_lib
from kerasnas.builder.builder import ModelBuilder
from kerasnas.data import SearchData, resolve_data
from kerasnas.errors import (
    ConstraintViolation,
    SearchAborted,
    SpaceExhaustedError,
)
from kerasnas.evaluation.base import CallableEvaluator, Evaluator, TrialContext
from kerasnas.evaluation.constraints import Constraints
from kerasnas.evaluation.fit import FitEvaluator
from kerasnas.objective import Objective, as_objectives
from kerasnas.pareto import pareto_front
from kerasnas.result import SearchResult
from kerasnas.runtime.directory import SearchDirectory
from kerasnas.runtime.progress import ProgressPrinter
from kerasnas.runtime.records import COMPLETED, FAILED, REJECTED, TrialRecord
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.strategies.base import Strategy


def trial_seed(seed: int, number: int) -> int:
    """The seed of trial `number` in a search seeded with `seed`."""
    return int(np.random.SeedSequence([int(seed), int(number)]).generate_state(1)[0] % (2**31))


def trial_rng(seed: int, number: int) -> np.random.Generator:
    """The random generator a strategy gets for trial `number`."""
    return np.random.default_rng([int(seed), int(number), 7])


class Search:
    """Runs ask → validate → evaluate → tell, writing every step to the journal.

    The journal in `directory` is the single source of truth: running a
    `Search` again on the same directory resumes it (finished trials are
    replayed through the strategy, a trial that was cut short is run again
    once), so the same seed yields the same trials as an uninterrupted run.

    Example:

    ```python
    import tempfile
    import kerasnas
    space = kerasnas.spaces.ChainSpace(max_layers=3)
    search = kerasnas.Search(
        space,
        kerasnas.strategies.RandomSearch(),
        kerasnas.evaluation.CallableEvaluator(lambda a: a["num_layers"], "depth"),
        objective="depth",
        directory=tempfile.mkdtemp(),
        max_trials=5,
        verbose=0,
    )
    result = search.run()
    result.best_trial.metrics["depth"]  # 3.0
    ```

    Args:
        space: the `SearchSpace`.
        strategy: the `Strategy`.
        evaluator: the `Evaluator`.
        objective: metric name, `Objective`, or a list for multi-objective
            strategies (the first one ranks "best").
        directory: the search directory (journal, settings, kept models).
        max_trials: trials to finish (completed or failed; candidates
            rejected by constraints before training do not count).
        seed: the search seed.
        builder: the `ModelBuilder`, needed to load kept models and export.
        data: the `SearchData`, used for final test metrics and exports.
        overwrite: start fresh even if `directory` holds a search.
        keep_best_models: how many trained models to keep on disk (the best
            by the first objective; with several objectives, the models of
            the Pareto front are kept too); 0 keeps none.
        max_consecutive_failures: stop with `SearchAborted` after this many
            failed trials in a row.
        verbose: 0 silent, 1 one line per trial, 2 more detail.
        settings: extra JSON settings to store (and check on resume).

    Raises:
        IncompatibleSearchError: when `directory` holds a search with other
            settings and `overwrite` is False.
    """

    def __init__(
        self,
        space: SearchSpace,
        strategy: Strategy,
        evaluator: Evaluator,
        objective: Any,
        directory: str | os.PathLike,
        max_trials: int = 10,
        seed: int = 0,
        builder: ModelBuilder | None = None,
        data: SearchData | None = None,
        overwrite: bool = False,
        keep_best_models: int = 3,
        max_consecutive_failures: int = 10,
        max_consecutive_rejections: int = 500,
        verbose: int = 1,
        settings: dict | None = None,
        callbacks: Sequence[Any] = (),
    ):
        if not isinstance(max_trials, int) or isinstance(max_trials, bool) or max_trials < 1:
            raise ValueError(
                f"`max_trials` must be a positive int. Received: max_trials={max_trials!r}"
            )
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise ValueError(f"`seed` must be an int. Received: seed={seed!r}")
        if not isinstance(keep_best_models, int) or keep_best_models < 0:
            raise ValueError(
                f"`keep_best_models` must be an int >= 0. Received: keep_best_models={keep_best_models!r}"
            )
        if not isinstance(space, SearchSpace):
            raise ValueError(f"`space` must be a SearchSpace. Received: space={space!r}")
        if not isinstance(strategy, Strategy):
            raise ValueError(f"`strategy` must be a Strategy. Received: strategy={strategy!r}")
        if not isinstance(evaluator, Evaluator):
            raise ValueError(f"`evaluator` must be an Evaluator. Received: evaluator={evaluator!r}")
        self.space = space
        self.strategy = strategy
        self.evaluator = evaluator
        self.objectives = as_objectives(objective)
        self.objective = self.objectives[0]
        self.max_trials = max_trials
        self.seed = int(seed)
        self.builder = builder
        self.data = data
        self.keep_best_models = keep_best_models
        self.max_consecutive_failures = max_consecutive_failures
        self.max_consecutive_rejections = max_consecutive_rejections
        self.verbose = verbose
        self.callbacks = list(callbacks)
        self.directory = SearchDirectory(directory)
        self.settings = self._settings(settings or {})
        stored = self.directory.read_settings()
        if overwrite:
            self.directory.clear()
        elif stored is not None:
            self.directory.check_compatible(stored, self.settings)
        self.strategy.setup(space, self.objectives)
        self.history: list[TrialRecord] = []

    # ---------------------------------------------------------------- setup
    def _settings(self, extra: dict) -> dict:
        settings = {
            "space_fingerprint": self.space.fingerprint(),
            "space": self.space.get_config(),
            "strategy": self.strategy.get_config(),
            "objectives": [o.to_json() for o in self.objectives],
            "seed": self.seed,
            "evaluator": self.evaluator.get_config(),
        }
        if self.data is not None:
            settings["data"] = self.data.describe()
        if self.builder is not None:
            settings["builder"] = self.builder.get_config()
        settings.update(extra)
        return settings

    # ------------------------------------------------------------------ run
    def run(self) -> SearchResult:
        """Runs (or resumes) the search until `max_trials` trials have finished.

        Returns:
            A `SearchResult`.

        Raises:
            SearchAborted: after too many failures in a row.
        """
        self.directory.write_settings(self.settings)
        journal = self.directory.journal
        finished, running = journal.replay()
        self.history = []
        for record in finished:
            self._remember(record)
        progress = ProgressPrinter(self.objective, self.max_trials, self.verbose)
        if finished or running:
            progress.print(
                f"Resuming search in '{self.directory.path}': {len(finished)} trials "
                f"finished, {len(running)} to retry."
            )
        else:
            journal.append({"event": "search_started", "settings": self.settings})
        for number in sorted(running):
            event = running[number]
            arch = Architecture(event["architecture"])
            attempt = int(event.get("attempt", 1))
            if attempt >= 2:
                record = TrialRecord(
                    number=number,
                    architecture=arch,
                    status=FAILED,
                    key=event.get("key", ""),
                    seed=int(event.get("seed", 0)),
                    started_at=float(event.get("time", 0.0)),
                    error="the process died during this trial twice",
                    attempt=attempt,
                )
                journal.append({"event": "trial_finished", "record": record.to_json()})
                self._remember(record)
            else:
                self._run_trial(number, arch, attempt + 1, progress)
        consecutive_rejections = 0
        while self._counted() < self.max_trials:
            number = self._next_number()
            rng = trial_rng(self.seed, number)
            try:
                arch = self.strategy.ask(list(self.history), rng)
            except SpaceExhaustedError as e:
                progress.print(f"Stopping early: {e}")
                journal.append({"event": "space_exhausted", "message": str(e)})
                break
            arch = self.space.validate(arch)
            record = self._run_trial(number, arch, 1, progress)
            if record.status == REJECTED:
                consecutive_rejections += 1
                if consecutive_rejections >= self.max_consecutive_rejections:
                    raise SearchAborted(
                        f"{consecutive_rejections} candidates in a row broke the constraints "
                        f"(last: {record.error}); loosen them or narrow the space."
                    )
            else:
                consecutive_rejections = 0
            self._check_failures()
        journal.append({"event": "search_finished", "trials": len(self.history)})
        return SearchResult(
            directory=self.directory.path,
            space=self.space,
            objectives=self.objectives,
            trials=list(self.history),
            builder=self.builder,
            data=self.data,
            settings=self.settings,
        )

    def _counted(self) -> int:
        return sum(1 for r in self.history if r.status != REJECTED)

    def _next_number(self) -> int:
        return max((r.number for r in self.history), default=-1) + 1

    def _remember(self, record: TrialRecord) -> None:
        self.history.append(record)
        self.strategy.tell(record)

    def _check_failures(self) -> None:
        streak = 0
        for record in reversed(self.history):
            if record.status == FAILED:
                streak += 1
            elif record.status == COMPLETED:
                break
        if streak >= self.max_consecutive_failures:
            last = self.history[-1]
            raise SearchAborted(
                f"{streak} trials failed in a row; the last one: {last.error}. "
                f"See the journal in '{self.directory.path}'."
            )

    # ---------------------------------------------------------------- trial
    def _run_trial(
        self, number: int, arch: Architecture, attempt: int, progress: ProgressPrinter
    ) -> TrialRecord:
        journal = self.directory.journal
        seed = trial_seed(self.seed, number)
        key = self.space.canonical_key(arch)
        started = time.time()
        journal.append(
            {
                "event": "trial_started",
                "trial": number,
                "attempt": attempt,
                "architecture": dict(arch),
                "key": key,
                "seed": seed,
            }
        )
        context = TrialContext(
            number=number,
            seed=seed,
            directory=self.directory.trial_dir(number),
            callbacks=list(self.callbacks),
        )
        evaluation = None
        metrics: dict = {}
        info: dict = {}
        error = None
        try:
            evaluation = self.evaluator.evaluate(arch, context)
            metrics = dict(evaluation.metrics)
            info = dict(evaluation.info)
            status = COMPLETED
        except ConstraintViolation as e:
            status, error, metrics = REJECTED, str(e), dict(e.metrics)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as e:  # noqa: BLE001 - any candidate error fails only its trial
            status = FAILED
            error = f"{type(e).__name__}: {e}"
            info["traceback"] = traceback.format_exc(limit=8)[-4000:]
        record = TrialRecord(
            number=number,
            architecture=arch,
            status=status,
            metrics=metrics,
            key=key,
            seed=seed,
            started_at=started,
            duration_s=time.time() - started,
            error=error,
            attempt=attempt,
            info=info,
        )
        missing = None
        if record.ok and self.objective.value(metrics) is None:
            missing = self.objective.name
            record.status = FAILED
            record.error = (
                f"objective '{missing}' is not among the trial's metrics "
                f"{sorted(metrics)} (or is not a finite number)"
            )
        if record.ok and evaluation is not None and evaluation.model is not None:
            self._keep_model(record, evaluation.model)
        journal.append({"event": "trial_finished", "record": record.to_json()})
        self._remember(record)
        self._prune_models()
        best = self.best_trial()
        progress.trial(record, self.space.describe(arch), self._counted(), best)
        if evaluation is not None and evaluation.model is not None:
            del evaluation
            _release_keras_memory()
        if missing is not None and not any(r.ok for r in self.history):
            names = sorted(metrics)
            raise ValueError(
                f"The objective is not a metric the trials report. Available metrics: "
                f"{names}. Received: objective={missing!r}"
            )
        return record

    def best_trial(self) -> TrialRecord | None:
        """The completed trial with the best objective value so far."""
        completed = [r for r in self.history if r.ok]
        if not completed:
            return None
        return max(completed, key=lambda r: (self.objective.score(r.metrics), -r.number))

    def _keep_model(self, record: TrialRecord, model) -> None:
        if self.keep_best_models <= 0:
            return
        ranked = sorted(
            (r for r in self.history if r.ok and r.info.get("model_path")),
            key=lambda r: self.objective.score(r.metrics),
            reverse=True,
        )
        if len(ranked) >= self.keep_best_models:
            worst_kept = ranked[self.keep_best_models - 1]
            if self.objective.score(record.metrics) <= self.objective.score(
                worst_kept.metrics
            ) and record.number not in self._pareto_numbers([*self.history, record]):
                return
        path = self.directory.model_path(record.number)
        path.parent.mkdir(parents=True, exist_ok=True)
        model.save(path)
        record.info["model_path"] = str(path.relative_to(self.directory.path))

    def _prune_models(self) -> None:
        kept = sorted(
            (r for r in self.history if r.ok and r.info.get("model_path")),
            key=lambda r: (self.objective.score(r.metrics), -r.number),
            reverse=True,
        )
        extra = kept[self.keep_best_models :]
        pareto_numbers = self._pareto_numbers(self.history) if extra else set()
        for record in extra:
            if record.number in pareto_numbers:
                continue
            path = self.directory.path / record.info["model_path"]
            if path.exists():
                path.unlink()
                try:
                    path.parent.rmdir()
                except OSError:
                    pass

    def _pareto_numbers(self, records) -> set:
        """Trial numbers on the Pareto front (none with a single objective)."""
        if len(self.objectives) < 2:
            return set()
        return {r.number for r in pareto_front(records, self.objectives)}


def _release_keras_memory() -> None:
    import keras

    keras.backend.clear_session(free_memory=True)
    gc.collect()


# ---------------------------------------------------------------------------
# The front door
# ---------------------------------------------------------------------------
def search(
    x=None,
    y=None,
    *,
    validation_data=None,
    data=None,
    test_data=None,
    space: str | SearchSpace = "chain",
    strategy: str | Strategy = "random",
    objective: Any = None,
    max_trials: int = 10,
    epochs: int = 5,
    batch_size: int = 64,
    directory: str | os.PathLike | None = None,
    seed: int = 0,
    evaluator: Callable | Evaluator | None = None,
    task: str | None = None,
    validation_split: float = 0.1,
    learning_rate: float = 1e-3,
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
            or a `Strategy`.
        objective: the metric to optimise; defaults to `val_accuracy` for
            classification and `val_mae` for regression (with `evaluator=`,
            the callable's float result is recorded under this name,
            `"score"` by default).
        max_trials: trials to run.
        epochs: training epochs per candidate.
        batch_size: training batch size.
        directory: the search directory; the same call on the same directory
            resumes. Defaults to `kerasnas_runs/<space>-<strategy>-seed<seed>`.
        seed: same seed, same search.
        evaluator: a callable `fn(architecture) -> float | dict` (nothing is
            trained and no data is needed) or an `Evaluator`.
        task: force `"classification"` or `"regression"`.
        validation_split: fraction held out when no validation data is given.
        learning_rate: Adam's learning rate for candidates.
        optimizer: `"adam"`, `"adamw"`, `"sgd"` or `"rmsprop"`.
        max_params: reject candidates with more weights, before training
            (with a callable `evaluator`, checked against the `params` it
            returns; rejected candidates do not count towards `max_trials`).
        max_flops: reject candidates with more FLOPs per sample.
        max_latency_ms: reject candidates slower than this (median batch-1
            CPU; measured too when `latency_ms` is an objective).
        normalize: bake per-channel normalisation of the training inputs into
            every model, so they take raw inputs.
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
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"`epochs` must be a positive int. Received: epochs={epochs!r}")
    constraints = Constraints(max_params, max_flops, max_latency_ms)
    strategy_obj = strategies_lib.get(strategy, **(strategy_options or {}))
    if evaluator is not None:
        if x is not None or data is not None:
            raise ValueError(
                "With `evaluator=`, nothing is trained: pass no data. "
                f"Received: evaluator={evaluator!r} and data"
            )
        objectives = as_objectives(objective or "score")
        space_obj = spaces_lib.get(space, **(space_options or {}))
        space_obj = spaces_lib.with_training(space_obj, training_choices)
        if isinstance(evaluator, Evaluator):
            if constraints.active:
                raise ValueError(
                    "max_params/max_flops/max_latency_ms apply to training and to callables; "
                    f"give an Evaluator its own limits. Received: evaluator={evaluator!r} "
                    f"with {constraints.to_json()}"
                )
            evaluator_obj = evaluator
        elif callable(evaluator):
            evaluator_obj = CallableEvaluator(evaluator, objectives[0].name, constraints)
        else:
            raise ValueError(
                f"`evaluator` must be a callable or an Evaluator. Received: evaluator={evaluator!r}"
            )
        builder, search_data = None, None
    else:
        search_data = resolve_data(
            x,
            y,
            validation_data=validation_data,
            data=data,
            test_data=test_data,
            validation_split=validation_split,
            task=task,
            batch_size=batch_size,
            seed=seed,
        )
        objectives = as_objectives(objective or search_data.task.default_objective())
        space_obj = spaces_lib.get(
            space, input_shape=search_data.input_shape, **(space_options or {})
        )
        space_obj = spaces_lib.with_training(space_obj, training_choices)
        builder = ModelBuilder(
            space_obj,
            search_data.input_shape,
            search_data.task,
            normalization=search_data.normalization if normalize else None,
        )
        evaluator_obj = FitEvaluator(
            builder,
            search_data,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            optimizer=optimizer,
            constraints=constraints,
            verbose=1 if verbose == 2 else 0,
            measure_latency=any(o.name == "latency_ms" for o in objectives),
        )
    if directory is None:
        directory = pathlib.Path("kerasnas_runs") / (
            f"{space_obj.name}-{strategy_obj.name}-seed{seed}"
        )
    if getattr(strategy_obj, "one_shot", False):
        # DARTS, ENAS and SPOS train a supernet before the (re)training trials.
        from kerasnas.oneshot.driver import run_one_shot

        return run_one_shot(
            strategy_obj,
            space_obj,
            evaluator_obj,
            objectives,
            directory,
            max_trials=max_trials,
            seed=seed,
            overwrite=overwrite,
            keep_best_models=keep_best_models,
            verbose=verbose,
            callbacks=callbacks,
        )
    runner = Search(
        space_obj,
        strategy_obj,
        evaluator_obj,
        objectives,
        directory,
        max_trials=max_trials,
        seed=seed,
        builder=builder,
        data=search_data,
        overwrite=overwrite,
        keep_best_models=keep_best_models,
        verbose=verbose,
        callbacks=callbacks,
    )
    return runner.run()


__all__ = ["Search", "search", "trial_seed", "trial_rng", "Objective"]
