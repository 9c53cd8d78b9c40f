"""Executors: where and how trials run.

The `Search` loop hands `TrialJob`s to an executor (`submit`) and collects
`TrialOutcome`s as they finish (`wait`); it keeps up to `capacity` trials
in flight. Two executors ship with kerasnas:

* `LocalExecutor` (`executor="local"`) runs each trial in the
  search process, one at a time, and clears Keras' session after each.
  It starts instantly and is the fastest for small searches. A time limit
  is enforced between training batches (a candidate stuck inside one call
  is only judged when it returns), and there is no memory limit.
* `ProcessExecutor` (`executor="process"`) runs trials in spawned worker
  processes that are reused and recycled every `recycle_after` trials. A
  trial over its time limit or over the memory limit is killed with its
  worker, recorded as failed, and a fresh worker takes over; a candidate
  that crashes its process (segfault, out-of-memory kill) fails alone.
  Each worker pays TensorFlow's start-up (a few seconds) when it starts.
* `RayExecutor` (`executor="ray"`, in `kerasnas.runtime.ray_executor`)
  runs trials in Ray actors, on this machine or a Ray cluster.

The default, `executor="auto"`, uses worker processes for searches that
train models and run more than 20 trials (or set a time limit), and the
local executor otherwise: TensorFlow keeps a few MB per trained model
even after `keras.backend.clear_session()`, which a short search does not
notice and an overnight one does; recycled workers keep memory flat (see
benchmarks/RESULTS.md).
"""

from __future__ import annotations

import json
import multiprocessing.connection
import os
import socket
import subprocess
import sys
import time

from kerasnas.runtime import wire
from kerasnas.runtime.artefacts import TrialArtefacts
from kerasnas.runtime.executor_base import Executor, ExecutorError, PooledExecutor, WorkerSlot
from kerasnas.runtime.trial import (
    LOST_WORKER,
    TrialJob,
    TrialOutcome,
    over_time_limit_message,
    run_trial_job,
)
from kerasnas.trial import FAILED
from kerasnas.validation import check_int

# The worker's entry point: the search process's import path first, then the loop.
_WORKER_BOOT = (
    "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
    "from kerasnas.runtime.worker import main; main(int(sys.argv[2]), int(sys.argv[3]))"
)


class LocalExecutor(Executor):
    """Runs trials one at a time in the search process.

    Example:

    ```python
    import kerasnas
    result = kerasnas.search(space="chain", evaluator=lambda a: a["num_layers"],
                             max_trials=3, executor=kerasnas.runtime.LocalExecutor(),
                             directory="runs/local-demo", overwrite=True, verbose=0)
    ```
    """

    name = "local"
    capacity = 1

    def __init__(self):
        self._queue: list[TrialJob] = []

    def start(self, evaluator, directory, callbacks=()):
        from kerasnas.runtime.trial import freeze_long_lived_objects

        super().start(evaluator, directory, callbacks)
        self._frozen = False
        if getattr(evaluator, "produces_models", False):
            # Import TensorFlow now (`import kerasnas` does not), so that the
            # first trial's duration is its own work.
            import keras

            keras.backend.backend()
            # Cheap garbage collection between trials, until shutdown.
            self._frozen = freeze_long_lived_objects()

    def shutdown(self) -> None:
        if getattr(self, "_frozen", False):
            from kerasnas.runtime.trial import thaw_long_lived_objects

            thaw_long_lived_objects()
            self._frozen = False

    def submit(self, job: TrialJob) -> None:
        self._queue.append(job)

    def wait(self) -> list[TrialOutcome]:
        if not self._queue:
            return []
        job = self._queue.pop(0)
        return [run_trial_job(self.evaluator, job, self.callbacks)]


class _Slot(WorkerSlot):
    """A worker process, its pipe, and the trial whose artefacts it still owes (or None)."""

    def __init__(self, index: int):
        super().__init__(index)
        self.process = None
        self.conn = None
        self.owes_artefacts: int | None = None


