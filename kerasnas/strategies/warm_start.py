"""Warm start: try a few known-good architectures first, then let a strategy search."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from kerasnas.errors import InvalidArchitectureError
from kerasnas.objective import Objective
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.strategies.base import Strategy
from kerasnas.trial import TrialRecord


class WarmStart(Strategy):
    """Proposes given architectures first, in order, then asks the wrapped strategy.

    A search that starts from a few designs known to work (a small CNN for
    sequences and images, a multi-layer perceptron and a linear model for
    vectors: `space.reference_architectures(input_shape)`) has a sensible
    model after its first trials, whatever the strategy does next. The
    wrapped strategy hears of every trial, the warm-start ones included, so
    evolution can mutate them and the RL controller learns from them.

    Deterministic and resumable: which references are still to try follows
    from the history (a reference already in it is skipped), so a resumed
    search proposes what an uninterrupted one would. A reference is never
    proposed twice, nor one equivalent to a trial already run.
    `kerasnas.search()` wraps its strategy in one by default
    (`warm_start=False` turns it off).

    Example:

    ```python
    import numpy as np
    import kerasnas
    from kerasnas.strategies import RandomSearch, WarmStart
    space = kerasnas.spaces.get("chain", input_shape=(40, 1))
    strategy = WarmStart(RandomSearch(), space.reference_architectures((40, 1)))
    strategy.setup(space, [kerasnas.Objective("val_accuracy")])
    first = strategy.ask([], np.random.default_rng(0))  # the first reference design
    ```

    Args:
        strategy: the strategy that proposes everything after the references.
        architectures: the architectures to try first, in order (invalid ones
            raise when the strategy is set up; duplicates are dropped).

    Raises:
        ValueError: if `strategy` is not a `Strategy` or is itself a
            `WarmStart`, or (at setup) an architecture is not in the space.
    """

    def __init__(self, strategy: Strategy, architectures: Iterable[Mapping[str, Any]]):
        if not isinstance(strategy, Strategy):
            raise ValueError(
                f"`strategy` must be a Strategy. Received: strategy={strategy!r}"
            )
        if isinstance(strategy, WarmStart):
            raise ValueError(
                "`strategy` is already a WarmStart; wrap the inner strategy once. "
                f"Received: strategy={strategy!r}"
            )
        self.strategy = strategy
        self.architectures = [dict(a) for a in architectures]
        self.name = strategy.name
        self._keys: list[str] = []
        self._asked: set[str] = set()

    @property
    def batch_size(self) -> int:  # executors read it; the wrapped strategy decides
        return self.strategy.batch_size

    def __getattr__(self, name: str):
        # Anything else (e.g. the RL strategy's `decision_probabilities`) is
        # the wrapped strategy's. Only called for attributes not found here.
        if name == "strategy":
            raise AttributeError(name)
        return getattr(self.strategy, name)

    def setup(self, space: SearchSpace, objectives: Sequence[Objective]) -> None:
        super().setup(space, objectives)
        self.strategy.setup(space, objectives)
        valid, keys = [], []
        for i, arch in enumerate(self.architectures):
            try:
                checked = space.validate(arch)
            except InvalidArchitectureError as e:
                raise ValueError(
                    f"Warm-start architecture {i} is not in space '{space.name}': {e}. "
                    f"Received: architectures[{i}]={arch!r}"
                ) from e
            key = space.canonical_key(checked)
            if key not in keys:
                valid.append(checked)
                keys.append(key)
        self._references = valid
        self._keys = keys
        self._asked = set()

    def pending(self, history: Sequence[TrialRecord]) -> list[Architecture]:
        """The references not yet tried (nor handed out) given `history`."""
        tried = {record.key for record in history} | self._asked
        return [a for a, k in zip(self._references, self._keys) if k not in tried]

    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator) -> Architecture:
        left = self.pending(history)
        if left:
            arch = left[0]
            self._asked.add(self.space.canonical_key(arch))
            return Architecture(arch)
        return self.strategy.ask(history, rng)

    def tell(self, record: TrialRecord) -> None:
        self.strategy.tell(record)

    def get_config(self) -> dict:
        keys = [Architecture(a).key for a in self.architectures]
        return {**self.strategy.get_config(), "warm_start": keys}
