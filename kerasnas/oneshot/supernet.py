"""Supernets: every candidate operation of a space present once, its weights shared.

A supernet is the union of all architectures of a space. Where a space
offers a choice (an edge's operation, a layer's operation and width, a skip
input, the depth), the supernet holds one block per candidate, built by the
same operation functions as the standalone models (`kerasnas.builder`), so
the weights of a candidate are shared by every architecture that uses it.
These choice places are the supernet's *choice points*.

A supernet runs in two modes:

- **single path** (`forward_path(x, indices)`): one candidate per choice
  point (an int vector of candidate indices, from `encode(architecture)`);
  only that path is computed (`tf.switch_case`), which is what ENAS and
  SPOS train and score;
- **mixed** (`forward_mixed(x, weights)`): every candidate, weighted by a
  probability vector per choice point; DARTS's continuous relaxation.

Supernets are internal: they are trained by `kerasnas.oneshot` strategies
and never exported. A derived architecture is rebuilt from scratch by
`ModelBuilder` as an ordinary functional model.

Shared conventions, documented because they are approximations:

- batch normalisation always uses batch statistics (as DARTS and
  NAS-Bench-201's weight-sharing baselines do), so scoring a path needs no
  recalibration of moving statistics;
- in chain supernets every layer output is zero-padded to a common width
  `P` (the widest candidate), which is exactly the standalone model for the
  next layer's weights restricted to the first channels; a width-less
  operation (`identity`) reading a concatenation of skips is approximated
  by the sum of its inputs.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerasnas.builder.task import Task
from kerasnas.errors import InvalidArchitectureError
from kerasnas.layers import ops as op_lib
from kerasnas.layers.cell_ops import cell_op
from kerasnas.spaces.cells import CELL_TYPES, EdgeCellSpace, NodeCellSpace, residual_reduction
from kerasnas.spaces.chain import ChainSpace, build_layer
from kerasnas.spaces.chain_skips import INPUT, SkipChainSpace
from kerasnas.spaces.space import Architecture, SearchSpace

#: Cell operations without trainable weights (what DARTS collapses to).
PARAMETER_FREE_CELL_OPS = ("none", "skip_connect", "avg_pool_3x3", "max_pool_3x3")
#: Chain operations that change the spatial size; chain supernets refuse them.
RESIZING_CHAIN_OPS = ("maxpool", "avgpool", "flatten")

OP = "op"
STRUCTURE = "structure"


@dataclasses.dataclass(frozen=True)
class ChoicePoint:
    """One place where a supernet chooses among candidates.

    Attributes:
        name: readable name, e.g. `"node_2.input_0"` or `"layer_1"`.
        labels: one label per candidate.
        kind: `"op"` for a choice of operation (counted in collapse
            statistics), `"structure"` for depth, skips, merges, pooling.
        parameter_free: per candidate, whether it has no trainable weights.
        optional: single paths may switch this point off (index
            `len(labels)`), e.g. the edges a node-cell node does not read.
        shape_preserving: whether the output has the input's shape (DARTS-'s
            auxiliary skip is added only there).
    """

    name: str
    labels: tuple
    kind: str = OP
    parameter_free: tuple = ()
    optional: bool = False
    shape_preserving: bool = True

    @property
    def size(self) -> int:
        return len(self.labels)

    def to_json(self) -> dict:
        return {"name": self.name, "labels": list(self.labels), "kind": self.kind}


class _Holder(keras.Model):
    """Tracks the supernet's blocks so their variables can be listed and saved."""


class _PathSelector:
    """Single path: each choice point runs the candidate its index names."""

    mixed = False

    def __init__(self, indices, choice_points):
        self.indices = indices
        self.choice_points = choice_points

    def op(self, i, branches, identity=None):
        if len(branches) == 1:
            return branches[0]()
        return tf.switch_case(self.indices[i], branches)

    def weights(self, i):
        return tf.one_hot(self.indices[i], self.choice_points[i].size)


class _MixedSelector:
    """Continuous relaxation: every candidate, weighted (DARTS)."""

    mixed = True

    def __init__(self, weights, aux):
        self.w = weights
        self.aux = aux

    def op(self, i, branches, identity=None):
        w = self.w[i]
        out = None
        for k, branch in enumerate(branches):
            term = w[k] * branch()
            out = term if out is None else out + term
        if identity is not None and self.aux is not None:
            out = out + self.aux * identity
        return out

    def weights(self, i):
        return self.w[i]


