"""search(loss=, metrics=, class_weight=, sample_weight=): the options Keras users pass to fit."""

import keras
import numpy as np
import pytest

import kerasnas
from kerasnas.data import from_arrays
from kerasnas.runtime.directory import SearchDirectory
from kerasnas.runtime.worker import evaluator_from_spec, evaluator_spec

SPACE = kerasnas.spaces.ChainSpace(max_layers=1, operations=("dense",), widths=(8,))


def data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


def run(tmp_path, **options):
    x, y = data()
    return kerasnas.search(
        x,
        y,
        space=SPACE,
        max_trials=1,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        executor="local",
        **options,
    ).best_trial


def zero_loss(y_true, y_pred):
    return keras.ops.mean(y_pred) * 0.0


def test_loss_replaces_the_task_loss(tmp_path):
    assert run(tmp_path / "default").metrics["loss"] > 0.1
    trial = run(tmp_path / "zero", loss=zero_loss)
    assert trial.metrics["loss"] == 0.0


def test_metrics_are_recorded_and_can_be_the_objective(tmp_path):
    top2 = keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")
    result_trial = run(
        tmp_path, metrics=["sparse_categorical_crossentropy", top2], objective="val_top2"
    )
    assert result_trial.metrics["val_top2"] == pytest.approx(
        1.0
    )  # 2 classes: top-2 is always right
    assert "val_accuracy" in result_trial.metrics  # the task's metric stays
    assert "val_sparse_categorical_crossentropy" in result_trial.metrics
    result = kerasnas.load_search(tmp_path)
    assert result.objective.name == "val_top2"
    assert result.settings["evaluator"]["metrics"][0] == "sparse_categorical_crossentropy"


def test_class_weight_and_sample_weight_weigh_the_loss(tmp_path):
    assert run(tmp_path / "cw", class_weight={0: 0.0, 1: 0.0}).metrics["loss"] == 0.0
    x, _ = data()
    assert run(tmp_path / "sw", sample_weight=np.zeros(len(x))).metrics["loss"] == 0.0
    with pytest.raises(ValueError, match="not both"):
        run(tmp_path / "both", class_weight={0: 1.0, 1: 1.0}, sample_weight=np.ones(len(x)))
    with pytest.raises(ValueError, match="class_weight"):
        run(tmp_path / "bad", class_weight={"a": 1.0})
    with pytest.raises(ValueError, match="sample_weight"):
        run(tmp_path / "short", sample_weight=np.ones(3))


def test_sample_weights_follow_their_samples_into_the_training_split():
    x, y = data(50)
    weights = np.arange(50, dtype="float32")
    x[:, 1] = weights  # a feature that identifies each sample
    split = from_arrays(x, y, validation_split=0.2, sample_weight=weights)
    assert len(split.sample_weight) == len(split.train[0]) == 40
    np.testing.assert_array_equal(split.sample_weight, split.train[0][:, 1])


def test_process_workers_get_the_fit_options(tmp_path):
    x, y = data()
    search_data = from_arrays(x, y, sample_weight=np.linspace(0, 1, len(x)))
    builder = kerasnas.ModelBuilder(SPACE, search_data.input_shape, search_data.task)
    top2 = keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")
    evaluator = kerasnas.FitEvaluator(
        builder, search_data, epochs=1, loss=zero_loss, metrics=[top2], class_weight={0: 2.0}
    )
    spec = evaluator_spec(evaluator, SearchDirectory(tmp_path))
    rebuilt, _ = evaluator_from_spec(spec)
    assert rebuilt.loss is zero_loss
    assert rebuilt.class_weight == {0: 2.0}
    assert rebuilt.metrics[0].name == "top2"
    np.testing.assert_array_equal(rebuilt.data.sample_weight, search_data.sample_weight)
    assert rebuilt.get_config() == evaluator.get_config()


def test_options_need_training(tmp_path):
    with pytest.raises(ValueError, match="loss"):
        kerasnas.search(space=SPACE, evaluator=lambda a: 1.0, loss="mse", directory=tmp_path)


def test_train_model_reuses_the_searchs_class_weights(tmp_path):
    x, y = data()
    result = kerasnas.search(
        x,
        y,
        space=SPACE,
        max_trials=1,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        executor="local",
        class_weight={0: 0.0, 1: 0.0},
    )
    model = result.train_model(epochs=1, seed=3)
    fresh = kerasnas.FitEvaluator(result.builder, result.data).build(result.best_architecture, 3)
    # Zero class weights: zero loss, so training leaves the seeded weights as they were.
    for trained, initial in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(trained, initial)


def test_retraining_on_train_plus_validation_merges_inputs_and_weights():
    from kerasnas.retrain import merged_training_data

    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(20, 3)), "b": rng.normal(size=(20, 4, 1))}
    split = from_arrays(x, np.arange(20) % 2, validation_split=0.25, sample_weight=np.full(20, 2.0))
    merged = merged_training_data(split)
    assert {k: v.shape[0] for k, v in merged.train[0].items()} == {"a": 20, "b": 20}
    assert merged.sample_weight.tolist() == [2.0] * 15 + [1.0] * 5


def test_objective_on_auc_with_one_hot_labels(tmp_path):
    x, y = data()
    result = kerasnas.search(
        x,
        np.eye(2, dtype="float32")[y],
        space=SPACE,
        max_trials=1,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        executor="local",
        metrics=[keras.metrics.AUC(name="auc")],
        objective="val_auc",
    )
    assert result.objective.direction == "max"
    assert 0.0 <= result.best_value <= 1.0


def test_sample_weight_goes_with_arrays_only():
    import tensorflow as tf

    from kerasnas.data import resolve_data

    x, y = data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    with pytest.raises(ValueError, match="sample_weight"):
        resolve_data(dataset, sample_weight=np.ones(len(x)))
