"""The chain-structured space: a sequence of layers, each fed by the one before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kerasnas._lazy import keras
from kerasnas.errors import InvalidArchitectureError
from kerasnas.layers import ops as op_lib
from kerasnas.spaces.decisions import Categorical, Condition
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.validation import check_int

DEFAULT_OPERATIONS = ("conv", "sepconv", "maxpool", "avgpool", "dense", "identity")
HEAD_POOLING = ("global_avg", "global_max", "flatten")
#: The deepest chain a space may describe (the size of a space grows with it).
MAX_LAYERS = 64


def _check_choices(parameter: str, values: Sequence[Any], allowed=None) -> tuple:
    values = tuple(values)
    if not values:
        raise ValueError(f"`{parameter}` needs at least one value. Received: {parameter}=()")
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError(
                f"`{parameter}` has unknown values {bad}. Allowed: {sorted(allowed)}. "
                f"Received: {parameter}={values!r}"
            )
    return values


class ChainSpace(SearchSpace):
    """Chain-structured networks: layers in sequence, each node's only parent the previous.

    Per layer the decisions are the operation (`layer_i.op`), and where the
    operation uses them its width, kernel size, activation, batch
    normalisation and dropout. `num_layers` picks the depth; `head.pooling`
    picks how spatial features reach the head. Works on flat vectors,
    sequences and images.

    Example:

    ```python
    import numpy as np
    import kerasnas
    space = kerasnas.spaces.ChainSpace(max_layers=3, widths=(16, 32))
    arch = space.sample(np.random.default_rng(0))
    print(space.describe(arch))
    ```

    Args:
        max_layers: the deepest chain.
        min_layers: the shallowest chain.
        operations: operation names from `kerasnas.layers.ops.OPERATIONS`.
        widths: filters or units of layers that have weights.
        kernel_sizes: kernel sizes of convolutions.
        activations: Keras activation names.
        batch_norm: whether batch normalisation may follow an operation.
        dropout: dropout rates after a layer.
        head_pooling: how spatial features are reduced before the head
            (`"global_avg"`, `"global_max"`, `"flatten"`).
        name: the space's name.

    After a `flatten` layer only `dense` and `identity` layers act: a spatial
    operation there is built as `identity`.

    Raises:
        ValueError: for empty choices, unknown operations or bad depths.
    """

    kind = "chain"

    def __init__(
        self,
        max_layers: int = 4,
        min_layers: int = 1,
        operations: Sequence[str] = DEFAULT_OPERATIONS,
        widths: Sequence[int] = (16, 32, 64, 128),
        kernel_sizes: Sequence[int] = (3, 5, 7),
        activations: Sequence[str] = ("relu", "gelu", "swish", "tanh"),
        batch_norm: Sequence[bool] = (False, True),
        dropout: Sequence[float] = (0.0, 0.1, 0.25),
        head_pooling: Sequence[str] = HEAD_POOLING,
        name: str = "chain",
    ):
        check_int(
            "max_layers",
            max_layers,
            minimum=1,
            maximum=MAX_LAYERS,
            why="Deeper chains do not train in a search's budget; use a template with repeats.",
        )
        if not isinstance(min_layers, int) or not 0 <= min_layers <= max_layers:
            raise ValueError(
                "`min_layers` must be an int between 0 and max_layers "
                f"({max_layers}). Received: min_layers={min_layers!r}"
            )
        self.max_layers = max_layers
        self.min_layers = min_layers
        self.operations = _check_choices("operations", operations, op_lib.OPERATIONS)
        self.widths = _check_choices("widths", widths)
        self.kernel_sizes = _check_choices("kernel_sizes", kernel_sizes)
        self.activations = _check_choices("activations", activations)
        self.batch_norm = _check_choices("batch_norm", batch_norm)
        self.dropout = _check_choices("dropout", dropout)
        self.head_pooling = _check_choices("head_pooling", head_pooling, HEAD_POOLING)
        super().__init__(self._make_decisions(), name=name)

    def _make_decisions(self):
        decisions = [Categorical("num_layers", list(range(self.min_layers, self.max_layers + 1)))]
        with_width = [o for o in self.operations if op_lib.OPERATIONS[o].uses_width]
        with_kernel = [o for o in self.operations if op_lib.OPERATIONS[o].uses_kernel]
        trainable = [o for o in self.operations if op_lib.OPERATIONS[o].trainable]
        not_identity = [o for o in self.operations if o != "identity"]
        for i in range(self.max_layers):
            prefix = f"layer_{i}"
            present = []
            if i >= self.min_layers:
                present = [Condition("num_layers", [n for n in range(i + 1, self.max_layers + 1)])]
            decisions.append(Categorical(f"{prefix}.op", self.operations, present))
            for suffix, values, subset in (
                ("width", self.widths, with_width),
                ("kernel_size", self.kernel_sizes, with_kernel),
                ("activation", self.activations, trainable),
                ("batch_norm", self.batch_norm, trainable),
                ("dropout", self.dropout, not_identity),
            ):
                if subset:
                    condition = Condition(f"{prefix}.op", subset)
                    decisions.append(Categorical(f"{prefix}.{suffix}", values, [condition]))
        decisions.append(Categorical("head.pooling", self.head_pooling))
        return decisions

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            max_layers=self.max_layers,
            min_layers=self.min_layers,
            operations=list(self.operations),
            widths=list(self.widths),
            kernel_sizes=list(self.kernel_sizes),
            activations=list(self.activations),
            batch_norm=list(self.batch_norm),
            dropout=list(self.dropout),
            head_pooling=list(self.head_pooling),
        )
        return config

    def layer_specs(self, architecture: Mapping[str, Any]) -> list[dict]:
        """Returns one dict per layer (`op`, `width`, ...) of a valid architecture."""
        arch = self.validate(architecture)
        layers, flat = [], False
        for i in range(arch["num_layers"]):
            prefix = f"layer_{i}."
            spec = {k[len(prefix) :]: v for k, v in arch.items() if k.startswith(prefix)}
            # After `flatten` the features are one vector: a spatial operation would
            # read it as thousands of one-channel positions (slow and meaningless), so
            # it is built as `identity`. Every encoding stays valid, which the flat
            # choice masks (and the RL controller) rely on.
            if flat and spec.get("op") not in _AFTER_FLATTEN:
                spec = {"op": "identity"}
            flat = flat or spec.get("op") == "flatten"
            layers.append(spec)
        return layers

    def build_body(self, architecture: Architecture, inputs):
        x = inputs
        for i, spec in enumerate(self.layer_specs(architecture)):
            x = build_layer(x, spec, f"layer_{i}")
        return op_lib.pool_for_head(x, architecture.get("head.pooling", "global_avg"))

    def reference_architectures(self, input_shape: Sequence[int] | None = None) -> list:
        """A few designs known to work, expressed in this space, to try first.

        For sequences and images (`input_shape` of rank 2 or 3): a
        three-convolution CNN with global pooling, a small two-convolution
        CNN with a flattened head (it keeps positions), and a multi-layer
        perceptron on the flattened input after a pointwise dense layer
        (for data whose positions carry no local structure; its width keeps
        the flattened vector near 2,048 features). For flat vectors: two
        multi-layer perceptrons of 256 > 128 units (one with batch norm and
        dropout, one plain ReLU) and a linear model. Widths, kernel sizes and
        dropout rates snap to the nearest values the space allows; a design
        whose operations or depth the space lacks is left out. With
        `input_shape=None` the kind follows the operations (spatial ones mean
        sequences or images).

        Example:

        ```python
        import kerasnas
        space = kerasnas.spaces.get("chain", input_shape=(40, 1))
        [space.describe(a) for a in space.reference_architectures((40, 1))]
        ```

        Returns:
            Valid, distinct architectures, the most generally useful first.
        """
        if input_shape is not None:
            spatial = len(tuple(input_shape)) >= 2
        else:
            spatial = any(op in self.operations for op in ("conv", "sepconv"))
        designs = _SPATIAL_REFERENCES if spatial else _VECTOR_REFERENCES
        pointwise = _pointwise_width(input_shape)
        found, keys = [], set()
        for layers, head in designs:
            layers = [
                {**spec, "width": pointwise} if spec.get("width") == "pointwise" else spec
                for spec in layers
            ]
            arch = self._snap_design(layers, head)
            if arch is None:
                continue
            key = self.canonical_key(arch)
            if key not in keys:
                keys.add(key)
                found.append(arch)
        return found

    def _snap_design(self, layers, head) -> Architecture | None:
        if not self.min_layers <= len(layers) <= self.max_layers:
            return None
        if any(spec["op"] not in self.operations for spec in layers):
            return None
        arch: dict[str, Any] = {"num_layers": len(layers)}
        for i, spec in enumerate(layers):
            info = op_lib.OPERATIONS[spec["op"]]
            arch[f"layer_{i}.op"] = spec["op"]
            if info.uses_width:
                arch[f"layer_{i}.width"] = _nearest(self.widths, spec.get("width", 64))
            if info.uses_kernel:
                arch[f"layer_{i}.kernel_size"] = _nearest(
                    self.kernel_sizes, spec.get("kernel_size", 3)
                )
            if info.trainable:
                activation = spec.get("activation", "relu")
                arch[f"layer_{i}.activation"] = (
                    activation if activation in self.activations else self.activations[0]
                )
                wanted = bool(spec.get("batch_norm", False))
                arch[f"layer_{i}.batch_norm"] = (
                    wanted if wanted in self.batch_norm else self.batch_norm[0]
                )
            if spec["op"] != "identity":
                arch[f"layer_{i}.dropout"] = _nearest(self.dropout, spec.get("dropout", 0.0))
        arch["head.pooling"] = head if head in self.head_pooling else self.head_pooling[0]
        try:
            return self.validate(arch)
        except InvalidArchitectureError:
            return None

    def describe(self, architecture: Mapping[str, Any]) -> str:
        parts = []
        for spec in self.layer_specs(architecture):
            parts.append(describe_layer(spec))
        head = self.validate(architecture)["head.pooling"]
        return " > ".join(parts or ["(no layers)"]) + f" | {head}"


#: Operations that may follow a `flatten` layer in a chain.
_AFTER_FLATTEN = ("dense", "identity")


def _nearest(values: Sequence[Any], target: float) -> Any:
    return min(values, key=lambda v: (abs(float(v) - float(target)), float(v)))


def _conv(width, kernel_size):
    return {"op": "conv", "width": width, "kernel_size": kernel_size, "batch_norm": True}


_POOL = {"op": "maxpool"}

#: Reference designs (layers, head pooling) for sequences and images.
_SPATIAL_REFERENCES = (
    ([_conv(64, 5), _conv(64, 5), _POOL, _conv(128, 3), _POOL], "global_avg"),
    ([_conv(32, 5), _POOL, _conv(64, 5), _POOL], "flatten"),
    (
        [
            {"op": "dense", "width": "pointwise"},
            {"op": "flatten"},
            {"op": "dense", "width": 256, "dropout": 0.1},
            {"op": "dense", "width": 128, "dropout": 0.1},
        ],
        "global_avg",
    ),
)


def _pointwise_width(input_shape) -> int:
    """Channels of the MLP design's pointwise layer: about 2,048 features once flattened."""
    if input_shape is None or len(tuple(input_shape)) < 2:
        return 32
    positions = 1
    for d in tuple(input_shape)[:-1]:
        positions *= int(d)
    return min(32, max(8, 2048 // max(positions, 1)))

#: Reference designs (layers, head pooling) for flat vectors.
_VECTOR_REFERENCES = (
    (
        [
            {"op": "dense", "width": 256, "batch_norm": True, "dropout": 0.1},
            {"op": "dense", "width": 128, "batch_norm": True, "dropout": 0.1},
        ],
        "global_avg",
    ),
    # The classic Keras MLP for tables: ReLU, no batch norm, no dropout (which
    # costs regression more than it saves).
    ([{"op": "dense", "width": 256}, {"op": "dense", "width": 128}], "global_avg"),
    ([{"op": "identity"}], "global_avg"),
)


def build_layer(x, spec: Mapping[str, Any], name: str):
    """Builds one chain layer: operation, then batch norm, activation, dropout.

    Args:
        x: input tensor.
        spec: `op` and, where used, `width`, `kernel_size`, `activation`,
            `batch_norm`, `dropout`.
        name: prefix of the layer names (e.g. `"layer_0"`).

    Returns:
        The output tensor.
    """
    op_name = spec["op"]
    info = op_lib.get_operation(op_name)
    params = {}
    if info.uses_width:
        params["width"] = int(spec["width"])
    if info.uses_kernel:
        params["kernel_size"] = int(spec["kernel_size"])
    if op_name in ("conv", "sepconv", "dense") and spec.get("batch_norm"):
        params["use_bias"] = False
    x = info.fn(x, name=f"{name}_{op_name}", **params)
    if info.trainable:
        if spec.get("batch_norm"):
            x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        activation = spec.get("activation")
        if activation:
            x = keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
    rate = float(spec.get("dropout") or 0.0)
    if rate > 0:
        x = keras.layers.Dropout(rate, name=f"{name}_dropout")(x)
    return x


def describe_layer(spec: Mapping[str, Any]) -> str:
    """Short text for one layer, e.g. `conv5x32+bn/relu/d0.1`."""
    op = spec["op"]
    text = op
    if "kernel_size" in spec:
        text += f"{spec['kernel_size']}"
    if "width" in spec:
        text += f"x{spec['width']}" if "kernel_size" in spec else f"{spec['width']}"
    if spec.get("batch_norm"):
        text += "+bn"
    if spec.get("activation"):
        text += f"/{spec['activation']}"
    if spec.get("dropout"):
        text += f"/d{spec['dropout']}"
    return text
