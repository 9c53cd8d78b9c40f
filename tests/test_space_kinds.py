"""Every kind of space builds, trains, moves and round-trips on every input kind."""

import json

import keras
import numpy as np
import pytest
from conftest import SHAPES, make_data

import kerasnas
from kerasnas.builder import ModelBuilder, Task
from kerasnas.errors import InvalidArchitectureError
from kerasnas.layers.merge import merge
from kerasnas.spaces import (
    EdgeCellSpace,
    NodeCellSpace,
    SkipChainSpace,
    TemplateSpace,
    multi_branch_template,
    staged_template,
)

TASK = Task("classification", 3, "sparse")


def tiny_spaces(input_kind):
    """One small member of every kind and preset, as users would configure them."""
    return {
        "chain_skips": kerasnas.spaces.get(
            "chain_skips", SHAPES[input_kind], widths=(4, 8), max_layers=4
        ),
        "template_staged": TemplateSpace(staged_template(input_kind)),
        "template_multi_branch": TemplateSpace(multi_branch_template(input_kind)),
        "cell": kerasnas.spaces.get("cell", SHAPES[input_kind], channels=4),
        "nas_bench_201": kerasnas.spaces.nas_bench_201(channels=4, cells_per_stage=1),
        "darts": kerasnas.spaces.darts(channels=4, num_cells=3),
    }


KINDS = sorted(tiny_spaces("image"))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_builds_and_trains_one_step_on_every_input_kind(kind, input_kind):
    space = tiny_spaces(input_kind)[kind]
    x, y = make_data(input_kind, n=8)
    model = ModelBuilder(space, SHAPES[input_kind], TASK).build(space.sample(1))
    model.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
    before = [w.numpy().copy() for w in model.trainable_weights]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    after = [w.numpy() for w in model.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(before, after))
    assert model.predict(x, verbose=0).shape == (8, 3)


SAMPLES = {
    "chain_skips": 10,
    "template_staged": 4,
    "template_multi_branch": 4,
    "cell": 3,
    "nas_bench_201": 2,
    "darts": 2,
}


@pytest.mark.parametrize("kind", KINDS)
def test_many_sampled_encodings_build_with_stable_layer_names(kind, input_kind):
    space = tiny_spaces(input_kind)[kind]
    builder = ModelBuilder(space, SHAPES[input_kind], TASK)
    rng = np.random.default_rng(7)
    for i in range(SAMPLES[kind]):
        arch = space.sample(rng)
        model = builder.build(arch)
        assert model.output.shape == (None, 3)
        if i == 0:
            again = builder.build(json.loads(json.dumps(arch)))
            assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    keras.backend.clear_session()


@pytest.mark.parametrize("kind", KINDS)
def test_mutation_crossover_neighbours_and_flat_sequences_stay_valid(kind):
    space = tiny_spaces("image")[kind]
    rng = np.random.default_rng(0)
    for _ in range(60):
        a, b = space.sample(rng), space.sample(rng)
        child = space.mutate(a, rng)
        assert space.contains(child) and child.key != a.key
        differing = [k for k in set(a) | set(child) if a.get(k) != child.get(k)]
        assert differing  # one decision changed (plus any it switched on or off)
        assert space.contains(space.crossover(a, b, rng))
        flat = space.encode_flat(a)
        assert space.decode_flat(flat) == a
        assert all(space.flat_mask(flat[:i])[flat[i]] for i in range(len(flat)))
        assert space.canonical_key(space.canonicalize(a)) == space.canonical_key(a)
    neighbours = space.neighbours(a)
    assert neighbours and all(space.contains(n) for n in neighbours)
    assert a.key not in {n.key for n in neighbours}
    assert space.size() > len(neighbours)


@pytest.mark.parametrize("kind", KINDS)
def test_spaces_rebuild_from_their_config(kind):
    space = tiny_spaces("sequence")[kind].with_decisions(kerasnas.spaces.training_decisions())
    again = kerasnas.spaces.space_from_config(json.loads(json.dumps(space.get_config())))
    assert type(again) is type(space)
    assert again.fingerprint() == space.fingerprint()
    arch = space.sample(3)
    assert again.describe(arch) == space.describe(arch)


