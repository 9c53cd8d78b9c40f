"""`executor="ray"`: trials as Ray actor tasks, on one machine or a Ray cluster.

The search loop (strategy, journal, kept models) stays in the search
process, the *driver*; trials run in Ray actors that each hold a warm
TensorFlow and run trial after trial (recycled every `recycle_after`
trials so memory stays flat). Jobs and outcomes are plain data; the data
(arrays) is put in Ray's object store once per search, so workers on other
machines need neither the driver's file system nor the data on disk; kept
models come back as bytes and the driver writes them into the search
directory. Ray is imported only when this executor starts.
"""

from __future__ import annotations

import atexit
import logging
import os
import pathlib
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping

from kerasnas.runtime.executor_base import ExecutorError, PooledExecutor, WorkerSlot
from kerasnas.runtime.trial import LOST_WORKER, TrialJob, TrialOutcome, over_time_limit_message
from kerasnas.trial import FAILED
from kerasnas.validation import check_int

_INSTALL = "executor='ray' needs Ray: pip install 'kerasnas[ray]' (or pip install 'ray>=2.60')"


def _import_ray():
    try:
        import ray
    except ImportError as e:
        raise ExecutorError(f"{_INSTALL}. ({type(e).__name__}: {e})") from e
    return ray


_TOKEN_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"


def _hide_token_auth_notice() -> None:
    """Drops Ray's note that a new local cluster uses token authentication.

    Ray 2.60 turns token authentication on for every new local cluster and
    logs a warning saying so, which a search prints under its progress. The
    behaviour stays (kerasnas's clusters listen on 127.0.0.1 and require the
    token); only that one note is hidden. Other warnings of that logger pass.
    """
    logger = logging.getLogger(_TOKEN_AUTH_LOGGER)
    if not any(isinstance(f, _TokenAuthNoticeFilter) for f in logger.filters):
        logger.addFilter(_TokenAuthNoticeFilter())


class _TokenAuthNoticeFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Token authentication is enabled for this")


def init_local_ray(num_cpus: int | None = None, num_gpus: int | None = None, **options):
    """Starts a private Ray instance on this machine, reachable from this machine only.

    Everything it starts listens on 127.0.0.1 (never on other interfaces),
    the dashboard is off, usage statistics are off
    (`RAY_USAGE_STATS_ENABLED=0` is set in this process), and its files go
    to a fresh temporary directory. `RayExecutor(address=None)` calls this
    when Ray is not running yet; call it yourself to share one instance
    between several searches (then shut it down with `ray.shutdown()`; the
    temporary directory is removed when Python exits).

    Example:

    ```python
    import ray
    from kerasnas.runtime.ray_executor import init_local_ray
    init_local_ray(num_cpus=2)
    # ... kerasnas.search(..., executor="ray", workers=2) reuses it ...
    ray.shutdown()
    ```

    Args:
        num_cpus: CPUs Ray may schedule (None: all of this machine's).
        num_gpus: GPUs Ray may schedule (None: the ones it finds).
        **options: more `ray.init` keyword arguments.

    Returns:
        Ray's context (`ray.init`'s return value).

    Raises:
        ExecutorError: if Ray is missing or would not listen on 127.0.0.1 only.
    """
    # Ray listens on the loopback interface only when it does not look for
    # a "cluster" address; the variable must be set before Ray is imported,
    # and Ray's constant is set as well in case it already was.
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray = _import_ray()
    _hide_token_auth_notice()
    try:
        from ray._private import ray_constants

        ray_constants.ENABLE_RAY_CLUSTER = False
    except (ImportError, AttributeError):  # pragma: no cover - checked below anyway
        pass
    temp_dir = options.pop("_temp_dir", None)
    if temp_dir is None:
        temp_dir = tempfile.mkdtemp(prefix="kerasnas-ray-")
        atexit.register(_remove_at_exit, temp_dir)
    env_vars = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if isinstance(p, str) and p)}
    runtime_env = dict(options.pop("runtime_env", None) or {})
    runtime_env.setdefault("env_vars", {}).update(
        {k: v for k, v in env_vars.items() if k not in runtime_env.get("env_vars", {})}
    )
    init_options = {
        "address": "local",
        "_node_ip_address": "127.0.0.1",
        "include_dashboard": False,
        "num_cpus": num_cpus,
        "num_gpus": num_gpus,
        "_temp_dir": temp_dir,
        "log_to_driver": False,
        "configure_logging": False,
        "runtime_env": runtime_env,
        **options,
    }
    context = ray.init(**init_options)
    node_ip = context.address_info.get("node_ip_address")
    if node_ip != "127.0.0.1":
        ray.shutdown()
        raise ExecutorError(
            "The local Ray instance did not bind to 127.0.0.1 only; it was shut down. "
            f"Received: node_ip_address={node_ip!r}"
        )
    return context


