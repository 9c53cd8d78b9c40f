"""Strategy wrappers: behaviour any strategy gets without knowing about it.

`Deduplicated` asks again when a proposal is already running (trials in
flight have not been told yet); `ProxyRanked` asks for several proposals
and keeps the one a zero-cost proxy ranks best. Both wrap any `Strategy`
and hand everything else (setup, tell, config, batch size) to it.

Example:

```python
import numpy as np
import kerasnas
from kerasnas.strategies.wrappers import Deduplicated
strategy = Deduplicated(kerasnas.strategies.RandomSearch())
strategy.setup(kerasnas.spaces.ChainSpace(max_layers=2), [kerasnas.Objective("score")])
first = strategy.ask([], np.random.default_rng(0))
strategy.claim(strategy.space.canonical_key(first))  # running now
strategy.ask([], np.random.default_rng(0)) != first  # True: asked again
```
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasnas.errors import SpaceExhaustedError
from kerasnas.strategies.base import Strategy
from kerasnas.trial import TrialRecord, trial_seed

#: How often `Deduplicated` asks again before running a duplicate anyway.
MAX_REASKS = 10


class StrategyWrapper(Strategy):
    """Hands every call to the wrapped strategy; subclasses change `ask`.

    Args:
        strategy: the `Strategy` to wrap.
    """

    def __init__(self, strategy: Strategy):
        self.strategy = strategy
        #: Facts about the last proposal, copied into its trial's record.
        self.last_info: dict = {}
        #: The trial the next `ask` is for (see `for_trial`).
        self.number = 0

    @property
    def name(self) -> str:
        return self.strategy.name

    @property
    def batch_size(self) -> int:
        return self.strategy.batch_size

    def setup(self, space, objectives) -> None:
        super().setup(space, objectives)
        self.strategy.setup(space, objectives)

    def prepare(self, context) -> None:
        self.strategy.prepare(context)

    def for_trial(self, number: int) -> None:
        """Tells the wrapper (and any it wraps) which trial the next `ask` is for."""
        self.number = number
        if isinstance(self.strategy, StrategyWrapper):
            self.strategy.for_trial(number)

    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator):
        architecture = self.strategy.ask(history, rng)
        self.last_info = dict(getattr(self.strategy, "last_info", {}))
        return architecture

    def tell(self, record: TrialRecord) -> None:
        self.strategy.tell(record)

    def get_config(self) -> dict:
        return self.strategy.get_config()


class Deduplicated(StrategyWrapper):
    """Asks again (deterministically, up to 10 times) while a proposal is running.

    Every architecture it returns counts as running until a record with its
    key is told; `claim(key)` marks others (e.g. trials retried after a
    crash).

    Args:
        strategy: the `Strategy` to wrap.
        seed: the search seed (re-asks use generators derived from it).
    """

    def __init__(self, strategy: Strategy, seed: int = 0):
        super().__init__(strategy)
        self.seed = int(seed)
        self.running: dict[str, int] = {}
        inner = strategy
        while inner is not None:  # every strategy it wraps sees what is running
            inner.running_keys = self.running.keys()
            inner = getattr(inner, "strategy", None)

    def claim(self, *keys: str) -> None:
        """Marks `keys` as running."""
        for key in keys:
            self.running[key] = self.running.get(key, 0) + 1

    def ask(self, history, rng):
        architecture = self.space.validate(super().ask(history, rng))
        for retry in range(1, MAX_REASKS + 1):
            if self.space.canonical_key(architecture) not in self.running:
                break
            again = np.random.default_rng([self.seed, self.number, 11, retry])
            architecture = self.space.validate(super().ask(history, again))
        self.claim(self.space.canonical_key(architecture))
        return architecture

    def tell(self, record: TrialRecord) -> None:
        count = self.running.pop(record.key, 0)
        if count > 1:
            self.running[record.key] = count - 1
        super().tell(record)


class ProxyRanked(StrategyWrapper):
    """Asks for `candidates` proposals and returns the one `proxy` scores best.

    Args:
        strategy: the `Strategy` to wrap.
        proxy: a `kerasnas.proxies.ZeroCostProxy`.
        candidates: proposals ranked per trial.
        seed: the search seed.
    """

    def __init__(self, strategy: Strategy, proxy, candidates: int, seed: int = 0):
        super().__init__(strategy)
        self.proxy = proxy
        self.candidates = int(candidates)
        self.seed = int(seed)

    def ask(self, history, rng):
        proposals = [self.space.validate(super().ask(history, rng))]
        keys = {self.space.canonical_key(proposals[0])}
        for i in range(1, self.candidates):
            other_rng = np.random.default_rng([self.seed, self.number, 7, i])
            try:
                other = self.space.validate(self.strategy.ask(history, other_rng))
            except SpaceExhaustedError:
                break
            key = self.space.canonical_key(other)
            if key not in keys:
                keys.add(key)
                proposals.append(other)
        seed = trial_seed(self.seed, self.number)
        scores = [self.proxy.score(candidate, seed=seed) for candidate in proposals]
        best = int(np.argmax(scores))
        self.last_info = {
            "zero_cost": {
                "proxy": self.proxy.name,
                "score": scores[best],
                "candidates": len(proposals),
                "rank_scores": scores,
            }
        }
        return proposals[best]
