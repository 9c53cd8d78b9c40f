"""Architecture templates: networks of segments described as JSON data.

A template is a dict (JSON-able) that lists **segments** connected in any
DAG: a stem, stages with downsampling, parallel branches that merge, a
head. Each segment has a type (what it builds), its inputs (earlier
segments or `"input"`), and parameters; a parameter given as a list is a
choice, which `TemplateSpace` turns into the decision
`"<segment>.<parameter>"`.

```python
template = {
    "name": "tiny",
    "segments": [
        {"name": "stem", "type": "conv", "params": {"width": [8, 16]}},
        {"name": "a", "type": "op", "inputs": ["stem"],
         "params": {"op": ["conv", "sepconv"], "width": 16}},
        {"name": "b", "type": "op", "inputs": ["stem"], "params": {"op": "maxpool"}},
        {"name": "mix", "type": "merge", "inputs": ["a", "b"],
         "params": {"merge": ["add", "concat"]}},
        {"name": "head", "type": "head", "params": {"units": [0, 32]}},
    ],
}
```

Parameter values:

- a scalar is fixed;
- a list of scalars is a choice;
- `{"choices": [...], "when": {"param": [values]}}` is a choice that only
  applies when another parameter (of the same segment, or
  `"segment.param"` of an earlier one) takes one of the listed values;
  otherwise the parameter keeps its default.

Segments without `"inputs"` read the previous segment (the first reads
`"input"`). With several inputs (data given as a dict or list of arrays),
segments read them as `"input:NAME"` (a dict key) or `"input:0"`,
`"input:1"`, ... (list positions) instead of `"input"`; every input must
be read by some segment. A segment with several inputs merges them first, by its
`merge` parameter (`"add"` or `"concat"`, default `"add"`), reconciling
shapes as `kerasnas.layers.merge` does. The output is the last segment
unless `"output"` names another. See `SEGMENT_TYPES` for the types and
their parameters.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Mapping
from typing import Any

from kerasnas._lazy import keras
from kerasnas.layers import ops as op_lib
from kerasnas.layers.merge import MERGE_MODES, merge
from kerasnas.spaces.chain import HEAD_POOLING, build_layer, describe_layer
from kerasnas.spaces.decisions import Categorical, Condition, _is_json_scalar
from kerasnas.spaces.space import Architecture, SearchSpace

INPUT = "input"
NAMED_INPUT = "input:"
BLOCKS = (
    "conv",
    "sepconv",
    "residual",
    "inverted_residual",
    "dense",
    "gru",
    "lstm",
    "attention",
)
REQUIRED = object()


# ---------------------------------------------------------------------------
# Parameter checks
# ---------------------------------------------------------------------------
def _int_at_least(minimum: int) -> Callable[[Any], str | None]:
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"an int >= {minimum}"
        return None

    return check


def _one_of(values) -> Callable[[Any], str | None]:
    values = tuple(values)

    def check(value):
        return None if value in values else f"one of {list(values)}"

    return check


def _operation_name(value):
    # Read at check time, so operations registered with kerasnas.ops.register count.
    return None if value in op_lib.OPERATIONS else f"one of {sorted(op_lib.OPERATIONS)}"


def _activation(value):
    if not isinstance(value, str):
        return "a Keras activation name"
    try:
        keras.activations.get(value)
    except (ValueError, TypeError):
        return "a Keras activation name"
    return None


def _boolean(value):
    return None if isinstance(value, bool) else "true or false"


def _rate(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        return "a number in [0, 1)"
    return None


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a segment type: name, default, and a check."""

    name: str
    default: Any
    check: Callable[[Any], str | None]


_MERGE = Param("merge", "add", _one_of(MERGE_MODES))
_STRIDES = _one_of((1, 2))


@dataclasses.dataclass(frozen=True)
class SegmentType:
    """What a segment builds and which parameters it takes (in decision order)."""

    build: Callable
    params: tuple
    describe: Callable
    doc: str


def _build_conv(x, p, name):
    x = op_lib.conv(
        x,
        name=f"{name}_conv",
        width=p["width"],
        kernel_size=p["kernel_size"],
        strides=p["strides"],
        use_bias=not p["batch_norm"],
    )
    if p["batch_norm"]:
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.Activation(p["activation"], name=f"{name}_{p['activation']}")(x)


