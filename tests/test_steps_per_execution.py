"""Several training steps per call of the compiled function: default, option, resume."""

import keras
import numpy as np
import pytest

import kerasnas
from kerasnas.builder import ModelBuilder
from kerasnas.data import from_arrays
from kerasnas.evaluation import FitEvaluator
from kerasnas.spaces import ChainSpace


class BatchCalls(keras.callbacks.Callback):
    """Counts the batch-end calls Keras makes (one per call of the train function)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def on_train_batch_end(self, batch, logs=None):
        self.calls += 1


def _evaluator(data, **options):
    space = ChainSpace(max_layers=1, operations=("dense",), widths=(4,))
    builder = ModelBuilder(space, data.input_shape, data.task)
    return FitEvaluator(builder, data, epochs=1, min_steps_per_epoch=0, **options), space


def _data(n=1100):
    rng = np.random.default_rng(0)
    return from_arrays(rng.normal(size=(n, 3)).astype("float32"), np.arange(n) % 2)


@pytest.mark.parametrize("options, expected_calls", [({}, 2), ({"steps_per_execution": 1}, 62)])
def test_steps_per_execution_sets_how_often_the_compiled_step_returns(options, expected_calls):
    data = _data()  # 990 training samples: 62 batches of 16
    evaluator, space = _evaluator(data, batch_size=16, **options)
    model = evaluator.build(space.sample(0), seed=0)
    counter = BatchCalls()
    evaluator.fit(model, space.sample(0), epochs=1, callbacks=[counter], seed=0)
    assert counter.calls == expected_calls  # default 32: ceil(62 / 32) calls
    assert model.history.history["accuracy"]  # the epoch ran and was logged


def test_the_option_travels_to_workers_and_from_config():
    data = _data(200)
    evaluator, _ = _evaluator(data, steps_per_execution=4)
    assert evaluator.worker_config()["steps_per_execution"] == 4
    copy = FitEvaluator.from_config(evaluator.get_config(), evaluator.builder, data)
    assert copy.steps_per_execution == 4
    assert FitEvaluator.from_config({}, evaluator.builder, data).steps_per_execution is None


@pytest.mark.parametrize("value", [0, -2, 2.5, True])
def test_a_bad_value_is_refused_before_training(value, tmp_path):
    x = np.zeros((20, 3), "float32")
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match=r"steps_per_execution.*Received"):
        kerasnas.search(x, y, max_trials=1, epochs=1, directory=tmp_path / "s",
                        steps_per_execution=value)  # fmt: skip
    assert not (tmp_path / "s").exists()


def test_a_search_resumes_with_another_steps_per_execution(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(80, 3)).astype("float32"), np.arange(80) % 2
    space = ChainSpace(max_layers=1, operations=("dense",), widths=(4, 8))
    common = dict(space=space, strategy="random", epochs=1, directory=tmp_path / "s",
                  warm_start=False, executor="local", progress_bar=False)  # fmt: skip
    first = kerasnas.search(x, y, max_trials=2, steps_per_execution=8, **common)
    resumed = kerasnas.search(x, y, max_trials=3, steps_per_execution=2, **common)
    assert [t.number for t in resumed.trials] == [0, 1, 2]
    assert resumed.trials[0].metrics == first.trials[0].metrics


def test_several_steps_with_a_mirrored_strategy_are_refused_before_training():
    data = _data(200)
    with pytest.raises(ValueError, match=r"steps_per_execution.*mirrored.*Received"):
        _evaluator(data, steps_per_execution=8, distribution_strategy="mirrored")
    # One step per call, or the default (1 under a strategy), is accepted.
    evaluator, _ = _evaluator(data, steps_per_execution=1, distribution_strategy="mirrored")
    assert evaluator.distribution_spec["name"] == "mirrored"
    assert _evaluator(data, distribution_strategy="mirrored")[0].steps_per_execution is None
