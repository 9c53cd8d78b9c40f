"""NSGA-II-style multi-objective evolution (steady state)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasnas import pareto
from kerasnas.spaces.space import Architecture
from kerasnas.strategies.base import Strategy
from kerasnas.strategies.evolution import breed, check_int, check_rate, sample_unseen
from kerasnas.trial import TrialRecord


class NSGA2(Strategy):
    """Multi-objective evolution in the style of NSGA-II (Deb et al., 2002).

    Searches the trade-offs between several objectives, for example
    `objective=["val_accuracy", "params"]` (maximise accuracy, minimise
    size). The search starts with `population_size` uniformly sampled
    architectures. From then on it is a steady-state NSGA-II: parents are
    chosen by binary tournaments on Pareto rank (non-dominated sorting),
    ties broken by crowding distance (the less crowded wins); a child is a
    uniform crossover of two parents with probability `crossover_rate`,
    mutated with probability `mutation_rate` (a child that is not crossed
    over is always mutated). Each completed trial joins the population and
    the worst member leaves: the one in the last front with the smallest
    crowding distance (the oldest among equals). The population is elitist:
    a trial on the current Pareto front only leaves when enough trials
    dominate it.

    The population is a function of the history alone (cached between
    calls), and every random choice comes from the trial's `rng`, so the
    same seed gives the same search and resuming reproduces it. Failed and
    rejected trials, and trials missing one of the objectives, never join
    the population but are never proposed again. The whole Pareto front of
    a search is `result.pareto_front`.

    Example:

    ```python
    import kerasnas
    from kerasnas.tabular import NasBenchMacro
    table = NasBenchMacro()
    result = kerasnas.search(
        space=table.space, evaluator=table.evaluator(),
        objective=["accuracy", "params"], strategy="nsga2",
        strategy_options={"population_size": 10}, max_trials=40, verbose=0,
        directory="runs/nsga2-example", overwrite=True)
    [(t.metrics["accuracy"], t.metrics["params"]) for t in result.pareto_front]
    ```

    Args:
        population_size: survivors kept, and the number of random
            architectures that start the search.
        crossover_rate: probability that a child is a crossover of two
            parents.
        mutation_rate: probability that a crossover child is also mutated.
        max_attempts: children bred before falling back to an untried
            random architecture.

    Raises:
        ValueError: for a parameter out of range, naming it; at `ask`, when
            trials completed but none reports every objective.
    """

    name = "nsga2"

    def __init__(
        self,
        population_size: int = 20,
        crossover_rate: float = 0.5,
        mutation_rate: float = 1.0,
        max_attempts: int = 100,
    ):
        self.population_size = check_int("population_size", population_size, 2)
        self.crossover_rate = check_rate("crossover_rate", crossover_rate)
        self.mutation_rate = check_rate("mutation_rate", mutation_rate)
        self.max_attempts = check_int("max_attempts", max_attempts, 1)
        self._cache = None

    def setup(self, space, objectives) -> None:
        super().setup(space, objectives)
        self._cache = None

    # ------------------------------------------------------------ population
    def _eligible(self, record: TrialRecord) -> bool:
        return record.ok and all(o.value(record.metrics) is not None for o in self.objectives)

    def _scores(self, members: Sequence[TrialRecord]) -> np.ndarray:
        return pareto.score_matrix(members, self.objectives)

    def _rank_and_crowding(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ranks = np.zeros(len(scores), dtype=int)
        crowding = np.zeros(len(scores))
        for rank, front in enumerate(pareto.non_dominated_sort(scores)):
            ranks[front] = rank
            crowding[front] = pareto.crowding_distance(scores[front])
        return ranks, crowding

    def _survive(self, members: list[TrialRecord]) -> list[TrialRecord]:
        """Drops the worst member while there are too many."""
        while len(members) > self.population_size:
            scores = self._scores(members)
            last = pareto.non_dominated_sort(scores)[-1]
            crowding = pareto.crowding_distance(scores[last])
            worst = last[int(np.argmin(crowding))]  # argmin: the oldest among equals
            members = members[:worst] + members[worst + 1 :]
        return members

    def population(self, history: Sequence[TrialRecord]) -> list[TrialRecord]:
        """Returns the surviving members after the whole history, oldest first."""
        return self._sync(history)[0]

    def _sync(self, history: Sequence[TrialRecord]) -> tuple[list[TrialRecord], int]:
        """Survivors and the number of eligible trials, updated from a cached prefix."""
        start, members, eligible = 0, [], 0
        if self._cache is not None:
            done, last, cached, count = self._cache
            if 0 < done <= len(history) and _same(history[done - 1], last):
                start, members, eligible = done, list(cached), count
        for record in history[start:]:
            if self._eligible(record):
                eligible += 1
                members = self._survive(members + [record])
        if history:
            self._cache = (len(history), history[-1], list(members), eligible)
        return members, eligible

    # ------------------------------------------------------------------ ask
    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator) -> Architecture:
        seen = {record.key for record in history}
        members, eligible = self._sync(history)
        if not members and any(r.ok for r in history):
            self._raise_missing(history)
        if eligible < self.population_size:
            return sample_unseen(self.space, seen, rng, self.max_attempts * 20, "NSGA-II")
        ranks, crowding = self._rank_and_crowding(self._scores(members))

        def binary_tournament() -> TrialRecord:
            i, j = (int(k) for k in rng.choice(len(members), size=2, replace=False))
            if (ranks[j], -crowding[j]) < (ranks[i], -crowding[i]):
                return members[j]
            return members[i]

        return breed(
            self.space,
            binary_tournament,
            seen,
            rng,
            self.crossover_rate,
            self.mutation_rate,
            self.max_attempts,
            "NSGA-II",
        )

    def _raise_missing(self, history: Sequence[TrialRecord]) -> None:
        completed = [r for r in history if r.ok]
        names = sorted({k for r in completed for k in r.metrics})
        missing = [
            o.name for o in self.objectives if all(o.value(r.metrics) is None for r in completed)
        ]
        raise ValueError(
            "Every completed trial lacks an objective, so NSGA-II cannot rank them. "
            f"Available metrics: {names}. Received: objective={missing}"
        )

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "population_size": self.population_size,
            "crossover_rate": self.crossover_rate,
            "mutation_rate": self.mutation_rate,
            "max_attempts": self.max_attempts,
        }


def _same(a: TrialRecord, b: TrialRecord) -> bool:
    return a is b or (a.number == b.number and a.key == b.key and a.status == b.status)
