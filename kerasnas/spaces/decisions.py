"""Decisions: the named, declarative choices that make up a search space.

A decision is data. It knows its allowed values, when it is active (its
conditions on earlier decisions), how to sample, mutate and enumerate its
values, and how to spell itself as a sequence of small categorical choices for
a sequential controller. It never builds a model.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kerasnas.errors import InvalidArchitectureError

_SCALAR_TYPES = (str, int, float, bool, type(None))


def _is_json_scalar(value: Any) -> bool:
    return isinstance(value, _SCALAR_TYPES) and not (
        isinstance(value, float) and not math.isfinite(value)
    )


def _same_value(a: Any, b: Any) -> bool:
    # `True == 1` in Python; a decision's values must not be confused that way.
    return (
        type(a) is type(b)
        and a == b
        or (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and not isinstance(a, bool)
            and not isinstance(b, bool)
            and a == b
        )
    )


def _index_of(values: Sequence[Any], value: Any) -> int:
    for i, candidate in enumerate(values):
        if _same_value(candidate, value):
            return i
    return -1


def _value_key(value: Any) -> tuple:
    """A hashable key, equal for two values exactly when `_same_value` holds."""
    if isinstance(value, bool):
        return (bool, value)
    if isinstance(value, (int, float)):
        return (float, value)  # 1 and 1.0 are the same value
    return (type(value), value)


class _ValueIndex:
    """`_index_of` over fixed values by dictionary lookup.

    Conditions and choices are checked for every decision of every
    architecture a strategy samples, mutates or validates (hundreds of
    thousands of times per BANANAS round); a linear scan with
    `_same_value` made that the slowest part of proposing.
    """

    def __init__(self, values: Sequence[Any]):
        self.values = tuple(values)
        self._positions: dict | None = {}
        try:
            for i, value in enumerate(self.values):
                self._positions.setdefault(_value_key(value), i)
        except TypeError:  # an unhashable value: scan instead
            self._positions = None

    def __call__(self, value: Any) -> int:
        """Returns the first position of `value` among the values, or -1."""
        if isinstance(value, float) and value != value:
            return -1  # NaN equals nothing
        if self._positions is not None:
            try:
                return self._positions.get(_value_key(value), -1)
            except TypeError:
                pass
        return _index_of(self.values, value)


@dataclasses.dataclass(frozen=True)
class Condition:
    """Makes a decision active only when an earlier decision takes given values.

    Example:

    ```python
    from kerasnas.spaces import Condition
    cond = Condition("layer_0.op", ("conv", "sepconv"))
    cond.is_met({"layer_0.op": "conv"})  # True
    ```

    Args:
        decision: name of an earlier decision in the same space.
        values: the values of that decision for which the condition holds.
    """

    decision: str
    values: tuple

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(self.values))
        object.__setattr__(self, "_index", _ValueIndex(self.values))
        if not self.values:
            raise ValueError(
                f"Condition on '{self.decision}' needs at least one value. "
                f"Received: values={self.values!r}"
            )

    def is_met(self, architecture: Mapping[str, Any]) -> bool:
        """Returns whether `architecture` satisfies this condition."""
        if self.decision not in architecture:
            return False
        return self._index(architecture[self.decision]) >= 0

    def to_json(self) -> dict:
        """Returns the condition as a JSON-compatible dict."""
        return {"decision": self.decision, "values": list(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Condition:
        """Recreates a condition from `to_json()` output."""
        return cls(data["decision"], tuple(data["values"]))


@dataclasses.dataclass(frozen=True)
class FlatChoice:
    """One step of a space's flat decision sequence (for sequential controllers).

    Attributes:
        name: readable name of the step, e.g. `"layer_0.op"` or
            `"node_2.inputs[0]"`.
        decision: name of the decision this step belongs to.
        num_choices: number of categorical outcomes of this step.
        labels: a readable label for each outcome.
    """

    name: str
    decision: str
    num_choices: int
    labels: tuple


class Decision:
    """A named choice of a search space. Use `Categorical` or `Subset`.

    Args:
        name: stable name of the decision (never reuse a name with a new meaning).
        conditions: the decision is active only when all conditions hold.
    """

    def __init__(self, name: str, conditions: Sequence[Condition] = ()):
        if not isinstance(name, str) or not name:
            raise ValueError(f"A decision needs a non-empty string name. Received: name={name!r}")
        self.name = name
        self.default = None
        self.conditions = tuple(
            c if isinstance(c, Condition) else Condition(*c) for c in conditions
        )

    def is_active(self, architecture: Mapping[str, Any]) -> bool:
        """Returns whether this decision applies to `architecture`."""
        for condition in self.conditions:
            if not condition.is_met(architecture):
                return False
        return True

    # The methods below are implemented by `Categorical` and `Subset`.
    def num_values(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Any:  # pragma: no cover
        raise NotImplementedError

    def check(self, value: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def values(self) -> list:  # pragma: no cover
        raise NotImplementedError

    def mutate(self, value: Any, rng: np.random.Generator) -> Any:
        """Returns a value different from `value` (or `value` if there is none)."""
        others = [v for v in self.values() if not self.equal(v, value)]
        if not others:
            return value
        return others[int(rng.integers(len(others)))]

    def neighbours(self, value: Any) -> list:
        """Returns every other value of this decision."""
        return [v for v in self.values() if not self.equal(v, value)]

    def equal(self, a: Any, b: Any) -> bool:
        """Returns whether two values of this decision are the same."""
        return _same_value(a, b)

    def flat_choices(self) -> list[FlatChoice]:  # pragma: no cover
        raise NotImplementedError

    def encode_flat(self, value: Any) -> list[int]:  # pragma: no cover
        raise NotImplementedError

    def decode_flat(self, indices: Sequence[int]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def flat_mask(self, step: int, previous: Sequence[int]) -> list[bool]:
        """Returns which outcomes of flat step `step` are allowed.

        Args:
            step: index of the step within this decision's flat choices.
            previous: the outcomes already chosen for this decision's earlier
                steps.
        """
        return [True] * self.flat_choices()[step].num_choices

    def _conditions_json(self) -> list:
        return [c.to_json() for c in self.conditions]

    def to_json(self) -> dict:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()!r})"


class Categorical(Decision):
    """Picks one value from a fixed list of JSON scalars.

    Example:

    ```python
    import numpy as np
    from kerasnas.spaces import Categorical
    op = Categorical("layer_0.op", ["conv", "dense", "identity"])
    op.sample(np.random.default_rng(0))
    ```

    Args:
        name: stable name of the decision.
        choices: the allowed values (strings, numbers, booleans or None).
        conditions: the decision is active only when all conditions hold.
        default: the value a hand-written architecture may omit; defaults to
            the first choice.

    Raises:
        ValueError: if `choices` is empty, repeats a value, or holds a value
            that is not a JSON scalar.
    """

    def __init__(
        self,
        name: str,
        choices: Sequence[Any],
        conditions: Sequence[Condition] = (),
        default: Any = None,
    ):
        super().__init__(name, conditions)
        choices = tuple(choices)
        if not choices:
            raise ValueError(f"Decision '{name}' needs at least one choice. Received: choices=()")
        for value in choices:
            if not _is_json_scalar(value):
                raise ValueError(
                    f"Decision '{name}' choices must be JSON scalars (str, int, "
                    f"float, bool, None). Received: {value!r} in choices={choices!r}"
                )
        for i, value in enumerate(choices):
            if _index_of(choices[:i], value) >= 0:
                raise ValueError(
                    f"Decision '{name}' repeats the choice {value!r}. Received: choices={choices!r}"
                )
        self.choices = choices
        self._index = _ValueIndex(choices)
        if default is None:
            default = choices[0]
        if _index_of(choices, default) < 0:
            raise ValueError(
                f"Decision '{name}' default must be one of its choices "
                f"{list(choices)}. Received: default={default!r}"
            )
        self.default = default

    def num_values(self) -> int:
        return len(self.choices)

    def values(self) -> list:
        return list(self.choices)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    def index(self, value: Any) -> int:
        """Returns the position of `value` among the choices, or -1."""
        return self._index(value)

    def check(self, value: Any) -> Any:
        """Returns `value` normalised, or raises `InvalidArchitectureError`."""
        i = self._index(value)
        if i < 0:
            raise InvalidArchitectureError(
                f"Decision '{self.name}' got a value outside its choices. "
                f"Allowed: {list(self.choices)}. Received: {self.name}={value!r}"
            )
        return self.choices[i]

    def flat_choices(self) -> list[FlatChoice]:
        return [
            FlatChoice(
                self.name,
                self.name,
                len(self.choices),
                tuple(str(c) for c in self.choices),
            )
        ]

    def encode_flat(self, value: Any) -> list[int]:
        return [self._index(value)]

    def decode_flat(self, indices: Sequence[int]) -> Any:
        return self.choices[int(indices[0])]

    def to_json(self) -> dict:
        data = {
            "type": "categorical",
            "name": self.name,
            "choices": list(self.choices),
        }
        if not _same_value(self.default, self.choices[0]):
            data["default"] = self.default
        if self.conditions:
            data["conditions"] = self._conditions_json()
        return data


class Subset(Decision):
    """Picks a subset of candidate values, e.g. the extra inputs of a node.

    The value is a list in the candidates' order (so equal subsets have equal
    encodings).

    Example:

    ```python
    import numpy as np
    from kerasnas.spaces import Subset
    skips = Subset("node_3.skips", [0, 1, 2], max_size=2)
    skips.sample(np.random.default_rng(0))
    ```

    Args:
        name: stable name of the decision.
        candidates: the values that may be picked (JSON scalars).
        min_size: fewest values to pick.
        max_size: most values to pick; `None` means all of them.
        conditions: the decision is active only when all conditions hold.

    Raises:
        ValueError: if the sizes do not fit the candidates.
    """

    def __init__(
        self,
        name: str,
        candidates: Sequence[Any],
        min_size: int = 0,
        max_size: int | None = None,
        conditions: Sequence[Condition] = (),
    ):
        super().__init__(name, conditions)
        candidates = tuple(candidates)
        for value in candidates:
            if not _is_json_scalar(value):
                raise ValueError(
                    f"Decision '{name}' candidates must be JSON scalars. "
                    f"Received: {value!r} in candidates={candidates!r}"
                )
        if max_size is None:
            max_size = len(candidates)
        if not 0 <= min_size <= max_size <= len(candidates):
            raise ValueError(
                f"Decision '{name}' needs 0 <= min_size <= max_size <= "
                f"{len(candidates)} (the number of candidates). Received: "
                f"min_size={min_size}, max_size={max_size}"
            )
        self.candidates = candidates
        self.min_size = int(min_size)
        self.max_size = int(max_size)
        self.default = list(candidates[: self.min_size])

    def num_values(self) -> int:
        n = len(self.candidates)
        return sum(math.comb(n, k) for k in range(self.min_size, self.max_size + 1))

    def values(self) -> list:
        import itertools

        result = []
        for k in range(self.min_size, self.max_size + 1):
            for combo in itertools.combinations(self.candidates, k):
                result.append(list(combo))
        return result

    def sample(self, rng: np.random.Generator) -> list:
        # Uniform over subsets of the allowed sizes.
        n = len(self.candidates)
        sizes = list(range(self.min_size, self.max_size + 1))
        weights = np.array([math.comb(n, k) for k in sizes], dtype=float)
        k = sizes[int(rng.choice(len(sizes), p=weights / weights.sum()))]
        picked = sorted(rng.choice(n, size=k, replace=False).tolist())
        return [self.candidates[i] for i in picked]

    def equal(self, a: Any, b: Any) -> bool:
        return list(a) == list(b)

    def check(self, value: Any) -> list:
        """Returns `value` as an ordered list, or raises `InvalidArchitectureError`."""
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise InvalidArchitectureError(
                f"Decision '{self.name}' takes a list drawn from "
                f"{list(self.candidates)}. Received: {self.name}={value!r}"
            )
        positions = []
        for item in value:
            i = _index_of(self.candidates, item)
            if i < 0:
                raise InvalidArchitectureError(
                    f"Decision '{self.name}' got {item!r}, which is not a "
                    f"candidate. Allowed: {list(self.candidates)}. "
                    f"Received: {self.name}={value!r}"
                )
            if i in positions:
                raise InvalidArchitectureError(
                    f"Decision '{self.name}' lists {item!r} twice. Received: {self.name}={value!r}"
                )
            positions.append(i)
        if not self.min_size <= len(positions) <= self.max_size:
            raise InvalidArchitectureError(
                f"Decision '{self.name}' takes between {self.min_size} and "
                f"{self.max_size} values. Received: {self.name}={value!r}"
            )
        return [self.candidates[i] for i in sorted(positions)]

    def flat_choices(self) -> list[FlatChoice]:
        return [
            FlatChoice(f"{self.name}[{c}]", self.name, 2, ("no", "yes")) for c in self.candidates
        ]

    def encode_flat(self, value: Any) -> list[int]:
        chosen = {_index_of(self.candidates, v) for v in value}
        return [int(i in chosen) for i in range(len(self.candidates))]

    def decode_flat(self, indices: Sequence[int]) -> list:
        return [c for c, bit in zip(self.candidates, indices) if int(bit)]

    def flat_mask(self, step: int, previous: Sequence[int]) -> list[bool]:
        picked = sum(int(b) for b in previous[:step])
        remaining = len(self.candidates) - step
        allow_no = picked + (remaining - 1) >= self.min_size
        allow_yes = picked < self.max_size
        return [allow_no, allow_yes]

    def to_json(self) -> dict:
        data = {
            "type": "subset",
            "name": self.name,
            "candidates": list(self.candidates),
            "min_size": self.min_size,
            "max_size": self.max_size,
        }
        if self.conditions:
            data["conditions"] = self._conditions_json()
        return data


def decision_from_json(data: Mapping[str, Any]) -> Decision:
    """Recreates a decision from its `to_json()` output.

    Args:
        data: a dict with a `"type"` of `"categorical"` or `"subset"`.

    Returns:
        The decision.

    Raises:
        ValueError: if the type is unknown.
    """
    conditions = [Condition.from_json(c) for c in data.get("conditions", [])]
    kind = data.get("type")
    if kind == "categorical":
        return Categorical(data["name"], data["choices"], conditions, default=data.get("default"))
    if kind == "subset":
        return Subset(
            data["name"],
            data["candidates"],
            data.get("min_size", 0),
            data.get("max_size"),
            conditions,
        )
    raise ValueError(
        f"Unknown decision type; expected 'categorical' or 'subset'. Received: type={kind!r}"
    )
