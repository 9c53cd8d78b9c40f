"""The NAS-Bench-201 preset: its strings, its size, its networks, its canonical form."""

import itertools

import numpy as np
import pytest

import kerasnas
from kerasnas.builder import ModelBuilder, Task
from kerasnas.errors import InvalidArchitectureError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def all_strings():
    """Every NB201 arch string, written from the benchmark's format description."""
    for e in itertools.product(OPS, repeat=6):
        yield f"|{e[0]}~0|+|{e[1]}~0|{e[2]}~1|+|{e[3]}~0|{e[4]}~1|{e[5]}~2|"


def test_all_15625_strings_round_trip_and_match_enumeration():
    space = kerasnas.spaces.nas_bench_201()
    assert space.size() == 15625
    strings = list(all_strings())
    for text in strings:
        assert space.to_string(space.from_string(text)) == text
    assert {space.to_string(a) for a in space.enumerate()} == set(strings)
    arch = space.from_string(EXAMPLE)
    assert arch["node_2.input_1"] == "avg_pool_3x3" and arch["node_3.input_2"] == "skip_connect"
    assert space.describe(arch) == EXAMPLE


@pytest.mark.parametrize(
    "text, message",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "3 nodes"),
        (EXAMPLE.replace("avg_pool_3x3~1", "conv_5x5~1"), r"node_2\.input_1.*Allowed: \['none'"),
        (EXAMPLE.replace("avg_pool_3x3~1", "avg_pool_3x3~2"), "Node 2 takes each of the nodes"),
        (EXAMPLE.replace("|+|skip", "+|skip"), "Node 2 of an arch string"),
        (EXAMPLE.replace("~0|+", "|+"), "Edge of node 1"),
        (42, "is a str"),
    ],
)
def test_bad_strings_say_what_is_wrong(text, message):
    with pytest.raises(InvalidArchitectureError, match=message):
        kerasnas.spaces.nas_bench_201().from_string(text)


def test_bad_encodings_name_the_decision_and_the_allowed_values():
    space = kerasnas.spaces.nas_bench_201()
    arch = dict(space.from_string(EXAMPLE), **{"node_3.input_1": "nor_conv_5x5"})
    with pytest.raises(InvalidArchitectureError) as info:
        space.validate(arch)
    assert "node_3.input_1" in str(info.value) and "'avg_pool_3x3'" in str(info.value)


def count_trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_macro_skeleton_has_the_benchmarks_parameter_counts():
    # NAS-Bench-201 reports 1.531546 MB for the all-3x3-conv cell and 0.073306 MB
    # for cells without weights (CIFAR-10, C=16, N=5).
    space = kerasnas.spaces.nas_bench_201()
    builder = ModelBuilder(space, (32, 32, 3), Task("classification", 10, "sparse"))
    biggest = builder.build({d.name: "nor_conv_3x3" for d in space.decisions})
    assert count_trainable(biggest) == 1531546
    empty = builder.build(
        space.from_string("|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|")
    )
    assert count_trainable(empty) == 73306
    names = [layer.name for layer in biggest.layers]
    assert {"stem_conv", "reduce1_shortcut_conv", "reduce2_add", "head_bn"} <= set(names)
    assert "cell2_4_node3_in2_nor_conv_3x3_conv" in names  # stage 3, 5th cell


def live_edges_by_paths(arch):
    """Independent reference: an edge matters iff it lies on an input→output path of
    non-`none` edges (the 4-node DAG has these four paths)."""
    paths = [[(0, 3)], [(0, 1), (1, 3)], [(0, 2), (2, 3)], [(0, 1), (1, 2), (2, 3)]]
    live = set()
    for path in paths:
        if all(arch[f"node_{i}.input_{j}"] != "none" for j, i in path):
            live.update(path)
    return live


def test_canonical_form_keeps_exactly_the_edges_on_live_paths():
    space = kerasnas.spaces.nas_bench_201()
    keys = set()
    for arch in space.enumerate():
        canonical = space.canonicalize(arch)
        live = live_edges_by_paths(arch)
        for i in range(1, 4):
            for j in range(i):
                name = f"node_{i}.input_{j}"
                expected = arch[name] if (j, i) in live else "none"
                assert canonical[name] == expected, (space.to_string(arch), name)
        assert space.canonicalize(canonical) == canonical
        keys.add(space.canonical_key(arch))
    # Distinct keys = distinct assignments of operations to live edges.
    assert len(keys) == len(
        {
            frozenset((e, a[f"node_{e[1]}.input_{e[0]}"]) for e in live_edges_by_paths(a))
            for a in space.enumerate()
        }
    )
    assert 1 < len(keys) < 15625


def outputs_with_shared_weights(space, first, second, x):
    builder = ModelBuilder(space, x.shape[1:], Task("classification", 3, "sparse"))
    a, b = builder.build(first), builder.build(second)
    for layer in b.layers:
        try:
            source = a.get_layer(layer.name)
        except ValueError:
            continue
        if layer.weights:
            layer.set_weights(source.get_weights())
    return np.asarray(a(x, training=False)), np.asarray(b(x, training=False))


def test_equivalent_encodings_compute_the_same_function_and_different_ones_do_not():
    space = kerasnas.spaces.nas_bench_201(channels=4, cells_per_stage=1)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    equivalent = [
        # node 1 only feeds node 2, which is cut off from the output
        (
            "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|",
            "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
        ),
        # node 2 is always zero, so its edge to node 3 carries nothing
        (
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|",
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",
        ),
    ]
    different = [
        (
            "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|",
            "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|skip_connect~2|",
        ),
        (
            "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",
            "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|",
        ),
    ]
    for first, second in equivalent:
        a, b = space.from_string(first), space.from_string(second)
        assert a.key != b.key and space.canonical_key(a) == space.canonical_key(b)
        out_a, out_b = outputs_with_shared_weights(space, a, b, x)
        np.testing.assert_allclose(out_a, out_b, atol=1e-6)
    for first, second in different:
        a, b = space.from_string(first), space.from_string(second)
        assert space.canonical_key(a) != space.canonical_key(b)
        out_a, out_b = outputs_with_shared_weights(space, a, b, x)
        assert np.abs(out_a - out_b).max() > 1e-4


def test_random_search_never_repeats_an_equivalent_cell(tmp_path):
    space = kerasnas.spaces.nas_bench_201()
    result = kerasnas.search(
        space=space,
        evaluator=lambda arch: float(sum(v == "nor_conv_3x3" for v in arch.values())),
        max_trials=40,
        directory=tmp_path,
        verbose=0,
    )
    keys = [t.key for t in result.trials]
    assert len(keys) == len(set(keys)) == 40
    assert all(t.key == space.canonical_key(t.architecture) for t in result.trials)


def test_extra_decisions_survive_strings_and_canonical_form():
    space = kerasnas.spaces.nas_bench_201().with_decisions(
        kerasnas.spaces.training_decisions(optimizers=None, batch_sizes=None, weight_decays=None)
    )
    arch = dict(space.from_string(EXAMPLE), **{"train.learning_rate": 3e-3})
    canonical = space.canonicalize(arch)
    assert canonical["train.learning_rate"] == 3e-3
    assert space.to_string(canonical) == EXAMPLE
    assert space.canonical_key(arch) != space.canonical_key(
        dict(arch, **{"train.learning_rate": 1e-3})
    )
