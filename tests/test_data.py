import numpy as np
import pytest
import tensorflow as tf

from kerasnas.builder import Task
from kerasnas.data import from_arrays, load_mnist1d, resolve_data


def test_task_inference():
    assert Task.infer(np.array([0, 1, 2, 1])) == Task("classification", 3, "sparse")
    assert Task.infer(np.eye(4)[[0, 1, 3]]).label_format == "one_hot"
    assert Task.infer(np.array([0.5, 1.5])).kind == "regression"
    assert Task.infer(np.array([0.0, 1.0]), task="classification").num_classes == 2


@pytest.mark.parametrize(
    "y, message",
    [
        (np.array([0, -1, 2]), "must be >= 0"),
        (np.array(["a", "b"]), "must be numeric"),
        (np.array([]), "`y` is empty"),
    ],
)
def test_bad_labels_are_named(y, message):
    with pytest.raises(ValueError, match=message):
        Task.infer(y)


def test_from_arrays_splits_and_normalises():
    x = np.random.rand(100, 6).astype("float32") * 10
    data = from_arrays(x, np.arange(100) % 2, validation_split=0.2, seed=1)
    assert len(data.train[0]) == 80 and len(data.validation[0]) == 20
    mean, variance = data.normalization
    np.testing.assert_allclose(mean, data.train[0].mean(axis=0), rtol=1e-5)
    assert data.input_shape == (6,)


def test_shape_and_label_mismatches_name_the_parameter():
    x, y = np.zeros((10, 4)), np.arange(10) % 2
    with pytest.raises(ValueError, match=r"Received: x.shape=\(10, 4\), y.shape=\(9,\)"):
        from_arrays(x, y[:9])
    with pytest.raises(ValueError, match=r"validation_data\[0\].shape=\(3, 5\)"):
        from_arrays(x, y, validation_data=(np.zeros((3, 5)), np.zeros(3, int)))
    with pytest.raises(ValueError, match=r"validation_data\[1\]` labels must lie in \[0, 1\]"):
        from_arrays(x, y, validation_data=(np.zeros((3, 4)), np.array([0, 1, 5])))
    with pytest.raises(ValueError, match=r"Received: x.shape=\(10,\)"):
        from_arrays(np.zeros(10), y)
    with pytest.raises(ValueError, match="NaN"):
        from_arrays(np.full((10, 4), np.nan), y)


def test_unknown_data_name():
    with pytest.raises(ValueError, match=r"Received: data='cifar'"):
        resolve_data(data="cifar")
    with pytest.raises(ValueError, match="No data"):
        resolve_data()


def test_mnist1d_is_generated_offline():
    data = load_mnist1d()
    assert data.input_shape == (40, 1)
    assert data.task.num_classes == 10
    assert len(data.train[0]) + len(data.validation[0]) == 4000
    assert len(data.test[0]) == 1000


def test_tf_data_dataset_input():
    x = np.random.rand(64, 8, 1).astype("float32")
    y = (np.arange(64) % 3).astype("int64")
    train = tf.data.Dataset.from_tensor_slices((x, y))
    val = tf.data.Dataset.from_tensor_slices((x[:16], y[:16])).batch(8)
    data = resolve_data(train, validation_data=val, batch_size=16)
    assert data.is_dataset and data.input_shape == (8, 1)
    assert data.task == Task("classification", 3, "sparse")
    with pytest.raises(ValueError, match="sample shape"):
        resolve_data(
            train,
            validation_data=tf.data.Dataset.from_tensor_slices(
                (np.zeros((4, 9, 1), "float32"), y[:4])
            ),
        )


def test_tfds_name_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=40):
        data = resolve_data(data="tfds:mnist", batch_size=8)
    assert data.input_shape == (28, 28, 1)
    assert data.task.num_classes == 10 and data.name == "tfds:mnist"
