"""`SearchSpace` and `Architecture`: what to search, as data."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from kerasnas.errors import InvalidArchitectureError, SpaceExhaustedError
from kerasnas.spaces.decisions import (
    Decision,
    FlatChoice,
    decision_from_json,
)

FORMAT_VERSION = 1


def _stable_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def stable_hash(data: Any, length: int = 16) -> str:
    """Returns a short hex digest of `data`'s canonical JSON."""
    return hashlib.sha256(_stable_json(data).encode("utf-8")).hexdigest()[:length]


class Architecture(dict):
    """One point of a search space: a plain JSON dict `{decision: value}`.

    It is a `dict`, so `json.dumps(arch)` works; `key` is a stable hash of
    its content that does not depend on insertion order.

    Example:

    ```python
    import kerasnas
    arch = kerasnas.Architecture({"num_layers": 1, "layer_0.op": "dense"})
    arch.key            # same for equal architectures, in any key order
    arch.to_json()      # '{"layer_0.op": "dense", "num_layers": 1}'
    ```
    """

    @property
    def key(self) -> str:
        """A stable 16-hex-digit identifier of this exact encoding."""
        return stable_hash(dict(self))

    def to_json(self) -> str:
        """Returns the architecture as a JSON string with sorted keys."""
        return json.dumps(dict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Architecture:
        """Parses `to_json()` output (or any JSON object) into an Architecture."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise InvalidArchitectureError(
                f"An architecture is a JSON object. Received: {text[:200]!r}"
            )
        return cls(data)

    def copy(self) -> Architecture:
        return Architecture(copy.deepcopy(dict(self)))


class SearchSpace:
    """An ordered set of named decisions, plus how to build the network body.

    The decisions are declared up front; a decision may be conditional on
    earlier ones. Subclasses describe a kind of network (`ChainSpace`,
    `SkipChainSpace`, `TemplateSpace`, the cell spaces) by filling in
    `build_body`. To search your own design, subclass `SearchSpace`, declare
    decisions and implement `build_body`.

    Example:

    ```python
    import keras
    import numpy as np
    import kerasnas
    from kerasnas.spaces import Categorical

    class TinySpace(kerasnas.SearchSpace):
        def __init__(self):
            super().__init__(
                [Categorical("units", [16, 32]), Categorical("act", ["relu", "tanh"])],
                name="tiny",
            )

        def build_body(self, architecture, inputs):
            x = keras.layers.Flatten(name="flatten")(inputs)
            return keras.layers.Dense(
                architecture["units"], activation=architecture["act"], name="hidden"
            )(x)

    space = TinySpace()
    arch = space.sample(np.random.default_rng(0))
    space.size()  # 4
    ```

    Args:
        decisions: the decisions, in order. A decision's conditions may only
            refer to decisions listed before it.
        name: a short name for the space, used in logs and fingerprints.

    Raises:
        ValueError: for repeated names or conditions on unknown or later
            decisions.
    """

    kind = "custom"

    def __init__(self, decisions: Sequence[Decision], name: str | None = None):
        self.name = name or type(self).__name__
        self._set_decisions(list(decisions))

    # ------------------------------------------------------------------ setup
    def _set_decisions(self, decisions: list[Decision]) -> None:
        seen: dict[str, Decision] = {}
        for decision in decisions:
            if not isinstance(decision, Decision):
                raise ValueError(
                    "Every decision must be a kerasnas.spaces.Decision "
                    f"(Categorical or Subset). Received: {decision!r}"
                )
            if decision.name in seen:
                raise ValueError(
                    f"Decision names must be unique. Received: '{decision.name}' twice"
                )
            for condition in decision.conditions:
                if condition.decision not in seen:
                    raise ValueError(
                        f"Decision '{decision.name}' has a condition on "
                        f"'{condition.decision}', which is not an earlier decision "
                        "of this space."
                    )
            seen[decision.name] = decision
        self._decisions = decisions
        self._by_name = seen
        self._flat_cache = None

    @property
    def decisions(self) -> list[Decision]:
        """The decisions, in order."""
        return list(self._decisions)

    def decision(self, name: str) -> Decision:
        """Returns the decision called `name`.

        Raises:
            KeyError: if there is none, listing the known names.
        """
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(
                f"Space '{self.name}' has no decision '{name}'. Known decisions: "
                f"{list(self._by_name)}"
            ) from None

    def with_decisions(self, extra: Iterable[Decision]) -> SearchSpace:
        """Returns a copy of this space with more decisions appended.

        Use it to search training hyperparameters jointly with the
        architecture (see `kerasnas.spaces.training_decisions`).

        Example:

        ```python
        import kerasnas
        from kerasnas.spaces import Categorical
        space = kerasnas.spaces.ChainSpace(max_layers=2).with_decisions(
            [Categorical("train.learning_rate", [1e-3, 3e-3])])
        ```
        """
        clone = copy.copy(self)
        extra = list(extra)
        clone._extra_decisions = list(getattr(self, "_extra_decisions", [])) + extra
        clone._set_decisions(self.decisions + extra)
        return clone

    # ------------------------------------------------------------ validation
    def active_decisions(self, architecture: Mapping[str, Any]) -> list[Decision]:
        """Returns the decisions that apply to `architecture`, in order."""
        return [d for d in self._decisions if d.is_active(architecture)]

    def validate(self, architecture: Mapping[str, Any]) -> Architecture:
        """Checks `architecture` against this space and returns it normalised.

        Active decisions that the architecture omits take their default
        value; values are normalised (subsets ordered, `1.0` read as `1`).

        Args:
            architecture: a dict `{decision_name: value}`.

        Returns:
            The architecture as an `Architecture`.

        Raises:
            InvalidArchitectureError: naming the first wrong decision, its
                value and the allowed values.
        """
        if not isinstance(architecture, Mapping):
            raise InvalidArchitectureError(
                f"An architecture is a dict {{decision_name: value}} for space "
                f"'{self.name}'. Received: {architecture!r}"
            )
        unknown = [k for k in architecture if k not in self._by_name]
        if unknown:
            raise InvalidArchitectureError(
                f"Architecture has decisions that space '{self.name}' does not "
                f"define: {unknown}. Known decisions: {list(self._by_name)}"
            )
        result = Architecture()
        for decision in self._decisions:
            if not decision.is_active(result):
                continue
            if decision.name in architecture:
                result[decision.name] = decision.check(architecture[decision.name])
            else:
                result[decision.name] = decision.check(decision.default)
        inactive = [k for k in architecture if k not in result]
        if inactive:
            raise InvalidArchitectureError(
                f"Architecture sets decisions that are inactive given its other "
                f"values: {inactive}. Remove them (conditions: "
                f"{[self._by_name[k].to_json().get('conditions') for k in inactive]})"
            )
        self._check_extra(result)
        return result

    def _check_extra(self, architecture: Architecture) -> None:
        """Hook for spaces with constraints beyond single decisions."""

    def contains(self, architecture: Mapping[str, Any]) -> bool:
        """Returns whether `architecture` is a valid member of this space."""
        try:
            self.validate(architecture)
        except InvalidArchitectureError:
            return False
        return True

    # --------------------------------------------------------------- moves
    def sample(self, rng: np.random.Generator | int | None = None) -> Architecture:
        """Samples an architecture, each active decision uniformly.

        Args:
            rng: a `numpy.random.Generator` or a seed.

        Returns:
            A valid `Architecture`.
        """
        rng = _as_rng(rng)
        for _ in range(1000):
            arch = Architecture()
            for decision in self._decisions:
                if decision.is_active(arch):
                    arch[decision.name] = decision.sample(rng)
            if self._is_valid_extra(arch):
                return arch
        raise SpaceExhaustedError(
            f"Space '{self.name}' could not sample a valid architecture in 1000 tries."
        )

    def _is_valid_extra(self, architecture: Architecture) -> bool:
        try:
            self._check_extra(architecture)
        except InvalidArchitectureError:
            return False
        return True

    def _complete(self, partial: Mapping[str, Any], rng: np.random.Generator) -> Architecture:
        """Keeps values of still-active decisions; samples newly active ones."""
        arch = Architecture()
        for decision in self._decisions:
            if not decision.is_active(arch):
                continue
            if decision.name in partial:
                arch[decision.name] = partial[decision.name]
            else:
                arch[decision.name] = decision.sample(rng)
        return arch

    def mutate(
        self, architecture: Mapping[str, Any], rng: np.random.Generator | int | None = None
    ) -> Architecture:
        """Changes one active decision and returns a valid, different architecture.

        Decisions that become active are sampled; decisions that become
        inactive are dropped.

        Args:
            architecture: a valid architecture of this space.
            rng: a `numpy.random.Generator` or a seed.

        Returns:
            A new `Architecture` (equal to the input only if the space has a
            single member).
        """
        rng = _as_rng(rng)
        arch = self.validate(architecture)
        # A validated architecture holds exactly its active decisions, in order.
        active = [self._by_name[name] for name in arch]
        active = [d for d in active if d.num_values() > 1]
        if not active:
            return arch
        key = arch.key
        for _ in range(100):
            decision = active[int(rng.integers(len(active)))]
            changed = dict(arch)
            changed[decision.name] = decision.mutate(arch[decision.name], rng)
            child = self._complete(changed, rng)
            if child.key != key and self._is_valid_extra(child):
                return child
        return arch

    def crossover(
        self,
        first: Mapping[str, Any],
        second: Mapping[str, Any],
        rng: np.random.Generator | int | None = None,
    ) -> Architecture:
        """Uniform crossover: each decision's value comes from either parent.

        Args:
            first: a valid architecture.
            second: a valid architecture.
            rng: a `numpy.random.Generator` or a seed.

        Returns:
            A valid `Architecture`. Decisions active in the child but set by
            neither chosen parent are taken from the other parent or sampled.
        """
        rng = _as_rng(rng)
        a, b = self.validate(first), self.validate(second)
        for _ in range(100):
            child = Architecture()
            for decision in self._decisions:
                if not decision.is_active(child):
                    continue
                options = [p[decision.name] for p in (a, b) if decision.name in p]
                if options:
                    child[decision.name] = options[int(rng.integers(len(options)))]
                else:
                    child[decision.name] = decision.sample(rng)
            if self._is_valid_extra(child):
                return child
        return a

    def neighbours(self, architecture: Mapping[str, Any]) -> list[Architecture]:
        """Returns every architecture that differs in exactly one active decision.

        Newly activated decisions take their default values.
        """
        arch = self.validate(architecture)
        result, seen = [], {arch.key}
        for decision in self.active_decisions(arch):
            for value in decision.neighbours(arch[decision.name]):
                changed = dict(arch)
                changed[decision.name] = value
                child = Architecture()
                for d in self._decisions:
                    if d.is_active(child):
                        child[d.name] = changed.get(d.name, d.default)
                if child.key not in seen and self._is_valid_extra(child):
                    seen.add(child.key)
                    result.append(child)
        return result

    def size(self) -> int:
        """Returns the number of distinct encodings in this space.

        Exact for spaces whose conditions only depend on categorical
        decisions (every built-in space); computed by enumerating the
        assignments of the decisions that others depend on.
        """
        return self._count(0, Architecture())

    def _count(self, start: int, prefix: Architecture) -> int:
        controlling = {c.decision for d in self._decisions for c in d.conditions}
        total = 1
        for i in range(start, len(self._decisions)):
            decision = self._decisions[i]
            if not decision.is_active(prefix):
                continue
            if decision.name in controlling:
                subtotal = 0
                for value in decision.values():
                    branch = Architecture(prefix)
                    branch[decision.name] = value
                    subtotal += self._count(i + 1, branch)
                return total * subtotal
            total *= decision.num_values()
        return total

    def enumerate(self, limit: int | None = None) -> Iterable[Architecture]:
        """Yields every architecture of the space (use on small spaces).

        Args:
            limit: stop after this many.
        """
        count = 0

        def walk(i: int, prefix: Architecture):
            nonlocal count
            if limit is not None and count >= limit:
                return
            if i == len(self._decisions):
                if self._is_valid_extra(prefix):
                    count += 1
                    yield Architecture(prefix)
                return
            decision = self._decisions[i]
            if not decision.is_active(prefix):
                yield from walk(i + 1, prefix)
                return
            for value in decision.values():
                branch = Architecture(prefix)
                branch[decision.name] = value
                yield from walk(i + 1, branch)
                if limit is not None and count >= limit:
                    return

        yield from walk(0, Architecture())

    # ------------------------------------------------------- identity/keys
    def canonicalize(self, architecture: Mapping[str, Any]) -> Architecture:
        """Returns a representative of the architectures equivalent to this one.

        The default treats every encoding as distinct; spaces that know
        cheap equivalences (for example NAS-Bench-201 cells with edges cut
        off by `none`) override it.
        """
        return self.validate(architecture)

    def reference_architectures(self, input_shape=None) -> list:
        """Designs known to work for inputs of `input_shape`, to try first (none here).

        Spaces that can express classic designs return them (see
        `ChainSpace.reference_architectures`); `kerasnas.search()` tries
        them before its strategy explores (`kerasnas.strategies.WarmStart`).
        """
        return []

    def canonical_key(self, architecture: Mapping[str, Any]) -> str:
        """A stable key shared by equivalent architectures."""
        return self.canonicalize(architecture).key

    # -------------------------------------------- flat decision sequence
    def flat_choices(self) -> list[FlatChoice]:
        """The space as a fixed sequence of small categorical steps.

        A sequential controller (the RL strategy) makes one step at a time;
        `flat_mask` says which outcomes are allowed at each step, and
        inactive decisions allow only outcome 0.
        """
        if self._flat_cache is None:
            steps = []
            for decision in self._decisions:
                steps.extend(decision.flat_choices())
            self._flat_cache = steps
        return list(self._flat_cache)

    def _flat_layout(self) -> list[tuple[Decision, int, int]]:
        layout, start = [], 0
        for decision in self._decisions:
            n = len(decision.flat_choices())
            layout.append((decision, start, n))
            start += n
        return layout

    def encode_flat(self, architecture: Mapping[str, Any]) -> list[int]:
        """Returns the flat outcome indices of `architecture` (0 where inactive)."""
        arch = self.validate(architecture)
        indices = []
        for decision, _, n in self._flat_layout():
            if decision.name in arch:
                indices.extend(decision.encode_flat(arch[decision.name]))
            else:
                indices.extend([0] * n)
        return indices

    def decode_flat(self, indices: Sequence[int]) -> Architecture:
        """Turns flat outcome indices back into a valid architecture.

        Raises:
            InvalidArchitectureError: if the indices break a mask.
        """
        indices = [int(i) for i in indices]
        expected = len(self.flat_choices())
        if len(indices) != expected:
            raise InvalidArchitectureError(
                f"Space '{self.name}' has {expected} flat steps. Received: {len(indices)} indices"
            )
        for step in range(expected):
            mask = self.flat_mask(indices[:step])
            if not mask[indices[step]]:
                raise InvalidArchitectureError(
                    f"Flat step {step} ('{self.flat_choices()[step].name}') chose "
                    f"outcome {indices[step]}, which its mask forbids. Allowed: "
                    f"{[i for i, ok in enumerate(mask) if ok]}"
                )
        arch = Architecture()
        for decision, start, n in self._flat_layout():
            if decision.is_active(arch):
                arch[decision.name] = decision.decode_flat(indices[start : start + n])
        return self.validate(arch)

    def flat_mask(self, previous: Sequence[int]) -> list[bool]:
        """Returns the allowed outcomes of the next flat step.

        Args:
            previous: the outcomes of the steps before it.
        """
        step = len(previous)
        arch = Architecture()
        for decision, start, n in self._flat_layout():
            if start + n <= step:
                if decision.is_active(arch):
                    arch[decision.name] = decision.decode_flat(previous[start : start + n])
                continue
            inner = step - start
            size = decision.flat_choices()[inner].num_choices
            if not decision.is_active(arch):
                return [True] + [False] * (size - 1)
            return decision.flat_mask(inner, previous[start:step])
        raise IndexError(
            f"Space '{self.name}' has {len(self.flat_choices())} flat steps. "
            f"Received: previous of length {step}"
        )

    # ---------------------------------------------------------- building
    def build_body(self, architecture: Architecture, inputs):
        """Builds the network body (everything between input and head).

        Args:
            architecture: a validated architecture of this space.
            inputs: the Keras tensor coming out of the model's input (and
                preprocessing).

        Returns:
            A Keras tensor: features for the head. The builder pools a
            spatial tensor before the head if the body did not.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement build_body(architecture, "
            "inputs); subclass SearchSpace and implement it to build models."
        )

    def describe(self, architecture: Mapping[str, Any]) -> str:
        """Returns a one-line summary of an architecture for logs."""
        arch = self.validate(architecture)
        return " ".join(f"{k}={_short(v)}" for k, v in arch.items())

    def summary(self, architecture: Mapping[str, Any]) -> str:
        """Returns a readable multi-line description of an architecture."""
        arch = self.validate(architecture)
        width = max((len(k) for k in arch), default=0)
        lines = [f"{self.name} architecture {arch.key}"]
        lines += [f"  {k.ljust(width)}  {_short(v)}" for k, v in arch.items()]
        return "\n".join(lines)

    # ------------------------------------------------------- persistence
    def get_config(self) -> dict:
        """Returns the space's parameters as JSON (used for fingerprints)."""
        config = {"class": type(self).__name__, "name": self.name}
        extra = getattr(self, "_extra_decisions", [])
        if type(self) is SearchSpace or self.kind == "custom":
            config["decisions"] = [d.to_json() for d in self._decisions]
        elif extra:
            config["extra_decisions"] = [d.to_json() for d in extra]
        return config

    def fingerprint(self) -> str:
        """A stable hash of the space's decisions and parameters.

        A search directory remembers it; resuming against a space with a
        different fingerprint is refused.
        """
        return stable_hash(
            {
                "format": FORMAT_VERSION,
                "config": self.get_config(),
                "decisions": [d.to_json() for d in self._decisions],
            }
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}': {len(self._decisions)} decisions>"


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def space_from_decisions_json(data: Sequence[Mapping[str, Any]], name: str):
    """Rebuilds a decisions-only `SearchSpace` (no `build_body`) from JSON."""
    return SearchSpace([decision_from_json(d) for d in data], name=name)
