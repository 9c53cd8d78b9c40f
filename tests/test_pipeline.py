"""The array pipeline: built once per search, every sample once per pass, seeded order."""

import pickle

import numpy as np
import pytest

from kerasnas.builder import ModelBuilder
from kerasnas.data import from_arrays
from kerasnas.evaluation import FitEvaluator, TrialContext
from kerasnas.evaluation.pipeline import ArrayPipeline
from kerasnas.spaces import ChainSpace


def _data(n=50, weights=False, multi=False):
    x = np.arange(n * 2, dtype="float32").reshape(n, 2)
    y = np.arange(n) % 2
    if multi:
        x = {"a": x, "b": x[:, :1] * 10}
    return from_arrays(x, y, sample_weight=np.linspace(0, 1, n) if weights else None)


def _first_column(batches):
    return np.concatenate(
        [np.asarray(b[0] if not isinstance(b[0], dict) else b[0]["a"])[:, 0] for b in batches]
    )


def test_each_epoch_is_a_seeded_permutation_of_the_training_set():
    data = _data()
    pipeline = ArrayPipeline(data)
    train_ids = np.sort(data.train[0][:, 0])
    dataset = pipeline.train(batch_size=8, seed=3)
    first, second = _first_column(dataset), _first_column(dataset)
    np.testing.assert_array_equal(np.sort(first), train_ids)  # every sample once
    assert not np.array_equal(first, second)  # a new order each epoch
    np.testing.assert_array_equal(first, _first_column(pipeline.train(batch_size=8, seed=3)))
    assert not np.array_equal(first, _first_column(pipeline.train(batch_size=8, seed=4)))


def test_passes_sample_weights_and_several_inputs_reach_the_batches():
    data = _data(weights=True, multi=True)
    pipeline = ArrayPipeline(data)
    batches = list(pipeline.train(batch_size=16, seed=0, passes=3))
    x, y, w = batches[0]
    assert sorted(x) == ["a", "b"] and w.shape == (16,)
    ids = _first_column(batches)
    assert len(ids) == 3 * pipeline.num_train
    assert np.all(np.unique(ids, return_counts=True)[1] == 3)
    # Weights stay with their samples.
    got = {float(a): float(v) for b in batches for a, v in zip(b[0]["a"][:, 0], b[2])}
    want = dict(zip(data.train[0]["a"][:, 0].tolist(), data.sample_weight.tolist()))
    assert got == pytest.approx(want)
    val = list(pipeline.validation(16))
    np.testing.assert_array_equal(_first_column(val), data.validation[0]["a"][:, 0])


def _evaluator(data, **options):
    space = ChainSpace(max_layers=1, operations=("dense",), widths=(4,))
    builder = ModelBuilder(space, data.input_shape, data.task)
    return FitEvaluator(builder, data, epochs=1, min_steps_per_epoch=0, **options), space


def test_the_evaluator_builds_its_pipeline_once_and_trials_train_on_it():
    data = _data(200)
    evaluator, space = _evaluator(data)
    first = evaluator.evaluate(space.sample(0), TrialContext(number=0, seed=0))
    pipeline = evaluator.array_pipeline()
    second = evaluator.evaluate(space.sample(1), TrialContext(number=1, seed=1))
    assert evaluator.array_pipeline() is pipeline
    assert first.metrics["val_accuracy"] >= 0 and second.metrics["val_accuracy"] >= 0
    # A pickled evaluator (sent whole to a worker) rebuilds it where it trains.
    copy = pickle.loads(pickle.dumps(evaluator))
    assert copy._pipeline is None and copy.input_pipeline == "dataset"
    assert evaluator.worker_config()["input_pipeline"] == "dataset"


def test_arrays_pipeline_option_and_a_bad_value():
    data = _data(200)
    evaluator, space = _evaluator(data, input_pipeline="arrays")
    result = evaluator.evaluate(space.sample(0), TrialContext(number=0, seed=0))
    assert evaluator._pipeline is None and result.metrics["val_accuracy"] >= 0
    with pytest.raises(ValueError, match=r"input_pipeline.*Received: input_pipeline='fast'"):
        _evaluator(data, input_pipeline="fast")