class ProcessExecutor(PooledExecutor):
    """Runs trials in reusable worker processes with hard time and memory limits.

    Workers are fresh Python interpreters (as with multiprocessing's
    `spawn`; TensorFlow is not fork-safe) that get the search's import path,
    rebuild the evaluator once, and run trial after trial; each
    is replaced by a fresh one after `recycle_after` trials so that memory
    does not creep. A trial that runs over its time limit (plus a grace of
    5% and 2 s for the worker to stop it itself) or whose worker grows over
    `max_memory_mb` is killed with its worker and recorded as failed.

    Workers do not re-run the main script, so scripts need no
    `if __name__ == "__main__":` guard and notebooks work. The standard
    `FitEvaluator` on arrays (or `data="tfds:NAME"`) is sent as plain data;
    another evaluator (e.g. a callable) is sent pickled, so it must be
    importable from a module (not a lambda, not defined in `__main__`).
    Jobs and outcomes travel as JSON (`kerasnas.runtime.wire`).
    Workers use POSIX file-descriptor passing (Linux, macOS).

    Example:

    ```python
    import kerasnas
    from kerasnas.runtime import ProcessExecutor
    result = kerasnas.search(
        data="mnist1d", max_trials=50, epochs=5, trial_timeout=300,
        executor=ProcessExecutor(workers=1, recycle_after=25, max_memory_mb=4000),
        directory="runs/overnight")
    ```

    Args:
        workers: worker processes, hence trials in flight.
        recycle_after: trials a worker runs before it is replaced.
        max_memory_mb: kill a trial whose worker's resident memory grows over
            this many MiB (None: no limit).
        start_timeout: seconds a worker may take to start before the search
            gives up with `ExecutorError`.
        poll_interval: seconds between checks of time and memory.

    Raises:
        ValueError: for non-positive sizes or limits.
    """

    name = "process"

    def __init__(
        self,
        workers: int = 1,
        recycle_after: int = 25,
        max_memory_mb: float | None = None,
        start_timeout: float = 300.0,
        poll_interval: float = 0.1,
    ):
        check_int("workers", workers, minimum=1)
        check_int("recycle_after", recycle_after, minimum=1)
        if max_memory_mb is not None and (
            isinstance(max_memory_mb, bool)
            or not isinstance(max_memory_mb, (int, float))
            or max_memory_mb <= 0
        ):
            raise ValueError(
                f"`max_memory_mb` must be a positive number or None. "
                f"Received: max_memory_mb={max_memory_mb!r}"
            )
        self.workers = workers
        self.capacity = workers
        self.recycle_after = recycle_after
        self.max_memory_mb = max_memory_mb
        self.start_timeout = start_timeout
        self.poll_interval = poll_interval
        self._queue: list[TrialJob] = []
        self._slots = [_Slot(i) for i in range(workers)]
        # Artefacts that will never come (their worker died or was stopped).
        self._lost_artefacts: list[TrialArtefacts] = []
        self._payload: bytes | None = None
        #: How many worker processes were started (for tests and benchmarks).
        self.processes_started = 0
        #: Resident memory (MiB) a worker reported after its latest trial.
        self.last_worker_rss_mb: float | None = None
        #: Seconds each worker took from launch to ready (TensorFlow imported).
        self.boot_seconds: list[float] = []

    # ------------------------------------------------------------ lifecycle
    def start(self, evaluator, directory, callbacks=()):
        from kerasnas.runtime.worker import evaluator_spec

        super().start(evaluator, directory, callbacks)
        spec = evaluator_spec(evaluator, directory, callbacks)
        self._payload = wire.encode_spec(spec)

    def _launch(self, slot: _Slot) -> None:
        # A fresh interpreter (like multiprocessing's "spawn": TensorFlow is not
        # fork-safe) that does not re-run the user's main script, so searches
        # started from unguarded scripts and notebooks work too.
        parent_sock, child_sock = socket.socketpair()
        command = [
            sys.executable,
            "-c",
            _WORKER_BOOT,
            json.dumps([p for p in sys.path if isinstance(p, str)]),
            str(child_sock.fileno()),
            str(os.getpid()),
        ]
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # TensorFlow's start-up notes, once is enough
        process = subprocess.Popen(
            command,
            pass_fds=(child_sock.fileno(),),
            close_fds=True,
            stdin=subprocess.DEVNULL,
            env=env,
            # Ctrl-C reaches the search, which stops its workers itself.
            start_new_session=True,
        )
        child_sock.close()
        conn = multiprocessing.connection.Connection(parent_sock.detach())
        conn.send_bytes(self._payload)
        slot.process, slot.conn = process, conn
        slot.state, slot.boot_started, slot.trials_done = "booting", time.time(), 0
        self.processes_started += 1

    def _stop(self, slot: _Slot, kill: bool = False) -> None:
        process, conn = slot.process, slot.conn
        if slot.owes_artefacts is not None:
            self._lost_artefacts.append(TrialArtefacts(slot.owes_artefacts, info={
                "save_error": "the worker stopped before it reported the saved model"}))
        slot.process = slot.conn = slot.owes_artefacts = None
        slot.state, slot.job = "empty", None
        if process is None:
            return
        if not kill:
            try:
                wire.send(conn, {"type": "stop"})
            except (BrokenPipeError, OSError):
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        try:
            conn.close()
        except OSError:
            pass

    def shutdown(self) -> None:
        for slot in self._slots:
            self._stop(slot, kill=slot.state == "busy")
        self._queue.clear()

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [s.process.pid for s in self._slots if s.process is not None]

    # ---------------------------------------------------------------- jobs
    def _started(self) -> bool:
        return self._payload is not None

    def _send(self, slot: _Slot, job: TrialJob) -> None:
        wire.send(slot.conn, {"type": "job", "job": job.to_json()})

    def _fail(self, slot: _Slot, error: str) -> TrialOutcome:
        job = slot.job
        outcome = TrialOutcome(
            number=job.number,
            status=FAILED,
            error=error,
            duration_s=time.time() - slot.job_started,
            info=dict(job.info),
        )
        self._stop(slot, kill=True)
        return outcome

    def _lost(self, slot: _Slot, error: str) -> TrialOutcome:
        """A failed outcome marked as a lost worker: the search loop runs it once more."""
        outcome = self._fail(slot, error)
        outcome.info[LOST_WORKER] = True
        return outcome

    def _rss_mb(self, slot: _Slot) -> float:
        try:
            import psutil

            process = psutil.Process(slot.process.pid)
            total = process.memory_info().rss
            for child in process.children(recursive=True):
                total += child.memory_info().rss
            return total / 2**20
        except Exception:  # noqa: BLE001 - the process just ended
            return 0.0

    def wait(self) -> list[TrialOutcome | TrialArtefacts]:
        """Blocks until a trial finishes or a worker reports a trial's artefacts.

        Returns:
            `TrialOutcome`s, and `TrialArtefacts` for outcomes that were
            sent with `artefacts_pending` (lost ones say why in `info`).
        """
        results = self._take_lost_artefacts()
        owed = any(s.owes_artefacts is not None for s in self._slots)
        if not self._queue and not owed and not any(s.state == "busy" for s in self._slots):
            return results
        while not results:
            self._dispatch()
            live = {s.conn: s for s in self._slots if s.conn is not None}
            ready = multiprocessing.connection.wait(list(live), timeout=self.poll_interval)
            for conn in ready:
                slot = live[conn]
                try:
                    message = wire.recv(conn)
                except (EOFError, OSError, ValueError):  # gone, or cut off mid-message
                    message = None
                results += self._handle(slot, message)
            results += self._check_limits() + self._take_lost_artefacts()
        self._dispatch()
        return results

    def _take_lost_artefacts(self) -> list[TrialArtefacts]:
        lost, self._lost_artefacts = self._lost_artefacts, []
        return lost

    def _handle(self, slot: _Slot, message) -> list:
        if message is None:  # the worker died
            if slot.state == "busy":
                try:
                    code = slot.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = None
                return [self._lost(
                    slot,
                    f"WorkerDied: the worker process died during the trial (exit code {code}; "
                    "a crash or the system's out-of-memory killer)",
                )]  # fmt: skip
            if slot.state == "booting":
                self._boot_failed(slot, "the worker process exited while starting")
            self._stop(slot, kill=True)  # an idle worker died: start a fresh one when needed
            return []
        kind = message.get("type")
        if kind == "ready":
            slot.state = "idle"
            self.boot_seconds.append(time.time() - slot.boot_started)
            return []
        if kind == "error":
            self._boot_failed(
                slot, f"{message['error']}\nWorker traceback:\n{message.get('traceback', '')}"
            )
        if kind == "outcome":
            return [self._outcome(slot, message)]
        if kind == "artefacts":
            artefacts = TrialArtefacts.from_json(message["artefacts"])
            slot.owes_artefacts = None
            if slot.state == "finishing":
                self._stop(slot)
            return [artefacts]
        return []

    def _outcome(self, slot: _Slot, message: dict) -> TrialOutcome:
        """Frees the slot of a finished trial; a worker that still owes artefacts takes the next
        job (it runs once they are sent), unless it is due for recycling."""
        outcome = TrialOutcome.from_json(message["outcome"])
        self.last_worker_rss_mb = message.get("rss_mb")
        slot.trials_done += 1
        slot.state, slot.job = "idle", None
        if outcome.artefacts_pending:
            slot.owes_artefacts = outcome.number
        if slot.trials_done >= self.recycle_after:
            if slot.owes_artefacts is None:
                self._stop(slot)
            else:
                slot.state = "finishing"  # stopped once its artefacts arrive
        return outcome

    def _boot_failed(self, slot: _Slot, reason: str) -> None:
        code = slot.process.poll() if slot.process is not None else None
        self.shutdown()
        raise ExecutorError(
            f"A worker process could not start the evaluator (exit code {code}): {reason}\n"
            "Define custom evaluators in an importable module (not a lambda, not in "
            "__main__), or use executor='local'."
        )

    def _check_limits(self) -> list[TrialOutcome]:
        outcomes = []
        now = time.time()
        for slot in self._slots:
            if slot.state == "booting" and now - slot.boot_started > self.start_timeout:
                self._boot_failed(slot, f"it did not start within {self.start_timeout:g}s")
            if slot.state != "busy":
                continue
            if self._past_time_limit(slot, now):
                outcomes.append(self._fail(slot, over_time_limit_message(slot.job.time_limit)))
                continue
            if self.max_memory_mb is not None:
                rss = self._rss_mb(slot)
                if rss > self.max_memory_mb:
                    outcomes.append(
                        self._fail(
                            slot,
                            f"MemoryLimit: the trial's worker used {rss:.0f} MiB, over the "
                            f"limit max_memory_mb={self.max_memory_mb:g}",
                        )
                    )
                    continue
            if slot.process is not None and slot.process.poll() is not None:
                # Let a final message, if any, be read on the next poll.
                if not slot.conn.poll():
                    outcomes.append(
                        self._lost(
                            slot,
                            f"WorkerDied: the worker process died during the trial (exit "
                            f"code {slot.process.returncode})",
                        )
                    )
        return outcomes

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "workers": self.workers,
            "recycle_after": self.recycle_after,
            "max_memory_mb": self.max_memory_mb,
        }


