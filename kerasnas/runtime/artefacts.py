"""What a trained candidate leaves behind besides its metrics: its latency and its saved model.

Both come after the trial's metrics are known. The in-process path
(`run_trial_job`) measures and saves before returning the outcome. A worker
process sends the outcome first and then a `TrialArtefacts` message, so that
the search tells its strategy and proposes the next trial while the worker
measures and saves (`kerasnas.runtime.worker.serve_jobs`). The search
journals such a trial once its artefacts have arrived, so the journal never
names a model file that is not on disk.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

from kerasnas.evaluation.costs import measure_latency
from kerasnas.objective import Objective


@dataclasses.dataclass
class TrialArtefacts:
    """The latency and the saved model of a trial, sent after its outcome.

    Example:

    ```python
    from kerasnas.runtime.artefacts import TrialArtefacts
    sent = TrialArtefacts(number=4, metrics={"latency_ms": 0.8}, model_saved=True)
    TrialArtefacts.from_json(sent.to_json()) == sent  # True: plain data on the wire
    ```

    Attributes:
        number: the trial number.
        metrics: `{"latency_ms": ...}` when latency was measured, else empty.
        info: facts for the record (`latency_error`, `save_error`).
        timing: seconds spent, as `latency` and `save`.
        model_saved: whether the model is now at the job's `model_file`.
    """

    number: int
    metrics: dict = dataclasses.field(default_factory=dict)
    info: dict = dataclasses.field(default_factory=dict)
    timing: dict = dataclasses.field(default_factory=dict)
    model_saved: bool = False

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TrialArtefacts:
        return cls(**data)

    def apply(self, record) -> None:
        """Adds these artefacts to a trial's `TrialRecord` or `TrialOutcome` (metrics, info,
        timing); a record whose model was not saved no longer names a model file."""
        record.metrics.update(self.metrics)
        timing = record.info.get("timing", {})
        record.info.update(self.info)
        record.info["timing"] = {**timing, **self.timing}
        if not self.model_saved:
            record.info.pop("model_path", None)


def artefacts_due(job, metrics: dict, model) -> tuple[bool, bool]:
    """Whether the trained `model` is to be kept and whether its latency is to be measured.

    Args:
        job: the trial's `TrialJob` (its threshold, latency policy, best score).
        metrics: the trial's metrics.
        model: the trained model, or None (a failed trial, an evaluator
            that keeps no model).

    Returns:
        `(keep, measure)`.
    """
    if model is None:
        return False, False
    keep = _beats_threshold(job, metrics)
    return keep, _wants_latency(job, keep, metrics)


def make_artefacts(job, model, keep: bool, measure: bool) -> TrialArtefacts:
    """Measures the model's latency and saves it, as `artefacts_due` decided.

    Neither step fails the trial: an error is reported in `info` instead
    (`latency_error`, `save_error`) and the model is then not kept.
    """
    artefacts = TrialArtefacts(number=job.number)
    if measure:
        clock = time.perf_counter()
        try:
            artefacts.metrics["latency_ms"] = measure_latency(model, repeats=10)["median_ms"]
        except Exception as e:  # noqa: BLE001 - a cost we could not measure fails nothing
            artefacts.info["latency_error"] = f"{type(e).__name__}: {e}"
        artefacts.timing["latency"] = round(time.perf_counter() - clock, 4)
    if keep:
        clock = time.perf_counter()
        try:
            save_model_atomically(model, job.model_file)
            artefacts.model_saved = True
        except Exception as e:  # noqa: BLE001 - e.g. a full disk: the trial still counts
            artefacts.info["save_error"] = f"{type(e).__name__}: {e}"
        artefacts.timing["save"] = round(time.perf_counter() - clock, 4)
    return artefacts


def save_model_atomically(model, path) -> None:
    """Saves a Keras model to `path` (a `.keras` file) so that it appears whole or not at all."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.partial{path.suffix}")
    try:
        model.save(partial)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()


def _beats_threshold(job, metrics: dict) -> bool:
    """Whether the trained model is to be kept (saved to `job.model_file`)."""
    if job.keep_model_above is None or not job.model_file or job.objective is None:
        return False
    return Objective.from_json(job.objective).score(metrics) > job.keep_model_above


def _wants_latency(job, keep: bool, metrics: dict) -> bool:
    """Whether to measure `latency_ms` (see `TrialJob.measure_latency`)."""
    if "latency_ms" in metrics:
        return False  # the evaluator measured it (latency is an objective or a limit)
    policy = job.measure_latency
    if policy == "best" and keep and job.best_score is not None:
        return Objective.from_json(job.objective).score(metrics) > job.best_score
    return policy is True or (policy in ("kept", "best") and keep)
