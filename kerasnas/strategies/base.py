"""The `Strategy` interface: how to search."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from kerasnas.objective import Objective
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.trial import TrialRecord


@dataclasses.dataclass
class PreparationContext:
    """What `Strategy.prepare` gets: a one-shot phase trains and journals through it."""

    evaluator: Any
    storage: Any
    directory: pathlib.Path | None
    seed: int
    verbose: int


class Strategy:
    """Proposes architectures (`ask`) and learns from results (`tell`).

    A strategy keeps little state: `ask` receives the whole history and a
    per-trial random generator, so a search that resumes replays the
    journal through `tell` and proposes exactly what an uninterrupted run
    would have proposed.

    Example:

    ```python
    import numpy as np
    import kerasnas

    class FirstUnseen(kerasnas.strategies.Strategy):
        name = "first_unseen"

        def ask(self, history, rng):
            seen = {r.key for r in history}
            for arch in self.space.enumerate():
                if self.space.canonical_key(arch) not in seen:
                    return arch
            raise kerasnas.errors.SpaceExhaustedError("every architecture was tried")

    strategy = FirstUnseen()
    strategy.setup(kerasnas.spaces.ChainSpace(max_layers=1), [kerasnas.Objective("score")])
    strategy.ask([], np.random.default_rng(0))
    ```
    """

    name = "strategy"
    #: How many architectures a strategy likes to propose before it hears
    #: back (the RL controller proposes batches); executors may use it.
    batch_size = 1

    #: Keys of the architectures proposed and not yet told: the search loop
    #: keeps it up to date (`wrappers.Deduplicated`), so a strategy that
    #: proposes batches can avoid what is running. Empty outside the loop.
    running_keys: Collection[str] = frozenset()

    def setup(self, space: SearchSpace, objectives: Sequence[Objective]) -> None:
        """Binds the strategy to a space and objectives before the first `ask`.

        Args:
            space: the search space.
            objectives: the objectives; single-objective strategies use the first.
        """
        self.space = space
        self.objectives = list(objectives)
        self.objective = self.objectives[0]

    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator) -> Architecture:
        """Returns the next architecture to evaluate.

        Args:
            history: every finished trial, in order.
            rng: this trial's random generator (derived from the search seed
                and the trial number).

        Raises:
            SpaceExhaustedError: when nothing new is left to propose.
        """
        raise NotImplementedError

    def prepare(self, context) -> None:
        """Runs once before the first `ask` of a search (or of a resumed search).

        One-shot strategies train their supernet here (DARTS, ENAS, SPOS);
        the default does nothing.

        Args:
            context: a `PreparationContext`: the evaluator,
                the storage (its events can be read and appended), the
                search directory (None in memory), the seed and verbosity.
        """

    def tell(self, record: TrialRecord) -> None:
        """Receives a finished trial. The default does nothing."""

    def get_config(self) -> dict:
        """Parameters that define the strategy (stored with the search)."""
        return {"name": self.name}

    def score(self, record: TrialRecord) -> float:
        """The record's objective value, larger is better; -inf if it failed."""
        if not record.ok:
            return float("-inf")
        return self.objective.score(record.metrics)
