"""Run a strategy against a function in memory: fast benchmarks and tests.

`simulate` is the search loop itself (`kerasnas.Search`) over an
`InMemoryStorage` and the in-process executor: the same per-trial random
generators, de-duplication, statuses and budget as a search on disk, with
no journal to write, so thousands of table look-ups take seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kerasnas.errors import ConstraintViolation
from kerasnas.objective import Objective, as_objectives
from kerasnas.spaces.space import SearchSpace
from kerasnas.strategies.base import Strategy
from kerasnas.trial import COMPLETED, FAILED, REJECTED, TrialRecord

#: Simulations never stop on a streak of failures or rejections.
UNLIMITED = 2**62


def simulate(
    strategy: Strategy,
    space: SearchSpace,
    fn: Callable[[Mapping[str, Any]], Mapping[str, float] | float],
    objective: Any,
    max_trials: int,
    seed: int = 0,
    history: Sequence[TrialRecord] = (),
) -> list[TrialRecord]:
    """Runs `strategy` on `space`, scoring with `fn`, and returns the trial records.

    Example:

    ```python
    import kerasnas
    from kerasnas.tabular import NasBenchMacro
    from kerasnas.testing.simulate import simulate
    table = NasBenchMacro()
    records = simulate(kerasnas.strategies.get("evolution"), table.space,
                       table.evaluator(), "accuracy", max_trials=100, seed=0)
    max(r.metrics["accuracy"] for r in records)
    ```

    Args:
        strategy: a `Strategy` (it is set up here).
        space: the search space.
        fn: `fn(architecture) -> dict of metrics or float`; raising
            `ConstraintViolation` rejects the candidate, any other
            exception fails the trial.
        objective: the objective(s), as for `kerasnas.search`.
        max_trials: completed or failed trials to run.
        seed: the search seed (the same seed as `kerasnas.search` gives the
            same trials).
        history: earlier records to continue from (a resumed search).

    Returns:
        Every record, `history` first; fewer than `max_trials` counted ones
        if the strategy reports the space exhausted.
    """
    from kerasnas.evaluation.base import CallableEvaluator
    from kerasnas.runtime.executors import LocalExecutor
    from kerasnas.runtime.storage import InMemoryStorage
    from kerasnas.search import Search

    objectives: list[Objective] = as_objectives(objective)
    search = Search(
        space,
        strategy,
        CallableEvaluator(fn, objectives[0].name),
        objectives,
        InMemoryStorage(history),
        max_trials=max_trials,
        seed=seed,
        keep_best_models=0,
        max_consecutive_failures=UNLIMITED,
        max_consecutive_rejections=UNLIMITED,
        verbose=0,
        executor=LocalExecutor(),
        measure_latency=False,
    )
    counted = sum(1 for r in history if r.status != REJECTED)
    if counted >= max_trials:
        return list(history)
    return search.run().trials


def run_trial(
    space: SearchSpace,
    fn: Callable[[Mapping[str, Any]], Mapping[str, float] | float],
    objectives: Sequence[Objective],
    architecture: Mapping[str, Any],
    number: int,
    seed: int = 0,
) -> TrialRecord:
    """Evaluates one architecture with `fn` and returns its record, as `Search` would.

    Args:
        space: the search space (validates the architecture, gives its key).
        fn: the scoring function (see `simulate`).
        objectives: the objectives; the first must be among the metrics.
        architecture: the architecture.
        number: the trial number.
        seed: the search seed.
    """
    from kerasnas.trial import trial_seed

    arch = space.validate(architecture)
    status, error, metrics = COMPLETED, None, {}
    try:
        result = fn(arch)
        metrics = dict(result) if isinstance(result, Mapping) else {objectives[0].name: result}
        value = objectives[0].value(metrics)
        if value is None or not math.isfinite(value):
            status, error = FAILED, f"objective '{objectives[0].name}' missing"
    except ConstraintViolation as e:
        status, error, metrics = REJECTED, str(e), dict(e.metrics)
    except Exception as e:  # noqa: BLE001 - a failing candidate fails its trial only
        status, error, metrics = FAILED, f"{type(e).__name__}: {e}", {}
    return TrialRecord(
        number=number,
        architecture=arch,
        status=status,
        metrics=metrics,
        key=space.canonical_key(arch),
        seed=trial_seed(seed, number),
        error=error,
    )


__all__ = ["run_trial", "simulate"]
