"""The `Search` orchestrator and the `kerasnas.search(...)` front door."""

from __future__ import annotations

import math
import os
import pathlib
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kerasnas import spaces as spaces_lib
from kerasnas import strategies as strategies_lib
from kerasnas.builder.builder import ModelBuilder
from kerasnas.data import SearchData, resolve_data
from kerasnas.errors import SearchAborted, SpaceExhaustedError
from kerasnas.evaluation.base import CallableEvaluator, Evaluator
from kerasnas.evaluation.constraints import Constraints
from kerasnas.evaluation.fit import FitEvaluator
from kerasnas.objective import Objective, as_objectives
from kerasnas.pareto import pareto_front
from kerasnas.result import SearchResult
from kerasnas.runtime.directory import SearchDirectory
from kerasnas.runtime.executors import Executor, LocalExecutor, choose_executor
from kerasnas.runtime.progress import ProgressPrinter
from kerasnas.runtime.pruning import Pruner, get_pruner
from kerasnas.runtime.records import COMPLETED, FAILED, REJECTED, TrialRecord
from kerasnas.runtime.trial import TrialJob, TrialOutcome
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
        verbose: 0 silent, 1 one line per trial (and a progress bar in
            terminals and notebooks), 2 more detail.
        settings: extra JSON settings to store (and check on resume).
        callbacks: Keras callbacks for every candidate's `fit`.
        executor: `"auto"` (the default: `"process"` for searches that
            train models and run more than 20 trials or have a
            `trial_timeout`, else `"local"`), `"local"` (trials in this
            process), `"process"` (reusable worker processes: flat memory,
            hard time and memory limits) or an `Executor`.
        trial_timeout: seconds after which a trial fails (`"local"` stops
            training at the next batch; `"process"` kills the worker).
        pruner: stop unpromising trials early: `"successive_halving"`
            (`"asha"`), `"hyperband"`, `"median"`, a `Pruner`, or None.
        proxy: a zero-cost proxy (`"synflow"`, `"naswot"` or a
            `kerasnas.proxies.ZeroCostProxy`) that ranks `proxy_candidates`
            architectures proposed by the strategy; only the best is trained.
        proxy_candidates: candidates ranked per trial when `proxy` is set.
        tensorboard: a log directory (or True for `<directory>/tensorboard`)
            for per-trial scalars and the HParams dashboard.
        progress_bar: show a progress bar (None: in terminals and notebooks
            when `verbose >= 1`).
        measure_latency: when to record a trained model's median batch-1
            CPU latency as `latency_ms` (10 calls of a compiled forward
            pass after warm-up, about 0.1-0.3 s): `"kept"` (the default)
            for the models kept on disk, measured once before saving, so
            every model you can export has it; True for every trained
            model; False never. A latency objective or limit measures every
            model regardless.

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
        executor: str | Executor = "auto",
        trial_timeout: float | None = None,
        pruner: str | Pruner | None = None,
        proxy: Any = None,
        proxy_candidates: int = 8,
        tensorboard: bool | str | os.PathLike | None = None,
        progress_bar: bool | None = None,
        measure_latency: bool | str = "kept",
    ):
        if measure_latency not in (True, False, "kept"):
            raise ValueError(
                "`measure_latency` must be True, False or 'kept'. "
                f"Received: measure_latency={measure_latency!r}"
            )
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
        if trial_timeout is not None and (
            isinstance(trial_timeout, bool)
            or not isinstance(trial_timeout, (int, float))
            or not trial_timeout > 0
        ):
            raise ValueError(
                "`trial_timeout` must be a positive number of seconds or None. "
                f"Received: trial_timeout={trial_timeout!r}"
            )
        self.trial_timeout = None if trial_timeout is None else float(trial_timeout)
        self.executor = choose_executor(
            executor,
            trains_models=getattr(evaluator, "produces_models", False),
            max_trials=max_trials,
            trial_timeout=self.trial_timeout,
        )
        self.pruner = get_pruner(pruner, max_epochs=getattr(evaluator, "epochs", None))
        if self.pruner is not None and not getattr(evaluator, "produces_models", False):
            raise ValueError(
                "A pruner stops training early, so it needs an evaluator that trains for "
                f"epochs (e.g. FitEvaluator). Received: pruner={pruner!r} with "
                f"evaluator={type(evaluator).__name__}"
            )
        if (
            not isinstance(proxy_candidates, int)
            or isinstance(proxy_candidates, bool)
            or proxy_candidates < 1
        ):
            raise ValueError(
                "`proxy_candidates` must be a positive int. "
                f"Received: proxy_candidates={proxy_candidates!r}"
            )
        self.proxy_candidates = proxy_candidates
        self.proxy = None
        if proxy is not None:
            from kerasnas import proxies

            self.proxy = proxies.get(proxy, builder=builder, data=data)
        self.progress_bar = progress_bar
        self.measure_latency = measure_latency
        self.directory = SearchDirectory(directory)
        self.tensorboard = None
        if tensorboard:
            from kerasnas.runtime.tensorboard import TensorBoardLogger

            log_dir = self.directory.path / "tensorboard" if tensorboard is True else tensorboard
            self.tensorboard = TensorBoardLogger(log_dir, space, self.objectives)
        self.settings = self._settings(settings or {})
        stored = None if overwrite else self.directory.stored_settings()
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
            "pruner": self.pruner.get_config() if self.pruner is not None else None,
            "proxy": (
                {"name": self.proxy.name, "candidates": self.proxy_candidates}
                if self.proxy is not None
                else None
            ),
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
            IncompatibleSearchError: while another running search uses the directory.
            ExecutorError: if worker processes cannot start the evaluator.
        """
        self.directory.lock()
        try:
            return self._run()
        finally:
            self.directory.unlock()

    def _run(self) -> SearchResult:
        self.directory.write_settings(self.settings)
        journal = self.directory.journal
        finished, running = journal.replay()
        self.history = []
        for record in finished:
            self._remember(record)
        executor = self.executor
        try:
            executor.start(self.evaluator, self.directory, self.callbacks)
        except ValueError as e:
            if not executor.chosen_automatically:
                raise
            warnings.warn(f"Running trials in this process: {e}", stacklevel=2)
            executor = self.executor = LocalExecutor()
            executor.start(self.evaluator, self.directory, self.callbacks)
        progress = ProgressPrinter(
            self.objective, self.max_trials, self.verbose, bar=self.progress_bar
        )
        progress.start(self._counted(), self.best_trial())
        if finished or running:
            progress.print(
                f"Resuming search in '{self.directory.path}': {len(finished)} trials "
                f"finished, {len(running)} to retry."
            )
        else:
            journal.append({"event": "search_started", "settings": self.settings})
        if self.tensorboard is not None:
            self.tensorboard.start(self.history)
        retries: list[tuple] = []
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
                    info=dict(event.get("info") or {}),
                )
                journal.append({"event": "trial_finished", "record": record.to_json()})
                self._remember(record)
            else:
                retries.append((number, arch, attempt + 1, dict(event.get("info") or {})))
        self._in_flight: dict[int, tuple] = {}
        exhausted = False
        self._consecutive_rejections = 0
        try:
            while True:
                while len(self._in_flight) < executor.capacity:
                    if retries:
                        number, arch, attempt, info = retries.pop(0)
                    elif exhausted or self._counted() + self._pending() >= self.max_trials:
                        break
                    else:
                        number = self._next_number()
                        clock = time.perf_counter()
                        try:
                            arch, info = self._propose(number)
                            info = {**info, "timing": {"propose": time.perf_counter() - clock}}
                        except SpaceExhaustedError as e:
                            progress.print(f"Stopping early: {e}")
                            journal.append({"event": "space_exhausted", "message": str(e)})
                            exhausted = True
                            break
                        attempt = 1
                    self._submit(executor, number, arch, attempt, info)
                if not self._in_flight:
                    break
                stop = None
                for outcome in executor.wait():
                    try:
                        self._finish(outcome, progress)
                    except (SearchAborted, ValueError) as e:
                        stop = stop or e  # record every outcome first, then stop
                if stop is not None:
                    raise stop
        finally:
            executor.shutdown()
            progress.close()
            if self.tensorboard is not None:
                self.tensorboard.close()
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

    def _pending(self) -> int:
        return len(getattr(self, "_in_flight", {}))

    def _next_number(self) -> int:
        numbers = [r.number for r in self.history] + list(getattr(self, "_in_flight", {}))
        return max(numbers, default=-1) + 1

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
    def _propose(self, number: int) -> tuple[Architecture, dict]:
        """Asks the strategy for trial `number` (and ranks candidates by a proxy)."""
        arch = self.space.validate(
            self.strategy.ask(list(self.history), trial_rng(self.seed, number))
        )
        # With trials in flight the strategy has not heard of them yet: ask
        # again (a few times, deterministically) rather than run one twice.
        running = {entry[2] for entry in self._in_flight.values()}
        for retry in range(1, 11):
            if self.space.canonical_key(arch) not in running:
                break
            rng = np.random.default_rng([self.seed, number, 11, retry])
            arch = self.space.validate(self.strategy.ask(list(self.history), rng))
        if self.proxy is None:
            return arch, {}
        candidates = [arch]
        keys = {self.space.canonical_key(arch)}
        for i in range(1, self.proxy_candidates):
            rng = np.random.default_rng([self.seed, number, 7, i])
            try:
                other = self.space.validate(self.strategy.ask(list(self.history), rng))
            except SpaceExhaustedError:
                break
            key = self.space.canonical_key(other)
            if key not in keys:
                keys.add(key)
                candidates.append(other)
        scores = [
            self.proxy.score(candidate, seed=trial_seed(self.seed, number))
            for candidate in candidates
        ]
        best = int(np.argmax(scores))
        info = {
            "zero_cost": {
                "proxy": self.proxy.name,
                "score": scores[best],
                "candidates": len(candidates),
                "rank_scores": scores,
            }
        }
        return candidates[best], info

    def _keep_threshold(self) -> float | None:
        if self.keep_best_models <= 0 or not getattr(self.evaluator, "produces_models", False):
            return None
        kept = sorted(
            (
                self.objective.score(r.metrics)
                for r in self.history
                if r.ok and r.info.get("model_path")
            ),
            reverse=True,
        )
        if len(kept) < self.keep_best_models or len(self.objectives) > 1:
            # With several objectives, Pareto-optimal models may be kept too:
            # save every model and let _prune_models decide.
            return -math.inf
        return kept[self.keep_best_models - 1]

    def _submit(self, executor, number: int, arch: Architecture, attempt: int, info: dict) -> None:
        seed = trial_seed(self.seed, number)
        key = self.space.canonical_key(arch)
        info = dict(info)
        timing = dict(info.pop("timing", {}))
        started = time.time()
        event = {
            "event": "trial_started",
            "trial": number,
            "attempt": attempt,
            "architecture": dict(arch),
            "key": key,
            "seed": seed,
            "time": started,
        }
        if info:
            event["info"] = info
        clock = time.perf_counter()
        # Not fsync'ed: a killed process loses nothing (the line is with the OS), and a
        # machine crash at most this in-flight trial; the trial_finished append (synced)
        # makes it durable with its record.
        self.directory.journal.append(event, sync=False)
        # The trial_started append; its trial_finished append comes after the record.
        timing["journal"] = time.perf_counter() - clock
        pruning = None
        if self.pruner is not None:
            pruning = self.pruner.job_spec(number, self.history, self.objective)
        job = TrialJob(
            number=number,
            attempt=attempt,
            architecture=dict(arch),
            seed=seed,
            key=key,
            time_limit=self.trial_timeout,
            objective=self.objective.to_json(),
            keep_model_above=self._keep_threshold(),
            model_file=str(self.directory.model_path(number)),
            directory=str(self.directory.trial_dir(number)),
            pruning=pruning,
            info={**info, "timing": timing},
            measure_latency=self.measure_latency,
        )
        self._in_flight[number] = (arch, attempt, key, seed, started)
        executor.submit(job)

    def _finish(self, outcome: TrialOutcome, progress: ProgressPrinter) -> TrialRecord:
        arch, attempt, key, seed, started = self._in_flight.pop(outcome.number)
        attempt = outcome.attempt or attempt  # an executor may have run it again
        record = TrialRecord(
            number=outcome.number,
            architecture=arch,
            status=outcome.status,
            metrics=dict(outcome.metrics),
            key=key,
            seed=seed,
            started_at=started,
            duration_s=outcome.duration_s,
            error=outcome.error,
            attempt=attempt,
            info=dict(outcome.info),
        )
        missing = None
        if record.ok and self.objective.value(record.metrics) is None:
            missing = self.objective.name
            record.status = FAILED
            record.error = (
                f"objective '{missing}' is not among the trial's metrics "
                f"{sorted(record.metrics)} (or is not a finite number)"
            )
        model_file = self.directory.model_path(record.number)
        if outcome.model_saved and record.ok:
            record.info["model_path"] = str(model_file.relative_to(self.directory.path))
        elif outcome.model_saved:
            _remove_model(model_file)
        self.directory.journal.append({"event": "trial_finished", "record": record.to_json()})
        self._remember(record)
        self._prune_models()
        if self.tensorboard is not None:
            self.tensorboard.trial(record)
        progress.trial(record, self.space.describe(arch), self._counted(), self.best_trial())
        if missing is not None and not any(r.ok for r in self.history):
            raise ValueError(
                f"The objective is not a metric the trials report. Available metrics: "
                f"{sorted(record.metrics)}. Received: objective={missing!r}"
            )
        if record.status == REJECTED:
            self._consecutive_rejections += 1
            if self._consecutive_rejections >= self.max_consecutive_rejections:
                raise SearchAborted(
                    f"{self._consecutive_rejections} candidates in a row broke the constraints "
                    f"(last: {record.error}); loosen them or narrow the space."
                )
        else:
            self._consecutive_rejections = 0
        self._check_failures()
        return record

    def best_trial(self) -> TrialRecord | None:
        """The completed trial with the best objective value so far."""
        completed = [r for r in self.history if r.ok]
        if not completed:
            return None
        return max(completed, key=lambda r: (self.objective.score(r.metrics), -r.number))

    def _prune_models(self) -> None:
        kept = sorted(
            (r for r in self.history if r.ok and r.info.get("model_path")),
            key=lambda r: (self.objective.score(r.metrics), -r.number),
            reverse=True,
        )
        extra = kept[self.keep_best_models :]
        pareto_numbers = self._pareto_numbers(self.history) if extra else set()
        for record in extra:
            if record.number not in pareto_numbers:
                _remove_model(self.directory.path / record.info["model_path"])

    def _pareto_numbers(self, records) -> set:
        """Trial numbers on the Pareto front (none with a single objective)."""
        if len(self.objectives) < 2:
            return set()
        return {r.number for r in pareto_front(records, self.objectives)}


def _remove_model(path: pathlib.Path) -> None:
    if path.exists():
        path.unlink()
        try:
            path.parent.rmdir()
        except OSError:
            pass


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
    measure_latency: bool | str = "kept",
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
        measure_latency: when to record `latency_ms`, a trained model's
            median batch-1 CPU latency (10 calls of a compiled forward pass
            after warm-up): `"kept"` (the default) for the models kept on
            disk (the ones you can export), True for every trained model,
            False never. With latency as an objective or `max_latency_ms`,
            every candidate is measured.

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
            distribution_strategy=distribution_strategy,
        )
    executor_options = {}
    if workers is not None:
        executor_options["workers"] = workers
    if max_memory_mb is not None:
        executor_options["max_memory_mb"] = max_memory_mb
    if ray_address is not None:
        if executor != "ray":
            raise ValueError(
                "`ray_address` is for executor='ray'. "
                f"Received: ray_address={ray_address!r} with executor={executor!r}"
            )
        executor_options["address"] = ray_address
    executor_obj = choose_executor(
        executor,
        trains_models=evaluator_obj.produces_models,
        max_trials=max_trials,
        trial_timeout=trial_timeout,
        **executor_options,
    )
    pruner_obj = get_pruner(
        pruner, max_epochs=epochs if evaluator is None else None, **(pruner_options or {})
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
        executor=executor_obj,
        trial_timeout=trial_timeout,
        pruner=pruner_obj,
        proxy=proxy,
        proxy_candidates=proxy_candidates,
        tensorboard=tensorboard,
        progress_bar=progress_bar,
        measure_latency=measure_latency,
    )
    return runner.run()


__all__ = ["Search", "search", "trial_seed", "trial_rng", "Objective"]
