import numpy as np
import pytest

from kerasnas.errors import InvalidArchitectureError
from kerasnas.spaces import Categorical, Condition, Subset, decision_from_json
from kerasnas.spaces import decisions as kerasnas_decisions


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


def test_conditions_and_choices_match_values_the_way_decisions_compare_them():
    # True is not 1, 1 is 1.0, "1" is not 1, None is a value, NaN matches nothing; and
    # conditions over unhashable values (lists) still work.
    values = [True, 1, "1", None, 2.5, (0, 1)]
    probes = [
        True,
        False,
        1,
        1.0,
        np.float64(1.0),
        np.int64(1),
        "1",
        None,
        2.5,
        float("nan"),
        (0, 1),
        [0, 1],
        0,
    ]
    for probe in probes:
        expected = next(
            (i for i, v in enumerate(values) if kerasnas_decisions._same_value(v, probe)), -1
        )
        assert Condition("d", values).is_met({"d": probe}) == (expected >= 0), probe
        assert kerasnas_decisions._ValueIndex(values)(probe) == expected, probe
    assert Condition("d", [[0, 1], "x"]).is_met({"d": [0, 1]})
    assert not Condition("d", [[0, 1], "x"]).is_met({"d": (0, 1)})
    op = Categorical("op", [1, True, "a"])
    assert (op.index(True), op.index(1.0), op.index("a"), op.index(0)) == (1, 0, 2, -1)