def _conv_bn(x, width, kernel_size, strides, name, activation=None, separable=False):
    fn = op_lib.sepconv if separable else op_lib.conv
    x = fn(
        x,
        name=f"{name}_conv",
        width=width,
        kernel_size=kernel_size,
        strides=strides,
        use_bias=False,
    )
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    if activation:
        x = keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def _downsample(x, strides, name):
    if strides > 1 and op_lib.spatial_rank(x) > 0:
        x = op_lib.max_pool(x, name=f"{name}_downsample", pool_size=strides, strides=strides)
    return x


def _block(x, block, p, strides, name):
    width, kernel, act = p["width"], p["kernel_size"], p["activation"]
    if block in ("conv", "sepconv"):
        return _conv_bn(x, width, kernel, strides, name, act, separable=block == "sepconv")
    if block == "residual":
        x = op_lib.as_spatial(x, name)
        y = _conv_bn(x, width, kernel, strides, f"{name}_a", act)
        y = _conv_bn(y, width, kernel, 1, f"{name}_b")
        shortcut = x
        if strides > 1 or int(x.shape[-1]) != width:
            shortcut = _conv_bn(x, width, 1, strides, f"{name}_shortcut")
        y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
        return keras.layers.Activation(act, name=f"{name}_out_{act}")(y)
    if block == "inverted_residual":
        x = op_lib.as_spatial(x, name)
        c_in = int(x.shape[-1])
        y = x
        if p["expansion"] > 1:
            y = _conv_bn(y, c_in * p["expansion"], 1, 1, f"{name}_expand", act)
        y = op_lib.depthwise_conv(y, name=f"{name}_depthwise", kernel_size=kernel, strides=strides)
        y = keras.layers.BatchNormalization(name=f"{name}_depthwise_bn")(y)
        y = keras.layers.Activation(act, name=f"{name}_depthwise_{act}")(y)
        y = _conv_bn(y, width, 1, 1, f"{name}_project")
        if strides == 1 and c_in == width:
            y = keras.layers.Add(name=f"{name}_add")([x, y])
        return y
    if block == "dense":
        y = keras.layers.Dense(width, use_bias=False, name=f"{name}_dense")(x)
        y = keras.layers.BatchNormalization(name=f"{name}_bn")(y)
        y = keras.layers.Activation(act, name=f"{name}_{act}")(y)
        if tuple(x.shape) == tuple(y.shape):
            y = keras.layers.Add(name=f"{name}_add")([x, y])
        return _downsample(y, strides, name)
    # Sequence blocks: operation, residual where shapes allow, layer norm.
    y = op_lib.OPERATIONS[block].fn(x, name=f"{name}_{block}", width=width)
    if tuple(x.shape) == tuple(y.shape):
        y = keras.layers.Add(name=f"{name}_add")([x, y])
    y = keras.layers.LayerNormalization(name=f"{name}_norm")(y)
    return _downsample(y, strides, name)


def _build_stage(x, p, name):
    for i in range(p["depth"]):
        x = _block(x, p["block"], p, p["strides"] if i == 0 else 1, f"{name}_block{i}")
    return x


def _build_op(x, p, name):
    return build_layer(x, p, name)


def _build_pool(x, p, name):
    fn = op_lib.max_pool if p["pool"] == "max" else op_lib.avg_pool
    return fn(x, name=f"{name}_{p['pool']}pool", pool_size=p["strides"], strides=p["strides"])


def _build_merge(x, p, name):
    return x


def _build_head(x, p, name):
    x = op_lib.pool_for_head(x, p["pooling"], name=name)
    if p["units"]:
        x = keras.layers.Dense(p["units"], activation=p["activation"], name=f"{name}_dense")(x)
    if p["dropout"]:
        x = keras.layers.Dropout(p["dropout"], name=f"{name}_dropout")(x)
    return x


def _describe_conv(p):
    return f"conv{p['kernel_size']}x{p['width']}" + ("/2" if p["strides"] == 2 else "")


