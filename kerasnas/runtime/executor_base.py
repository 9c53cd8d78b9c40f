"""The executor interface, and the slot pool the process and Ray executors share.

An executor runs `TrialJob`s and hands back `TrialOutcome`s; it knows no
storage and no strategy (see `kerasnas.runtime.executors` for the ones
that ship).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from kerasnas.errors import KerasNASError
from kerasnas.evaluation.base import Evaluator
from kerasnas.runtime.artefacts import TrialArtefacts
from kerasnas.runtime.directory import SearchDirectory
from kerasnas.runtime.trial import TrialJob, TrialOutcome


class ExecutorError(KerasNASError):
    """Trials cannot run at all (e.g. a worker process cannot start)."""


class Executor:
    """Runs trials. The interface the `Search` loop drives.

    Subclasses implement `submit`, `wait` and, if they hold resources,
    `start` and `shutdown`. An executor may run up to `capacity` trials at
    once; outcomes may come back in any order. Jobs and outcomes are plain
    data (`TrialJob.to_json()`, `TrialOutcome.to_json()`) and workers are
    stateless, so an executor for a cluster (e.g. Ray actors that each
    rebuild the evaluator from `worker.evaluator_spec(...)` and call
    `run_trial_job`) fits the same interface. The search journals a trial
    as started when it is submitted and as finished when its outcome comes
    back, so a resumed search retries every trial that was in flight.

    Example:

    ```python
    import kerasnas
    executor = kerasnas.runtime.get_executor("process", workers=1, recycle_after=20)
    # kerasnas.search(..., executor=executor)
    ```
    """

    name = "executor"
    #: Trials this executor runs at the same time.
    capacity = 1
    #: Set by `choose_executor("auto", ...)`; the search may then fall back
    #: to the local executor when trials cannot be sent to workers.
    chosen_automatically = False

    def start(
        self, evaluator: Evaluator, directory: SearchDirectory, callbacks: Sequence[Any] = ()
    ) -> None:
        """Prepares to run trials of `evaluator` for the search in `directory`."""
        self.evaluator = evaluator
        self.directory = directory
        self.callbacks = list(callbacks)

    def submit(self, job: TrialJob) -> None:
        """Queues a job; the executor runs it when it has room."""
        raise NotImplementedError

    def wait(self) -> list[TrialOutcome]:
        """Blocks until at least one submitted trial has finished; returns the outcomes.

        An executor whose workers send an outcome before measuring the model's
        latency and saving it (`TrialOutcome.artefacts_pending`) also returns
        the `TrialArtefacts` that follow, once each arrives.
        """
        raise NotImplementedError

    def wait_for_artefacts(self, numbers) -> list[TrialArtefacts]:
        """Blocks until the artefacts of trials `numbers` have arrived; returns them.

        Artefacts that cannot arrive any more (nothing is left to wait for)
        come back empty, with `save_error` saying so. Outcomes of other
        trials that arrive meanwhile are dropped: call this only when the
        search stops.
        """
        numbers, arrived = set(numbers), []
        while numbers:
            results = self.wait() or [
                TrialArtefacts(n, info={"save_error": "the executor stopped"}) for n in numbers
            ]
            for item in results:
                if isinstance(item, TrialArtefacts) and item.number in numbers:
                    numbers.discard(item.number)
                    arrived.append(item)
        return arrived

    def shutdown(self) -> None:
        """Stops whatever the executor started (unfinished trials are abandoned)."""

    def get_config(self) -> dict:
        return {"name": self.name}


class WorkerSlot:
    """One worker of a pool (a process or a Ray actor) and what it is doing.

    Attributes:
        index: the slot's place in the pool.
        state: `"empty"`, `"booting"`, `"idle"` or `"busy"`.
        job: the `TrialJob` it runs (when busy).
        job_started, boot_started: `time.time()` of the job's and the worker's start.
        trials_done: trials the current worker finished (to recycle it).

    Executors subclass it with their own handles (a process and its pipe, an actor).
    """

    def __init__(self, index: int):
        self.index = index
        self.state = "empty"
        self.job: TrialJob | None = None
        self.job_started = 0.0
        self.boot_started = 0.0
        self.trials_done = 0


class PooledExecutor(Executor):
    """Base of the executors that hand queued jobs to a pool of worker slots.

    Subclasses keep `self._slots` (objects with `state`, `job` and
    `job_started`; `state` is one of empty, booting, idle, busy) and
    `self._queue` (a list of `TrialJob`), and implement `_started`,
    `_launch(slot)` (start a worker in an empty slot) and `_send(slot, job)`
    (hand a job to an idle worker). Queued jobs go to idle workers in slot
    order; empty slots are started while jobs wait.
    """

    def _started(self) -> bool:
        raise NotImplementedError

    def _launch(self, slot) -> None:
        raise NotImplementedError

    def _send(self, slot, job: TrialJob) -> None:
        raise NotImplementedError

    @staticmethod
    def _past_time_limit(slot, now: float) -> bool:
        """Whether a busy slot's trial is over its time limit plus the grace.

        The trial stops itself at the limit (`TimeLimit`); the executor kills
        the worker only past 5% more plus 2 s, so that a trial ending on its
        own is not killed.
        """
        limit = slot.job.time_limit
        return limit is not None and now - slot.job_started > limit * 1.05 + 2.0

    def submit(self, job: TrialJob) -> None:
        if not self._started():
            raise ExecutorError(
                f"{type(self).__name__}.start(...) must be called before submit(...)."
            )
        self._queue.append(job)
        self._dispatch()

    def _dispatch(self) -> None:
        for slot in self._slots:
            if not self._queue:
                return
            if slot.state == "empty":
                self._launch(slot)
            elif slot.state == "idle":
                job = self._queue.pop(0)
                self._send(slot, job)
                slot.state, slot.job, slot.job_started = "busy", job, time.time()