def _ray_executor(**options) -> Executor:
    from kerasnas.runtime.ray_executor import RayExecutor

    return RayExecutor(**options)


_EXECUTORS = {"local": LocalExecutor, "process": ProcessExecutor, "ray": _ray_executor}

#: Names accepted by `kerasnas.search(executor=...)`.
EXECUTOR_NAMES = ("auto", *_EXECUTORS)

#: With `executor="auto"`, searches that train models and run more trials
#: than this use worker processes.
AUTO_PROCESS_TRIALS = 20


def choose_executor(
    executor="auto",
    trains_models: bool = True,
    max_trials: int = 1,
    trial_timeout: float | None = None,
    **options,
) -> Executor:
    """Resolves `"auto"` (and names) to an executor for a given search.

    `"auto"` picks `"process"` for searches that train models and either
    run more than `AUTO_PROCESS_TRIALS` trials, set a `trial_timeout`, or
    pass process options (`workers`, `max_memory_mb`): long searches get flat
    memory and hard limits. Short searches and searches that train nothing
    (callables, tables) run in-process, which starts instantly.

    Example:

    ```python
    from kerasnas.runtime.executors import choose_executor
    choose_executor("auto", trains_models=True, max_trials=200).name  # 'process'
    choose_executor("auto", trains_models=False, max_trials=200).name  # 'local'
    ```
    """
    if executor == "auto":
        long_search = max_trials > AUTO_PROCESS_TRIALS or trial_timeout is not None
        use_process = trains_models and (long_search or bool(options))
        executor = get_executor("process" if use_process else "local", **options)
        executor.chosen_automatically = True
        return executor
    return get_executor(executor, **options)


