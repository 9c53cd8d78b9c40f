"""`FunctionSpace`: a search space written as a Keras functional-API function.

`build(hp, inputs)` builds the model body and asks `hp` for its choices
(`hp.choice`, `hp.int`, `hp.float`, `hp.boolean`). The space runs the
function a few times on symbolic Keras inputs when it is created, records
every decision it asks for (and which branches make a decision appear), and
becomes an ordinary declarative space of `Categorical` decisions: stable
names, a flat encoding, `mutate`, `neighbours`, `crossover`, a fingerprint.
Every strategy works on it, and architectures are plain JSON.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kerasnas.errors import InvalidArchitectureError
from kerasnas.spaces.decisions import Categorical, Condition, _index_of, _same_value
from kerasnas.spaces.space import Architecture, SearchSpace

#: Most symbolic runs of the function while discovering its decisions.
MAX_TRACES = 400


class SpaceDefinitionError(ValueError):
    """A build function uses the decision helpers wrongly (names, values, conditions)."""


def _float_values(name, low, high, step, num, log) -> list:
    if step is not None:
        if not step > 0:
            raise SpaceDefinitionError(
                f"hp.float('{name}') needs a positive step. Received: step={step!r}"
            )
        count = int(math.floor((high - low) / step + 1e-9)) + 1
        values = [low + i * step for i in range(count)]
    else:
        if not isinstance(num, int) or num < 2:
            raise SpaceDefinitionError(f"hp.float('{name}') needs num >= 2. Received: num={num!r}")
        if log:
            ratio = math.log(high / low)
            values = [low * math.exp(ratio * i / (num - 1)) for i in range(num)]
        else:
            values = [low + (high - low) * i / (num - 1) for i in range(num)]
    rounded = []
    for value in values:
        value = float(f"{value:.6g}")  # stable, readable JSON
        if _index_of(rounded, value) < 0:
            rounded.append(value)
    return rounded


def _as_values(parent: str, values: Any) -> tuple:
    if isinstance(values, (list, tuple, range, set, frozenset)):
        values = tuple(values)
    else:
        values = (values,)
    if not values:
        raise SpaceDefinitionError(
            f"A condition on '{parent}' needs at least one value. Received: values={values!r}"
        )
    return values


class HyperParameters:
    """The decision helpers a `FunctionSpace` function receives as `hp`.

    Each helper returns the value of its decision for the model being built
    (while the space discovers its decisions, the value being explored).

    Example:

    ```python
    import keras
    import kerasnas

    def build(hp, inputs):
        x = keras.layers.Flatten()(inputs)
        for i in range(hp.int("layers", 1, 3)):
            x = keras.layers.Dense(hp.choice(f"units_{i}", [32, 64]), activation="relu")(x)
        if hp.boolean("dropout"):
            x = keras.layers.Dropout(hp.float("rate", 0.1, 0.5, num=3, when={"dropout": True}))(x)
        return x

    space = kerasnas.spaces.FunctionSpace(build, input_shape=(40, 1))
    [d.name for d in space.decisions]  # ['layers', 'units_0', 'units_1', ...]
    ```
    """

    def __init__(self, values: Mapping[str, Any], mode: str, known=None):
        self._values = dict(values)
        self._mode = mode  # "trace" (discovery) or "build" (a real model)
        self._known = known or {}
        self._scope: list[Condition] = []
        #: decisions asked for, in order: name -> (Categorical, explicit conditions)
        self.asked: dict[str, tuple] = {}

    # ----------------------------------------------------------- helpers
    def choice(self, name: str, values: Sequence[Any], default: Any = None, when=None) -> Any:
        """Picks one of `values` (strings, numbers, booleans or None).

        Args:
            name: the decision's stable name.
            values: the allowed values.
            default: the value of hand-written architectures that omit it
                (the first value by default).
            when: `{parent: value or values}`: the decision exists only when
                each parent decision takes one of these values.
        """
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, range)):
            raise SpaceDefinitionError(
                f"hp.choice('{name}') takes a list of values. Received: values={values!r}"
            )
        return self._ask(name, list(values), default, when)

    def int(
        self, name: str, min_value: int, max_value: int, step: int = 1, default=None, when=None
    ) -> int:
        """Picks an integer in `[min_value, max_value]` (both included), every `step`.

        Args:
            name: the decision's stable name.
            min_value: smallest value.
            max_value: largest value (included when on the step grid).
            step: spacing of the values.
            default: default value (`min_value` by default).
            when: see `choice`.
        """
        for label, value in (("min_value", min_value), ("max_value", max_value), ("step", step)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise SpaceDefinitionError(
                    f"hp.int('{name}') needs ints. Received: {label}={value!r}"
                )
        if step < 1 or max_value < min_value:
            raise SpaceDefinitionError(
                f"hp.int('{name}') needs min_value <= max_value and step >= 1. "
                f"Received: min_value={min_value}, max_value={max_value}, step={step}"
            )
        return self._ask(name, list(range(min_value, max_value + 1, step)), default, when)

    def float(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        num: int = 5,
        log: bool = False,
        default=None,
        when=None,
    ) -> float:
        """Picks a float in `[min_value, max_value]`, discretised.

        The range becomes a fixed list of values (so that every strategy,
        the flat encoding and neighbours work): every `step`, or `num`
        values spaced evenly (geometrically with `log=True`), rounded to 6
        significant digits.

        Args:
            name: the decision's stable name.
            min_value: smallest value.
            max_value: largest value.
            step: spacing of the values (overrides `num`).
            num: how many values without `step`.
            log: space the values geometrically (e.g. learning rates).
            default: default value (the smallest by default).
            when: see `choice`.
        """
        try:
            low, high = float(min_value), float(max_value)
        except (TypeError, ValueError):
            raise SpaceDefinitionError(
                f"hp.float('{name}') needs numbers. Received: min_value={min_value!r}, "
                f"max_value={max_value!r}"
            ) from None
        if not (math.isfinite(low) and math.isfinite(high)) or high < low:
            raise SpaceDefinitionError(
                f"hp.float('{name}') needs finite min_value <= max_value. "
                f"Received: min_value={min_value!r}, max_value={max_value!r}"
            )
        if log and low <= 0:
            raise SpaceDefinitionError(
                f"hp.float('{name}', log=True) needs a positive min_value. "
                f"Received: min_value={min_value!r}"
            )
        values = _float_values(name, low, high, step, num, log)
        if default is not None:
            default = float(f"{float(default):.6g}")
        return self._ask(name, values, default, when)

    def boolean(self, name: str, default: bool = False, when=None) -> bool:
        """Picks `False` or `True` (`default` first)."""
        return self._ask(name, [False, True], bool(default), when)

    @contextlib.contextmanager
    def conditional(self, parent: str, values: Any):
        """Decisions asked inside this block exist only when `parent` takes `values`.

        Example:

        ```python
        def build(hp, inputs):
            kind = hp.choice("kind", ["mlp", "cnn"])
            if kind == "cnn":
                with hp.conditional("kind", "cnn"):
                    filters = hp.choice("filters", [16, 32])
            ...
        ```

        Args:
            parent: a decision asked for before.
            values: one value or a list of values of `parent`.
        """
        if parent not in self.asked:
            raise SpaceDefinitionError(
                f"hp.conditional needs a decision asked for before it. Decisions so far: "
                f"{list(self.asked)}. Received: parent={parent!r}"
            )
        self._scope.append(Condition(parent, _as_values(parent, values)))
        try:
            yield
        finally:
            self._scope.pop()

    # ------------------------------------------------------------ machinery
    def _conditions(self, when) -> tuple:
        conditions = list(self._scope)
        if when is not None:
            if not isinstance(when, Mapping):
                raise SpaceDefinitionError(
                    f"`when` is a dict {{parent_decision: value or values}}. Received: when={when!r}"
                )
            for parent, values in when.items():
                if parent not in self.asked:
                    raise SpaceDefinitionError(
                        f"`when` refers to '{parent}', which was not asked for before. "
                        f"Decisions so far: {list(self.asked)}. Received: when={when!r}"
                    )
                conditions.append(Condition(parent, _as_values(parent, values)))
        return tuple(conditions)

    def _ask(self, name: str, values: list, default: Any, when) -> Any:
        if not isinstance(name, str) or not name:
            raise SpaceDefinitionError(
                f"A decision needs a non-empty string name. Received: name={name!r}"
            )
        conditions = self._conditions(when)
        try:
            decision = Categorical(name, values, default=default)
        except ValueError as e:
            raise SpaceDefinitionError(str(e)) from None
        if name in self.asked:
            previous = self.asked[name][0]
            if previous.to_json() != decision.to_json():
                raise SpaceDefinitionError(
                    f"Decision '{name}' is asked for twice with different values: "
                    f"{previous.values()} and {decision.values()}. Use a new name."
                )
        else:
            self.asked[name] = (decision, conditions)
        active = all(c.is_met(self._values) for c in conditions)
        if self._mode == "build":
            return self._build_value(name, decision, active)
        value = self._values.get(name, decision.default)
        if not active or _index_of(decision.choices, value) < 0:
            value = decision.default
        self._values.setdefault(name, value)
        return decision.check(value)

    def _build_value(self, name: str, decision: Categorical, active: bool) -> Any:
        known = self._known.get(name)
        if known is None:
            raise InvalidArchitectureError(
                f"The build function asked for decision '{name}', which the space did not "
                f"discover (discovered: {list(self._known)}). Discovery changes one choice "
                "at a time, so it does not reach a decision that exists only for a "
                "combination of several choices (inside `if a and b:`): ask for it before "
                "the `if`, with when={'a': ..., 'b': ...}, and use it inside."
            )
        if known.to_json()["choices"] != decision.to_json()["choices"]:
            raise InvalidArchitectureError(
                f"Decision '{name}' now has values {decision.values()}, but the space was "
                f"discovered with {known.values()}: build the space again."
            )
        if name in self._values:
            return known.check(self._values[name])
        return known.default


class _Trace:
    """The decisions one symbolic run asked for."""

    def __init__(self, assignment: dict, asked: dict):
        self.assignment = assignment  # the values used, for every asked decision
        self.asked = asked
        self.names = list(asked)


class FunctionSpace(SearchSpace):
    """A search space written as a function `build(hp, inputs) -> tensor`.

    `build` uses Keras's functional API on `inputs` (a Keras tensor, or a
    dict or list of them for several inputs) and returns the features for
    the task's head, like `SearchSpace.build_body`. It asks `hp` for every
    choice: `hp.choice(name, values)`, `hp.int(name, lo, hi, step)`,
    `hp.float(name, lo, hi, num=5, log=False)` (discretised),
    `hp.boolean(name)`; `with hp.conditional(parent, value):` or
    `when={parent: value}` make a decision exist only for some values of
    an earlier one.

    When the space is created, `build` runs on symbolic inputs: first with
    every decision at its default, then with each decision changed to each
    other value. A decision that appears or disappears when another one
    changes (a loop over `hp.int("layers", ...)`, an `if` on a boolean)
    gets the condition it showed, so inactive decisions are not part of an
    architecture. The result is an ordinary space of `Categorical`
    decisions.

    Because discovery changes one choice at a time (then explores further
    from each variant that showed new decisions), a decision asked for
    only under a combination of choices that are all asked anyway
    (`if hp.boolean("a") and hp.boolean("b"):`) is not seen. Ask for it
    before the `if`, with `when={"a": True, "b": True}`: it is then
    discovered, and is part of an architecture only when both hold.

    Example:

    ```python
    import keras
    import numpy as np
    import kerasnas

    def build(hp, inputs):
        x = inputs
        for i in range(hp.int("conv_layers", 1, 2)):
            x = keras.layers.Conv1D(
                hp.choice(f"filters_{i}", [16, 32]), hp.choice(f"kernel_{i}", [3, 5]),
                padding="same", activation="relu")(x)
        x = keras.layers.GlobalAveragePooling1D()(x)
        if hp.boolean("dropout"):
            x = keras.layers.Dropout(hp.float("rate", 0.1, 0.5, num=3))(x)
        return x

    space = kerasnas.spaces.FunctionSpace(build, input_shape=(40, 1), name="cnn")
    arch = space.sample(np.random.default_rng(0))  # a JSON dict
    space.size()
    ```

    Args:
        build: the function. It must build the same decisions for the same
            values (no randomness of its own).
        input_shape: the shape of one sample (without the batch axis), or a
            dict `{input_name: shape}` or a list of shapes for several
            inputs; discovery builds the function on these shapes.
        name: the space's name (logs, fingerprint).

    Resuming a search: the search directory stores the discovered
    decisions, not the function; pass the same function again and the
    fingerprint check compares the decisions it discovers with the stored
    ones. To use worker processes (`executor="process"`), define `build`
    at module level in an importable module (not in `__main__`).

    Raises:
        ValueError: if `build` is not callable, asks for a decision twice
            with different values, does not return a Keras tensor, fails on
            the symbolic inputs, or has more branches than discovery
            explores (`MAX_TRACES` runs).
    """

    kind = "custom"
    accepts_multiple_inputs = True

    def __init__(self, build: Callable, input_shape, name: str | None = None):
        if not callable(build):
            raise ValueError(f"`build` must be a function (hp, inputs). Received: build={build!r}")
        self.build_fn = build
        self.input_spec = _input_spec(input_shape)
        self.traces = 0
        decisions = self._discover()
        super().__init__(decisions, name=name or getattr(build, "__name__", "function"))

    # ---------------------------------------------------------- discovery
    def _symbolic_inputs(self):
        import keras

        kind, shapes = self.input_spec
        if kind == "single":
            return keras.Input(shape=shapes, name="inputs")
        if kind == "dict":
            return {k: keras.Input(shape=s, name=k) for k, s in shapes.items()}
        return [keras.Input(shape=s, name=f"inputs_{i}") for i, s in enumerate(shapes)]

    def _trace(self, assignment: dict, cache: dict) -> _Trace:
        key = tuple(sorted((k, repr(v)) for k, v in assignment.items()))
        if key in cache:
            return cache[key]
        self.traces += 1
        if self.traces > MAX_TRACES:
            raise ValueError(
                f"FunctionSpace explored {MAX_TRACES} variants of "
                f"{getattr(self.build_fn, '__name__', 'build')} and found more: "
                "split the function or use fewer branches."
            )
        hp = HyperParameters(assignment, "trace")
        try:
            out = self.build_fn(hp, self._symbolic_inputs())
        except (InvalidArchitectureError, SpaceDefinitionError):
            raise
        except Exception as e:  # noqa: BLE001 - report the user's error with the values
            raise ValueError(
                f"The build function failed on symbolic inputs {self.input_spec[1]} with "
                f"decisions {hp._values}: {type(e).__name__}: {e}"
            ) from e
        _check_output(out, self.build_fn)
        values = {name: hp._values[name] for name in hp.asked}
        trace = _Trace(values, dict(hp.asked))
        cache[key] = trace
        return trace

    def _discover(self) -> list:
        cache: dict = {}
        order: list[str] = []
        definitions: dict[str, Categorical] = {}
        explicit: dict[str, tuple] = {}
        inferred: dict[str, dict[str, set]] = {}
        queue = [{}]
        explored = set()
        while queue:
            base = self._trace(queue.pop(0), cache)
            base_key = tuple(sorted((k, repr(v)) for k, v in base.assignment.items()))
            if base_key in explored:
                continue
            explored.add(base_key)
            self._record(base, order, definitions, explicit)
            for parent in base.names:
                decision = base.asked[parent][0]
                variants = {repr(base.assignment[parent]): base}
                known = set(definitions)
                revealing = []
                for value in decision.values():
                    if _same_value(value, base.assignment[parent]):
                        continue
                    # One decision changes; the others keep their values (those
                    # that appear take their defaults).
                    changed = dict(base.assignment)
                    changed[parent] = value
                    variant = self._trace(changed, cache)
                    new = set(variant.names) - known
                    if new:
                        revealing.append((variant, new))
                    self._record(variant, order, definitions, explicit)
                    variants[repr(value)] = variant
                # Explore further only the variants that show decisions no other
                # queued variant shows (a loop over layers: only the deepest).
                covered: set = set()
                for variant, new in sorted(revealing, key=lambda item: -len(item[1])):
                    if new - covered:
                        queue.append(variant.assignment)
                        covered |= new
                self._infer(parent, decision, variants, inferred)
        order = _code_order(order, [trace.names for trace in cache.values()])
        return self._decisions_from(order, definitions, explicit, inferred)

    def _record(self, trace, order, definitions, explicit) -> None:
        for name in trace.names:
            decision, conditions = trace.asked[name]
            if name not in definitions:
                order.append(name)
                definitions[name] = decision
                explicit[name] = conditions
            elif definitions[name].to_json() != decision.to_json():
                raise ValueError(
                    f"Decision '{name}' has values {definitions[name].values()} in one "
                    f"branch and {decision.values()} in another: give them different names."
                )

    @staticmethod
    def _infer(parent, decision, variants, inferred) -> None:
        everywhere = set.union(*(set(v.names) for v in variants.values()))
        for name in everywhere - {parent}:
            present = {key for key, variant in variants.items() if name in variant.names}
            if len(present) == len(variants):
                continue
            values = [v for v in decision.values() if repr(v) in present]
            slot = inferred.setdefault(name, {})
            slot.setdefault(parent, set()).update(repr(v) for v in values)

    def _decisions_from(self, order, definitions, explicit, inferred) -> list:
        decisions = []
        for name in order:
            conditions = list(explicit[name])
            if not conditions:
                for parent, keys in inferred.get(name, {}).items():
                    values = [v for v in definitions[parent].values() if repr(v) in keys]
                    conditions.append(Condition(parent, tuple(values)))
            base = definitions[name]
            decisions.append(Categorical(name, base.choices, conditions, default=base.default))
        return decisions

    # ------------------------------------------------------------ building
    def check_input_shape(self, kind: str, shape) -> None:
        """Refuses models on inputs other than those the decisions were discovered on.

        Raises:
            ValueError: naming both shapes.
        """
        own_kind, own_shape = self.input_spec
        same = kind == own_kind and (
            {k: tuple(v) for k, v in shape.items()} == own_shape
            if kind == "dict"
            else [tuple(v) for v in shape] == [tuple(v) for v in own_shape]
            if kind == "list"
            else tuple(shape) == tuple(own_shape)
        )
        if not same:
            raise ValueError(
                f"FunctionSpace '{self.name}' discovered its decisions on input_shape="
                f"{own_shape!r}, but the data's samples have shape {shape!r}: create the "
                "space with the data's input_shape. Received: input_shape="
                f"{shape!r}"
            )

    def build_body(self, architecture: Architecture, inputs):
        """Runs the function with the architecture's values on `inputs`."""
        hp = HyperParameters(dict(architecture), "build", known=self._by_name)
        out = self.build_fn(hp, inputs)
        _check_output(out, self.build_fn)
        return out

    # ---------------------------------------------------------- persistence
    def get_config(self) -> dict:
        """The discovered decisions (the function itself is not stored)."""
        return {
            "class": type(self).__name__,
            "name": self.name,
            "decisions": [d.to_json() for d in self._decisions],
        }


