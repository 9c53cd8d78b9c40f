import keras
import numpy as np
import pytest

import kerasnas
from kerasnas.errors import InvalidArchitectureError
from kerasnas.tabular import NasBenchMacro


@pytest.fixture(scope="module")
def table():
    return NasBenchMacro()


def test_every_benchmark_string_round_trips(table):
    space = kerasnas.spaces.nas_bench_macro()
    assert space.size() == len(table) == 6561
    for text in table.table:
        assert space.to_string(space.from_string(text)) == text
    assert {space.to_string(a) for a in space.enumerate()} == set(table.table)


def test_bad_strings_are_refused():
    space = kerasnas.spaces.nas_bench_macro()
    for text in ("2221222", "222122203", "22212a20", 22212220):
        with pytest.raises(InvalidArchitectureError, match="8 digits"):
            space.from_string(text)


@pytest.mark.parametrize("text", ["00000000", "10000000", "22212220", "12021012"])
def test_built_models_have_the_benchmarks_parameter_counts(table, text):
    space = kerasnas.spaces.nas_bench_macro()
    builder = kerasnas.ModelBuilder(
        space, (32, 32, 3), kerasnas.Task("classification", 10, "sparse")
    )
    model = builder.build(space.from_string(text))
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == table.query(text)["params"]
    # The table counts multiply-accumulates; count_flops counts 2 per MAC.
    assert kerasnas.evaluation.count_flops(model) == 2 * table.query(text)["flops"]


def test_table_facts_and_search_without_training(table, tmp_path):
    assert table.best_string == "22212220"
    assert table.optimum == pytest.approx(93.1267, abs=1e-3)
    result = kerasnas.search(
        space="nas_bench_macro",
        evaluator=table.evaluator(),
        objective="accuracy",
        max_trials=30,
        directory=tmp_path,
        verbose=0,
    )
    assert len(result.trials) == 30
    assert 0 <= table.regret(result.best_value) < 93.13 - 45.36
    assert result.best_value == table.query(result.best_architecture)["mean_acc"]


def test_macro_space_builds_on_sequences():
    space = kerasnas.spaces.nas_bench_macro(stem_width=8, stage_widths=(8, 16, 16), head_width=32)
    builder = kerasnas.ModelBuilder(space, (40, 1), kerasnas.Task("classification", 10, "sparse"))
    model = builder.build(space.from_string("12012012"))
    assert model(np.zeros((2, 40, 1), "float32")).shape == (2, 10)
    assert isinstance(model, keras.Model)