def _describe_stage(p):
    if p["depth"] == 0:
        return "skip"
    text = f"{p['block']}*{p['depth']}x{p['width']}"
    if p["block"] not in ("dense", "gru", "lstm", "attention"):
        text += f"k{p['kernel_size']}"
    if p["block"] == "inverted_residual":
        text += f"e{p['expansion']}"
    return text + ("/2" if p["strides"] == 2 else "")


def _describe_head(p):
    text = p["pooling"]
    if p["units"]:
        text += f">{p['units']}"
    if p["dropout"]:
        text += f"/d{p['dropout']}"
    return text


SEGMENT_TYPES: dict[str, SegmentType] = {
    "conv": SegmentType(
        _build_conv,
        (
            Param("width", REQUIRED, _int_at_least(1)),
            Param("kernel_size", 3, _int_at_least(1)),
            Param("strides", 1, _STRIDES),
            Param("activation", "relu", _activation),
            Param("batch_norm", True, _boolean),
        ),
        _describe_conv,
        "convolution, batch norm, activation (a stem)",
    ),
    "stage": SegmentType(
        _build_stage,
        (
            Param("block", "residual", _one_of(BLOCKS)),
            Param("depth", 1, _int_at_least(0)),
            Param("width", REQUIRED, _int_at_least(1)),
            Param("kernel_size", 3, _int_at_least(1)),
            Param("expansion", 4, _int_at_least(1)),
            Param("strides", 1, _STRIDES),
            Param("activation", "relu", _activation),
        ),
        _describe_stage,
        "`depth` blocks of one kind; the first has `strides` (depth 0: identity)",
    ),
    "op": SegmentType(
        _build_op,
        (
            Param("op", REQUIRED, _operation_name),
            Param("width", 32, _int_at_least(1)),
            Param("kernel_size", 3, _int_at_least(1)),
            Param("activation", "relu", _activation),
            Param("batch_norm", False, _boolean),
            Param("dropout", 0.0, _rate),
        ),
        lambda p: describe_layer(_op_spec(p)),
        "one chain layer: any operation of kerasnas.layers.ops",
    ),
    "pool": SegmentType(
        _build_pool,
        (Param("pool", "max", _one_of(("max", "avg"))), Param("strides", 2, _STRIDES)),
        lambda p: f"{p['pool']}pool/{p['strides']}",
        "max or average pooling with stride",
    ),
    "merge": SegmentType(_build_merge, (), lambda p: "merge", "only merges its inputs"),
    "head": SegmentType(
        _build_head,
        (
            Param("pooling", "global_avg", _one_of(HEAD_POOLING)),
            Param("units", 0, _int_at_least(0)),
            Param("activation", "relu", _activation),
            Param("dropout", 0.0, _rate),
        ),
        _describe_head,
        "pooling to a vector, optional hidden dense layer and dropout",
    ),
}


def _op_spec(p: Mapping[str, Any]) -> dict:
    info = op_lib.OPERATIONS[p["op"]]
    spec = {"op": p["op"]}
    if info.uses_width:
        spec["width"] = p["width"]
    if info.uses_kernel:
        spec["kernel_size"] = p["kernel_size"]
    if info.trainable:
        spec["activation"] = p["activation"]
        spec["batch_norm"] = p["batch_norm"]
    if p["op"] != "identity":
        spec["dropout"] = p["dropout"]
    return spec


_SEQUENCE_BLOCKS = ("gru", "lstm", "attention")


def _unused_params(kind: str, p: Mapping[str, Any]) -> set[str]:
    """Parameters a segment of type `kind` ignores given its other parameters."""
    if kind == "stage":
        if p["depth"] == 0:
            return {name for name in p if name != "depth"}
        unused = set()
        if p["block"] in ("dense",) + _SEQUENCE_BLOCKS:
            unused.add("kernel_size")
        if p["block"] != "inverted_residual":
            unused.add("expansion")
        if p["block"] in _SEQUENCE_BLOCKS:
            unused.add("activation")
        return unused
    if kind == "op":
        info = op_lib.OPERATIONS[p["op"]]
        unused = set()
        if not info.uses_width:
            unused.add("width")
        if not info.uses_kernel:
            unused.add("kernel_size")
        if not info.trainable:
            unused.update(("activation", "batch_norm"))
        return unused
    if kind == "head" and not p["units"]:
        return {"activation"}
    return set()


