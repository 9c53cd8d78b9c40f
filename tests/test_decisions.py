import numpy as np
import pytest

from kerasnas.errors import InvalidArchitectureError
from kerasnas.spaces import Categorical, Condition, Subset, decision_from_json


def test_categorical_rejects_bad_definitions():
    with pytest.raises(ValueError, match="at least one choice"):
        Categorical("op", [])
    with pytest.raises(ValueError, match="repeats the choice"):
        Categorical("op", ["a", "a"])
    with pytest.raises(ValueError, match="JSON scalars"):
        Categorical("op", [[1, 2]])
    with pytest.raises(ValueError, match="default must be one of"):
        Categorical("op", ["a"], default="b")


def test_categorical_check_names_decision_and_allowed_values():
    op = Categorical("layer_0.op", ["conv", "dense"])
    with pytest.raises(InvalidArchitectureError) as info:
        op.check("lstm")
    message = str(info.value)
    assert "layer_0.op" in message and "'lstm'" in message and "['conv', 'dense']" in message


def test_categorical_keeps_bool_and_int_apart():
    flag = Categorical("flag", [False, True])
    with pytest.raises(InvalidArchitectureError):
        flag.check(1)
    width = Categorical("width", [16, 32])
    assert width.check(16.0) == 16 and isinstance(width.check(16.0), int)


def test_subset_values_sizes_and_masks():
    subset = Subset("skips", [0, 1, 2], min_size=1, max_size=2)
    values = subset.values()
    assert len(values) == subset.num_values() == 3 + 3
    assert subset.check([2, 0]) == [0, 2]
    with pytest.raises(InvalidArchitectureError, match="between 1 and 2"):
        subset.check([0, 1, 2])
    with pytest.raises(InvalidArchitectureError, match="twice"):
        subset.check([1, 1])
    # After picking two, a third "yes" is masked; with none picked, the last must be "yes".
    assert subset.flat_mask(2, [1, 1]) == [True, False]
    assert subset.flat_mask(2, [0, 0]) == [False, True]


def test_subset_sampling_respects_sizes():
    subset = Subset("skips", list(range(5)), min_size=1, max_size=3)
    rng = np.random.default_rng(0)
    for _ in range(200):
        assert subset.check(subset.sample(rng)) is not None


def test_mutate_changes_value():
    op = Categorical("op", ["a", "b", "c"])
    rng = np.random.default_rng(0)
    assert all(op.mutate("a", rng) != "a" for _ in range(20))


def test_json_round_trip_of_decisions():
    for decision in (
        Categorical("x", [1, 2, 3], [Condition("n", [2])], default=2),
        Subset("s", ["a", "b"], 0, 1),
    ):
        again = decision_from_json(decision.to_json())
        assert again.to_json() == decision.to_json()
    with pytest.raises(ValueError, match="type='float'"):
        decision_from_json({"type": "float", "name": "x"})