def _remove_at_exit(temp_dir: str) -> None:
    try:
        import ray

        if ray.is_initialized():
            ray.shutdown()
    except Exception:  # noqa: BLE001 - exiting anyway
        pass
    shutil.rmtree(temp_dir, ignore_errors=True)


class _Slot(WorkerSlot):
    """A Ray actor, its pending call, and where it runs."""

    def __init__(self, index: int):
        super().__init__(index)
        self.actor = None
        self.ref = None  # the pending ready() or run() call
        self.pid: int | None = None
        self.host: str | None = None


class RayExecutor(PooledExecutor):
    """Runs trials in Ray actors, on this machine or on a Ray cluster.

    Each of the `workers` actors rebuilds the evaluator once (TensorFlow
    starts once per actor, not per trial) and runs one trial at a time; a
    new architecture is handed out as soon as an actor is free. Each actor
    reserves `num_cpus` CPUs and `num_gpus` GPUs, so Ray places it on a
    node that has them, and TensorFlow in the actor uses `tf_threads`
    threads (by default `num_cpus`), so that actors sharing a machine do
    not oversubscribe its cores.

    Faults: an actor that dies during a trial (its process killed, its node
    lost) is replaced and the trial's outcome says its worker was lost; the
    search loop then runs it once more (the storage journals a
    `trial_started` event with attempt 2 and the record says
    `attempt == 2`). A second death fails the trial. A trial over its time limit (plus 5% and 2 s) is killed with
    its actor and fails. The search process can be killed at any moment
    and the search resumed from its journal, as with the other executors:
    its actors (and a local Ray instance it started) end with it.

    Data: the evaluator's spec, arrays included, is put in Ray's object
    store once (`ray.put`); `data="tfds:NAME"` is loaded by each actor
    from its own machine's TFDS directory. A model worth keeping is saved
    by the actor and sent back as bytes. Other files a custom evaluator or
    callback writes are written on the actor's machine.

    Example:

    ```python
    import kerasnas
    from kerasnas.runtime import RayExecutor
    result = kerasnas.search(
        data="mnist1d", max_trials=20, epochs=5, directory="runs/ray-demo",
        executor=RayExecutor(workers=2, num_cpus=1))  # a private local Ray
    # On a cluster started with `ray start --head`:
    # executor=RayExecutor(address="auto", workers=8, num_gpus=1)
    ```

    Args:
        workers: actors, hence trials in flight.
        address: None to use this process's Ray if it is connected, else
            start a private local instance bound to 127.0.0.1 (see
            `init_local_ray`); `"auto"` for the cluster this machine
            belongs to (`ray start --head` / `ray start --address=...`);
            `"ray://host:10001"` for a remote cluster via Ray Client.
        num_cpus: CPUs each actor reserves.
        num_gpus: GPUs each actor reserves (TensorFlow in the actor sees
            only those; combine with `distribution_strategy="mirrored"` to
            train each candidate on all of them).
        resources: extra Ray resources each actor reserves (e.g.
            `{"large_memory": 1}`).
        recycle_after: trials an actor runs before it is replaced.
        tf_threads: TensorFlow intra-op and inter-op threads in each actor
            (None: `num_cpus`, at least 1; 0: TensorFlow's default).
        logical_cpus: split each actor's CPU into this many logical
            devices (to try multi-device training without GPUs).
        local_num_cpus: CPUs of a local instance this executor starts
            (None: all of this machine's).
        ray_init_options: more `ray.init` keyword arguments.
        start_timeout: seconds an actor may take to be placed and start
            before the search gives up with `ExecutorError`.
        poll_interval: seconds between checks of time limits.

    Raises:
        ValueError: for non-positive sizes, naming the argument.
    """

    name = "ray"

    def __init__(
        self,
        workers: int = 1,
        address: str | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
        resources: Mapping[str, float] | None = None,
        recycle_after: int = 25,
        tf_threads: int | None = None,
        logical_cpus: int | None = None,
        local_num_cpus: int | None = None,
        ray_init_options: Mapping | None = None,
        start_timeout: float = 600.0,
        poll_interval: float = 0.2,
    ):
        check_int("workers", workers, minimum=1)
        check_int("recycle_after", recycle_after, minimum=1)
        for label, value in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"`{label}` must be a number >= 0. Received: {label}={value!r}")
        for label, value in (
            ("tf_threads", tf_threads),
            ("logical_cpus", logical_cpus),
            ("local_num_cpus", local_num_cpus),
        ):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ValueError(
                    f"`{label}` must be an int >= 0 or None. Received: {label}={value!r}"
                )
        if address is not None and not isinstance(address, str):
            raise ValueError(
                "`address` must be None, 'auto' or 'ray://host:port'. "
                f"Received: address={address!r}"
            )
        self.workers = workers
        self.capacity = workers
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.resources = dict(resources or {})
        self.recycle_after = recycle_after
        self.tf_threads = tf_threads
        self.logical_cpus = logical_cpus
        self.local_num_cpus = local_num_cpus
        self.ray_init_options = dict(ray_init_options or {})
        self.start_timeout = start_timeout
        self.poll_interval = poll_interval
        self._queue: list[TrialJob] = []
        self._slots = [_Slot(i) for i in range(workers)]
        self._spec_ref = None
        self._actor_class = None
        self._owns_ray = False
        self._temp_dir: str | None = None
        self._boot_deaths = 0
        #: Actors started so far (for tests and benchmarks).
        self.actors_started = 0
        #: Trial numbers whose actor died during their first attempt (the
        #: search loop runs each once more).
        self.retried: list[int] = []

    # ------------------------------------------------------------ lifecycle
    def _connect(self):
        ray = _import_ray()
        if ray.is_initialized():
            return ray
        if self.address is None:
            options = dict(self.ray_init_options)
            self._temp_dir = options.pop("_temp_dir", None) or tempfile.mkdtemp(
                prefix="kerasnas-ray-"
            )
            init_local_ray(num_cpus=self.local_num_cpus, _temp_dir=self._temp_dir, **options)
        else:
            ray.init(
                address=self.address,
                log_to_driver=False,
                configure_logging=False,
                **self.ray_init_options,
            )
        self._owns_ray = True
        return ray

    def worker_setup(self) -> dict:
        """The settings each actor applies before TensorFlow starts."""
        threads = self.tf_threads
        if threads is None:
            threads = max(1, int(self.num_cpus))
        setup: dict = {"sys_path": [p for p in sys.path if isinstance(p, str) and p]}
        if threads:
            setup["intra_op_threads"] = threads
            setup["inter_op_threads"] = threads
        if self.logical_cpus:
            setup["logical_cpus"] = self.logical_cpus
        return setup

    def start(self, evaluator, directory, callbacks=()):
        from kerasnas.runtime.ray_worker import TrialWorker
        from kerasnas.runtime.worker import evaluator_spec

        super().start(evaluator, directory, callbacks)
        spec = evaluator_spec(
            evaluator,
            directory,
            callbacks,
            inline_data=True,
            executor_name="ray",
            check_pickle=False,
        )
        ray = self._connect()
        try:
            self._spec_ref = ray.put(spec)
        except Exception as e:  # noqa: BLE001 - open handles, unpicklable objects
            self.shutdown()
            raise ValueError(
                "executor='ray' must send the evaluator (and callbacks) to Ray workers, and "
                "this one cannot be serialized; use executor='local'. "
                f"Received: evaluator={evaluator!r} ({type(e).__name__}: {e})"
            ) from e
        options = {"num_cpus": self.num_cpus, "max_restarts": 0, "max_task_retries": 0}
        if self.num_gpus:
            options["num_gpus"] = self.num_gpus
        if self.resources:
            options["resources"] = self.resources
        self._actor_class = ray.remote(**options)(TrialWorker)
        self._setup = self.worker_setup()
        self._boot_deaths = 0

    def _launch(self, slot: _Slot) -> None:
        slot.actor = self._actor_class.remote(self._spec_ref, self._setup)
        slot.ref = slot.actor.ready.remote()
        slot.state, slot.boot_started, slot.trials_done = "booting", time.time(), 0
        slot.pid = slot.host = None
        self.actors_started += 1

    def _stop(self, slot: _Slot) -> None:
        actor = slot.actor
        slot.actor = slot.ref = slot.job = None
        slot.state = "empty"
        if actor is not None:
            import ray

            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass

    def shutdown(self) -> None:
        for slot in self._slots:
            self._stop(slot)
        self._queue.clear()
        self._spec_ref = None
        if self._owns_ray:
            import ray

            ray.shutdown()
            self._owns_ray = False
            if self._temp_dir is not None:
                shutil.rmtree(self._temp_dir, ignore_errors=True)
                self._temp_dir = None

    def worker_pids(self) -> list[int]:
        """Process ids of the live actors (on their machines)."""
        return [s.pid for s in self._slots if s.actor is not None and s.pid is not None]

    # ---------------------------------------------------------------- jobs
    def _started(self) -> bool:
        return self._actor_class is not None

    def _send(self, slot: _Slot, job: TrialJob) -> None:
        slot.ref = slot.actor.run.remote(job.to_json())

    def wait(self) -> list[TrialOutcome]:
        if not self._queue and not any(s.state == "busy" for s in self._slots):
            return []
        import ray

        outcomes: list[TrialOutcome] = []
        while not outcomes:
            self._dispatch()
            pending = {s.ref: s for s in self._slots if s.ref is not None}
            if pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=self.poll_interval)
                for ref in ready:
                    outcome = self._handle(pending[ref], ref)
                    if outcome is not None:
                        outcomes.append(outcome)
            outcomes += self._check_limits()
        self._dispatch()
        return outcomes

    def _handle(self, slot: _Slot, ref) -> TrialOutcome | None:
        import ray

        try:
            value = ray.get(ref)
        except ray.exceptions.RayTaskError as e:
            # An exception escaped the actor's method (run_trial_job catches
            # the candidate's own): the trial fails, the actor is replaced.
            if slot.state == "busy":
                return self._fail(slot, f"WorkerError: {_first_line(e)}")
            self._boot_failed(slot, _first_line(e))
        except ray.exceptions.RayError as e:
            return self._died(slot, e)
        if slot.state == "booting":
            if value.get("error"):
                error = value["error"]
                self._boot_failed(
                    slot, f"{error['error']}\nWorker traceback:\n{error['traceback']}"
                )
            slot.state, slot.ref = "idle", None
            slot.pid, slot.host = value.get("pid"), value.get("host")
            self._boot_deaths = 0
            return None
        job = slot.job
        outcome = TrialOutcome.from_json(value["outcome"])
        if value.get("model") is not None and job.model_file:
            path = pathlib.Path(job.model_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(value["model"])
            os.replace(tmp, path)
        outcome.info.setdefault("worker", {"pid": slot.pid, "host": slot.host})
        slot.trials_done += 1
        slot.state, slot.job, slot.ref = "idle", None, None
        if slot.trials_done >= self.recycle_after:
            self._stop(slot)
        return outcome

    def _died(self, slot: _Slot, error: Exception) -> TrialOutcome | None:
        """An actor died: retry its trial once on a fresh actor, or fail it."""
        reason = (
            "WorkerDied: the Ray worker running the trial died "
            f"({type(error).__name__}: {_first_line(error)})"
        )
        if slot.state == "booting":
            self._stop(slot)
            self._boot_deaths += 1
            if self._boot_deaths >= 3:
                self.shutdown()
                raise ExecutorError(
                    f"{self._boot_deaths} Ray workers in a row died while starting: {reason}"
                )
            return None
        # The search loop runs a trial whose worker was lost once more.
        if slot.job.attempt < 2:
            self.retried.append(slot.job.number)
        outcome = self._fail(slot, reason)
        outcome.info[LOST_WORKER] = True
        return outcome

    def _fail(self, slot: _Slot, error: str) -> TrialOutcome:
        job = slot.job
        info = dict(job.info)
        outcome = TrialOutcome(
            number=job.number,
            status=FAILED,
            error=error,
            duration_s=time.time() - slot.job_started,
            info=info,
            attempt=job.attempt,
        )
        self._stop(slot)
        return outcome

    def _boot_failed(self, slot: _Slot, reason: str) -> None:
        self.shutdown()
        raise ExecutorError(
            f"A Ray worker could not start the evaluator: {reason}\n"
            "Workers need kerasnas (and the modules the evaluator comes from) installed; "
            "or use executor='local'."
        )

    def _check_limits(self) -> list[TrialOutcome]:
        outcomes = []
        now = time.time()
        for slot in self._slots:
            if slot.state == "booting" and now - slot.boot_started > self.start_timeout:
                self._boot_failed(
                    slot,
                    f"no worker started within {self.start_timeout:g}s (are there nodes with "
                    f"num_cpus={self.num_cpus:g}, num_gpus={self.num_gpus:g} free?)",
                )
            if slot.state == "busy" and self._past_time_limit(slot, now):
                outcomes.append(self._fail(slot, over_time_limit_message(slot.job.time_limit)))
        return outcomes

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "workers": self.workers,
            "address": self.address,
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "recycle_after": self.recycle_after,
        }


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
