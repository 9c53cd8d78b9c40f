"""The search runtime: journal, records, executors, pruning, progress, TensorBoard."""

from kerasnas.runtime.directory import SearchDirectory
from kerasnas.runtime.executors import (
    EXECUTOR_NAMES,
    Executor,
    ExecutorError,
    LocalExecutor,
    ProcessExecutor,
    choose_executor,
    get_executor,
)
from kerasnas.runtime.journal import Journal
from kerasnas.runtime.pruning import (
    PRUNER_NAMES,
    Hyperband,
    MedianStopping,
    Pruner,
    SuccessiveHalving,
    get_pruner,
)
from kerasnas.runtime.pruning import simulate as simulate_pruner
from kerasnas.runtime.ray_executor import RayExecutor, init_local_ray
from kerasnas.runtime.trial import TrialJob, TrialOutcome, run_trial_job
from kerasnas.trial import COMPLETED, FAILED, REJECTED, TrialRecord

__all__ = [
    "COMPLETED",
    "EXECUTOR_NAMES",
    "Executor",
    "ExecutorError",
    "FAILED",
    "Hyperband",
    "Journal",
    "LocalExecutor",
    "MedianStopping",
    "PRUNER_NAMES",
    "ProcessExecutor",
    "RayExecutor",
    "Pruner",
    "REJECTED",
    "SearchDirectory",
    "SuccessiveHalving",
    "TrialJob",
    "TrialOutcome",
    "TrialRecord",
    "choose_executor",
    "get_executor",
    "get_pruner",
    "init_local_ray",
    "simulate_pruner",
    "run_trial_job",
]