# ---------------------------------------------------------------------------
# Template validation
# ---------------------------------------------------------------------------
def _fail(where: str, message: str, received: str):
    prefix = f"Template {where}" if where else "Template"
    raise ValueError(f"{prefix}: {message}. Received: {received}")


def _check_value(where: str, param: Param, value: Any) -> None:
    problem = None if _is_json_scalar(value) else "a JSON scalar"
    if problem is None:
        problem = param.check(value)
    if problem:
        _fail(where, f"'{param.name}' must be {problem}", f"{param.name}={value!r}")


def normalize_template(template: Mapping[str, Any]) -> dict:
    """Checks a template and returns it with every segment's inputs spelled out.

    Example:

    ```python
    from kerasnas.spaces.template import normalize_template
    template = normalize_template(
        {"segments": [{"name": "stem", "type": "conv", "params": {"width": [8, 16]}}]})
    template["segments"][0]["inputs"], template["output"]  # (['input'], 'stem')
    ```

    Args:
        template: the template dict.

    Returns:
        A checked deep copy with `inputs`, `params`, `name` and `output` filled in.

    Raises:
        ValueError: naming the segment and parameter that is wrong, with
            what was expected.
    """
    if not isinstance(template, Mapping):
        raise ValueError(
            "A template is a dict with a 'segments' list (or the name of a shipped "
            f"template). Received: template={template!r}"
        )
    try:
        data = json.loads(json.dumps(template))
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"A template must be JSON-serialisable data. Received an error: {e}"
        ) from None
    unknown = sorted(set(data) - {"name", "segments", "output", "description"})
    if unknown:
        _fail(
            "",
            f"unknown keys {unknown}; allowed: name, segments, output, description",
            str(unknown),
        )
    segments = data.get("segments")
    if not isinstance(segments, list) or not segments:
        _fail("", "'segments' must be a non-empty list", f"segments={segments!r}")
    names: list[str] = []
    for index, segment in enumerate(segments):
        where = f"segment #{index}"
        if not isinstance(segment, dict):
            _fail(where, "a segment is a dict with 'name' and 'type'", repr(segment))
        extra = sorted(set(segment) - {"name", "type", "inputs", "params"})
        if extra:
            _fail(where, f"unknown keys {extra}; allowed: name, type, inputs, params", str(extra))
        name = segment.get("name")
        if not isinstance(name, str) or not name or "." in name or _is_input(name):
            _fail(
                where,
                f"'name' must be a non-empty string without '.', not '{INPUT}' or "
                f"'{NAMED_INPUT}...'",
                f"name={name!r}",
            )
        if name in names:
            _fail(f"segment '{name}'", "segment names must be unique", f"name={name!r} twice")
        where = f"segment '{name}'"
        kind = segment.get("type")
        if kind not in SEGMENT_TYPES:
            _fail(where, f"'type' must be one of {list(SEGMENT_TYPES)}", f"type={kind!r}")
        inputs = segment.get("inputs", [names[-1]] if names else [INPUT])
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            _fail(
                where, "'inputs' must be a non-empty list of earlier segments", f"inputs={inputs!r}"
            )
        for source in inputs:
            if not _is_input(source) and source not in names:
                _fail(
                    where,
                    f"inputs must be '{INPUT}', '{NAMED_INPUT}NAME' (one of several inputs) "
                    f"or earlier segments {names}",
                    f"inputs={inputs!r}",
                )
        if len(set(inputs)) != len(inputs):
            _fail(where, "an input is listed twice", f"inputs={inputs!r}")
        segment["inputs"] = inputs
        params = segment.setdefault("params", {})
        if not isinstance(params, dict):
            _fail(where, "'params' must be a dict", f"params={params!r}")
        allowed = {p.name: p for p in _params_of(kind, len(inputs))}
        for key, value in params.items():
            if key not in allowed:
                hint = (
                    " ('merge' applies to segments with several inputs)" if key == "merge" else ""
                )
                _fail(
                    where,
                    f"type '{kind}' takes parameters {list(allowed)}{hint}",
                    f"{key}={value!r}",
                )
            _check_choice(where, allowed[key], value)
        for param in allowed.values():
            if param.default is REQUIRED and param.name not in params:
                _fail(
                    where, f"type '{kind}' needs the parameter '{param.name}'", f"params={params!r}"
                )
        names.append(name)
    output = data.get("output", names[-1])
    if output not in names:
        _fail("", f"'output' must name a segment {names}", f"output={output!r}")
    data["output"] = output
    used = _ancestors(data["segments"], output)
    unused = [n for n in names if n not in used]
    if unused:
        _fail(
            "",
            f"segments {unused} do not lead to the output '{output}'; connect or remove them",
            f"output={output!r}",
        )
    sources = template_inputs(data)
    if INPUT in sources and len(sources) > 1:
        _fail(
            "",
            f"a template reads either the one input '{INPUT}' or several named inputs "
            f"'{NAMED_INPUT}NAME', not both",
            f"inputs {sources}",
        )
    data.setdefault("name", "template")
    return data