def _code_order(discovered: list, runs: list) -> list:
    """Orders decisions as the function asks for them (a merge of every run's order).

    A decision comes after every decision asked before it in some run;
    ties (and contradictory orders) keep the order of discovery.
    """
    earlier = {name: set() for name in discovered}
    for names in runs:
        for i, name in enumerate(names):
            earlier[name].update(names[:i])
    placed: list = []
    remaining = list(discovered)
    while remaining:
        ready = [n for n in remaining if earlier[n] - {n} <= set(placed)]
        chosen = ready[0] if ready else remaining[0]
        placed.append(chosen)
        remaining.remove(chosen)
    return placed


def _check_output(out, build) -> None:
    import keras

    if not isinstance(out, keras.KerasTensor):
        raise ValueError(
            f"The build function {getattr(build, '__name__', build)!r} must return the "
            f"Keras tensor of the model body's features. Received: {type(out).__name__}"
        )


def _input_spec(input_shape) -> tuple:
    def shape(value, label):
        try:
            dims = tuple(int(d) for d in value)
        except TypeError:
            dims = ()
        if not dims or any(d < 1 for d in dims):
            raise ValueError(
                f"`input_shape` must be the shape of one sample (positive ints), a dict of "
                f"them or a list of them. Received: {label}={value!r}"
            )
        return dims

    if isinstance(input_shape, Mapping):
        if not input_shape:
            raise ValueError("`input_shape` is an empty dict. Received: input_shape={}")
        return "dict", {str(k): shape(v, f"input_shape[{k!r}]") for k, v in input_shape.items()}
    if (
        isinstance(input_shape, (list, tuple))
        and input_shape
        and all(isinstance(v, (list, tuple)) for v in input_shape)
    ):
        return "list", [shape(v, f"input_shape[{i}]") for i, v in enumerate(input_shape)]
    return "single", shape(input_shape, "input_shape")
