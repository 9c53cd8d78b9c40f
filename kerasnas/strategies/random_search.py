"""Random search with de-duplication."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasnas.errors import SpaceExhaustedError
from kerasnas.spaces.space import Architecture
from kerasnas.strategies.base import Strategy
from kerasnas.trial import TrialRecord
from kerasnas.validation import check_int


class RandomSearch(Strategy):
    """Samples architectures uniformly, never proposing one already tried.

    Architectures are compared by the space's canonical key, so equivalent
    encodings count as the same architecture.

    Example:

    ```python
    import numpy as np
    import kerasnas
    strategy = kerasnas.strategies.RandomSearch()
    strategy.setup(kerasnas.spaces.ChainSpace(max_layers=2), [kerasnas.Objective("val_accuracy")])
    arch = strategy.ask([], np.random.default_rng(0))
    ```

    Args:
        max_attempts: samples to draw before concluding that the space is
            exhausted.
    """

    name = "random"

    def __init__(self, max_attempts: int = 2000):
        self.max_attempts = check_int("max_attempts", max_attempts, minimum=1)

    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator) -> Architecture:
        seen = {record.key for record in history}
        for _ in range(self.max_attempts):
            arch = self.space.sample(rng)
            if self.space.canonical_key(arch) not in seen:
                return arch
        raise SpaceExhaustedError(
            f"Random search drew {self.max_attempts} architectures that were all tried "
            f"already ({len(seen)} distinct tried); the space looks exhausted."
        )

    def get_config(self) -> dict:
        return {"name": self.name, "max_attempts": self.max_attempts}