def _is_input(source) -> bool:
    """Whether a segment source is the model input (`"input"` or `"input:NAME"`)."""
    return isinstance(source, str) and (
        source == INPUT or (source.startswith(NAMED_INPUT) and len(source) > len(NAMED_INPUT))
    )


def template_inputs(template: Mapping[str, Any]) -> list[str]:
    """The input sources a normalised template reads, in order of first use.

    Example:

    ```python
    from kerasnas.spaces.template import normalize_template, template_inputs
    template = normalize_template({"segments": [
        {"name": "a", "type": "op", "inputs": ["input:meta"], "params": {"op": "dense"}},
        {"name": "b", "type": "op", "inputs": ["input:signal"], "params": {"op": "conv"}},
        {"name": "head", "type": "head", "inputs": ["a", "b"]}]})
    template_inputs(template)  # ['input:meta', 'input:signal']
    ```
    """
    seen: list[str] = []
    for segment in template["segments"]:
        for source in segment["inputs"]:
            if _is_input(source) and source not in seen:
                seen.append(source)
    return seen


def _params_of(kind: str, num_inputs: int) -> list[Param]:
    params = list(SEGMENT_TYPES[kind].params)
    return ([_MERGE] if num_inputs > 1 else []) + params


def _check_choice(where: str, param: Param, value: Any) -> None:
    if isinstance(value, dict):
        extra = sorted(set(value) - {"choices", "when"})
        if extra or "choices" not in value:
            _fail(
                where,
                f"a conditional choice of '{param.name}' is "
                "{'choices': [...], 'when': {param: [values]}}",
                f"{param.name}={value!r}",
            )
        _check_choice(where, param, value["choices"])
        when = value.get("when", {})
        if not isinstance(when, dict) or not when:
            _fail(where, f"'when' of '{param.name}' must be a non-empty dict", f"when={when!r}")
        for key, values in when.items():
            if not isinstance(values, list) or not values:
                _fail(
                    where,
                    f"'when' of '{param.name}' lists values for each key",
                    f"{key}={values!r}",
                )
        return
    if isinstance(value, list):
        if not value:
            _fail(where, f"a choice of '{param.name}' needs at least one value", f"{param.name}=[]")
        for item in value:
            _check_value(where, param, item)
        if len({json.dumps(v) for v in value}) != len(value):
            _fail(where, f"a choice of '{param.name}' repeats a value", f"{param.name}={value!r}")
        return
    _check_value(where, param, value)


def _ancestors(segments: list[dict], output: str) -> set[str]:
    by_name = {s["name"]: s for s in segments}
    seen, todo = set(), [output]
    while todo:
        name = todo.pop()
        if name in seen or _is_input(name):
            continue
        seen.add(name)
        todo.extend(by_name[name]["inputs"])
    return seen


