"""The contract every strategy keeps, as checks any strategy can be run through.

A new strategy is one file and one registry line; `check_strategy` tells
whether it keeps the properties the search loop relies on. Each check runs
the real loop (`kerasnas.Search` over an in-memory storage) on the
NAS-Bench-Macro table, so a full check takes seconds.

Example:

```python
import kerasnas
from kerasnas.testing.conformance import check_strategy
check_strategy(lambda: kerasnas.strategies.get("evolution"), budget=30)
```
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from kerasnas.errors import ConstraintViolation
from kerasnas.objective import Objective
from kerasnas.runtime.executors import LocalExecutor
from kerasnas.runtime.storage import InMemoryStorage
from kerasnas.runtime.trial import run_trial_job
from kerasnas.strategies.base import Strategy
from kerasnas.testing.simulate import simulate

CHECKS = (
    "same_seed_same_proposals",
    "resume_equals_uninterrupted",
    "no_duplicate_proposals",
    "failed_and_rejected_trials",
    "objective_direction",
    "batch_proposals",
)


def _table():
    from kerasnas.tabular import NasBenchMacro

    return NasBenchMacro()


def _keys(records) -> list[str]:
    return [r.key for r in records]


def _bucket(arch, modulo: int) -> int:
    text = ",".join(f"{k}={arch[k]}" for k in sorted(arch))
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % modulo


def same_seed_same_proposals(factory, table, budget, seed=0):
    """Two runs with one seed propose the same architectures; another seed differs."""
    first = simulate(factory(), table.space, table.evaluator(), "accuracy", budget, seed=seed)
    again = simulate(factory(), table.space, table.evaluator(), "accuracy", budget, seed=seed)
    other = simulate(factory(), table.space, table.evaluator(), "accuracy", budget, seed=seed + 1)
    assert _keys(first) == _keys(again), "the same seed gave different proposals"
    assert _keys(first) != _keys(other), "a different seed gave the same proposals"


def resume_equals_uninterrupted(factory, table, budget, seed=0):
    """A search resumed halfway (history replayed through `tell`) proposes what it would have."""
    straight = simulate(factory(), table.space, table.evaluator(), "accuracy", budget, seed=seed)
    half = straight[: budget // 2]
    resumed = simulate(
        factory(), table.space, table.evaluator(), "accuracy", budget, seed=seed, history=half
    )
    assert _keys(resumed) == _keys(straight), "resuming changed the proposals"


def no_duplicate_proposals(factory, table, budget, seed=0):
    """No architecture is proposed twice."""
    records = simulate(factory(), table.space, table.evaluator(), "accuracy", budget, seed=seed)
    keys = _keys(records)
    assert len(keys) == len(set(keys)), f"{len(keys) - len(set(keys))} duplicate proposals"


def failed_and_rejected_trials(factory, table, budget, seed=0):
    """Failures and rejections are recorded, rejections do not count, and the search goes on."""
    score = table.evaluator()

    def flaky(arch):
        bucket = _bucket(arch, 10)
        if bucket == 0:
            raise RuntimeError("this candidate fails")
        if bucket == 1:
            raise ConstraintViolation("this candidate breaks a limit", {"params": 1e9})
        return score(arch)

    records = simulate(factory(), table.space, flaky, "accuracy", budget, seed=seed)
    statuses = [r.status for r in records]
    assert sum(s != "rejected" for s in statuses) == budget, "rejections counted in the budget"
    assert "failed" in statuses and "completed" in statuses
    assert all(r.metrics.get("accuracy") is not None for r in records if r.ok)


def objective_direction(factory, table, budget, seed=0):
    """Minimising the negated accuracy proposes exactly what maximising accuracy does."""
    score = table.evaluator()

    def negated(arch):
        metrics = dict(score(arch))
        metrics["error"] = -metrics["accuracy"]
        return metrics

    maximise = simulate(factory(), table.space, negated, "accuracy", budget, seed=seed)
    minimise = simulate(
        factory(), table.space, negated, Objective("error", "min"), budget, seed=seed
    )
    assert _keys(maximise) == _keys(minimise), "the objective's direction was not respected"


class _BatchExecutor(LocalExecutor):
    """Runs trials `capacity` at a time: the loop asks for a batch before it tells."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity
        self.batches: list[list[str]] = []

    def wait(self):
        jobs, self._queue = list(self._queue), []
        self.batches.append([job.key for job in jobs])
        return [run_trial_job(self.evaluator, job, self.callbacks) for job in jobs]


def batch_proposals(factory, table, budget, seed=0, capacity=4):
    """Several proposals in flight at once are distinct and the budget is kept."""
    from kerasnas.evaluation.base import CallableEvaluator
    from kerasnas.search import Search

    executor = _BatchExecutor(capacity)
    search = Search(
        table.space, factory(), CallableEvaluator(table.evaluator(), "accuracy"), "accuracy",
        InMemoryStorage(), max_trials=budget, seed=seed, verbose=0, executor=executor,
        keep_best_models=0, measure_latency=False,
    )  # fmt: skip
    records = search.run().trials
    assert len(records) == budget
    assert max(len(batch) for batch in executor.batches) == capacity
    for batch in executor.batches:
        assert len(batch) == len(set(batch)), "a batch proposed one architecture twice"


def check_strategy(factory: Callable[[], Strategy], budget: int = 40, checks=CHECKS) -> None:
    """Runs a strategy through every check of the strategy contract.

    Args:
        factory: makes a fresh strategy (each check needs its own).
        budget: trials per simulated search (at least 10).
        checks: names from `CHECKS` to run.

    Raises:
        AssertionError: naming the property the strategy broke.
    """
    table = _table()
    for name in checks:
        globals()[name](factory, table, budget)
