import json

import numpy as np
import pytest

import kerasnas
from kerasnas.errors import InvalidArchitectureError
from kerasnas.spaces import Architecture, Categorical, ChainSpace, Condition, SearchSpace, Subset


def small_space():
    return SearchSpace(
        [
            Categorical("n", [1, 2]),
            Categorical("op", ["conv", "pool"]),
            Categorical("k", [3, 5], [Condition("op", ["conv"])]),
            Categorical("second", ["a", "b", "c"], [Condition("n", [2])]),
            Subset("skips", [0, 1], conditions=[Condition("n", [2])]),
        ],
        name="small",
    )


def test_architecture_key_is_order_independent_and_json():
    a = Architecture({"x": 1, "y": [1, 2]})
    b = Architecture({"y": [1, 2], "x": 1})
    assert a.key == b.key
    assert Architecture.from_json(a.to_json()) == a
    assert json.loads(json.dumps(a)) == {"x": 1, "y": [1, 2]}


def test_conditions_must_refer_to_earlier_decisions():
    with pytest.raises(ValueError, match="not an earlier decision"):
        SearchSpace([Categorical("k", [1], [Condition("op", ["x"])]), Categorical("op", ["x"])])
    with pytest.raises(ValueError, match="unique"):
        SearchSpace([Categorical("a", [1]), Categorical("a", [2])])


def test_size_matches_enumeration():
    space = small_space()
    archs = list(space.enumerate())
    assert len(archs) == space.size()
    assert len({a.key for a in archs}) == len(archs)
    # n=1: op conv(2 kernels) + pool = 3; n=2: 3 * 3 seconds * 4 subsets = 36
    assert space.size() == 39


def test_validate_fills_defaults_and_rejects_bad_encodings():
    space = small_space()
    assert space.validate({"n": 1, "op": "pool"}) == {"n": 1, "op": "pool"}
    assert space.validate({"n": 1, "op": "conv"})["k"] == 3  # default filled in
    with pytest.raises(InvalidArchitectureError, match="does not define"):
        space.validate({"n": 1, "op": "pool", "typo": 1})
    with pytest.raises(InvalidArchitectureError, match="inactive"):
        space.validate({"n": 1, "op": "pool", "second": "a"})
    with pytest.raises(InvalidArchitectureError, match=r"Received: op='lstm'"):
        space.validate({"n": 1, "op": "lstm"})
    with pytest.raises(InvalidArchitectureError, match="dict"):
        space.validate(["n", 1])


def test_mutation_crossover_neighbours_stay_valid():
    space = ChainSpace(max_layers=4)
    rng = np.random.default_rng(0)
    for _ in range(100):
        a, b = space.sample(rng), space.sample(rng)
        child = space.mutate(a, rng)
        assert space.contains(child) and child.key != a.key
        assert space.contains(space.crossover(a, b, rng))
    neighbours = space.neighbours(a)
    assert neighbours and all(space.contains(n) for n in neighbours)
    assert a.key not in {n.key for n in neighbours}


def test_flat_sequence_round_trip_and_masks():
    space = small_space()
    for arch in space.enumerate():
        flat = space.encode_flat(arch)
        assert len(flat) == len(space.flat_choices())
        assert space.decode_flat(flat) == arch
        for step in range(len(flat)):
            assert space.flat_mask(flat[:step])[flat[step]]
    # With n=1 the "second" step is inactive: only outcome 0 is allowed.
    steps = [c.name for c in space.flat_choices()]
    second = steps.index("second")
    prefix = space.encode_flat({"n": 1, "op": "pool"})[:second]
    assert space.flat_mask(prefix) == [True, False, False]
    with pytest.raises(InvalidArchitectureError, match="mask forbids"):
        bad = space.encode_flat({"n": 1, "op": "pool"})
        bad[second] = 2
        space.decode_flat(bad)


def test_fingerprint_changes_with_the_space():
    assert ChainSpace(max_layers=3).fingerprint() == ChainSpace(max_layers=3).fingerprint()
    assert ChainSpace(max_layers=3).fingerprint() != ChainSpace(max_layers=4).fingerprint()


def test_chain_space_rejects_bad_arguments():
    with pytest.raises(ValueError, match="max_layers"):
        ChainSpace(max_layers=0)
    with pytest.raises(ValueError, match="operations"):
        ChainSpace(operations=("conv", "warp"))


def test_space_from_config_round_trip():
    space = ChainSpace(max_layers=2, widths=(8, 16)).with_decisions(
        [Categorical("train.learning_rate", [1e-3, 1e-2])]
    )
    again = kerasnas.spaces.space_from_config(space.get_config())
    assert again.fingerprint() == space.fingerprint()


def test_space_names_and_unknown_name():
    assert isinstance(kerasnas.spaces.get("chain", input_shape=(40, 1)), ChainSpace)
    with pytest.raises(ValueError, match=r"Known spaces: .*Received: space='chian'"):
        kerasnas.spaces.get("chian")