# ---------------------------------------------------------------------------
# The space
# ---------------------------------------------------------------------------
class TemplateSpace(SearchSpace):
    """A space defined by an architecture template (JSON data, not code).

    Every parameter given as a list in the template becomes a decision
    named `"<segment>.<parameter>"`; the architecture is the set of those
    values. See `kerasnas.spaces.template` for the template format and
    `SEGMENT_TYPES` for the segment types; `kerasnas.spaces.TEMPLATES` holds
    the shipped templates (`"staged"`: a ResNet/MobileNet-like stem, three
    stages with downsampling and a head; `"multi_branch"`: parallel branches
    that merge).

    Example:

    ```python
    import numpy as np
    import kerasnas
    space = kerasnas.spaces.TemplateSpace({
        "name": "two_branches",
        "segments": [
            {"name": "stem", "type": "conv", "params": {"width": [8, 16]}},
            {"name": "left", "type": "op", "inputs": ["stem"],
             "params": {"op": ["conv", "sepconv"], "width": 16, "kernel_size": [3, 5]}},
            {"name": "right", "type": "pool", "inputs": ["stem"]},
            {"name": "join", "type": "merge", "inputs": ["left", "right"],
             "params": {"merge": ["add", "concat"]}},
            {"name": "head", "type": "head"},
        ],
    })
    space.size()  # 16
    print(space.describe(space.sample(np.random.default_rng(0))))
    ```

    Args:
        template: a template dict, or the name of a shipped template
            (`"staged"`, `"multi_branch"`, `"mlp"`).
        name: the space's name (defaults to the template's `"name"`).

    Raises:
        ValueError: for an invalid template, naming the segment and
            parameter at fault.
    """

    kind = "template"

    def __init__(self, template: Mapping[str, Any] | str = "staged", name: str | None = None):
        if isinstance(template, str):
            from kerasnas.spaces.templates import TEMPLATES

            if template not in TEMPLATES:
                raise ValueError(
                    f"Unknown template name. Shipped templates: {sorted(TEMPLATES)}. "
                    f"Received: template={template!r}"
                )
            template = TEMPLATES[template]()
        self.template = normalize_template(template)
        self._segments = {s["name"]: s for s in self.template["segments"]}
        super().__init__(self._make_decisions(), name=name or self.template["name"])

    def _make_decisions(self) -> list:
        decisions = []
        declared: set[str] = set()
        for segment in self.template["segments"]:
            seg = segment["name"]
            for param in _params_of(segment["type"], len(segment["inputs"])):
                value = segment["params"].get(param.name)
                if isinstance(value, list):
                    choices, when = value, {}
                elif isinstance(value, dict):
                    choices, when = value["choices"], value["when"]
                else:
                    continue
                conditions = []
                for key, values in when.items():
                    target = key if "." in key else f"{seg}.{key}"
                    if target not in declared:
                        raise ValueError(
                            f"Template segment '{seg}': 'when' of '{param.name}' refers to "
                            f"'{target}', which is not a choice declared before it (choices "
                            f"so far: {sorted(declared)}; a segment's choices are declared in "
                            f"the order {[p.name for p in _params_of(segment['type'], len(segment['inputs']))]}). "
                            f"Received: when={when!r}"
                        )
                    conditions.append(Condition(target, tuple(values)))
                name = f"{seg}.{param.name}"
                decisions.append(Categorical(name, choices, conditions))
                declared.add(name)
        return decisions

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(template=copy.deepcopy(self.template))
        if config.get("name") == self.template["name"]:
            # The name follows the template, also when options replace it.
            config.pop("name")
        return config

    def segment_params(self, architecture: Mapping[str, Any], segment: str) -> dict:
        """Returns the parameters segment `segment` is built with for `architecture`."""
        arch = self.validate(architecture)
        return self._params(arch, self._segments[segment])

    def _params(self, arch: Mapping[str, Any], segment: Mapping[str, Any]) -> dict:
        result = {}
        for param in _params_of(segment["type"], len(segment["inputs"])):
            key = f"{segment['name']}.{param.name}"
            value = segment["params"].get(param.name, param.default)
            if key in arch:
                value = arch[key]
            elif isinstance(value, (list, dict)):
                value = param.default
            result[param.name] = value
        return result

    def canonicalize(self, architecture: Mapping[str, Any]) -> Architecture:
        """Resets decisions that the built network does not use to their defaults.

        A decision is unused when its segment ignores the parameter for the
        other values chosen: every parameter of a stage of depth 0; the
        kernel size of `dense` and sequence blocks, the expansion of blocks
        other than `inverted_residual`, the activation of sequence blocks;
        width, kernel size, activation and batch norm of `op` segments whose
        operation does not take them; the activation of a head without a
        hidden layer. Encodings that differ only there build the same
        network and share a canonical key.
        """
        arch = self.validate(architecture)
        reset = set()
        for segment in self.template["segments"]:
            params = self._params(arch, segment)
            for name in _unused_params(segment["type"], params):
                reset.add(f"{segment['name']}.{name}")
        if not reset & set(arch):
            return arch
        result = Architecture()
        for decision in self._decisions:
            if not decision.is_active(result):
                continue
            if decision.name in reset or decision.name not in arch:
                result[decision.name] = decision.default
            else:
                result[decision.name] = arch[decision.name]
        return self.validate(result)

    @property
    def input_names(self) -> list[str]:
        """The named inputs the template reads (`NAME` of `"input:NAME"`); empty for one input."""
        return [s[len(NAMED_INPUT) :] for s in template_inputs(self.template) if s != INPUT]

    @property
    def accepts_multiple_inputs(self) -> bool:
        """Whether the template reads several named inputs."""
        return bool(self.input_names)

    def check_input_shape(self, kind: str, shape) -> None:
        """Refuses data whose inputs are not the ones the template reads.

        Args:
            kind: `"single"`, `"dict"` or `"list"` (how the data holds its inputs).
            shape: the sample shape, or a dict or list of them.

        Raises:
            ValueError: naming the template's inputs and the data's.
        """
        names = self.input_names
        if kind == "single":
            if names:
                raise ValueError(
                    f"Template '{self.name}' reads several inputs {names} ('input:NAME'), but "
                    f"the data has one input. Received: input_shape={tuple(shape)!r}"
                )
            return
        available = list(shape) if kind == "dict" else [str(i) for i in range(len(shape))]
        if not names:
            raise ValueError(
                f"Template '{self.name}' reads the one input 'input', but the data has several "
                f"inputs: read them as {[NAMED_INPUT + n for n in available]}. Received: "
                f"input_shape={shape!r}"
            )
        missing = [n for n in names if n not in available]
        unused = [n for n in available if n not in names]
        if missing or unused:
            raise ValueError(
                f"Template '{self.name}' reads inputs {names}, the data has {available} "
                f"(missing from the data: {missing}; not read by any segment: {unused}). "
                f"Received: input_shape={shape!r}"
            )

    def build_body(self, architecture: Architecture, inputs):
        if isinstance(inputs, Mapping):
            outputs = {f"{NAMED_INPUT}{k}": v for k, v in inputs.items()}
        elif isinstance(inputs, (list, tuple)):
            outputs = {f"{NAMED_INPUT}{i}": v for i, v in enumerate(inputs)}
        else:
            outputs = {INPUT: inputs}
        for segment in self.template["segments"]:
            name = segment["name"]
            params = self._params(architecture, segment)
            sources = [outputs[s] for s in segment["inputs"]]
            x = merge(sources, params.get("merge", "add"), f"{name}_merge")
            outputs[name] = SEGMENT_TYPES[segment["type"]].build(x, params, name)
        return outputs[self.template["output"]]

    def describe(self, architecture: Mapping[str, Any]) -> str:
        arch = self.validate(architecture)
        parts = []
        for segment in self.template["segments"]:
            params = self._params(arch, segment)
            text = SEGMENT_TYPES[segment["type"]].describe(params)
            if len(segment["inputs"]) > 1:
                text = f"{params['merge']}({','.join(segment['inputs'])})" + (
                    "" if segment["type"] == "merge" else f">{text}"
                )
            parts.append(f"{segment['name']}={text}")
        return " ".join(parts)

    def summary(self, architecture: Mapping[str, Any]) -> str:
        """One line per segment: type, inputs and the parameters it is built with."""
        arch = self.validate(architecture)
        lines = [f"{self.name} (template) architecture {arch.key}"]
        width = max(len(s["name"]) for s in self.template["segments"])
        for segment in self.template["segments"]:
            params = self._params(arch, segment)
            searched = [k for k in params if f"{segment['name']}.{k}" in arch]
            shown = ", ".join(f"{k}={v}{'*' if k in searched else ''}" for k, v in params.items())
            lines.append(
                f"  {segment['name'].ljust(width)}  {segment['type']:<6} "
                f"<- {', '.join(segment['inputs'])}  {shown}"
            )
        lines.append("  (* = searched decision)")
        return "\n".join(lines)