def test_space_names_pick_defaults_for_the_input_kind():
    for name, cls in (
        ("chain_skips", SkipChainSpace),
        ("template", TemplateSpace),
        ("cell", EdgeCellSpace),
        ("nas_bench_201", EdgeCellSpace),
        ("darts", NodeCellSpace),
    ):
        assert name in kerasnas.spaces.SPACE_NAMES
        for shape in SHAPES.values():
            assert isinstance(kerasnas.spaces.get(name, shape), cls)
    vector = kerasnas.spaces.get("chain_skips", (12,))
    assert set(vector.operations) == {"dense", "identity"}
    sequence_ops = set(kerasnas.spaces.get("chain_skips", (16, 2)).operations)
    assert {"gru", "lstm", "attention"} <= sequence_ops
    assert "gru" in kerasnas.spaces.get("cell", (16, 2)).operations
    template = kerasnas.spaces.get("template", (16, 2))
    assert template.decision("recurrent.op").choices == ("gru", "lstm")
    assert kerasnas.spaces.get("template", (8, 8, 3), template="multi_branch").name == (
        "multi_branch"
    )


def test_skip_chain_skips_reach_the_model_and_merge_modes_are_canonical():
    space = SkipChainSpace(max_layers=3, operations=("conv", "maxpool"), widths=(8,))
    arch = space.validate(
        {
            "num_layers": 3,
            "layer_0.op": "conv",
            "layer_1.op": "maxpool",
            "layer_1.skips": ["input"],
            "layer_1.merge": "concat",
            "layer_2.op": "conv",
            "layer_2.skips": ["input", 0],
            "layer_2.merge": "add",
        }
    )
    model = ModelBuilder(space, (8, 8, 3), TASK).build(arch)
    names = [layer.name for layer in model.layers]
    assert "layer_1_merge_concat" in names and "layer_2_merge_add" in names
    # layer_1 pools the concatenation of layer_0 (8x8x8) and the input (8x8x3).
    assert model.get_layer("layer_1_maxpool").output.shape == (None, 4, 4, 11)
    # layer_2 adds that 4x4x11 parent, the 8x8x3 input and the 8x8x8 layer_0:
    # the larger ones are pooled and projected to the parent's 11 channels.
    assert model.get_layer("layer_2_merge_add").output.shape == (None, 4, 4, 11)
    assert {"layer_2_merge_in1_pool", "layer_2_merge_in1_project"} <= set(names)
    assert "layer_2_merge_in2_project" in names
    no_skip = dict(arch, **{"layer_2.skips": [], "layer_2.merge": "concat"})
    same = dict(arch, **{"layer_2.skips": [], "layer_2.merge": "add"})
    assert space.canonical_key(no_skip) == space.canonical_key(same)
    assert space.canonical_key(arch) != space.canonical_key(
        dict(arch, **{"layer_2.merge": "concat"})
    )
    assert "(add in,L0)" in space.describe(arch)


def test_skip_chain_rejects_skips_from_the_future_with_the_allowed_values():
    space = SkipChainSpace(max_layers=3)
    arch = space.sample(0)
    arch.update({"num_layers": 3})
    arch = space.validate(space._complete(arch, np.random.default_rng(0)))
    with pytest.raises(InvalidArchitectureError, match=r"Allowed: \['input', 0\]") as info:
        space.validate(dict(arch, **{"layer_2.skips": [2]}))
    assert "layer_2.skips" in str(info.value)


def test_merge_reconciles_rank_spatial_size_and_channels():
    seq = keras.Input((16, 8))
    short_wide = keras.Input((5, 32))
    vector = keras.Input((12,))
    added = merge([seq, short_wide, vector], "add", "n1")
    assert added.shape == (None, 5, 8)  # 16 -> pooled by 4 -> 4, zero-padded to 5
    joined = merge([seq, short_wide, vector], "concat", "n2")
    assert joined.shape == (None, 5, 8 + 32 + 1)
    image = merge([keras.Input((8, 8, 3)), keras.Input((4, 4, 16))], "add", "n3")
    assert image.shape == (None, 4, 4, 3)
    with pytest.raises(ValueError, match="mode="):
        merge([seq, seq], "mul", "n4")
