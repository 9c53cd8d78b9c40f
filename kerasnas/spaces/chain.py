"""The chain-structured space: a sequence of layers, each fed by the one before."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kerasnas._lazy import keras
from kerasnas.builder import ops as op_lib
from kerasnas.spaces.decisions import Categorical, Condition
from kerasnas.spaces.space import Architecture, SearchSpace

DEFAULT_OPERATIONS = ("conv", "sepconv", "maxpool", "avgpool", "dense", "identity")
HEAD_POOLING = ("global_avg", "global_max", "flatten")


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
        operations: operation names from `kerasnas.builder.ops.OPERATIONS`.
        widths: filters or units of layers that have weights.
        kernel_sizes: kernel sizes of convolutions.
        activations: Keras activation names.
        batch_norm: whether batch normalisation may follow an operation.
        dropout: dropout rates after a layer.
        head_pooling: how spatial features are reduced before the head
            (`"global_avg"`, `"global_max"`, `"flatten"`).
        name: the space's name.

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
        if not isinstance(max_layers, int) or max_layers < 1:
            raise ValueError(
                f"`max_layers` must be an int >= 1. Received: max_layers={max_layers!r}"
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
        layers = []
        for i in range(arch["num_layers"]):
            prefix = f"layer_{i}."
            layers.append({k[len(prefix) :]: v for k, v in arch.items() if k.startswith(prefix)})
        return layers

    def build_body(self, architecture: Architecture, inputs):
        x = inputs
        for i, spec in enumerate(self.layer_specs(architecture)):
            x = build_layer(x, spec, f"layer_{i}")
        return op_lib.pool_for_head(x, architecture.get("head.pooling", "global_avg"))

    def describe(self, architecture: Mapping[str, Any]) -> str:
        parts = []
        for spec in self.layer_specs(architecture):
            parts.append(describe_layer(spec))
        head = self.validate(architecture)["head.pooling"]
        return " > ".join(parts or ["(no layers)"]) + f" | {head}"


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
