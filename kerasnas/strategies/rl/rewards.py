"""Rewards of the RL controller: the objective, optionally penalised by a cost."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from kerasnas.objective import Objective
from kerasnas.trial import TrialRecord


@dataclasses.dataclass(frozen=True)
class CostPenalty:
    """A MnasNet-style cost term: `reward = score × (cost / target) ** w`.

    `w` is `alpha` when the cost is at most `target` and `beta` above it.
    The MnasNet "soft" constraint uses `alpha = beta = -0.07`; a "hard" one
    `alpha = 0, beta = -1`. A negative score (a minimised objective such as
    `val_loss`, whose reward is `-val_loss`) is divided by the factor
    instead, so a penalty always makes the reward worse.

    Example:

    ```python
    from kerasnas.strategies.rl.rewards import CostPenalty
    penalty = CostPenalty("params", target=100_000)
    penalty.factor({"params": 200_000})  # 2 ** -0.07 ≈ 0.953
    ```

    Args:
        metric: the cost metric every trial records (`"params"`, `"flops"`,
            or a latency such as `"latency_ms"`).
        target: the cost at which the factor is 1.
        alpha: exponent when `cost <= target`.
        beta: exponent when `cost > target`.

    Raises:
        ValueError: for an empty metric name or a non-positive target.
    """

    metric: str
    target: float
    alpha: float = -0.07
    beta: float = -0.07

    def __post_init__(self):
        if not isinstance(self.metric, str) or not self.metric:
            raise ValueError(f"CostPenalty needs a metric name. Received: metric={self.metric!r}")
        if (
            not isinstance(self.target, (int, float))
            or isinstance(self.target, bool)
            or not self.target > 0
        ):
            raise ValueError(f"CostPenalty target must be > 0. Received: target={self.target!r}")

    def factor(self, metrics: Mapping[str, Any]) -> float:
        """The multiplicative factor for a trial's metrics.

        Raises:
            ValueError: if the metrics lack the cost metric.
        """
        cost = metrics.get(self.metric) if metrics else None
        if cost is None or not isinstance(cost, (int, float)) or not math.isfinite(cost):
            raise ValueError(
                f"The RL reward's cost penalty needs the metric '{self.metric}' in every "
                f"completed trial. Received metrics: {sorted(metrics or {})}"
            )
        ratio = max(float(cost), 1e-12) / float(self.target)
        exponent = self.alpha if ratio <= 1.0 else self.beta
        return ratio**exponent

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | CostPenalty) -> CostPenalty:
        """Builds a penalty from a dict such as `{"metric": "params", "target": 1e5}`."""
        if isinstance(data, CostPenalty):
            return data
        if not isinstance(data, Mapping):
            raise ValueError(
                "cost_penalty must be a CostPenalty or a dict with 'metric' and 'target'. "
                f"Received: cost_penalty={data!r}"
            )
        unknown = set(data) - {"metric", "target", "alpha", "beta"}
        if unknown:
            raise ValueError(
                "cost_penalty takes the keys metric, target, alpha and beta. "
                f"Received: cost_penalty={dict(data)!r}"
            )
        return cls(**dict(data))


class RewardFunction:
    """Turns finished trials into controller rewards.

    * completed trial: the objective's value if it is maximised, minus the
      value if it is minimised; times the cost penalty's factor (divided by
      it for negative values) if there is one;
    * failed or rejected trial: `failure_reward`, or by default the lowest
      reward of any completed trial told so far (0 before the first one), so
      a failure is never better than the worst working architecture and the
      scale of the objective does not matter.

    Example:

    ```python
    from kerasnas import Objective, TrialRecord
    from kerasnas.strategies.rl.rewards import RewardFunction
    rewards = RewardFunction(Objective("val_loss"))
    rewards(TrialRecord(0, {}, "completed", {"val_loss": 0.5}))  # -0.5
    rewards(TrialRecord(1, {}, "failed"))                        # -0.5
    ```

    Args:
        objective: the objective (the first one of the search).
        cost_penalty: an optional `CostPenalty` (or its dict).
        failure_reward: a fixed reward for failed and rejected trials.
    """

    def __init__(
        self,
        objective: Objective,
        cost_penalty: CostPenalty | Mapping | None = None,
        failure_reward: float | None = None,
    ):
        self.objective = objective
        self.cost_penalty = None if cost_penalty is None else CostPenalty.from_json(cost_penalty)
        if failure_reward is not None and (
            not isinstance(failure_reward, (int, float))
            or isinstance(failure_reward, bool)
            or not math.isfinite(failure_reward)
        ):
            raise ValueError(
                f"failure_reward must be a finite number or None. Received: "
                f"failure_reward={failure_reward!r}"
            )
        self.failure_reward = failure_reward
        self.lowest: float | None = None

    def __call__(self, record: TrialRecord) -> float:
        """The reward of one finished trial (call in the order trials are told)."""
        value = self.objective.value(record.metrics) if record.ok else None
        if value is None:
            if self.failure_reward is not None:
                return float(self.failure_reward)
            return self.lowest if self.lowest is not None else 0.0
        reward = value if self.objective.direction == "max" else -value
        if self.cost_penalty is not None:
            factor = self.cost_penalty.factor(record.metrics)
            reward = reward * factor if reward >= 0 else reward / factor
        self.lowest = reward if self.lowest is None else min(self.lowest, reward)
        return float(reward)
