"""The search runtime: journal, records, executors, pruning, progress, TensorBoard."""

from kerasnas import _lazy

# Names load on first use (PEP 562): the Ray executor and the others are not
# imported until asked for.
__getattr__, __dir__ = _lazy.attach(
    __name__,
    {
        "SearchDirectory": "kerasnas.runtime.directory",
        **dict.fromkeys(
            (
                "EXECUTOR_NAMES",
                "Executor",
                "ExecutorError",
                "LocalExecutor",
                "ProcessExecutor",
                "choose_executor",
                "get_executor",
            ),
            "kerasnas.runtime.executors",
        ),
        "Journal": "kerasnas.runtime.journal",
        **dict.fromkeys(
            (
                "PRUNER_NAMES",
                "Hyperband",
                "MedianStopping",
                "Pruner",
                "SuccessiveHalving",
                "get_pruner",
            ),
            "kerasnas.runtime.pruning",
        ),
        "simulate_pruner": "kerasnas.runtime.pruning:simulate",
        "RayExecutor": "kerasnas.runtime.ray_executor",
        "init_local_ray": "kerasnas.runtime.ray_executor",
        **dict.fromkeys(
            ("COMPLETED", "FAILED", "REJECTED", "TrialRecord"), "kerasnas.trial"
        ),
        **dict.fromkeys(("TrialJob", "TrialOutcome", "run_trial_job"), "kerasnas.runtime.trial"),
    },
)

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
