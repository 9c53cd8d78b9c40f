"""What runs inside a Ray actor: a warm evaluator that turns trial jobs into outcomes.

This module does not import Ray: `RayExecutor` wraps `TrialWorker` with
`ray.remote(...)` at run time. An actor is stateless between trials (the
journal, in the search process, is the single source of truth): it
rebuilds the evaluator once from the spec the search put in Ray's object
store, then runs `TrialJob` dicts and sends back `TrialOutcome` dicts, plus
the bytes of a trained model worth keeping, so that a worker on another
machine needs no access to the search directory.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import socket
import sys
import tempfile
import traceback


def apply_worker_setup(setup: dict) -> list[str]:
    """Applies per-worker settings before TensorFlow starts; returns warnings.

    Keys (all optional): `sys_path` (paths to put first on the import path,
    kept only if they exist on this machine), `intra_op_threads` and
    `inter_op_threads` (TensorFlow thread pools), `logical_cpus` (split the
    CPU into this many logical devices, to try multi-device training on CPU).
    """
    notes = []
    for path in reversed(setup.get("sys_path") or []):
        if path not in sys.path and os.path.isdir(path):
            sys.path.insert(0, path)
    intra, inter = setup.get("intra_op_threads"), setup.get("inter_op_threads")
    cpus = setup.get("logical_cpus")
    if intra is None and inter is None and not cpus:
        return notes
    import tensorflow as tf

    try:
        if intra is not None:
            tf.config.threading.set_intra_op_parallelism_threads(int(intra))
        if inter is not None:
            tf.config.threading.set_inter_op_parallelism_threads(int(inter))
        if cpus and int(cpus) > 1:
            physical = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                physical, [tf.config.LogicalDeviceConfiguration() for _ in range(int(cpus))]
            )
    except RuntimeError as e:  # TensorFlow already started in this worker
        notes.append(f"worker settings not applied: {e}")
    return notes


class TrialWorker:
    """The body of a Ray actor that runs trials (see `RayExecutor`).

    Args:
        spec: `kerasnas.runtime.worker.evaluator_spec(...)` output (Ray
            resolves the object-store reference the executor passes).
        setup: `apply_worker_setup` settings.
    """

    def __init__(self, spec: dict, setup: dict):
        self.error = None
        self.notes: list[str] = []
        self.trials = 0
        try:
            self.notes = apply_worker_setup(setup)
            from kerasnas.runtime.worker import evaluator_from_spec

            self.evaluator, self.callbacks = evaluator_from_spec(spec)
        except Exception as e:  # noqa: BLE001 - reported to the search by ready()
            self.error = {
                "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(limit=8)[-4000:],
            }

    def ready(self) -> dict:
        """Where the worker runs, and whether it could rebuild the evaluator."""
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "error": self.error,
            "notes": self.notes,
        }

    def run(self, job: dict) -> dict:
        """Runs one `TrialJob` dict; returns the outcome dict and any kept model's bytes."""
        from kerasnas.runtime.trial import TrialJob, run_trial_job

        job = TrialJob.from_json(job)
        scratch = None
        if job.model_file:
            # Save locally and send the bytes: the search directory may be on
            # another machine.
            scratch = pathlib.Path(tempfile.mkdtemp(prefix="kerasnas-trial-"))
            job.model_file = str(scratch / pathlib.Path(job.model_file).name)
        try:
            outcome = run_trial_job(self.evaluator, job, self.callbacks)
            model = None
            if outcome.model_saved:
                model = pathlib.Path(job.model_file).read_bytes()
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        self.trials += 1
        return {"outcome": outcome.to_json(), "model": model, "pid": os.getpid()}