def _block(fn, input_shape, name: str):
    """A functional model around `fn` (None when `fn` adds no layer)."""
    inp = keras.Input(shape=tuple(input_shape))
    out = fn(inp)
    if out is inp:
        return None
    return keras.Model(inp, out, name=name)


def _run(block, x):
    return x if block is None else block(x, training=True)


def _out_shape(block, input_shape) -> tuple:
    if block is None:
        return tuple(input_shape)
    return tuple(int(d) for d in block.output.shape[1:])


def _pad_channels(x, width: int):
    channels = int(x.shape[-1])
    if channels == width:
        return x
    pad = [[0, 0]] * (len(x.shape) - 1) + [[0, width - channels]]
    return tf.pad(x, pad)


def _spatial_mean(x):
    if len(x.shape) == 2:
        return x
    return tf.reduce_mean(x, axis=list(range(1, len(x.shape) - 1)))


def _spatial_max(x):
    if len(x.shape) == 2:
        return x
    return tf.reduce_max(x, axis=list(range(1, len(x.shape) - 1)))


class Supernet:
    """The weight-sharing supernet of a space. Use `build_supernet(...)`.

    Subclasses (one per space kind) build the blocks, run the forward pass
    through a selector, and translate between architectures and choice
    point indices.

    Attributes:
        space: the search space.
        choice_points: the `ChoicePoint`s, in index order.
    """

    def __init__(self, space: SearchSpace, input_shape, task: Task, normalization=None):
        self.space = space
        self.input_shape = tuple(int(d) for d in input_shape)
        self.task = task
        self.normalization = normalization
        self.choice_points: list[ChoicePoint] = []
        self._blocks: list = []
        self.holder = _Holder(name="supernet")
        self._build()
        self.holder.blocks = [b for b in self._blocks if b is not None]
        self.holder.built = True

    # ------------------------------------------------------------ building
    def _add_block(self, fn, input_shape, name):
        block = _block(fn, input_shape, name)
        self._blocks.append(block)
        return block

    def _add_point(self, point: ChoicePoint) -> int:
        self.choice_points.append(point)
        return len(self.choice_points) - 1

    def _normalize(self, x):
        if self.normalization is None:
            return x
        mean, variance = self.normalization
        return keras.layers.Normalization(mean=mean, variance=variance, name="normalization")(x)

    def _classifier(self, features: int):
        classification = self.task.kind == "classification"
        outputs = self.task.num_classes if classification else self.task.output_dim
        return self._add_block(
            lambda t: keras.layers.Dense(outputs, name="logits")(t), (features,), "classifier"
        )

    # ------------------------------------------------------------ subclass API
    def _build(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _forward(self, x, selector, dropout: bool):  # pragma: no cover - interface
        raise NotImplementedError

    def encode(self, architecture: Mapping[str, Any]) -> np.ndarray:  # pragma: no cover
        """Returns the single-path indices (one per choice point) of an architecture."""
        raise NotImplementedError

    def decode(self, indices: Sequence[int]) -> Architecture:  # pragma: no cover
        """Returns the architecture of single-path indices."""
        raise NotImplementedError

    def derive(self, weights: Sequence[np.ndarray]) -> Architecture:  # pragma: no cover
        """The discrete architecture of DARTS's weights (the usual argmax rules)."""
        raise NotImplementedError

    # ------------------------------------------------------------ running
    def forward_path(self, x, indices, dropout: bool = True):
        """Logits of the single path `indices` (an int32 vector)."""
        indices = tf.convert_to_tensor(indices, tf.int32)
        return self._forward(x, _PathSelector(indices, self.choice_points), dropout)

    def forward_mixed(self, x, weights, aux=None, dropout: bool = True):
        """Logits of the weighted mixture of every candidate.

        Args:
            x: a batch of inputs.
            weights: one probability vector per choice point.
            aux: coefficient of DARTS-'s auxiliary skip on shape-preserving
                choice points (None: no auxiliary skip).
            dropout: apply the candidates' dropout.
        """
        return self._forward(x, _MixedSelector(list(weights), aux), dropout)

    @property
    def trainable_variables(self) -> list:
        """The shared weights."""
        return self.holder.trainable_variables

    def count_params(self) -> int:
        """Number of shared weights."""
        return int(sum(np.prod(v.shape) for v in self.holder.weights))

    def save_weights(self, path) -> None:
        """Saves the shared weights (Keras `.weights.h5`)."""
        self.holder.save_weights(str(path))

    def load_weights(self, path) -> None:
        """Loads weights saved by `save_weights` from an identical supernet."""
        self.holder.load_weights(str(path))

    def sample_indices(self, rng: np.random.Generator) -> np.ndarray:
        """A uniform sample of the space, as single-path indices."""
        return self.encode(self.space.sample(rng))

    def uniform_weights(self) -> list[np.ndarray]:
        return [np.full(p.size, 1.0 / p.size, "float32") for p in self.choice_points]

    def parameter_free_share(self, weights: Sequence[np.ndarray]) -> float:
        """Share of operation choice points whose strongest candidate has no weights."""
        points = [
            (p, w) for p, w in zip(self.choice_points, weights) if p.kind == OP and p.size > 1
        ]
        if not points:
            return 0.0
        return float(np.mean([p.parameter_free[int(np.argmax(w))] for p, w in points]))

    def describe_weights(self, weights: Sequence[np.ndarray]) -> dict:
        """`{choice point: {label: probability}}` for logs and journals."""
        return {
            p.name: {label: round(float(v), 4) for label, v in zip(p.labels, w)}
            for p, w in zip(self.choice_points, weights)
        }


# ---------------------------------------------------------------------------
# Edge cells (NAS-Bench-201 style)
# ---------------------------------------------------------------------------
class EdgeCellSupernet(Supernet):
    """Supernet of an `EdgeCellSpace`: every edge of every cell holds every operation.

    One choice point per edge of the cell; all cells of the network share
    the choice (as the space does), each cell has its own weights.
    """

    def _build(self):
        space: EdgeCellSpace = self.space
        self.edges = [(i, j) for i in range(1, space.num_nodes) for j in range(i)]
        for i, j in self.edges:
            self._add_point(
                ChoicePoint(
                    space.edge_name(i, j),
                    tuple(space.operations),
                    OP,
                    tuple(op in PARAMETER_FREE_CELL_OPS for op in space.operations),
                )
            )

        # The space's own skeleton pieces; only the cells become choice points.
        self.stem = self._add_block(
            lambda t: space.build_stem(self._normalize(t)), self.input_shape, "stem"
        )
        shape = _out_shape(self.stem, self.input_shape)
        self.stages = []
        for stage, channels in space.stage_plan():
            reduce = None
            if stage > 0:
                reduce = self._add_block(
                    lambda t, c=channels, s=stage: residual_reduction(t, c, f"reduce{s}"),
                    shape,
                    f"reduce{stage}",
                )
                shape = _out_shape(reduce, shape)
            cells = []
            for k in range(space.cells_per_stage):
                edges = []
                for i, j in self.edges:
                    ops = [
                        self._add_block(
                            lambda t, op=op, c=channels, n=f"cell{stage}_{k}_node{i}_in{j}_{op}": (
                                cell_op(op, t, channels=c, strides=1, name=n)
                            ),
                            shape,
                            f"cell{stage}_{k}_node{i}_in{j}_{op}",
                        )
                        for op in space.operations
                    ]
                    edges.append(ops)
                cells.append(edges)
            self.stages.append((reduce, cells))

        self.head = self._add_block(space.build_head, shape, "head")
        self.classifier = self._classifier(channels)

    def _forward(self, x, selector, dropout):
        x = _run(self.stem, x)
        n = self.space.num_nodes
        for reduce, cells in self.stages:
            if reduce is not None:
                x = _run(reduce, x)
            for edges in cells:
                nodes = [x]
                e = 0
                for i in range(1, n):
                    terms = []
                    for j in range(i):
                        branches = [lambda b=b, t=nodes[j]: _run(b, t) for b in edges[e]]
                        terms.append(selector.op(e, branches, identity=nodes[j]))
                        e += 1
                    nodes.append(terms[0] if len(terms) == 1 else tf.add_n(terms))
                x = nodes[-1]
        x = _spatial_mean(_run(self.head, x))
        return _run(self.classifier, x)

    def encode(self, architecture):
        arch = self.space.validate(architecture)
        ops = list(self.space.operations)
        return np.array([ops.index(arch[p.name]) for p in self.choice_points], "int32")

    def decode(self, indices):
        ops = self.space.operations
        return self.space.validate(
            {p.name: ops[int(k)] for p, k in zip(self.choice_points, indices)}
        )

    def derive(self, weights):
        """Each edge takes its strongest operation (NAS-Bench-201's rule, `none` included)."""
        return self.decode([int(np.argmax(w)) for w in weights])


# ---------------------------------------------------------------------------
# Node cells (NASNet / DARTS style)
# ---------------------------------------------------------------------------
class NodeCellSupernet(Supernet):
    """Supernet of a `NodeCellSpace`: every node reads every earlier state through every op.

    One choice point per (cell type, node, input state), shared by the
    cells of that type. A single path switches off the edges a node does
    not read; the mixture keeps them all (DARTS).
    """

    def _build(self):
        space: NodeCellSpace = self.space
        ops = tuple(space.operations)
        self.point_index = {}
        for cell in CELL_TYPES:
            for node in space.node_ids():
                for j in range(node):
                    preserving = not (cell == "reduce" and j < 2)
                    self.point_index[(cell, node, j)] = self._add_point(
                        ChoicePoint(
                            f"{cell}.node_{node}.input_{j}",
                            ops,
                            OP,
                            tuple(op in PARAMETER_FREE_CELL_OPS for op in ops),
                            optional=True,
                            shape_preserving=preserving,
                        )
                    )
        self.stem = self._add_block(
            lambda t: space.build_stem(self._normalize(t)), self.input_shape, "stem"
        )
        shape0 = shape1 = _out_shape(self.stem, self.input_shape)
        self.cells = []
        for name, cell, c, reduction_prev in space.cell_plan():
            pre0, pre1 = (
                self._add_block(
                    lambda t, k=k, c=c, r=reduction_prev, n=name: space.build_preprocess(
                        t, k, c, r, n
                    ),
                    shape,
                    f"{name}_pre{k}",
                )
                for k, shape in ((0, shape0), (1, shape1))
            )
            state_shape = _out_shape(pre1, shape1)
            edges = {}
            node_shape = state_shape
            for node in space.node_ids():
                for j in range(node):
                    strides = 2 if cell == "reduce" and j < 2 else 1
                    blocks = []
                    for op in list(ops) + ["none"]:
                        label = op if len(blocks) < len(ops) else "off"
                        blocks.append(
                            self._add_block(
                                lambda t, op=op, c=c, s=strides, n=f"{name}_node{node}_in{j}_{label}": (
                                    cell_op(op, t, channels=c, strides=s, name=n)
                                ),
                                state_shape if j < 2 else node_shape,
                                f"{name}_node{node}_in{j}_{label}",
                            )
                        )
                    edges[(node, j)] = blocks
                    if (node, j) == (2, 0):
                        node_shape = _out_shape(blocks[0], state_shape)
            out_shape = node_shape
            self.cells.append((cell, pre0, pre1, edges))
            shape0 = shape1
            shape1 = tuple(out_shape[:-1]) + (out_shape[-1] * space.num_nodes,)
        self.classifier = self._classifier(shape1[-1])

    def _forward(self, x, selector, dropout):
        s0 = s1 = _run(self.stem, x)
        for cell, pre0, pre1, edges in self.cells:
            states = [_run(pre0, s0), _run(pre1, s1)]
            for node in self.space.node_ids():
                terms = []
                for j in range(node):
                    blocks = edges[(node, j)]
                    branches = [lambda b=b, t=states[j]: _run(b, t) for b in blocks]
                    if selector.mixed:
                        branches = branches[:-1]
                    i = self.point_index[(cell, node, j)]
                    identity = states[j] if self.choice_points[i].shape_preserving else None
                    terms.append(selector.op(i, branches, identity=identity))
                states.append(tf.add_n(terms))
            s0, s1 = s1, tf.concat(states[2:], axis=-1)
        return _run(self.classifier, _spatial_mean(s1))

    def encode(self, architecture):
        arch = self.space.validate(architecture)
        off = len(self.space.operations)
        ops = list(self.space.operations)
        indices = np.full(len(self.choice_points), off, "int32")
        for cell in CELL_TYPES:
            for node in self.space.node_ids():
                for slot, j in enumerate(arch[f"{cell}.node_{node}.inputs"]):
                    op = arch[f"{cell}.node_{node}.op_{slot}"]
                    indices[self.point_index[(cell, node, j)]] = ops.index(op)
        return indices

    def decode(self, indices):
        ops = self.space.operations
        arch = {}
        for cell in CELL_TYPES:
            for node in self.space.node_ids():
                chosen = [
                    (j, int(indices[self.point_index[(cell, node, j)]]))
                    for j in range(node)
                    if int(indices[self.point_index[(cell, node, j)]]) < len(ops)
                ]
                if len(chosen) != 2:
                    raise InvalidArchitectureError(
                        f"Node {node} of the '{cell}' cell must read exactly two states. "
                        f"Received: indices with inputs {[j for j, _ in chosen]}"
                    )
                arch[f"{cell}.node_{node}.inputs"] = [chosen[0][0], chosen[1][0]]
                arch[f"{cell}.node_{node}.op_0"] = ops[chosen[0][1]]
                arch[f"{cell}.node_{node}.op_1"] = ops[chosen[1][1]]
        return self.space.validate(arch)

    def derive(self, weights):
        """DARTS's rule: each node keeps its two strongest inputs, each with its best op.

        An input's strength is its largest weight on an operation other than
        `none`; the operation kept is that one.
        """
        ops = list(self.space.operations)
        usable = [k for k, op in enumerate(ops) if op != "none"] or list(range(len(ops)))
        indices = np.full(len(self.choice_points), len(ops), "int32")
        for cell in CELL_TYPES:
            for node in self.space.node_ids():
                scored = []
                for j in range(node):
                    w = np.asarray(weights[self.point_index[(cell, node, j)]])
                    best = max(usable, key=lambda k: w[k])
                    scored.append((float(w[best]), -j, j, best))
                for _, _, j, best in sorted(scored, reverse=True)[:2]:
                    indices[self.point_index[(cell, node, j)]] = best
        return self.decode(indices)


# ---------------------------------------------------------------------------
# Chains (with or without skips)
# ---------------------------------------------------------------------------
class ChainSupernet(Supernet):
    """Supernet of a `ChainSpace` or `SkipChainSpace`.

    Choice points: the depth (`num_layers`); per layer, every combination
    of its operation and the operation's settings (width, kernel size,
    activation, batch norm, dropout), each a block of its own; per layer and
    earlier output, whether it is a skip input (`no`/`yes`), and the merge
    mode; the head's pooling. Layer outputs are zero-padded to a common
    width so that every candidate of the next layer reads the same shape.
    """

    def _build(self):
        space: ChainSpace = self.space
        self.skips = isinstance(space, SkipChainSpace)
        rank = len(self.input_shape) - 1
        self.rank = rank
        c0 = self.input_shape[-1]
        with_width = [op for op in space.operations if op_lib.OPERATIONS[op].uses_width]
        self.width = max([c0] + ([max(space.widths)] if with_width else []))
        P = self.width
        self.depths = list(space.decision("num_layers").values())
        self.depth_point = self._add_point(
            ChoicePoint(
                "num_layers",
                tuple(str(d) for d in self.depths),
                STRUCTURE,
                (False,) * len(self.depths),
            )
        )
        self.merge_modes = tuple(getattr(space, "merge_modes", ("add",)))
        self.layers = []
        for i in range(space.max_layers):
            sources = []
            skip_points = []
            merge_point = None
            if self.skips and i > 0 and self._max_skips(i) > 0:
                sources = [INPUT] + list(range(i - 1))
                for s in sources:
                    label = "in" if s == INPUT else f"L{s}"
                    skip_points.append(
                        self._add_point(
                            ChoicePoint(
                                f"layer_{i}.skip_{label}", ("no", "yes"), STRUCTURE, (False, False)
                            )
                        )
                    )
                merge_point = self._add_point(
                    ChoicePoint(
                        f"layer_{i}.merge",
                        self.merge_modes,
                        STRUCTURE,
                        (False,) * len(self.merge_modes),
                    )
                )
            in_width = P * (1 + len(sources)) if (sources and "concat" in self.merge_modes) else P
            specs = self._layer_specs(i)
            point = self._add_point(
                ChoicePoint(
                    f"layer_{i}",
                    tuple(_spec_label(s) for s in specs),
                    OP,
                    tuple(not op_lib.OPERATIONS[s["op"]].trainable for s in specs),
                )
            )
            shape = tuple(self.input_shape[:-1]) + (in_width,)
            blocks = []
            for k, spec in enumerate(specs):
                inner = {key: v for key, v in spec.items() if key != "dropout"}
                blocks.append(
                    self._add_block(
                        lambda t, inner=inner, name=f"layer_{i}_c{k}": build_layer(t, inner, name),
                        shape,
                        f"layer_{i}_c{k}",
                    )
                )
            self.layers.append(
                {
                    "point": point,
                    "specs": specs,
                    "blocks": blocks,
                    "sources": sources,
                    "skip_points": skip_points,
                    "merge_point": merge_point,
                    "in_width": in_width,
                }
            )
        pooling = list(space.decision("head.pooling").values())
        self.poolings = pooling
        self.head_point = self._add_point(
            ChoicePoint("head.pooling", tuple(pooling), STRUCTURE, (True,) * len(pooling))
        )
        self.input_block = None
        if self.normalization is not None:
            self.input_block = self._add_block(self._normalize, self.input_shape, "input")
        self.classifier = self._classifier(P)

    def _max_skips(self, i: int) -> int:
        limit = i  # candidates: input and layers 0 .. i-2
        if self.space.max_skips is not None:
            limit = min(limit, self.space.max_skips)
        return limit

    def _layer_specs(self, i: int) -> list[dict]:
        """Every combination of layer `i`'s operation and its active settings."""
        space = self.space
        prefix = f"layer_{i}."
        settings = [
            d
            for d in space.decisions
            if d.name.startswith(prefix)
            and d.name not in (f"{prefix}op", f"{prefix}skips", f"{prefix}merge")
        ]
        specs = []
        for op in space.operations:
            probe = {f"{prefix}op": op}
            active = [
                d
                for d in settings
                if all(c.decision != f"{prefix}op" or c.is_met(probe) for c in d.conditions)
            ]
            names = [d.name[len(prefix) :] for d in active]
            for values in itertools.product(*[d.values() for d in active]):
                specs.append({"op": op, **dict(zip(names, values))})
        return specs

    # -------------------------------------------------------------- forward
    def _pool(self, x, selector):
        if self.rank == 0:
            return x
        branches = []
        for name in self.poolings:
            if name == "global_max":
                branches.append(lambda: _spatial_max(x))
            else:
                branches.append(lambda: _spatial_mean(x))
        return selector.op(self.head_point, branches)

    def _layer(self, i, parent, outputs, selector, dropout):
        layer = self.layers[i]
        P = self.width
        x = parent
        if layer["sources"]:
            gates = [selector.weights(p)[1] for p in layer["skip_points"]]
            picked = [g * outputs[s] for g, s in zip(gates, layer["sources"])]
            added = tf.add_n([parent] + picked)
            merged = {}
            if "add" in self.merge_modes:
                merged["add"] = _pad_channels(added, layer["in_width"])
            if "concat" in self.merge_modes:
                merged["concat"] = tf.concat([parent] + picked, axis=-1)
            if len(merged) == 1:
                x = next(iter(merged.values()))
            else:
                w = selector.weights(layer["merge_point"])
                x = tf.add_n([w[k] * merged[m] for k, m in enumerate(self.merge_modes)])

        def branch(block, spec):
            out = _run(block, x)
            if int(out.shape[-1]) > P:  # identity on a concatenation: sum of its parts
                out = tf.add_n(tf.split(out, int(out.shape[-1]) // P, axis=-1))
            rate = float(spec.get("dropout") or 0.0)
            if dropout and rate > 0:
                out = tf.nn.dropout(out, rate)
            return _pad_channels(out, P)

        branches = [lambda b=b, s=s: branch(b, s) for b, s in zip(layer["blocks"], layer["specs"])]
        return selector.op(layer["point"], branches, identity=parent)

    def _forward(self, x, selector, dropout):
        x = _run(self.input_block, x)
        x = _pad_channels(x, self.width)
        outputs = {INPUT: x}
        parent = x
        min_layers = self.space.min_layers
        if selector.mixed:
            features = {}
            if 0 in self.depths:
                features[0] = self._pool(x, selector)
            for i in range(self.space.max_layers):
                parent = self._layer(i, parent, outputs, selector, dropout)
                outputs[i] = parent
                if i + 1 in self.depths:
                    features[i + 1] = self._pool(parent, selector)
            w = selector.weights(self.depth_point)
            pooled = tf.add_n([w[k] * features[d] for k, d in enumerate(self.depths)])
        else:
            depth = tf.gather(
                tf.constant(self.depths, tf.int32), selector.indices[self.depth_point]
            )
            for i in range(self.space.max_layers):
                if i < min_layers:
                    parent = self._layer(i, parent, outputs, selector, dropout)
                else:
                    parent = tf.cond(
                        i < depth,
                        lambda p=parent, i=i: self._layer(i, p, outputs, selector, dropout),
                        lambda p=parent: p,
                    )
                outputs[i] = parent
            pooled = self._pool(parent, selector)
        return _run(self.classifier, pooled)

    # --------------------------------------------------------------- codes
    def _spec_of(self, arch, i) -> dict:
        prefix = f"layer_{i}."
        spec = {k[len(prefix) :]: v for k, v in arch.items() if k.startswith(prefix)}
        spec.pop("skips", None)
        spec.pop("merge", None)
        return spec

    def encode(self, architecture):
        arch = self.space.validate(architecture)
        indices = np.zeros(len(self.choice_points), "int32")
        depth = arch["num_layers"]
        indices[self.depth_point] = self.depths.index(depth)
        for i in range(depth):
            layer = self.layers[i]
            key = _spec_key(self._spec_of(arch, i))
            keys = [_spec_key(s) for s in layer["specs"]]
            indices[layer["point"]] = keys.index(key)
            if layer["sources"]:
                chosen = arch.get(f"layer_{i}.skips", [])
                for p, s in zip(layer["skip_points"], layer["sources"]):
                    indices[p] = int(s in chosen)
                indices[layer["merge_point"]] = self.merge_modes.index(arch[f"layer_{i}.merge"])
        indices[self.head_point] = self.poolings.index(arch["head.pooling"])
        return indices

    def decode(self, indices):
        indices = [int(k) for k in indices]
        depth = self.depths[indices[self.depth_point]]
        arch = {"num_layers": depth}
        for i in range(depth):
            layer = self.layers[i]
            spec = layer["specs"][indices[layer["point"]]]
            for key, value in spec.items():
                arch[f"layer_{i}.{key}"] = value
            if layer["sources"]:
                arch[f"layer_{i}.skips"] = [
                    s for p, s in zip(layer["skip_points"], layer["sources"]) if indices[p] == 1
                ]
                arch[f"layer_{i}.merge"] = self.merge_modes[indices[layer["merge_point"]]]
            elif self.skips and i > 0:
                arch[f"layer_{i}.skips"] = []
                arch[f"layer_{i}.merge"] = self.merge_modes[0]
        arch["head.pooling"] = self.poolings[indices[self.head_point]]
        return self.space.validate(arch)

    def derive(self, weights):
        """Argmax per choice point; a layer keeps the skips weighted above `no`.

        When more skips win than `max_skips` allows, the strongest are kept.
        """
        indices = np.array([int(np.argmax(w)) for w in weights], "int32")
        for i, layer in enumerate(self.layers):
            if not layer["sources"]:
                continue
            yes = sorted(
                ((float(weights[p][1]), p) for p in layer["skip_points"] if indices[p] == 1),
                reverse=True,
            )
            for _, p in yes[self._max_skips(i) :]:
                indices[p] = 0
        return self.decode(indices)


def _spec_key(spec: Mapping[str, Any]) -> str:
    return json.dumps(dict(spec), sort_keys=True)


def _spec_label(spec: Mapping[str, Any]) -> str:
    from kerasnas.spaces.chain import describe_layer

    return describe_layer(spec)


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------
SUPPORTED = "ChainSpace, SkipChainSpace, EdgeCellSpace (e.g. nas_bench_201()) and NodeCellSpace (e.g. darts())"


def check_supported(space: SearchSpace, input_shape, max_candidates: int = 64) -> None:
    """Raises a clear `ValueError` if one-shot strategies cannot build a supernet of `space`.

    Args:
        space: the search space.
        input_shape: shape of one sample.
        max_candidates: the most candidates one choice point may hold (a
            chain layer holds every combination of its settings).

    Raises:
        ValueError: naming the space and what is not supported.
    """
    extra = [d.name for d in getattr(space, "_extra_decisions", [])]
    if extra:
        raise ValueError(
            "One-shot strategies search the architecture only; they cannot search "
            f"training settings. Received: space '{space.name}' with extra decisions {extra}"
        )
    if isinstance(space, (EdgeCellSpace, NodeCellSpace)):
        if not 1 <= len(tuple(input_shape)) <= 3:
            raise ValueError(
                "Cell supernets take vectors, sequences or images. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        return
    if not isinstance(space, ChainSpace):
        raise ValueError(
            f"One-shot strategies support {SUPPORTED}. Received: space={space!r} "
            f"(kind '{getattr(space, 'kind', '?')}')"
        )
    resizing = [op for op in space.operations if op in RESIZING_CHAIN_OPS]
    if resizing:
        raise ValueError(
            "In a chain supernet every candidate of a layer must keep the spatial size "
            f"(the mixture and shared weights need one shape); use EdgeCellSpace, whose "
            f"pooling keeps the size, or drop these operations. Received: space "
            f"'{space.name}' with operations {list(space.operations)}"
        )
    if "flatten" in space.head_pooling and len(tuple(input_shape)) > 1:
        raise ValueError(
            "Chain supernets pool features globally (the head's weights must not depend on "
            "the path's output size); use head_pooling=('global_avg', 'global_max'). "
            f"Received: space '{space.name}' with head_pooling={list(space.head_pooling)}"
        )
    if len(tuple(input_shape)) == 1:
        spatial = [op for op in space.operations if op not in ("dense", "identity")]
        if spatial:
            raise ValueError(
                "On flat vector inputs a chain supernet supports the operations 'dense' and "
                "'identity' (others turn vectors into sequences, so candidates would not "
                f"share a shape). Received: space '{space.name}' with operations "
                f"{list(space.operations)}"
            )
    probe = ChainSupernet.__new__(ChainSupernet)
    probe.space = space
    for i in range(space.max_layers):
        count = len(ChainSupernet._layer_specs(probe, i))
        if count > max_candidates:
            raise ValueError(
                f"Layer {i} of space '{space.name}' has {count} candidate layers (every "
                "combination of operation, width, kernel size, activation, batch norm and "
                "dropout), more than max_candidates allows. Narrow those choices or raise "
                f"max_candidates. Received: max_candidates={max_candidates}"
            )


def build_supernet(
    space: SearchSpace,
    input_shape,
    task: Task,
    normalization=None,
    seed: int = 0,
    max_candidates: int = 64,
) -> Supernet:
    """Builds the weight-sharing supernet of `space` for inputs of `input_shape`.

    Example:

    ```python
    import numpy as np
    import kerasnas
    from kerasnas.builder import Task
    from kerasnas.oneshot import build_supernet
    space = kerasnas.spaces.EdgeCellSpace(
        ("none", "skip_connect", "nor_conv_3x3"), channels=4, cells_per_stage=1, num_stages=1)
    supernet = build_supernet(space, (16, 1), Task.infer(np.arange(3)))
    arch = space.sample(0)
    logits = supernet.forward_path(np.zeros((2, 16, 1), "float32"), supernet.encode(arch))
    ```

    Args:
        space: a `ChainSpace`, `SkipChainSpace`, `EdgeCellSpace` or `NodeCellSpace`.
        input_shape: shape of one sample.
        task: the `Task` (the head's outputs).
        normalization: optional per-channel `(mean, variance)` of the inputs.
        seed: seed of the initial weights.
        max_candidates: the most candidates one choice point may hold.

    Returns:
        A `Supernet`.

    Raises:
        ValueError: for a space the supernets do not support, naming it.
    """
    check_supported(space, input_shape, max_candidates)
    keras.utils.set_random_seed(int(seed) % (2**31))
    if isinstance(space, EdgeCellSpace):
        return EdgeCellSupernet(space, input_shape, task, normalization)
    if isinstance(space, NodeCellSpace):
        return NodeCellSupernet(space, input_shape, task, normalization)
    return ChainSupernet(space, input_shape, task, normalization)