def start_executor(executor: Executor, evaluator, directory, callbacks=()) -> Executor:
    """Starts `executor`; one chosen by "auto" falls back to the local executor.

    Worker processes need an evaluator they can rebuild; when they cannot
    (a lambda, a class in `__main__`), an automatic choice warns and runs
    trials in this process instead. An executor the user chose raises.

    Returns:
        The executor that was started.
    """
    try:
        executor.start(evaluator, directory, callbacks)
    except ValueError as e:
        if not executor.chosen_automatically:
            raise
        import warnings

        warnings.warn(f"Running trials in this process: {e}", stacklevel=3)
        executor = LocalExecutor()
        executor.start(evaluator, directory, callbacks)
    return executor


def get_executor(executor="local", **options) -> Executor:
    """Returns an executor from a name (with options) or passes an object through.

    Example:

    ```python
    from kerasnas.runtime import get_executor
    get_executor("process", workers=2, max_memory_mb=3000)
    ```

    Raises:
        ValueError: for an unknown name or options the executor does not take.
    """
    if isinstance(executor, Executor):
        if options:
            raise ValueError(
                "Executor options apply to executors given by name. "
                f"Received: executor={executor!r} with options {sorted(options)}"
            )
        return executor
    if not isinstance(executor, str) or executor not in _EXECUTORS:
        if executor == "auto":
            raise ValueError(
                "executor='auto' depends on the search; use choose_executor(...) "
                "or kerasnas.search(executor='auto'). Received: executor='auto'"
            )
        raise ValueError(
            f"Unknown executor. Known executors: {list(EXECUTOR_NAMES)}. "
            f"Received: executor={executor!r}"
        )
    if executor == "local" and options:
        raise ValueError(
            "The local executor runs trials in the search process and takes no options "
            f"(workers, max_memory_mb, ... need executor='process'). Received: {options}"
        )
    try:
        return _EXECUTORS[executor](**options)
    except TypeError as e:
        raise ValueError(
            f"Options that executor={executor!r} does not take: {e}. Received: {options}"
        ) from e
