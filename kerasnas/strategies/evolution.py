"""Regularized (aging) evolution, and the breeding step shared with NSGA-II."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kerasnas.errors import SpaceExhaustedError
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.strategies.base import Strategy
from kerasnas.trial import TrialRecord


def check_int(name: str, value, minimum: int) -> int:
    """Returns `value` if it is an int >= `minimum`, else raises a clear ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return int(value)


def check_rate(name: str, value) -> float:
    """Returns `value` as a float if it is a probability in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"`{name}` must be a number in [0, 1]. Received: {name}={value!r}")
    return float(value)


def sample_unseen(
    space: SearchSpace, seen: set, rng: np.random.Generator, attempts: int, who: str
) -> Architecture:
    """Samples uniformly until an architecture whose canonical key is not in `seen`.

    Raises:
        SpaceExhaustedError: after `attempts` samples that were all seen.
    """
    for _ in range(attempts):
        arch = space.sample(rng)
        if space.canonical_key(arch) not in seen:
            return arch
    raise SpaceExhaustedError(
        f"{who} drew {attempts} architectures that were all tried already "
        f"({len(seen)} distinct tried); the space looks exhausted."
    )


def breed(
    space: SearchSpace,
    select_parent: Callable[[], TrialRecord],
    seen: set,
    rng: np.random.Generator,
    crossover_rate: float,
    mutation_rate: float,
    max_attempts: int,
    who: str,
) -> Architecture:
    """Makes a child that was never tried: crossover and/or mutation of selected parents.

    Each attempt selects a parent; with probability `crossover_rate` the
    child is a uniform crossover of it with a second selected parent,
    otherwise a copy of it. The child is then mutated with probability
    `mutation_rate`, and always when it repeats a tried architecture
    (a copy of a parent always does). A child still already tried starts a
    new attempt. After `max_attempts` attempts the child is drawn uniformly
    among untried architectures instead.

    Raises:
        SpaceExhaustedError: when no untried architecture can be found.
    """
    for _ in range(max_attempts):
        parent = select_parent().architecture
        if crossover_rate > 0 and rng.random() < crossover_rate:
            other = select_parent().architecture
            child = space.crossover(parent, other, rng)
        else:
            child = Architecture(parent)
        if rng.random() < mutation_rate or space.canonical_key(child) in seen:
            child = space.mutate(child, rng)
        if space.canonical_key(child) not in seen:
            return child
    return sample_unseen(space, seen, rng, max(max_attempts, 100) * 10, who)


class RegularizedEvolution(Strategy):
    """Regularized (aging) evolution, after Real et al. (2019).

    The population is the last `population_size` completed trials of the
    history: each new trial makes the oldest member die, whatever its score
    ("aging"), which keeps the search exploring and makes it robust to
    lucky, noisy evaluations. Until `population_size` trials have completed,
    architectures are sampled uniformly. Then each proposal runs a
    tournament: `sample_size` members are drawn at random and the best by
    the (first) objective becomes the parent; the child is a mutation of it
    (one decision changed), or, with probability `crossover_rate`, a
    uniform crossover with a second tournament winner, mutated with
    probability `mutation_rate`.

    The strategy keeps no state: the population is read from the history
    and every random choice comes from the trial's `rng`, so the same seed
    gives the same search and a resumed search proposes exactly what an
    uninterrupted one would. An architecture already tried (by canonical
    key) is never proposed again; a child that repeats one is bred again,
    up to `max_attempts` times, and then drawn uniformly among the untried.

    Failed trials (errors, NaN loss) and candidates rejected by constraints
    never join the population, but they count as tried, so they are not
    proposed again. A search with several objectives ranks by the first;
    use `NSGA2` to search trade-offs.

    Example:

    ```python
    import kerasnas
    strategy = kerasnas.strategies.RegularizedEvolution(population_size=10, sample_size=3)
    result = kerasnas.search(
        space="nas_bench_macro",
        evaluator=lambda arch: sum(v == "MB6_K5" for v in arch.values()),
        strategy=strategy, max_trials=30, verbose=0,
        directory="runs/evolution-example", overwrite=True)
    ```

    Or by name: `kerasnas.search(..., strategy="evolution",
    strategy_options={"population_size": 10})`.

    Args:
        population_size: members alive at once (the aging window), and the
            number of random architectures that start the search.
        sample_size: members drawn for each tournament (1, no selection
            pressure, to `population_size`; larger means greedier).
            Defaults to a quarter of the population, at least 2 (5 for 20).
        mutation_rate: probability that a crossover child is also mutated
            (a child that is not crossed over is always mutated).
        crossover_rate: probability that a child is a crossover of two
            tournament winners instead of a mutated copy of one.
        max_attempts: children bred before falling back to an untried
            random architecture.

    Raises:
        ValueError: for a parameter out of range, naming it.
    """

    name = "evolution"

    def __init__(
        self,
        population_size: int = 20,
        sample_size: int | None = None,
        mutation_rate: float = 1.0,
        crossover_rate: float = 0.0,
        max_attempts: int = 100,
    ):
        self.population_size = check_int("population_size", population_size, 2)
        if sample_size is None:
            sample_size = max(2, self.population_size // 4)
        self.sample_size = check_int("sample_size", sample_size, 1)
        if self.sample_size > self.population_size:
            raise ValueError(
                "`sample_size` must be at most `population_size` "
                f"({self.population_size}). Received: sample_size={sample_size!r}"
            )
        self.mutation_rate = check_rate("mutation_rate", mutation_rate)
        self.crossover_rate = check_rate("crossover_rate", crossover_rate)
        self.max_attempts = check_int("max_attempts", max_attempts, 1)

    def population(self, history: Sequence[TrialRecord]) -> list[TrialRecord]:
        """Returns the living members: the last `population_size` scored trials, oldest first."""
        members = []
        for record in reversed(history):
            if record.ok and np.isfinite(self.score(record)):
                members.append(record)
                if len(members) == self.population_size:
                    break
        members.reverse()
        return members

    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator) -> Architecture:
        seen = {record.key for record in history}
        members = self.population(history)
        if len(members) < self.population_size:
            return sample_unseen(self.space, seen, rng, self.max_attempts * 20, "Evolution")
        scores = [self.score(m) for m in members]

        def tournament() -> TrialRecord:
            drawn = rng.choice(len(members), size=self.sample_size, replace=False)
            # Best score wins; among equals, the youngest.
            return members[max(drawn, key=lambda i: (scores[i], i))]

        return breed(
            self.space,
            tournament,
            seen,
            rng,
            self.crossover_rate,
            self.mutation_rate,
            self.max_attempts,
            "Evolution",
        )

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "population_size": self.population_size,
            "sample_size": self.sample_size,
            "mutation_rate": self.mutation_rate,
            "crossover_rate": self.crossover_rate,
            "max_attempts": self.max_attempts,
        }
