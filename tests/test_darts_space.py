"""The DARTS-style node-cell space: genotypes, cells, canonical form, macro skeleton."""

import numpy as np
import pytest

import kerasnas
from kerasnas.builder import ModelBuilder, Task
from kerasnas.errors import InvalidArchitectureError
from kerasnas.spaces import DARTS_V2_GENOTYPE


def test_space_matches_the_darts_search_space():
    space = kerasnas.spaces.darts()
    assert space.operations == (
        "none",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    )
    # Per cell: node k picks 2 of its k inputs and an operation for each.
    per_cell = 1
    for k in (2, 3, 4, 5):
        per_cell *= (k * (k - 1) // 2) * 8**2
    assert space.size() == per_cell**2
    assert space.decision("reduce.node_4.inputs").candidates == (0, 1, 2, 3)


def nodes_of(genotype, cell):
    """Each node's two (op, input) pairs, as a set: their order does not matter."""
    pairs = [tuple(p) for p in genotype[cell]]
    return [frozenset(pairs[i : i + 2]) for i in range(0, len(pairs), 2)]


def test_genotypes_round_trip_and_bad_genotypes_are_refused():
    space = kerasnas.spaces.darts()
    arch = space.from_genotype(DARTS_V2_GENOTYPE)
    again = space.to_genotype(arch)
    for cell in ("normal", "reduce"):
        assert nodes_of(again, cell) == nodes_of(DARTS_V2_GENOTYPE, cell)
        assert again[f"{cell}_concat"] == [2, 3, 4, 5]
    assert arch["normal.node_5.inputs"] == [0, 2] and arch["normal.node_5.op_1"] == "dil_conv_3x3"
    rng = np.random.default_rng(0)
    for _ in range(50):
        sample = space.sample(rng)
        assert space.from_genotype(space.to_genotype(sample)) == sample
    same_input = dict(DARTS_V2_GENOTYPE, normal=[["sep_conv_3x3", 1]] * 8)
    with pytest.raises(InvalidArchitectureError, match="two different inputs"):
        space.from_genotype(same_input)
    future = dict(DARTS_V2_GENOTYPE, reduce=[["max_pool_3x3", 4]] + DARTS_V2_GENOTYPE["reduce"][1:])
    with pytest.raises(InvalidArchitectureError, match=r"reads states \[0, 1\]"):
        space.from_genotype(future)
    unknown = dict(
        DARTS_V2_GENOTYPE, normal=[["conv_7x1_1x7", 0]] + DARTS_V2_GENOTYPE["normal"][1:]
    )
    with pytest.raises(InvalidArchitectureError, match="Allowed: .*dil_conv_5x5"):
        space.from_genotype(unknown)


def test_bad_inputs_name_the_decision_and_allowed_values():
    space = kerasnas.spaces.darts()
    arch = space.sample(0)
    with pytest.raises(InvalidArchitectureError, match=r"normal\.node_3\.inputs.*between 2 and 2"):
        space.validate(dict(arch, **{"normal.node_3.inputs": [1]}))
    with pytest.raises(InvalidArchitectureError, match=r"Allowed: \[0, 1, 2\]"):
        space.validate(dict(arch, **{"normal.node_3.inputs": [1, 3]}))


@pytest.mark.slow
def test_darts_v2_at_paper_scale_has_the_published_parameter_count():
    # DARTS (second order) on CIFAR-10: 3.3M parameters (3,349,342 without the
    # auxiliary head) with 36 channels and 20 cells.
    space = kerasnas.spaces.darts(channels=36, num_cells=20)
    builder = ModelBuilder(space, (32, 32, 3), Task("classification", 10, "sparse"))
    model = builder.build(space.from_genotype(DARTS_V2_GENOTYPE))
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 3349342
    assert model.get_layer("cell6_reduce_concat").output.shape == (None, 16, 16, 288)
    assert model.get_layer("cell13_reduce_concat").output.shape == (None, 8, 8, 576)


def test_reduction_cells_halve_sequences_and_images():
    space = kerasnas.spaces.darts(channels=4, num_cells=3)
    arch = space.from_genotype(DARTS_V2_GENOTYPE)
    for shape, reduced in (((16, 2), (8,)), ((8, 8, 3), (4, 4)), ((12,), (6,))):
        model = ModelBuilder(space, shape, Task("classification", 3, "sparse")).build(arch)
        assert model.get_layer("cell1_reduce_concat").output.shape == (None, *reduced, 32)
        assert model.get_layer("cell0_normal_concat").output.shape[-1] == 16


def test_canonical_form_ignores_inputs_of_none_edges_and_zero_nodes():
    space = kerasnas.spaces.darts()
    base = space.from_genotype(DARTS_V2_GENOTYPE)
    # node 2 of the normal cell: none on input 0 equals none on input 1 when the
    # other edge is sep_conv_3x3 from... the same live edge.
    a = dict(base)
    a.update(
        {
            "normal.node_4.inputs": [1, 3],
            "normal.node_4.op_0": "none",
            "normal.node_4.op_1": "sep_conv_5x5",
        }
    )
    b = dict(a, **{"normal.node_4.inputs": [0, 3]})
    assert space.canonical_key(a) == space.canonical_key(b)
    c = dict(a, **{"normal.node_4.op_1": "sep_conv_3x3"})
    assert space.canonical_key(a) != space.canonical_key(c)
    # A node whose two edges are none is zero; edges reading it carry nothing.
    zero = dict(base)
    zero.update({"reduce.node_2.op_0": "none", "reduce.node_2.op_1": "none"})
    zero.update(
        {
            "reduce.node_3.inputs": [1, 2],
            "reduce.node_3.op_0": "max_pool_3x3",
            "reduce.node_3.op_1": "skip_connect",
        }
    )
    cut = dict(zero, **{"reduce.node_3.op_1": "none"})
    assert space.canonical_key(zero) == space.canonical_key(cut)
    canonical = space.canonicalize(zero)
    assert space.canonicalize(canonical) == canonical


def test_crossover_takes_whole_nodes_from_one_parent():
    space = kerasnas.spaces.darts()
    rng = np.random.default_rng(3)
    for _ in range(30):
        a, b = space.sample(rng), space.sample(rng)
        child = space.crossover(a, b, rng)
        for cell in ("normal", "reduce"):
            for node in space.node_ids():
                names = [f"{cell}.node_{node}.{part}" for part in ("inputs", "op_0", "op_1")]
                values = [child[n] for n in names]
                assert values in ([a[n] for n in names], [b[n] for n in names])
