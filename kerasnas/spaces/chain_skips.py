"""Chain-structured networks with skip connections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kerasnas.layers import ops as op_lib
from kerasnas.layers.merge import MERGE_MODES, merge
from kerasnas.spaces.chain import (
    DEFAULT_OPERATIONS,
    HEAD_POOLING,
    ChainSpace,
    _check_choices,
    build_layer,
    describe_layer,
)
from kerasnas.spaces.decisions import Categorical, Condition, Subset
from kerasnas.spaces.space import Architecture

INPUT = "input"


class SkipChainSpace(ChainSpace):
    """Chains whose layers may also read any earlier layer's output (skip connections).

    Layer `i` takes its parent (layer `i-1`, or the input for layer 0) and,
    through the decision `layer_i.skips`, any subset of the earlier outputs
    (`"input"` and layers `0 .. i-2`). When a layer has skips, its inputs are
    merged first, by `layer_i.merge` (`"add"` or `"concat"`), then the
    layer's operation runs on the result. Merging reconciles shapes (see
    `kerasnas.layers.merge`): vectors are read as `(F, 1)` sequences,
    larger spatial inputs are average-pooled to the smallest one, and `add`
    projects channels to the parent's with a 1×1 layer, so every encoding
    builds. All other decisions are those of `ChainSpace`.

    `layer_i.merge` is always present, so that a mutation of the skips
    keeps it; it only matters when `layer_i.skips` is not empty, and the
    canonical form (`canonicalize`) sets it to `"add"` otherwise.

    Example:

    ```python
    import numpy as np
    import kerasnas
    space = kerasnas.spaces.SkipChainSpace(max_layers=3, widths=(8, 16))
    arch = space.sample(np.random.default_rng(1))
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
        head_pooling: how spatial features are reduced before the head.
        merge_modes: the allowed merges, from `("add", "concat")`.
        max_skips: the most extra inputs a layer may take (`None`: any).
        name: the space's name.

    Raises:
        ValueError: for empty choices, unknown operations or merges, or bad
            depths.
    """

    kind = "chain_skips"

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
        merge_modes: Sequence[str] = MERGE_MODES,
        max_skips: int | None = None,
        name: str = "chain_skips",
    ):
        self.merge_modes = _check_choices("merge_modes", merge_modes, MERGE_MODES)
        if max_skips is not None and (not isinstance(max_skips, int) or max_skips < 0):
            raise ValueError(
                f"`max_skips` must be None or an int >= 0. Received: max_skips={max_skips!r}"
            )
        self.max_skips = max_skips
        super().__init__(
            max_layers=max_layers,
            min_layers=min_layers,
            operations=operations,
            widths=widths,
            kernel_sizes=kernel_sizes,
            activations=activations,
            batch_norm=batch_norm,
            dropout=dropout,
            head_pooling=head_pooling,
            name=name,
        )

    def _make_decisions(self):
        # ChainSpace's decisions, with each layer's skip decisions placed
        # right after that layer's own decisions.
        by_layer: dict[int, list] = {}
        first, head = [], []
        for decision in super()._make_decisions():
            if decision.name.startswith("layer_"):
                index = int(decision.name.split(".")[0][len("layer_") :])
                by_layer.setdefault(index, []).append(decision)
            elif decision.name.startswith("head."):
                head.append(decision)
            else:
                first.append(decision)
        ordered = list(first)
        for i in range(self.max_layers):
            ordered.extend(by_layer.get(i, []))
            if i == 0:
                continue
            present = []
            if i >= self.min_layers:
                present = [Condition("num_layers", list(range(i + 1, self.max_layers + 1)))]
            candidates = [INPUT] + list(range(i - 1))
            limit = len(candidates)
            if self.max_skips is not None:
                limit = min(self.max_skips, limit)
            ordered.append(Subset(f"layer_{i}.skips", candidates, 0, limit, present))
            ordered.append(Categorical(f"layer_{i}.merge", self.merge_modes, present))
        return ordered + head

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(merge_modes=list(self.merge_modes), max_skips=self.max_skips)
        return config

    def canonicalize(self, architecture: Mapping[str, Any]) -> Architecture:
        """Returns the encoding with `merge` set to `"add"` on layers without skips.

        A layer's merge mode only acts when it has skips, so encodings that
        differ only there build the same network.
        """
        arch = self.validate(architecture)
        result = Architecture(arch)
        for i in range(1, arch["num_layers"]):
            if not arch.get(f"layer_{i}.skips") and f"layer_{i}.merge" in arch:
                result[f"layer_{i}.merge"] = self.merge_modes[0]
        return result

    def build_body(self, architecture: Architecture, inputs):
        outputs: dict[Any, Any] = {INPUT: inputs}
        parent = INPUT
        x = inputs
        for i, spec in enumerate(self.layer_specs(architecture)):
            sources = [outputs[parent]] + [outputs[s] for s in spec.get("skips", [])]
            x = merge(sources, spec.get("merge", "add"), f"layer_{i}_merge")
            x = build_layer(x, spec, f"layer_{i}")
            outputs[i] = x
            parent = i
        return op_lib.pool_for_head(x, architecture.get("head.pooling", "global_avg"))

    def describe(self, architecture: Mapping[str, Any]) -> str:
        parts = []
        for spec in self.layer_specs(architecture):
            text = describe_layer(spec)
            skips = spec.get("skips") or []
            if skips:
                sources = ",".join("in" if s == INPUT else f"L{s}" for s in skips)
                text = f"({spec['merge']} {sources}){text}"
            parts.append(text)
        head = self.validate(architecture)["head.pooling"]
        return " > ".join(parts or ["(no layers)"]) + f" | {head}"
