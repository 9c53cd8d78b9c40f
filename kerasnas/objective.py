"""Objectives: which metric a search optimises, and in which direction."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

_MINIMISED_HINTS = ("loss", "error", "mae", "mse", "rmse", "params", "flops", "latency", "time")


@dataclasses.dataclass(frozen=True)
class Objective:
    """A metric name and whether to `"max"`imise or `"min"`imise it.

    Example:

    ```python
    from kerasnas import Objective
    Objective("val_accuracy")           # direction inferred: max
    Objective("val_loss")               # direction inferred: min
    Objective("params", "min")
    ```

    Args:
        name: a metric recorded for every trial (e.g. `val_accuracy`,
            `val_loss`, `params`, `flops`).
        direction: `"max"` or `"min"`; inferred from the name when omitted
            (names with loss, error, mae, mse, params, flops, latency or time
            are minimised).
    """

    name: str
    direction: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"An objective needs a metric name. Received: objective={self.name!r}")
        direction = self.direction
        if direction is None:
            lowered = self.name.lower()
            direction = "min" if any(h in lowered for h in _MINIMISED_HINTS) else "max"
        if direction not in ("max", "min"):
            raise ValueError(
                f"Objective direction must be 'max' or 'min'. Received: direction={direction!r}"
            )
        object.__setattr__(self, "direction", direction)

    def value(self, metrics: Mapping[str, Any]) -> float | None:
        """Returns the metric from `metrics`, or None if missing or not finite."""
        value = metrics.get(self.name) if metrics else None
        if value is None:
            return None
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return value if math.isfinite(value) else None

    def score(self, metrics: Mapping[str, Any]) -> float:
        """Returns a number where larger is better (`-inf` when missing)."""
        value = self.value(metrics)
        if value is None:
            return -math.inf
        return value if self.direction == "max" else -value

    def to_json(self) -> dict:
        return {"name": self.name, "direction": self.direction}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Objective:
        return cls(data["name"], data.get("direction"))

    def __str__(self) -> str:
        return f"{self.name} ({self.direction})"


def as_objectives(objective: Any) -> list[Objective]:
    """Normalises the `objective=` argument to a list of `Objective`.

    Accepts a name, an `Objective`, a `(name, direction)` pair, or a list of
    any of these (multi-objective).

    Raises:
        ValueError: for anything else, naming the parameter.
    """
    if isinstance(objective, Objective):
        return [objective]
    if isinstance(objective, str):
        return [Objective(objective)]
    if (
        isinstance(objective, tuple)
        and len(objective) == 2
        and all(isinstance(v, str) for v in objective)
        and objective[1] in ("max", "min")
    ):
        return [Objective(*objective)]
    if isinstance(objective, Sequence) and objective and not isinstance(objective, str):
        result = []
        for item in objective:
            result.extend(as_objectives(item))
        names = [o.name for o in result]
        if len(set(names)) != len(names):
            raise ValueError(f"Objectives must be distinct. Received: objective={names}")
        return result
    raise ValueError(
        "`objective` must be a metric name, an Objective, a (name, 'max'|'min') "
        f"pair, or a list of these. Received: objective={objective!r}"
    )
