"""One trial as plain data: the job an executor runs and the outcome it returns.

A `TrialJob` holds everything a stateless worker needs to evaluate one
architecture (encoding, seed, budget, limits, where to keep the model); a
`TrialOutcome` is what comes back. Both are JSON-able dicts on the wire, so
any executor (in-process, worker processes, a cluster) can carry them.
`run_trial_job` is the one function that turns a job into an outcome.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import pathlib
import time
import traceback
from collections.abc import Sequence
from typing import Any

from kerasnas._lazy import keras
from kerasnas.errors import ConstraintViolation, SearchAborted
from kerasnas.evaluation.base import Evaluator, TrialContext
from kerasnas.runtime.artefacts import artefacts_due, make_artefacts
from kerasnas.spaces.space import Architecture
from kerasnas.trial import COMPLETED, FAILED, REJECTED, TrialRecord


@dataclasses.dataclass
class TrialJob:
    """What an executor needs to run one trial.

    Example:

    ```python
    from kerasnas.runtime import TrialJob
    job = TrialJob(number=3, attempt=1, architecture={"num_layers": 2}, seed=7, time_limit=60)
    TrialJob.from_json(job.to_json()) == job  # True: plain data on the wire
    ```

    Attributes:
        number: the trial number.
        attempt: 1, or 2 when a trial cut short by a crash is run again.
        architecture: the encoding to evaluate (a plain dict).
        seed: the trial's seed.
        key: the architecture's canonical key.
        epochs: a training budget for the evaluator, or None for its default.
        time_limit: seconds after which the trial fails, or None.
        objective: the objective (JSON), to decide whether to keep the model.
        keep_model_above: keep the trained model if its objective score is
            above this (None: keep no model).
        model_file: where to save a kept model.
        pruning: a pruning rule and the other trials' learning curves
            (see `kerasnas.runtime.pruning`), or None.
        info: facts to copy into the trial record (e.g. zero-cost proxy scores).
        measure_latency: when the evaluator did not measure it, measure the
            trained model's median batch-1 CPU latency (`latency_ms`, 10
            calls of a compiled forward pass after warm-up): True for every
            model, `"kept"` for a model that is kept (saved), `"best"` for a
            kept model whose objective score beats `best_score`, False never.
        best_score: the objective score of the best trial so far (None: no
            trial has completed, or there are several objectives).
    """

    number: int
    attempt: int
    architecture: dict
    seed: int
    key: str = ""
    epochs: int | None = None
    time_limit: float | None = None
    objective: dict | None = None
    keep_model_above: float | None = None
    model_file: str | None = None
    directory: str | None = None
    pruning: dict | None = None
    info: dict = dataclasses.field(default_factory=dict)
    measure_latency: bool | str = False
    best_score: float | None = None

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        if data["keep_model_above"] is not None and not math.isfinite(data["keep_model_above"]):
            data["keep_model_above"] = "-inf"
        return data

    @classmethod
    def from_json(cls, data: dict) -> TrialJob:
        data = dict(data)
        if data.get("keep_model_above") == "-inf":
            data["keep_model_above"] = -math.inf
        return cls(**data)


@dataclasses.dataclass
class TrialOutcome:
    """What running a `TrialJob` produced.

    Attributes:
        number: the trial number.
        status: `"completed"`, `"failed"` or `"rejected"`.
        metrics: the metrics (costs for rejected trials).
        info: extra facts (history, epochs, pruning, traceback).
        error: why a trial failed or was rejected.
        duration_s: wall-clock seconds.
        model_saved: whether the model was written to the job's `model_file`.
        attempt: the job's attempt (an executor that runs a trial again
            after its worker died says so here).
        artefacts_pending: the worker sent this outcome before measuring
            the model's latency or saving it; a
            `kerasnas.runtime.artefacts.TrialArtefacts` for the trial
            follows (`model_saved` then says a model is being saved).
    """

    number: int
    status: str
    metrics: dict = dataclasses.field(default_factory=dict)
    info: dict = dataclasses.field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0
    model_saved: bool = False
    attempt: int | None = None
    artefacts_pending: bool = False

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TrialOutcome:
        return cls(**data)

    def to_record(self, architecture, key: str, seed: int, started: float, attempt: int):
        """The `TrialRecord` of this outcome (executor-only flags left out)."""
        error = self.error
        if self.info.get(LOST_WORKER) and attempt >= 2:
            error = f"{error}; it had died once already on this trial"
        return TrialRecord(
            number=self.number,
            architecture=architecture,
            status=self.status,
            metrics=dict(self.metrics),
            key=key,
            seed=seed,
            started_at=started,
            duration_s=self.duration_s,
            error=error,
            attempt=attempt,
            info={k: v for k, v in self.info.items() if k != LOST_WORKER},
        )


def fail_without_objective(record, objective) -> bool:
    """Marks a completed trial that lacks the objective as failed; returns whether it did."""
    if not record.ok or objective.value(record.metrics) is not None:
        return False
    record.status = FAILED
    record.error = (
        f"objective '{objective.name}' is not among the trial's metrics "
        f"{sorted(record.metrics)} (or is not a finite number)"
    )
    return True


def objective_not_reported(record, objective) -> ValueError:
    """The error for a search whose first trials lack the objective among their metrics."""
    return ValueError(
        f"The objective is not a metric the trials report. Available metrics: "
        f"{sorted(record.metrics)}. Received: objective={objective.name!r}"
    )


def check_streaks(history, max_failures: int, max_rejections: int, where):
    """Stops a search after too many failed trials, or rejected candidates, in a row.

    Args:
        history: the trials so far, in order.
        max_failures: failed trials in a row that abort (rejections do not
            break a streak of failures; a completed trial does).
        max_rejections: rejected candidates in a row that abort.
        where: the search directory, for the message.

    Raises:
        SearchAborted: saying which streak and the last reason.
    """
    rejections = 0
    for past in reversed(history):
        if past.status != REJECTED:
            break
        rejections += 1
    if rejections >= max_rejections:
        raise SearchAborted(
            f"{rejections} candidates in a row broke the constraints "
            f"(last: {history[-1].error}); loosen them or narrow the space."
        )
    streak = 0
    for past in reversed(history):
        if past.ok:
            break
        streak += past.status == FAILED
    if streak >= max_failures:
        raise SearchAborted(
            f"{streak} trials failed in a row; the last one: {history[-1].error}. "
            f"See the journal in '{where}'."
        )


#: `TrialOutcome.info` flag: the worker running the trial died (a crash, a
#: lost node), so the search loop may run the trial once more.
LOST_WORKER = "lost_worker"


def over_time_limit_message(limit: float) -> str:
    return f"TrialTimeout: the trial ran over its time limit of {limit:g}s (trial_timeout)"


def run_trial_job(
    evaluator: Evaluator,
    job: TrialJob,
    callbacks: Sequence[Any] = (),
    release_memory: bool = True,
) -> TrialOutcome:
    """Evaluates one job and returns its outcome; never raises for a bad candidate.

    Exceptions in the candidate become a failed outcome with the reason (and
    a short traceback in `info`); `ConstraintViolation` becomes `rejected`;
    a trial that runs over `job.time_limit` fails (training is stopped at
    the next batch; other evaluators are judged when they return). A kept
    model is saved to `job.model_file` when its objective score beats
    `job.keep_model_above` (see `kerasnas.runtime.artefacts`). Keras'
    session is cleared afterwards, unless `release_memory` is False (the
    caller then calls `release_keras_memory`).

    Example:

    ```python
    from kerasnas.evaluation import CallableEvaluator
    from kerasnas.runtime import TrialJob, run_trial_job
    evaluator = CallableEvaluator(lambda arch: arch["num_layers"] / 4, "score")
    job = TrialJob(number=0, attempt=1, architecture={"num_layers": 2}, seed=0)
    run_trial_job(evaluator, job).metrics  # {'score': 0.5}
    ```

    Args:
        evaluator: the `Evaluator`.
        job: the `TrialJob`.
        callbacks: extra Keras callbacks (the search's).
        release_memory: clear Keras' session and collect the trial's garbage
            before returning (timed as `clear` and `gc`).

    Returns:
        A `TrialOutcome`.
    """
    outcome, model = evaluate_job(evaluator, job, callbacks)
    keep, measure = artefacts_due(job, outcome.metrics, model)
    if keep or measure:
        artefacts = make_artefacts(job, model, keep, measure)
        artefacts.apply(outcome)
        outcome.model_saved = artefacts.model_saved
    del model
    if release_memory and getattr(evaluator, "produces_models", False):
        outcome.info.setdefault("timing", {}).update(
            {k: round(v, 4) for k, v in release_keras_memory().items()}
        )
    return outcome


def evaluate_job(
    evaluator: Evaluator, job: TrialJob, callbacks: Sequence[Any] = ()
) -> tuple[TrialOutcome, Any]:
    """Runs one job's evaluation; returns its outcome and the trained model (or None).

    The first half of `run_trial_job`: everything but measuring latency,
    saving the model and clearing Keras' session, which the caller does
    (a worker process does them after sending the outcome).
    """
    started = time.time()
    extra, limiter, pruner = _trial_callbacks(evaluator, job, callbacks, started)
    context = TrialContext(
        number=job.number,
        seed=job.seed,
        directory=pathlib.Path(job.directory) if job.directory else None,
        epochs=job.epochs,
        callbacks=extra,
    )
    metrics: dict = {}
    info: dict = dict(job.info)
    timing: dict = dict(info.pop("timing", {}))
    error = None
    evaluation = None
    clock = time.perf_counter()
    try:
        evaluation = evaluator.evaluate(Architecture(job.architecture), context)
        metrics = dict(evaluation.metrics)
        inner = dict(evaluation.info.get("timing", {}))
        info.update(evaluation.info)
        # The evaluator's own parts (build, costs, fit); the rest of its call is "evaluate".
        timing.update(inner)
        timing["evaluate"] = max(0.0, time.perf_counter() - clock - sum(inner.values()))
        status = COMPLETED
    except ConstraintViolation as e:
        status, error, metrics = REJECTED, str(e), dict(e.metrics)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # noqa: BLE001 - any candidate error fails only its trial
        status = FAILED
        error = f"{type(e).__name__}: {e}"
        info["traceback"] = traceback.format_exc(limit=8)[-4000:]
    duration = time.time() - started
    if job.time_limit is not None and status != REJECTED:
        if (limiter is not None and limiter.expired) or duration > job.time_limit:
            status, error = FAILED, over_time_limit_message(job.time_limit)
    if pruner is not None and pruner.stopped is not None and status == COMPLETED:
        info["stopped_early"] = pruner.stopped
    if "epochs" in info and status == COMPLETED:
        info.setdefault("budget", info["epochs"])
    if timing:
        info["timing"] = {k: round(float(v), 4) for k, v in timing.items()}
    model = evaluation.model if evaluation is not None and status == COMPLETED else None
    outcome = TrialOutcome(
        number=job.number,
        status=status,
        metrics=metrics,
        info=info,
        error=error,
        duration_s=duration,
        attempt=job.attempt,
    )
    return outcome, model


def _trial_callbacks(evaluator, job: TrialJob, callbacks, started: float):
    """The Keras callbacks of one trial: the search's, its time limit, its pruning rule."""
    from kerasnas.runtime.pruning import make_pruning_callback

    extra, limiter, pruner = list(callbacks), None, None
    if job.time_limit is not None and getattr(evaluator, "produces_models", False):
        from kerasnas.runtime.trial_callbacks import TimeLimit

        limiter = TimeLimit(job.time_limit, started)
        extra.append(limiter)
    if job.pruning is not None and getattr(evaluator, "produces_models", False):
        pruner = make_pruning_callback(job.pruning, job.number)
        extra.append(pruner)
    return extra, limiter, pruner


def release_keras_memory() -> dict:
    """Clears Keras' global state and collects garbage between trials (one full collection).

    When long-lived objects are frozen (`freeze_long_lived_objects`), what
    survives the collection is frozen too: the next trial's collection then
    scans only the objects that trial created, instead of everything that
    accumulated since the search began (the collection otherwise grows
    slower with every trial). Objects freed by reference counting are
    freed as before; unreachable cycles among the frozen ones wait for
    `thaw_long_lived_objects()` at the end of the trials.

    Returns:
        Seconds spent: `{"clear": clear_session, "gc": the collection}`.
    """
    clock = time.perf_counter()
    keras.backend.clear_session(free_memory=False)
    cleared = time.perf_counter()
    gc.collect()
    if _refreeze_survivors:
        gc.freeze()
    return {"clear": cleared - clock, "gc": time.perf_counter() - cleared}


#: Allocations between collections of the youngest generation while trials run
#: (Python's default is 700). Building and tracing a candidate allocates
#: hundreds of thousands of objects, nearly all alive until the trial ends, so
#: frequent young collections scan them over and over for nothing; the full
#: collection after each trial frees the trial's garbage either way.
TRIAL_GC_THRESHOLD = 20_000

_saved_threshold: tuple | None = None
# Whether objects are frozen, so that each trial's survivors are frozen too. A
# flag, not `gc.get_freeze_count()`: that walks the whole frozen generation
# (over a million objects with TensorFlow loaded, ~0.04 s) on every call.
_refreeze_survivors = False


def freeze_long_lived_objects() -> bool:
    """Exempts every object alive now (TensorFlow, Keras, data) from garbage collection.

    The full collection after each trial then scans only what trials
    created: ~0.03 s instead of ~0.5-1 s with TensorFlow's ~350,000 objects
    tracked. Young-generation collections are also made rarer
    (`TRIAL_GC_THRESHOLD` allocations apart) until `thaw_long_lived_objects`.
    Call it once TensorFlow is imported and warm. If objects are already
    frozen (by the caller's own `gc.freeze()`), it only arranges for each
    trial's survivors to be frozen too, and returns False.
    """
    global _saved_threshold, _refreeze_survivors
    _refreeze_survivors = True
    if gc.get_freeze_count():
        return False
    gc.collect()
    gc.freeze()
    _saved_threshold = gc.get_threshold()
    first, *rest = _saved_threshold
    gc.set_threshold(max(first, TRIAL_GC_THRESHOLD), *rest)
    return True


def thaw_long_lived_objects() -> None:
    """Undoes `freeze_long_lived_objects`: unfreezes, and restores the collection thresholds."""
    global _saved_threshold, _refreeze_survivors
    _refreeze_survivors = False
    gc.unfreeze()
    if _saved_threshold is not None:
        gc.set_threshold(*_saved_threshold)
        _saved_threshold = None
