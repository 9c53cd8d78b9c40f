"""Hard limits that reject a candidate before it is trained."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from kerasnas.errors import ConstraintViolation


@dataclasses.dataclass(frozen=True)
class Constraints:
    """Upper bounds on a candidate's cost, checked before training.

    Example:

    ```python
    from kerasnas.evaluation import Constraints
    limits = Constraints(max_params=100_000)
    limits.check({"params": 5_000})   # passes
    ```

    Args:
        max_params: most weights a model may have.
        max_flops: most FLOPs per sample (see `count_flops`).
        max_latency_ms: most median batch-1 CPU latency (measured only when set).

    Raises:
        ValueError: for a limit that is not a positive number.
    """

    max_params: int | None = None
    max_flops: int | None = None
    max_latency_ms: float | None = None

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
            ):
                raise ValueError(
                    f"`{field.name}` must be a positive number or None. "
                    f"Received: {field.name}={value!r}"
                )

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self))

    def check(self, costs: Mapping[str, float]) -> None:
        """Raises `ConstraintViolation` if any measured cost is over its limit."""
        for metric, limit in (
            ("params", self.max_params),
            ("flops", self.max_flops),
            ("latency_ms", self.max_latency_ms),
        ):
            value = costs.get(metric)
            if limit is not None and value is not None and value > limit:
                raise ConstraintViolation(
                    f"{metric}={value:.6g} is over the limit max_{metric}={limit:.6g}",
                    metrics=dict(costs),
                )

    def to_json(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
