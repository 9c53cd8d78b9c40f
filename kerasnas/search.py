"""The search loop: ask → check → submit → collect → tell, over a storage.

`kerasnas.search(...)` (kerasnas/api.py) resolves names into the pieces this loop takes.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from typing import Any

from kerasnas import proxies
from kerasnas.errors import SearchAborted, SpaceExhaustedError
from kerasnas.evaluation.base import Evaluator, check_reported_objectives
from kerasnas.objective import as_objectives
from kerasnas.result import SearchResult
from kerasnas.runtime.artefacts import TrialArtefacts
from kerasnas.runtime.callbacks import default_callbacks
from kerasnas.runtime.executors import Executor, choose_executor, start_executor
from kerasnas.runtime.pruning import Pruner, get_pruner
from kerasnas.runtime.storage import MAX_ATTEMPTS, Storage, as_storage, search_settings
from kerasnas.runtime.trial import (
    LOST_WORKER,
    TrialJob,
    TrialOutcome,
    check_streaks,
    fail_without_objective,
    objective_not_reported,
)
from kerasnas.spaces.space import SearchSpace
from kerasnas.strategies.base import PreparationContext, Strategy
from kerasnas.strategies.wrappers import Deduplicated, ProxyRanked
from kerasnas.trial import (
    SEARCH_FINISHED,
    SEARCH_STARTED,
    SPACE_EXHAUSTED,
    TrialRecord,
    best_record,
    best_score,
    counted,
    no_completed_trial_message,
    trial_rng,
    trial_seed,
)
from kerasnas.validation import check_choice, check_instance, check_int, check_positive


class Search:
    """Runs a strategy against an evaluator until `max_trials` trials have finished.

    The storage (a directory's journal by default) is the single source of
    truth: running a `Search` again on it resumes (finished trials are
    replayed through the strategy; a trial cut short is run again once), so
    the same seed gives the same trials as an uninterrupted run.
    Constructing a `Search` writes nothing; `run()` claims the directory.

    Example:

    ```python
    import tempfile
    import kerasnas
    search = kerasnas.Search(
        kerasnas.spaces.ChainSpace(max_layers=3), kerasnas.strategies.RandomSearch(),
        kerasnas.evaluation.CallableEvaluator(lambda a: a["num_layers"], "depth"),
        objective="depth", directory=tempfile.mkdtemp(), max_trials=5, verbose=0)
    search.run().best_trial.metrics["depth"]  # 3.0
    ```

    Args:
        space, strategy, evaluator: the `SearchSpace`, `Strategy`, `Evaluator`.
        objective: a metric name, an `Objective`, or a list (the first ranks "best").
        directory: a search directory, or a `kerasnas.runtime.storage.Storage`.
        max_trials, seed: trials to finish (rejections do not count); the seed.
        builder, data: the `ModelBuilder` and `SearchData` (to load, test, export).
        overwrite: start fresh even if the storage holds a search.
        keep_best_models: trained models kept (the best, and the Pareto front).
        max_consecutive_failures, max_consecutive_rejections: abort after this many in a row.
        verbose, progress_bar: 0 silent, 1 a line per trial, 2 more; a bar (None: if a tty).
        settings, callbacks: extra JSON settings to store; Keras callbacks for every `fit`.
        executor, trial_timeout: `"auto"`, `"local"`, `"process"`, `"ray"` or an
            `Executor`; seconds after which a trial fails.
        pruner: `"successive_halving"`/`"asha"`, `"hyperband"`, `"median"`, a `Pruner`.
        proxy, proxy_candidates: a zero-cost proxy ranks this many proposals per trial.
        tensorboard: a log directory, or True for `<directory>/tensorboard`.
        measure_latency: `latency_ms` of each model that is the best so far (`"best"`), of
            the models kept (`"kept"`), of all (True), or none.
        search_callbacks: `kerasnas.runtime.callbacks.SearchCallback`s.

    Raises:
        ValueError: for arguments out of range, naming them.
        IncompatibleSearchError: when the storage holds another search.
    """

    def __init__(
        self, space: SearchSpace, strategy: Strategy, evaluator: Evaluator, objective: Any,
        directory: str | os.PathLike | Storage, max_trials: int = 10, seed: int = 0,
        builder=None, data=None, overwrite: bool = False, keep_best_models: int = 3,
        max_consecutive_failures: int = 10, max_consecutive_rejections: int = 500,
        verbose: int = 1, settings: dict | None = None, callbacks: Sequence[Any] = (),
        executor: str | Executor = "auto", trial_timeout: float | None = None,
        pruner: str | Pruner | None = None, proxy: Any = None, proxy_candidates: int = 8,
        tensorboard: bool | str | os.PathLike | None = None, progress_bar: bool | None = None,
        measure_latency: bool | str = "best", search_callbacks: Sequence[Any] = (),
    ):  # fmt: skip
        kinds = {"space": SearchSpace, "strategy": Strategy, "evaluator": Evaluator}
        for (name, kind), value in zip(kinds.items(), (space, strategy, evaluator)):
            check_instance(name, value, kind)
        self.max_trials = check_int("max_trials", max_trials, minimum=1)
        self.seed = check_int("seed", seed)
        self.keep_best_models = check_int("keep_best_models", keep_best_models, minimum=0)
        self.trial_timeout = check_positive(trial_timeout, "trial_timeout", "seconds")
        self.proxy_candidates = check_int("proxy_candidates", proxy_candidates, minimum=1)
        self.space, self.evaluator, self.builder, self.data = space, evaluator, builder, data
        self.objectives = as_objectives(objective)
        self.objective = self.objectives[0]  # the first objective ranks "best"
        self.max_consecutive_failures, self.max_consecutive_rejections = (
            check_int("max_consecutive_failures", max_consecutive_failures, minimum=1),
            check_int("max_consecutive_rejections", max_consecutive_rejections, minimum=1))
        self.callbacks, self.measure_latency = list(callbacks), check_choice(
            "measure_latency", measure_latency, (True, False, "kept", "best"))  # fmt: skip
        self.verbose, self.overwrite, self._in_flight, self._finishing = verbose, overwrite, {}, {}
        self.executor = choose_executor(
            executor, trains_models=getattr(evaluator, "produces_models", False),
            max_trials=max_trials, trial_timeout=self.trial_timeout)  # fmt: skip
        self.pruner = get_pruner(pruner, max_epochs=getattr(evaluator, "epochs", None),
                                 evaluator=evaluator)  # fmt: skip
        self.proxy = None if proxy is None else proxies.get(proxy, builder=builder, data=data)
        if self.proxy is not None:  # ranked inside, so only the chosen proposal is claimed
            strategy = ProxyRanked(strategy, self.proxy, proxy_candidates, self.seed)
        self.strategy = Deduplicated(strategy, seed=self.seed)
        self.storage = as_storage(directory)
        self.directory = getattr(self.storage, "directory", None)
        self.search_callbacks = default_callbacks(
            search_callbacks, verbose, progress_bar, tensorboard, self.storage.path)
        self.settings = {**search_settings(self), **(settings or {})}
        check_reported_objectives(self.evaluator, self.objectives)
        if not self.overwrite:
            self.storage.check(self.settings)  # read-only: refuse another search early
        self.strategy.setup(space, self.objectives)
        self.history: list[TrialRecord] = []

    def run(self) -> SearchResult:
        """Runs (or resumes) the search until `max_trials` trials have finished.

        Raises:
            SearchAborted: after too many failures or rejections in a row.
            IncompatibleSearchError: while another running search uses the directory.
            ExecutorError: if worker processes cannot start the evaluator."""
        self.storage.open(self.settings, overwrite=self.overwrite)
        self.overwrite = False  # a second run() resumes what the first wrote
        try:
            retries = self._resume()
            self.strategy.prepare(PreparationContext(self.evaluator, self.storage,
                                                     self.storage.path, self.seed, self.verbose))  # fmt: skip
            self.executor = start_executor(
                self.executor, self.evaluator, self.directory, self.callbacks)  # fmt: skip
            try:
                self._loop(retries)
            finally:
                self.executor.shutdown()
                self._emit("on_search_end")
            self.storage.append({"event": SEARCH_FINISHED, "trials": len(self.history)})
        finally:
            self.storage.close()
        if self.history and self.best_trial() is None:
            warnings.warn(no_completed_trial_message(self.history), stacklevel=2)
        return SearchResult(
            self.storage.path, self.space, self.objectives, list(self.history),
            builder=self.builder, data=self.data, settings=self.settings,
        )  # fmt: skip

    def _resume(self) -> list[tuple]:
        finished, retries = self.storage.resume(self.space)
        self.history = []
        for record in finished:
            self._remember(record)
        self._emit("on_search_begin")
        if finished or retries:
            self._emit("on_message", f"Resuming search in '{self.storage.path}': "
                       f"{len(finished)} trials finished, {len(retries)} to retry.")  # fmt: skip
        else:
            self.storage.append({"event": SEARCH_STARTED, "settings": self.settings})
        self.strategy.claim(*(self.space.canonical_key(retry[1]) for retry in retries))
        return retries

    def _loop(self, retries: list[tuple]) -> None:
        exhausted = False
        while True:
            while len(self._in_flight) < self.executor.capacity:
                if retries:
                    number, arch, attempt, info = retries.pop(0)
                elif exhausted or self.counted() + len(self._in_flight) >= self.max_trials:
                    break
                else:
                    number, attempt = self._next_number(), 1
                    try:
                        arch, info = self._propose(number)
                    except SpaceExhaustedError as e:
                        self._emit("on_message", f"Stopping early: {e}")
                        self.storage.append({"event": SPACE_EXHAUSTED, "message": str(e)})
                        exhausted = True
                        break
                self._submit(number, arch, attempt, info)
            if not self._in_flight and not self._finishing:
                return
            stop = None
            for outcome in self.executor.wait():
                try:
                    retry = self._collect(outcome)
                except (SearchAborted, ValueError) as e:
                    stop = stop or e  # record every outcome first, then stop
                    continue
                if retry is not None:
                    retries.append(retry)
            if stop is not None:  # journal the trials told already, then stop
                for artefacts in self.executor.wait_for_artefacts(set(self._finishing)):
                    self._collect(artefacts)
                raise stop

    def counted(self) -> int:  # trials that count towards `max_trials`
        return counted(self.history)

    def best_trial(self) -> TrialRecord | None:  # the best completed trial so far
        return best_record(self.history, self.objective)

    def _next_number(self) -> int:
        return max([r.number for r in self.history] + list(self._in_flight), default=-1) + 1

    def _remember(self, record: TrialRecord) -> None:
        self.history.append(record)
        self.strategy.tell(record)

    def _propose(self, number: int):
        clock, _ = time.perf_counter(), self.strategy.for_trial(number)
        arch = self.strategy.ask(list(self.history), trial_rng(self.seed, number))
        timing = {"propose": time.perf_counter() - clock}
        return self.space.validate(arch), {**self.strategy.last_info, "timing": timing}

    def _submit(self, number: int, arch, attempt: int, info: dict) -> None:
        seed, key = trial_seed(self.seed, number), self.space.canonical_key(arch)
        timing, clock = dict(info.get("timing", {})), time.perf_counter()
        info = {k: v for k, v in info.items() if k != "timing"}
        started = self.storage.start(number, arch, attempt, key, seed, info)
        timing["journal"] = time.perf_counter() - clock
        pruning = self.pruner and self.pruner.job_spec(number, self.history, self.objective)
        job = TrialJob(
            number=number, attempt=attempt, architecture=dict(arch), seed=seed, key=key,
            time_limit=self.trial_timeout, objective=self.objective.to_json(),
            keep_model_above=self.storage.keep_threshold(
                self.history, self.objectives, self.keep_best_models
            ) if getattr(self.evaluator, "produces_models", False) else None,
            model_file=self.storage.model_file(number), directory=self.storage.trial_dir(number),
            pruning=pruning or None, info={**info, "timing": timing},
            measure_latency=self.measure_latency, best_score=best_score(self.history, self.objective)
            if self.measure_latency == "best" and len(self.objectives) == 1 else None,
        )  # fmt: skip
        self._in_flight[number] = (arch, attempt, key, seed, started, info)
        self.executor.submit(job)

    def _collect(self, outcome: TrialOutcome | TrialArtefacts):
        """Records an outcome (journaled once its artefacts come) or artefacts; may return a retry."""
        if isinstance(outcome, TrialArtefacts):
            return self._journal(self._finishing.pop(outcome.number), outcome)
        arch, attempt, key, seed, started, info = self._in_flight.pop(outcome.number)
        if outcome.info.get(LOST_WORKER) and attempt < MAX_ATTEMPTS:
            self._emit("on_message", f"Trial {outcome.number}: {outcome.error}; running it once more.")
            return outcome.number, arch, attempt + 1, dict(info, retried_after=outcome.error)
        record = outcome.to_record(arch, key, seed, started, attempt)
        missing = fail_without_objective(record, self.objective)
        self.storage.adopt_model(record, outcome.model_saved)
        self._remember(record)
        if outcome.artefacts_pending:
            self._finishing[record.number] = record
        else:
            self._journal(record)
        if missing and self.best_trial() is None:
            raise objective_not_reported(record, self.objective)
        check_streaks(self.history, self.max_consecutive_failures,
                      self.max_consecutive_rejections, self.storage.path)  # fmt: skip

    def _journal(self, record: TrialRecord, artefacts=None) -> None:
        """Journals a finished trial (with its artefacts, if they came apart) and prunes models."""
        if artefacts is not None:
            artefacts.apply(record)
            self.storage.adopt_model(record, artefacts.model_saved)  # (or removes it)
        if "save_error" in record.info:  # from a worker or from this process
            self._emit("on_message", f"Trial {record.number}: its model was not kept: {record.info['save_error']}")
        self.storage.finish(record)
        self.storage.prune_models([r for r in self.history if r.number not in self._finishing],
                                  self.objectives, self.keep_best_models)  # fmt: skip
        self._emit("on_trial_end", record)

    def _emit(self, hook: str, *args) -> None:
        for callback in self.search_callbacks:
            getattr(callback, hook)(self, *args)


__all__ = ["PreparationContext", "Search", "trial_rng", "trial_seed"]
