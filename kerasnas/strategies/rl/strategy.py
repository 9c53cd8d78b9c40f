"""`strategy="rl"`: the NAS controller as a kerasnas `Strategy`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from kerasnas.errors import InvalidArchitectureError, SpaceExhaustedError
from kerasnas.objective import Objective
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.strategies.base import Strategy
from kerasnas.strategies.rl.controller import Controller, check_options
from kerasnas.strategies.rl.rewards import CostPenalty, RewardFunction
from kerasnas.trial import TrialRecord


class RLStrategy(Strategy):
    """Reinforcement-learning search: a TF-Agents LSTM policy proposes architectures.

    The controller spells an architecture one flat decision at a time
    (invalid outcomes masked), and after every `batch_size` finished trials
    it takes one policy-gradient step on their rewards (REINFORCE with a
    moving-average baseline and an entropy bonus; PPO as an option).

    * Rewards: the first objective (negated if minimised), optionally times
      a MnasNet-style cost factor (`cost_penalty`); failed and rejected
      trials get `failure_reward` (by default the lowest reward so far).
    * Determinism and resume: trial `n`'s proposal is drawn with a seed from
      trial `n`'s random generator and the weights after the last complete
      batch, and updates happen in `tell`. Resuming replays the journal
      through `tell`, which repeats every update exactly, so a resumed
      search proposes what an uninterrupted one would have.
    * De-duplication: an architecture already tried (or in flight) is not
      proposed again; the controller draws again (up to
      `max_duplicate_draws` samples), then falls back to a uniform sample of
      the space.

    Example:

    ```python
    import kerasnas
    from kerasnas.tabular import NasBenchMacro
    table = NasBenchMacro()
    result = kerasnas.search(
        space=table.space, evaluator=table.evaluator(), objective="accuracy",
        strategy="rl", strategy_options={"batch_size": 8},
        max_trials=32, verbose=0, directory="runs/rl-example", overwrite=True)
    ```

    Args:
        batch_size: proposals per policy update.
        algorithm: `"reinforce"` or `"ppo"`.
        learning_rate: the controller's Adam learning rate.
        entropy_weight: weight of the entropy bonus.
        baseline_decay: decay of the moving-average baseline.
        normalize_advantages: scale advantages by a moving standard deviation.
        embedding_dim: controller embedding size.
        lstm_units: controller LSTM units (one int per layer).
        cost_penalty: `CostPenalty` or a dict such as
            `{"metric": "params", "target": 1e5, "alpha": -0.07, "beta": -0.07}`.
        failure_reward: reward of failed/rejected trials (None: the lowest
            reward so far, or 0 before any trial completed).
        deduplicate: never propose an architecture already tried.
        max_duplicate_draws: controller samples per `ask` before falling back
            to uniform sampling.
        ppo_epochs: PPO epochs per update.
        seed: seed of the controller's initial weights (proposals are seeded
            by the search).

    Raises:
        ValueError: for out-of-range options, naming the option.
    """

    name = "rl"

    def __init__(
        self,
        batch_size: int = 8,
        algorithm: str = "reinforce",
        learning_rate: float = 0.01,
        entropy_weight: float = 0.01,
        baseline_decay: float = 0.9,
        normalize_advantages: bool = True,
        embedding_dim: int = 32,
        lstm_units: Sequence[int] = (64,),
        cost_penalty: CostPenalty | Mapping | None = None,
        failure_reward: float | None = None,
        deduplicate: bool = True,
        max_duplicate_draws: int = 64,
        ppo_epochs: int = 4,
        seed: int = 0,
    ):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be an int >= 1. Received: batch_size={batch_size!r}"
            )
        if (
            not isinstance(max_duplicate_draws, int)
            or isinstance(max_duplicate_draws, bool)
            or max_duplicate_draws < 1
        ):
            raise ValueError(
                "`max_duplicate_draws` must be an int >= 1. "
                f"Received: max_duplicate_draws={max_duplicate_draws!r}"
            )
        self.batch_size = batch_size
        self.max_duplicate_draws = max_duplicate_draws
        self.deduplicate = bool(deduplicate)
        self.cost_penalty = None if cost_penalty is None else CostPenalty.from_json(cost_penalty)
        # Validated by RewardFunction; kept for get_config.
        RewardFunction(Objective("x"), None, failure_reward)
        self.failure_reward = failure_reward
        self.controller_options = dict(
            algorithm=algorithm,
            learning_rate=learning_rate,
            entropy_weight=entropy_weight,
            baseline_decay=baseline_decay,
            normalize_advantages=normalize_advantages,
            embedding_dim=embedding_dim,
            lstm_units=lstm_units if isinstance(lstm_units, (int, str)) else tuple(lstm_units),
            ppo_epochs=ppo_epochs,
            seed=seed,
        )
        # Fail on bad controller options now, not after the first trial.
        check_options(**self.controller_options)
        self.controller: Controller | None = None

    # ----------------------------------------------------------- lifecycle
    def setup(self, space: SearchSpace, objectives: Sequence[Objective]) -> None:
        super().setup(space, objectives)
        reuse = (
            self.controller is not None
            and self.controller.space.fingerprint() == space.fingerprint()
        )
        if reuse:
            # Same space: start again from the initial weights but keep the
            # compiled functions (tracing costs seconds; a reset costs ms).
            self.controller.reset()
        else:
            self.controller = Controller(space, **self.controller_options)
        self.rewards = RewardFunction(self.objective, self.cost_penalty, self.failure_reward)
        self._pending: list[tuple[list[int], float]] = []
        self._told_rows: set[tuple] = set()
        self.losses: list[float] = []

    def _require_setup(self):
        if self.controller is None:
            raise RuntimeError(
                "RLStrategy.setup(space, objectives) must be called before ask/tell "
                "(kerasnas.search and kerasnas.Search do it)."
            )

    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator) -> Architecture:
        self._require_setup()
        seen = {record.key for record in history} | set(self.running_keys)
        seed = rng.integers(0, 2**31 - 1, size=2)
        draws = self.max_duplicate_draws if self.deduplicate else 1
        drawn, attempt = 0, 0
        while drawn < draws:
            # A few samples first (usually enough), then the rest in one call.
            n = min(4, draws) if attempt == 0 else draws - drawn
            indices = self.controller.sample(n, seed=[int(seed[0]), int(seed[1]) + attempt])
            for row in indices:
                if self.deduplicate and tuple(row.tolist()) in self._told_rows:
                    continue  # tried already (cheap check before decoding)
                try:
                    arch = self.space.decode_flat(row)
                except InvalidArchitectureError:
                    continue  # a constraint beyond the decisions; draw again
                key = self.space.canonical_key(arch)
                if not self.deduplicate or key not in seen:
                    return arch
            drawn += n
            attempt += 1
        for _ in range(2000):
            arch = self.space.sample(rng)
            key = self.space.canonical_key(arch)
            if not self.deduplicate or key not in seen:
                return arch
        raise SpaceExhaustedError(
            f"The RL controller and 2000 uniform samples found no architecture that was "
            f"not tried already ({len(seen)} distinct tried); the space looks exhausted."
        )

    def tell(self, record: TrialRecord) -> None:
        self._require_setup()
        reward = self.rewards(record)
        indices = self.space.encode_flat(record.architecture)
        self._told_rows.add(tuple(indices))
        self._pending.append((indices, reward))
        if len(self._pending) >= self.batch_size:
            indices = np.array([p[0] for p in self._pending], np.int32)
            rewards = np.array([p[1] for p in self._pending], np.float64)
            self._pending = []
            self.losses.append(self.controller.update(indices, rewards))

    # ---------------------------------------------------------- inspection
    def decision_probabilities(self, architecture: Mapping | None = None) -> list[dict]:
        """The controller's probabilities at every flat step.

        See `kerasnas.strategies.rl.inspection.decision_probabilities`.
        """
        from kerasnas.strategies.rl.inspection import decision_probabilities

        self._require_setup()
        return decision_probabilities(self.controller, architecture)

    def save_policy(self, path: str | os.PathLike):
        """Saves the controller's policy with TF-Agents' `PolicySaver`."""
        self._require_setup()
        return self.controller.save_policy(path)

    def get_config(self) -> dict:
        config = {
            "name": self.name,
            "batch_size": self.batch_size,
            "deduplicate": self.deduplicate,
            "max_duplicate_draws": self.max_duplicate_draws,
            "failure_reward": self.failure_reward,
            "cost_penalty": None if self.cost_penalty is None else self.cost_penalty.to_json(),
        }
        options = dict(self.controller_options)
        options["lstm_units"] = list(options["lstm_units"])
        config.update(options)
        return config
