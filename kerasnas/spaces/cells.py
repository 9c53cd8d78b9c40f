"""Cell-based spaces: small DAG cells stacked by a fixed macro skeleton.

Two cell styles:

- `EdgeCellSpace` (NAS-Bench-201 style): a fixed DAG of `num_nodes` nodes;
  every edge `j → i` (`j < i`) picks an operation; a node is the sum of its
  incoming edges; the cell's output is the last node. The preset
  `nas_bench_201()` is this space with the benchmark's operations and macro
  skeleton.
- `NodeCellSpace` (NASNet/DARTS style): each intermediate node picks two
  distinct inputs among the cell's two inputs and earlier nodes, and an
  operation for each; the cell's output concatenates the intermediate
  nodes. Separate normal and reduction cells. The preset `darts()` uses
  the DARTS operations.

Both work on images and sequences (and on flat vectors, read as `(F, 1)`
sequences).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kerasnas._lazy import keras
from kerasnas.errors import InvalidArchitectureError
from kerasnas.layers import ops as op_lib
from kerasnas.layers.cell_ops import (
    cell_op,
    check_cell_operations,
    factorized_reduce,
    relu_conv_bn,
)
from kerasnas.spaces.decisions import Categorical, Subset
from kerasnas.spaces.space import Architecture, SearchSpace, _as_rng
from kerasnas.validation import check_int

NB201_OPERATIONS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
DARTS_OPERATIONS = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)

#: The DARTS (second order) cells of Liu et al., ICLR 2019, as published.
DARTS_V2_GENOTYPE = {
    "normal": [
        ["sep_conv_3x3", 0],
        ["sep_conv_3x3", 1],
        ["sep_conv_3x3", 0],
        ["sep_conv_3x3", 1],
        ["sep_conv_3x3", 1],
        ["skip_connect", 0],
        ["skip_connect", 0],
        ["dil_conv_3x3", 2],
    ],
    "normal_concat": [2, 3, 4, 5],
    "reduce": [
        ["max_pool_3x3", 0],
        ["max_pool_3x3", 1],
        ["skip_connect", 2],
        ["max_pool_3x3", 1],
        ["max_pool_3x3", 0],
        ["skip_connect", 2],
        ["skip_connect", 2],
        ["max_pool_3x3", 1],
    ],
    "reduce_concat": [2, 3, 4, 5],
}


#: Upper bounds on cell-space sizes: far beyond any published cell space, and
#: small enough that building the space and its models stays quick.
CELL_LIMITS = {
    "num_nodes": 16,
    "channels": 4096,
    "cells_per_stage": 64,
    "num_stages": 8,
    "num_cells": 64,
    "stem_multiplier": 16,
}


def _positive_int(parameter: str, value, minimum: int = 1) -> int:
    return check_int(
        parameter,
        value,
        minimum=minimum,
        maximum=CELL_LIMITS[parameter],
        why="Larger cell spaces do not build or train in a search's budget.",
    )


# ---------------------------------------------------------------------------
# Edge cells (NAS-Bench-201 style)
# ---------------------------------------------------------------------------
class EdgeCellSpace(SearchSpace):
    """Cells whose every edge picks an operation, stacked in a ResNet-like skeleton.

    **Cell.** Nodes `0 .. num_nodes-1`; node 0 is the cell input; node `i`
    is the sum of `op(node_j)` over `j < i`, where the operation of each
    edge is the decision `node_<i>.input_<j>`; the cell output is the last
    node. With 4 nodes there are 6 edges.

    **Macro skeleton** (NAS-Bench-201's): a 3×3 convolution stem with
    `channels` filters and batch norm; `num_stages` stages of
    `cells_per_stage` cells, with `channels × 2^s` channels in stage `s`;
    between stages a residual reduction block (ReLU-conv3×3-BN with stride
    2, ReLU-conv3×3-BN, plus a shortcut of 2×2 average pooling and a 1×1
    convolution); then BN, ReLU and global average pooling before the
    classifier.

    **Canonical form.** `canonicalize` sets to `none` every edge that cannot
    change the output: an edge whose source node is always zero (all its
    incoming edges are `none` or come from zero nodes), and an edge into a
    node from which no chain of non-`none` edges reaches the output. If the
    output node is zero, every edge becomes `none`. Nothing else is merged
    (isomorphic cells that differ in other ways keep distinct keys).
    Networks of equivalent encodings compute the same function at
    initialisation; an operation with weights on an always-zero input still
    owns those weights (as in the benchmark's reference code), so parameter
    counts may differ.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.EdgeCellSpace(
        operations=("none", "skip_connect", "nor_conv_3x3"), channels=8, cells_per_stage=1)
    arch = space.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    space.size()  # 729
    ```

    Args:
        operations: cell operation names (see `kerasnas.layers.cell_ops`).
        num_nodes: nodes per cell, the input node included.
        channels: channels of the stem and the first stage.
        cells_per_stage: cells per stage (NAS-Bench-201: 5).
        num_stages: stages (NAS-Bench-201: 3).
        name: the space's name.

    Raises:
        ValueError: for unknown operations or non-positive sizes.
    """

    kind = "cell"

    def __init__(
        self,
        operations: Sequence[str] = NB201_OPERATIONS,
        num_nodes: int = 4,
        channels: int = 16,
        cells_per_stage: int = 5,
        num_stages: int = 3,
        name: str = "edge_cell",
    ):
        self.operations = check_cell_operations("operations", operations)
        self.num_nodes = _positive_int("num_nodes", num_nodes, 2)
        self.channels = _positive_int("channels", channels)
        self.cells_per_stage = _positive_int("cells_per_stage", cells_per_stage, 0)
        self.num_stages = _positive_int("num_stages", num_stages)
        decisions = [
            Categorical(self.edge_name(i, j), self.operations)
            for i in range(1, self.num_nodes)
            for j in range(i)
        ]
        super().__init__(decisions, name=name)

    @staticmethod
    def edge_name(node: int, source: int) -> str:
        """The decision name of edge `source → node`, e.g. `node_2.input_0`."""
        return f"node_{node}.input_{source}"

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            operations=list(self.operations),
            num_nodes=self.num_nodes,
            channels=self.channels,
            cells_per_stage=self.cells_per_stage,
            num_stages=self.num_stages,
        )
        return config

    # ------------------------------------------------------------ strings
    def to_string(self, architecture: Mapping[str, Any]) -> str:
        """Returns NAS-Bench-201's arch string, e.g. `|nor_conv_3x3~0|+|...|`."""
        arch = self.validate(architecture)
        nodes = []
        for i in range(1, self.num_nodes):
            edges = "|".join(f"{arch[self.edge_name(i, j)]}~{j}" for j in range(i))
            nodes.append(f"|{edges}|")
        return "+".join(nodes)

    def from_string(self, text: str) -> Architecture:
        """Parses a NAS-Bench-201 arch string.

        The string lists the nodes `1 .. num_nodes-1`, separated by `+`;
        each node lists `|op~j|` for every earlier node `j`.

        Raises:
            InvalidArchitectureError: naming the part of the string that is
                wrong and what was expected there.
        """
        if not isinstance(text, str):
            raise InvalidArchitectureError(
                f"An arch string is a str such as '|nor_conv_3x3~0|+|...|'. Received: {text!r}"
            )
        parts = text.strip().split("+")
        if len(parts) != self.num_nodes - 1:
            raise InvalidArchitectureError(
                f"An arch string of space '{self.name}' has {self.num_nodes - 1} nodes "
                f"separated by '+'. Received: {len(parts)} in {text!r}"
            )
        arch = {}
        for i, part in enumerate(parts, start=1):
            if not (part.startswith("|") and part.endswith("|")) or len(part) < 2:
                raise InvalidArchitectureError(
                    f"Node {i} of an arch string must look like '|op~0|...|'. "
                    f"Received: {part!r} in {text!r}"
                )
            edges = part[1:-1].split("|")
            seen = set()
            for edge in edges:
                op, sep, source = edge.partition("~")
                if not sep or not source.isdigit():
                    raise InvalidArchitectureError(
                        f"Edge of node {i} must be 'op~j' with j an earlier node. "
                        f"Received: {edge!r} in {text!r}"
                    )
                j = int(source)
                if j >= i or j in seen:
                    raise InvalidArchitectureError(
                        f"Node {i} takes each of the nodes {list(range(i))} once. "
                        f"Received: input {j} in {part!r}"
                    )
                if op not in self.operations:
                    raise InvalidArchitectureError(
                        f"Decision '{self.edge_name(i, j)}' got an unknown operation. "
                        f"Allowed: {list(self.operations)}. Received: {op!r} in {text!r}"
                    )
                seen.add(j)
                arch[self.edge_name(i, j)] = op
            if len(seen) != i:
                raise InvalidArchitectureError(
                    f"Node {i} takes each of the nodes {list(range(i))} once. "
                    f"Received: inputs {sorted(seen)} in {part!r}"
                )
        return self.validate(arch)

    # -------------------------------------------------------- canonical
    def canonicalize(self, architecture: Mapping[str, Any]) -> Architecture:
        """Sets every edge that cannot affect the cell output to `none`.

        See the class docstring for exactly which edges.
        """
        arch = self.validate(architecture)
        n = self.num_nodes
        zero = [False] * n
        for i in range(1, n):
            zero[i] = not any(
                arch[self.edge_name(i, j)] != "none" and not zero[j] for j in range(i)
            )

        def live(i: int, j: int) -> bool:
            return arch[self.edge_name(i, j)] != "none" and not zero[j]

        reaches = [False] * n
        reaches[n - 1] = True
        for j in range(n - 2, -1, -1):
            reaches[j] = any(reaches[i] and live(i, j) for i in range(j + 1, n))
        result = Architecture(arch)
        for i in range(1, n):
            for j in range(i):
                if not (live(i, j) and reaches[i]):
                    result[self.edge_name(i, j)] = "none"
        return result

    # ----------------------------------------------------------- building
    def build_cell(self, x, architecture: Mapping[str, Any], channels: int, name: str):
        """Builds one cell on `x` (which already has `channels` channels)."""
        nodes = [x]
        for i in range(1, self.num_nodes):
            terms = []
            for j in range(i):
                op = architecture[self.edge_name(i, j)]
                terms.append(
                    cell_op(
                        op,
                        nodes[j],
                        channels=channels,
                        strides=1,
                        name=f"{name}_node{i}_in{j}_{op}",
                    )
                )
            if len(terms) == 1:
                nodes.append(terms[0])
            else:
                nodes.append(keras.layers.Add(name=f"{name}_node{i}")(terms))
        return nodes[-1]

    # The macro skeleton, in pieces that supernets build with too.
    def build_stem(self, inputs):
        """The stem: a 3x3 convolution to `channels`, then batch normalisation."""
        x = op_lib.as_spatial(inputs, "stem")
        x = op_lib.conv(x, name="stem_conv", width=self.channels, kernel_size=3, use_bias=False)
        return keras.layers.BatchNormalization(name="stem_bn")(x)

    def stage_plan(self) -> list[tuple[int, int]]:
        """`(stage, channels)` per stage; stages after the first open with a reduction."""
        return [(stage, self.channels * 2**stage) for stage in range(self.num_stages)]

    def build_head(self, x):
        """Batch normalisation and ReLU before the global pooling."""
        x = keras.layers.BatchNormalization(name="head_bn")(x)
        return keras.layers.Activation("relu", name="head_relu")(x)

    def build_body(self, architecture: Architecture, inputs):
        x = self.build_stem(inputs)
        for stage, channels in self.stage_plan():
            if stage > 0:
                x = residual_reduction(x, channels, f"reduce{stage}")
            for k in range(self.cells_per_stage):
                x = self.build_cell(x, architecture, channels, f"cell{stage}_{k}")
        return op_lib.pool_for_head(self.build_head(x), "global_avg")

    def describe(self, architecture: Mapping[str, Any]) -> str:
        return self.to_string(architecture)

    def summary(self, architecture: Mapping[str, Any]) -> str:
        """Lists each node of the cell with its incoming edges."""
        arch = self.validate(architecture)
        lines = [f"{self.name} cell {self.to_string(arch)}"]
        for i in range(1, self.num_nodes):
            terms = [f"{arch[self.edge_name(i, j)]}(node {j})" for j in range(i)]
            lines.append(f"  node {i} = " + " + ".join(terms))
        lines.append(f"  output = node {self.num_nodes - 1}")
        lines.append(
            f"  macro: stem {self.channels} ch, {self.num_stages} stages x "
            f"{self.cells_per_stage} cells, residual reductions"
        )
        return "\n".join(lines)


def residual_reduction(x, channels: int, name: str):
    """NAS-Bench-201's residual block that halves spatial size and sets channels."""
    y = relu_conv_bn(x, channels=channels, kernel_size=3, strides=2, name=f"{name}_a")
    y = relu_conv_bn(y, channels=channels, kernel_size=3, strides=1, name=f"{name}_b")
    shortcut = op_lib.avg_pool(x, name=f"{name}_shortcut_pool", pool_size=2, strides=2)
    shortcut = op_lib.conv(
        shortcut, name=f"{name}_shortcut_conv", width=channels, kernel_size=1, use_bias=False
    )
    return keras.layers.Add(name=f"{name}_add")([shortcut, y])


def nas_bench_201(channels: int = 16, cells_per_stage: int = 5) -> EdgeCellSpace:
    """Returns the NAS-Bench-201 space (Dong & Yang, ICLR 2020).

    4 nodes, 6 edges, operations `none`, `skip_connect`, `nor_conv_1x1`,
    `nor_conv_3x3`, `avg_pool_3x3`: 15,625 cells, encoded and decoded in the
    benchmark's own arch strings. With the defaults and 32×32×3 inputs the
    built networks have the benchmark's parameter counts (e.g. 1,531,546
    trainable weights with every edge `nor_conv_3x3` and 10 classes).
    Shrink `channels` and `cells_per_stage` for quick experiments.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.nas_bench_201()
    arch = space.from_string(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    space.to_string(arch)
    space.size()  # 15625
    ```

    Args:
        channels: channels of the first stage (benchmark: 16).
        cells_per_stage: cells per stage, N (benchmark: 5).
    """
    return EdgeCellSpace(
        operations=NB201_OPERATIONS,
        num_nodes=4,
        channels=channels,
        cells_per_stage=cells_per_stage,
        num_stages=3,
        name="nas_bench_201",
    )


# ---------------------------------------------------------------------------
# Node cells (NASNet / DARTS style)
# ---------------------------------------------------------------------------
CELL_TYPES = ("normal", "reduce")


class NodeCellSpace(SearchSpace):
    """Cells whose nodes each pick two inputs and an operation per input (DARTS style).

    **Cell.** States 0 and 1 are the outputs of the two previous cells
    (after a 1×1 ReLU-conv-BN, or a factorized reduction when the previous
    cell halved the resolution). Intermediate node `k` (`k = 2 ..
    num_nodes+1`) adds `op_0(state[a]) + op_1(state[b])`, where
    `<cell>.node_<k>.inputs` is the pair `[a, b]` (`a < b`, any earlier
    states) and `<cell>.node_<k>.op_0` / `op_1` the operations. The cell
    output concatenates all intermediate nodes. `normal` and `reduce` cells
    are searched separately; in a reduction cell, operations reading states
    0 and 1 use stride 2 and the channels double.

    **Macro skeleton** (DARTS' CIFAR network): a 3×3 convolution stem with
    `stem_multiplier × channels` filters and batch norm; `num_cells` cells,
    reduction cells at positions `num_cells // 3` and `2 * num_cells // 3`;
    global average pooling before the classifier. DARTS evaluates with
    `channels=36, num_cells=20` and searches with `channels=16, num_cells=8`;
    the defaults here are smaller so it trains on a CPU.

    **Canonical form.** An edge whose operation is `none`, or that reads a
    node that is always zero (both its edges `none` or reading zero nodes),
    contributes nothing: `canonicalize` makes its operation `none` and moves
    its input to the smallest state the other edge does not use, then
    orders the pair by input.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.darts()
    arch = space.from_genotype(kerasnas.spaces.DARTS_V2_GENOTYPE)
    space.to_genotype(arch)["normal"][:2]  # [['sep_conv_3x3', 0], ['sep_conv_3x3', 1]]
    ```

    Args:
        operations: cell operation names (see `kerasnas.layers.cell_ops`).
        num_nodes: intermediate nodes per cell (DARTS: 4).
        channels: channels of the first cells.
        num_cells: cells in the network (two of them reduction cells).
        stem_multiplier: the stem has `stem_multiplier × channels` filters.
        name: the space's name.

    Raises:
        ValueError: for unknown operations or non-positive sizes.
    """

    kind = "cell"

    def __init__(
        self,
        operations: Sequence[str] = DARTS_OPERATIONS,
        num_nodes: int = 4,
        channels: int = 8,
        num_cells: int = 5,
        stem_multiplier: int = 3,
        name: str = "node_cell",
    ):
        self.operations = check_cell_operations("operations", operations)
        self.num_nodes = _positive_int("num_nodes", num_nodes)
        self.channels = _positive_int("channels", channels)
        self.num_cells = _positive_int("num_cells", num_cells)
        self.stem_multiplier = _positive_int("stem_multiplier", stem_multiplier)
        decisions = []
        for cell in CELL_TYPES:
            for node in self.node_ids():
                decisions.append(Subset(f"{cell}.node_{node}.inputs", list(range(node)), 2, 2))
                decisions.append(Categorical(f"{cell}.node_{node}.op_0", self.operations))
                decisions.append(Categorical(f"{cell}.node_{node}.op_1", self.operations))
        super().__init__(decisions, name=name)

    def node_ids(self) -> list[int]:
        """The state indices of the intermediate nodes: `2 .. num_nodes+1`."""
        return list(range(2, self.num_nodes + 2))

    def reduction_positions(self) -> list[int]:
        """The indices of the reduction cells in the network."""
        return sorted({self.num_cells // 3, 2 * self.num_cells // 3})

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            operations=list(self.operations),
            num_nodes=self.num_nodes,
            channels=self.channels,
            num_cells=self.num_cells,
            stem_multiplier=self.stem_multiplier,
        )
        return config

    # ---------------------------------------------------------- genotypes
    def edges(self, architecture: Mapping[str, Any], cell: str) -> list[list[tuple[str, int]]]:
        """Returns, per intermediate node, its two `(op, input)` pairs."""
        arch = self.validate(architecture)
        result = []
        for node in self.node_ids():
            a, b = arch[f"{cell}.node_{node}.inputs"]
            result.append(
                [(arch[f"{cell}.node_{node}.op_0"], a), (arch[f"{cell}.node_{node}.op_1"], b)]
            )
        return result

    def to_genotype(self, architecture: Mapping[str, Any]) -> dict:
        """Returns the cells in DARTS' genotype layout (JSON).

        `{"normal": [[op, input], ...], "normal_concat": [2, ...],
        "reduce": [...], "reduce_concat": [...]}` with two pairs per node.
        """
        genotype = {}
        for cell in CELL_TYPES:
            genotype[cell] = [
                [op, j] for pairs in self.edges(architecture, cell) for op, j in pairs
            ]
            genotype[f"{cell}_concat"] = self.node_ids()
        return genotype

    def from_genotype(self, genotype: Any) -> Architecture:
        """Parses a DARTS genotype: a dict like `to_genotype()` returns, or a
        `Genotype` namedtuple from the DARTS code base.

        Raises:
            InvalidArchitectureError: for a wrong number of pairs, repeated or
                out-of-range inputs, or unknown operations (naming the node).
        """
        if not isinstance(genotype, Mapping):
            if hasattr(genotype, "_asdict"):
                genotype = genotype._asdict()
            else:
                raise InvalidArchitectureError(
                    "A genotype is a dict with 'normal' and 'reduce' lists of (op, input) "
                    f"pairs. Received: {genotype!r}"
                )
        arch = {}
        for cell in CELL_TYPES:
            pairs = genotype.get(cell)
            if pairs is None or len(pairs) != 2 * self.num_nodes:
                raise InvalidArchitectureError(
                    f"The genotype's '{cell}' cell needs {2 * self.num_nodes} (op, input) "
                    f"pairs, two per node. Received: {pairs!r}"
                )
            concat = genotype.get(f"{cell}_concat")
            if concat is not None and list(concat) != self.node_ids():
                raise InvalidArchitectureError(
                    f"Space '{self.name}' concatenates nodes {self.node_ids()}. "
                    f"Received: {cell}_concat={list(concat)!r}"
                )
            for k, node in enumerate(self.node_ids()):
                (op_a, a), (op_b, b) = pairs[2 * k], pairs[2 * k + 1]
                for op, j in ((op_a, a), (op_b, b)):
                    if op not in self.operations:
                        raise InvalidArchitectureError(
                            f"Node {node} of the '{cell}' cell has an unknown operation. "
                            f"Allowed: {list(self.operations)}. Received: {op!r}"
                        )
                    if not isinstance(j, (int, np.integer)) or not 0 <= j < node:
                        raise InvalidArchitectureError(
                            f"Node {node} of the '{cell}' cell reads states "
                            f"{list(range(node))}. Received: input {j!r}"
                        )
                if a == b:
                    raise InvalidArchitectureError(
                        f"Node {node} of the '{cell}' cell needs two different inputs. "
                        f"Received: {pairs[2 * k]!r} and {pairs[2 * k + 1]!r}"
                    )
                if a > b:
                    (op_a, a), (op_b, b) = (op_b, b), (op_a, a)
                arch[f"{cell}.node_{node}.inputs"] = [int(a), int(b)]
                arch[f"{cell}.node_{node}.op_0"] = op_a
                arch[f"{cell}.node_{node}.op_1"] = op_b
        return self.validate(arch)

    # -------------------------------------------------------- canonical
    def canonicalize(self, architecture: Mapping[str, Any]) -> Architecture:
        """Normalises edges that contribute nothing (see the class docstring)."""
        arch = self.validate(architecture)
        result = Architecture(arch)
        for cell in CELL_TYPES:
            zero: set[int] = set()
            for node in self.node_ids():
                a, b = arch[f"{cell}.node_{node}.inputs"]
                pairs = [
                    (arch[f"{cell}.node_{node}.op_0"], a),
                    (arch[f"{cell}.node_{node}.op_1"], b),
                ]
                live = [(op, j) for op, j in pairs if op != "none" and j not in zero]
                if not live:
                    zero.add(node)
                used = {j for _, j in live}
                while len(live) < 2:
                    filler = min(j for j in range(node) if j not in used)
                    used.add(filler)
                    live.append(("none", filler))
                live.sort(key=lambda pair: pair[1])
                result[f"{cell}.node_{node}.inputs"] = [live[0][1], live[1][1]]
                result[f"{cell}.node_{node}.op_0"] = live[0][0]
                result[f"{cell}.node_{node}.op_1"] = live[1][0]
        return result

    # ---------------------------------------------------------- crossover
    def crossover(self, first, second, rng=None) -> Architecture:
        """Takes each intermediate node whole (inputs and operations) from either parent.

        Decisions outside the cells (e.g. training settings) are picked
        independently.
        """
        rng = _as_rng(rng)
        a, b = self.validate(first), self.validate(second)
        child = Architecture()
        choice: dict[str, int] = {}
        for decision in self._decisions:
            group = decision.name
            if group.startswith(tuple(f"{c}." for c in CELL_TYPES)):
                group = group.rsplit(".", 1)[0]
            if group not in choice:
                choice[group] = int(rng.integers(2))
            child[decision.name] = (a, b)[choice[group]][decision.name]
        return self.validate(child)

    # ----------------------------------------------------------- building
    def build_cell(
        self, s0, s1, architecture, cell: str, channels: int, reduction_prev: bool, name: str
    ):
        """Builds one cell from the two previous cells' outputs."""
        s0 = self.build_preprocess(s0, 0, channels, reduction_prev, name)
        s1 = self.build_preprocess(s1, 1, channels, reduction_prev, name)
        states = [s0, s1]
        reduction = cell == "reduce"
        for node in self.node_ids():
            inputs = architecture[f"{cell}.node_{node}.inputs"]
            terms = []
            for slot, j in enumerate(inputs):
                op = architecture[f"{cell}.node_{node}.op_{slot}"]
                strides = 2 if reduction and j < 2 else 1
                terms.append(
                    cell_op(
                        op,
                        states[j],
                        channels=channels,
                        strides=strides,
                        name=f"{name}_node{node}_in{j}_{op}",
                    )
                )
            states.append(keras.layers.Add(name=f"{name}_node{node}")(terms))
        return keras.layers.Concatenate(axis=-1, name=f"{name}_concat")(states[2:])

    # The macro skeleton, in pieces that supernets build with too.
    def build_stem(self, inputs):
        """The stem: a 3x3 convolution to `stem_multiplier * channels`, then batch normalisation."""
        x = op_lib.as_spatial(inputs, "stem")
        width = self.stem_multiplier * self.channels
        x = op_lib.conv(x, name="stem_conv", width=width, kernel_size=3, use_bias=False)
        return keras.layers.BatchNormalization(name="stem_bn")(x)

    def cell_plan(self) -> list[tuple[str, str, int, bool]]:
        """`(name, cell type, channels, previous cell reduced)` for each cell in order."""
        plan, channels, reduction_prev = [], self.channels, False
        reductions = self.reduction_positions()
        for i in range(self.num_cells):
            cell = "reduce" if i in reductions else "normal"
            channels *= 2 if cell == "reduce" else 1
            plan.append((f"cell{i}_{cell}", cell, channels, reduction_prev))
            reduction_prev = cell == "reduce"
        return plan

    @staticmethod
    def build_preprocess(x, state: int, channels: int, reduction_prev: bool, name: str):
        """Brings input state 0 or 1 of a cell to `channels` (and state 0 to size after a reduction)."""
        if state == 0 and reduction_prev:
            return factorized_reduce(x, channels=channels, name=f"{name}_pre0")
        return relu_conv_bn(x, channels=channels, kernel_size=1, strides=1, name=f"{name}_pre{state}")

    def build_body(self, architecture: Architecture, inputs):
        s0 = s1 = self.build_stem(inputs)
        for name, cell, channels, reduction_prev in self.cell_plan():
            out = self.build_cell(s0, s1, architecture, cell, channels, reduction_prev, name)
            s0, s1 = s1, out
        return op_lib.pool_for_head(s1, "global_avg")

    # ------------------------------------------------------------ reading
    def describe(self, architecture: Mapping[str, Any]) -> str:
        parts = []
        for cell in CELL_TYPES:
            nodes = []
            for node, pairs in zip(self.node_ids(), self.edges(architecture, cell)):
                nodes.append(f"{node}=" + "+".join(f"{_short_op(op)}({j})" for op, j in pairs))
            parts.append(f"{cell}: " + " ".join(nodes))
        return " | ".join(parts)

    def summary(self, architecture: Mapping[str, Any]) -> str:
        """Lists both cells node by node, and the macro skeleton."""
        lines = [f"{self.name} cells"]
        for cell in CELL_TYPES:
            lines.append(f"  {cell} cell (states 0, 1 = previous two cells):")
            for node, pairs in zip(self.node_ids(), self.edges(architecture, cell)):
                terms = " + ".join(f"{op}(state {j})" for op, j in pairs)
                lines.append(f"    node {node} = {terms}")
            lines.append(f"    output = concat(nodes {self.node_ids()})")
        lines.append(
            f"  macro: stem {self.stem_multiplier * self.channels} ch, {self.num_cells} cells, "
            f"reduction cells at {self.reduction_positions()}, {self.channels} ch at first"
        )
        return "\n".join(lines)


def _short_op(op: str) -> str:
    return {
        "none": "0",
        "skip_connect": "id",
        "max_pool_3x3": "max3",
        "avg_pool_3x3": "avg3",
        "sep_conv_3x3": "sep3",
        "sep_conv_5x5": "sep5",
        "dil_conv_3x3": "dil3",
        "dil_conv_5x5": "dil5",
        "nor_conv_1x1": "conv1",
        "nor_conv_3x3": "conv3",
    }.get(op, op)


def darts(channels: int = 8, num_cells: int = 5, stem_multiplier: int = 3) -> NodeCellSpace:
    """Returns the DARTS cell space (Liu et al., ICLR 2019).

    8 operations (`none`, `max_pool_3x3`, `avg_pool_3x3`, `skip_connect`,
    `sep_conv_3x3`, `sep_conv_5x5`, `dil_conv_3x3`, `dil_conv_5x5`), 4
    intermediate nodes with 2 inputs each, separate normal and reduction
    cells. The default macro skeleton is small (8 channels, 5 cells) so that
    candidates train on a CPU; DARTS' evaluation network is
    `darts(channels=36, num_cells=20)`.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.darts()
    print(space.describe(space.sample(0)))
    ```

    Args:
        channels: channels of the first cells.
        num_cells: cells in the network.
        stem_multiplier: stem filters per first-cell channel.
    """
    return NodeCellSpace(
        operations=DARTS_OPERATIONS,
        num_nodes=4,
        channels=channels,
        num_cells=num_cells,
        stem_multiplier=stem_multiplier,
        name="darts",
    )
