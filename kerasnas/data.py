"""Search inputs: numpy arrays, `tf.data.Dataset`s, `"mnist1d"` and `"tfds:NAME"`.

Everything becomes a `SearchData`: training and validation data, optional
test data, the input shape and the `Task` inferred from the labels.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from kerasnas.builder.task import Task

MNIST1D = "mnist1d"
TFDS_PREFIX = "tfds:"


@dataclasses.dataclass
class SearchData:
    """Data for a search, already checked.

    Attributes:
        train: `(x, y)` numpy arrays or a batched `tf.data.Dataset`.
        validation: like `train`.
        test: like `train`, or None.
        input_shape: shape of one sample.
        task: the `Task` (classification or regression).
        name: where the data came from (`"arrays"`, `"mnist1d"`, ...).
        normalization: per-channel `(mean, variance)` of the training inputs.
        target_scaling: for regression, per-target `(mean, std)` of the
            training targets (None for classification).
    """

    train: Any
    validation: Any
    input_shape: tuple
    task: Task
    test: Any = None
    name: str = "arrays"
    normalization: tuple | None = None
    target_scaling: tuple | None = None
    sample_weight: Any = None

    @property
    def multi_input(self) -> bool:
        """Whether samples have several inputs (a dict or list of arrays)."""
        return isinstance(self.input_shape, dict) or (
            bool(self.input_shape) and isinstance(self.input_shape[0], (tuple, list))
        )

    @property
    def is_dataset(self) -> bool:
        """Whether the splits are `tf.data.Dataset`s (else numpy arrays)."""
        return not isinstance(self.train, tuple)

    def num_train(self) -> int | None:
        """Number of training samples when known."""
        if not self.is_dataset:
            return num_samples(self.train[0])
        return None

    def describe(self) -> dict:
        """A JSON summary for journals and model cards."""
        info = {
            "name": self.name,
            "input_shape": shape_to_json(self.input_shape),
            "task": self.task.to_json(),
        }
        if not self.is_dataset:
            info["num_train"] = num_samples(self.train[0])
            info["num_validation"] = num_samples(self.validation[0])
            if self.test is not None:
                info["num_test"] = num_samples(self.test[0])
        if self.sample_weight is not None:
            info["sample_weight"] = True
        return info


def shape_to_json(shape):
    """A sample shape (or a dict or list of them) as JSON lists."""
    if isinstance(shape, dict):
        return {k: list(v) for k, v in shape.items()}
    if shape and isinstance(shape[0], (tuple, list)):
        return [list(v) for v in shape]
    return list(shape)


def num_samples(x) -> int:
    """Samples in inputs that are an array, a dict of arrays or a list of arrays."""
    if isinstance(x, dict):
        return len(next(iter(x.values())))
    if isinstance(x, (list, tuple)):
        return len(x[0])
    return len(x)


def is_multi_input(x) -> bool:
    """Whether `x` holds several inputs: a dict of arrays or a list of numpy arrays.

    As in Keras, a list (or tuple) of numpy arrays is one array per input.
    """
    if isinstance(x, dict):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(v, np.ndarray) for v in x)


def map_inputs(x, fn):
    """Applies `fn(array, label)` to each input of `x` (an array, dict or list)."""
    if isinstance(x, dict):
        return {k: fn(v, f"x[{k!r}]") for k, v in x.items()}
    if isinstance(x, list):
        return [fn(v, f"x[{i}]") for i, v in enumerate(x)]
    return fn(x, "x")


def _take(x, index):
    if isinstance(x, dict):
        return {k: v[index] for k, v in x.items()}
    if isinstance(x, list):
        return [v[index] for v in x]
    return x[index]


def _sample_shape(x):
    if isinstance(x, dict):
        return {k: tuple(v.shape[1:]) for k, v in x.items()}
    if isinstance(x, list):
        return [tuple(v.shape[1:]) for v in x]
    return tuple(x.shape[1:])


def _check_multi(x, name: str):
    """Checks a dict or list of input arrays and returns it as float32 arrays."""
    if isinstance(x, dict):
        if not x:
            raise ValueError(f"`{name}` is an empty dict. Received: {name}={{}}")
        out = {str(k): _as_float_array(v, f"{name}[{k!r}]") for k, v in x.items()}
        labels = {k: f"{name}[{k!r}]" for k in out}
    else:
        out = [_as_float_array(v, f"{name}[{i}]") for i, v in enumerate(x)]
        labels = {i: f"{name}[{i}]" for i in range(len(out))}
    items = out.items() if isinstance(out, dict) else enumerate(out)
    counts = {}
    for key, array in items:
        _check_features(array, labels[key])
        counts[labels[key]] = len(array)
    if len(set(counts.values())) > 1:
        raise ValueError(
            f"Every input in `{name}` needs the same number of samples. Received: {counts}"
        )
    return out


def _as_float_array(x, name: str) -> np.ndarray:
    try:
        array = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise ValueError(f"`{name}` must be array-like. Received: {type(x).__name__} ({e})") from e
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"`{name}` must hold numbers. Received: {name}.dtype={array.dtype}")
    return array.astype("float32")


def _check_features(x: np.ndarray, name: str) -> None:
    if x.ndim < 2 or x.ndim > 4:
        raise ValueError(
            f"`{name}` must have shape (N, features), (N, length, channels) or "
            f"(N, height, width, channels). Received: {name}.shape={x.shape}"
        )
    if len(x) == 0:
        raise ValueError(f"`{name}` is empty. Received: {name}.shape={x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")


def _normalization_stats(x: np.ndarray) -> tuple:
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    variance = x.var(axis=axes)
    variance = np.where(variance < 1e-12, 1.0, variance)
    return mean.astype("float32"), variance.astype("float32")


def _target_stats(y: np.ndarray, task: Task) -> tuple | None:
    """Per-target `(mean, std)` of regression targets (None for classification)."""
    if task.kind != "regression":
        return None
    flat = np.asarray(y, dtype="float64").reshape(len(y), -1)
    std = flat.std(axis=0)
    std = np.where(std < 1e-12, 1.0, std)
    return flat.mean(axis=0).astype("float32"), std.astype("float32")


def from_arrays(
    x,
    y,
    validation_data=None,
    validation_split: float = 0.1,
    test_data=None,
    task: str | None = None,
    seed: int = 0,
    name: str = "arrays",
    sample_weight=None,
) -> SearchData:
    """Checks numpy data and splits off validation data when none is given.

    Example:

    ```python
    import numpy as np
    from kerasnas.data import from_arrays
    data = from_arrays(np.random.rand(100, 8), np.arange(100) % 3)
    data.task.num_classes  # 3
    ```

    Args:
        x: inputs, `(N, features)`, `(N, length, channels)` or
            `(N, height, width, channels)`; or, for models with several
            inputs, a dict `{input_name: array}` or a list of arrays (as
            Keras's `fit` takes them).
        y: labels: integer classes, one-hot rows, or float targets.
        validation_data: `(x_val, y_val)`; if None, a `validation_split`
            fraction of the (shuffled) training data is held out.
        validation_split: fraction held out when `validation_data` is None.
        test_data: optional `(x_test, y_test)`, used only to report the
            final model's test metrics.
        task: force `"classification"` or `"regression"`.
        seed: seed of the validation split.
        name: a label for logs.
        sample_weight: optional weight of each training sample (shape
            `(N,)`), passed to `fit`; split with the data when validation
            data is held out.

    Returns:
        A `SearchData`.

    Raises:
        ValueError: for shapes or labels that do not fit, naming the
            parameter and the value received.
    """
    multi = is_multi_input(x)
    if multi:
        x = _check_multi(list(x) if isinstance(x, tuple) else x, "x")
    else:
        x = _as_float_array(x, "x")
        _check_features(x, "x")
    if y is None:
        raise ValueError("`y` is required with array inputs. Received: y=None")
    y = np.asarray(y)
    n = num_samples(x)
    if len(y) != n:
        x_text = f"x.shape={x.shape}" if not multi else f"x with {n} samples"
        raise ValueError(
            "`x` and `y` must have the same number of samples. "
            f"Received: {x_text}, y.shape={y.shape}"
        )
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, n)
    inferred = Task.infer(y, task=task)
    y = _labels_dtype(y, inferred)
    train_weight = sample_weight
    if validation_data is None:
        if not 0 < validation_split < 1:
            raise ValueError(
                "Without validation_data, validation_split must be in (0, 1). "
                f"Received: validation_split={validation_split!r}"
            )
        n_val = max(1, int(round(n * validation_split)))
        if n_val >= n:
            raise ValueError(f"Too few samples to hold out validation data. Received: {n} samples")
        order = np.random.default_rng(seed).permutation(n)
        val_idx, train_idx = order[:n_val], order[n_val:]
        train = (_take(x, train_idx), y[train_idx])
        validation = (_take(x, val_idx), y[val_idx])
        if sample_weight is not None:
            train_weight = sample_weight[train_idx]
    else:
        train = (x, y)
        validation = _check_split(validation_data, "validation_data", x, inferred)
    test = None
    if test_data is not None:
        test = _check_split(test_data, "test_data", x, inferred)
    return SearchData(
        train=train,
        validation=validation,
        test=test,
        input_shape=_sample_shape(x),
        task=inferred,
        name=name,
        normalization=(
            map_inputs(train[0], lambda v, label: _normalization_stats(v))
            if multi
            else _normalization_stats(train[0])
        ),
        target_scaling=_target_stats(train[1], inferred),
        sample_weight=train_weight,
    )


def _check_sample_weight(sample_weight, n: int) -> np.ndarray:
    weights = np.asarray(sample_weight)
    if weights.shape != (n,) or not np.issubdtype(weights.dtype, np.number):
        raise ValueError(
            "`sample_weight` must be one number per training sample, shape "
            f"({n},). Received: sample_weight with shape {weights.shape}"
        )
    weights = weights.astype("float32")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(
            "`sample_weight` must be finite and non-negative. "
            f"Received: sample_weight with min {weights.min()}"
        )
    return weights


def _labels_dtype(y: np.ndarray, task: Task) -> np.ndarray:
    if task.kind == "classification" and task.label_format == "sparse":
        return y.reshape(len(y)).astype("int32")
    return y.astype("float32")


def _check_split(split, name: str, x_train: np.ndarray, task: Task) -> tuple:
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise ValueError(
            f"`{name}` must be a tuple (x, y). Received: {name} of type {type(split).__name__}"
        )
    if is_multi_input(x_train):
        raw = split[0]
        if not is_multi_input(raw) or isinstance(raw, dict) != isinstance(x_train, dict):
            raise ValueError(
                f"`{name}` inputs must be a {type(x_train).__name__} of arrays like the "
                f"training inputs. Received: {name}[0] of type {type(raw).__name__}"
            )
        xs = _check_multi(list(raw) if isinstance(raw, tuple) else raw, f"{name}[0]")
    else:
        xs = _as_float_array(split[0], f"{name}[0]")
        _check_features(xs, f"{name}[0]")
    if _sample_shape(xs) != _sample_shape(x_train):
        got = (
            f"{name}[0].shape={xs.shape}"
            if hasattr(xs, "shape")
            else (f"{name}[0] with sample shapes {_sample_shape(xs)}")
        )
        raise ValueError(
            f"`{name}` inputs must have the training inputs' sample shape "
            f"{_sample_shape(x_train)}. Received: {got}"
        )
    ys = np.asarray(split[1])
    if len(ys) != num_samples(xs):
        raise ValueError(
            f"`{name}` inputs and labels must have the same number of samples. "
            f"Received: {name}[0].shape={getattr(xs, 'shape', num_samples(xs))}, "
            f"{name}[1].shape={ys.shape}"
        )
    task.check_labels(ys, f"{name}[1]")
    return xs, _labels_dtype(ys, task)


def load_mnist1d(seed: int = 0, validation_split: float = 0.1) -> SearchData:
    """Generates MNIST-1D offline with the `mnist1d` package.

    4,000 training sequences (of which `validation_split` are held out for
    validation) and 1,000 test sequences of length 40 with one channel, 10
    classes. Published baselines: logistic regression 32%, MLP 68%,
    CNN 94%, GRU 91% test accuracy.

    Example:

    ```python
    from kerasnas.data import load_mnist1d
    data = load_mnist1d()
    data.input_shape  # (40, 1)
    ```

    Returns:
        A `SearchData` with test data.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    raw = make_dataset(get_dataset_args())
    x = np.asarray(raw["x"], dtype="float32")[..., None]
    x_test = np.asarray(raw["x_test"], dtype="float32")[..., None]
    return from_arrays(
        x,
        np.asarray(raw["y"]).astype("int32"),
        validation_split=validation_split,
        test_data=(x_test, np.asarray(raw["y_test"]).astype("int32")),
        seed=seed,
        name=MNIST1D,
    )


def _dataset_is_batched(dataset) -> bool:
    x_spec = dataset.element_spec[0]
    return len(x_spec.shape) >= 2 and x_spec.shape[0] is None


def from_dataset(
    dataset,
    validation_data=None,
    test_data=None,
    task: str | None = None,
    batch_size: int = 64,
    name: str = "dataset",
    max_stat_batches: int = 200,
) -> SearchData:
    """Checks `tf.data.Dataset`s of `(x, y)` pairs (batched or not).

    The labels are read once to infer the task; the inputs of up to
    `max_stat_batches` batches give the normalisation statistics.

    Args:
        dataset: training data yielding `(x, y)`.
        validation_data: a dataset like `dataset`; if None, the last tenth
            of `dataset` (by batches) is held out.
        test_data: optional dataset for final test metrics.
        task: force `"classification"` or `"regression"`.
        batch_size: batch size for unbatched datasets.
        name: a label for logs.

    Returns:
        A `SearchData` whose splits are batched datasets.

    Raises:
        ValueError: for datasets that do not yield `(x, y)` pairs, or
            validation data whose shapes do not fit.
    """
    import tensorflow as tf

    def batched(ds, label):
        if not isinstance(ds, tf.data.Dataset):
            raise ValueError(
                f"`{label}` must be a tf.data.Dataset like the training data. "
                f"Received: {type(ds).__name__}"
            )
        spec = ds.element_spec
        if not isinstance(spec, tuple) or len(spec) != 2:
            raise ValueError(f"`{label}` must yield (x, y) pairs. Received: element_spec={spec}")
        ds = ds.map(lambda a, b: (tf.cast(a, tf.float32), b))
        return ds if _dataset_is_batched(ds) else ds.batch(batch_size)

    train = batched(dataset, "x")
    if validation_data is None:
        n = int(train.cardinality())
        if n < 2:
            raise ValueError(
                "Pass validation_data with a dataset of unknown or tiny size. "
                f"Received: a dataset of {n} batches and validation_data=None"
            )
        n_val = max(1, n // 10)
        validation = train.skip(n - n_val)
        train = train.take(n - n_val)
    else:
        validation = batched(validation_data, "validation_data")
    input_shape = tuple(int(d) for d in train.element_spec[0].shape[1:])
    val_shape = tuple(int(d) for d in validation.element_spec[0].shape[1:])
    if val_shape != input_shape:
        raise ValueError(
            f"`validation_data` inputs must have the training inputs' sample shape "
            f"{input_shape}. Received: sample shape {val_shape}"
        )
    labels = np.concatenate([np.asarray(b) for b in train.map(lambda a, b: b)])
    inferred = Task.infer(labels, task=task)
    val_labels = np.concatenate([np.asarray(b) for b in validation.map(lambda a, b: b)])
    inferred.check_labels(val_labels, "validation_data labels")
    sums, squares, count = 0.0, 0.0, 0
    for xb in train.map(lambda a, b: a).take(max_stat_batches):
        xb = np.asarray(xb, dtype="float64")
        flat = xb.reshape(-1, xb.shape[-1])
        sums = sums + flat.sum(axis=0)
        squares = squares + (flat**2).sum(axis=0)
        count += len(flat)
    mean = sums / count
    variance = np.maximum(squares / count - mean**2, 0.0)
    variance = np.where(variance < 1e-12, 1.0, variance)
    test = batched(test_data, "test_data") if test_data is not None else None
    autotune = tf.data.AUTOTUNE
    return SearchData(
        train=train.prefetch(autotune),
        validation=validation.cache().prefetch(autotune),
        test=test,
        input_shape=input_shape,
        task=inferred,
        name=name,
        normalization=(mean.astype("float32"), variance.astype("float32")),
        target_scaling=_target_stats(labels, inferred),
    )


def load_tfds(
    name: str, task: str | None = None, batch_size: int = 64, data_dir=None
) -> SearchData:
    """Loads a TensorFlow Datasets dataset by name (`data="tfds:NAME"`).

    Uses the `validation` split when the dataset has one, else the last 10%
    of `train`; the `test` split, when present, becomes test data. The data
    must already be on disk (or mocked with `tfds.testing.mock_data`):
    kerasnas never downloads at search time.

    Args:
        name: the TFDS name, e.g. `"mnist"`.

    Raises:
        ValueError: if the dataset is unknown or not available offline.
    """
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # TFDS lists its whole catalogue here: keep one line of it
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ValueError(
            f"Unknown TFDS dataset '{name}' ({reason}). See tfds.list_builders() for the "
            f"names. Received: data='tfds:{name}'"
        ) from None
    splits = set(builder.info.splits.keys()) if builder.info.splits else set()
    if "train" not in splits:
        # A mocked or not-yet-prepared dataset reports no splits; try anyway.
        splits = {"train", "test"} | splits
    val_split = "validation" if "validation" in splits else "train[90%:]"
    train_split = "train" if "validation" in splits else "train[:90%]"
    wanted = [train_split, val_split] + (["test"] if "test" in splits else [])
    try:
        loaded = tfds.load(
            name, split=wanted, as_supervised=True, data_dir=data_dir, download=False
        )
    except Exception as e:
        raise ValueError(
            f"Could not load TFDS dataset '{name}' from disk (kerasnas does not "
            f"download at search time; run tfds.load('{name}') once beforehand). "
            f"Received: data='tfds:{name}' ({type(e).__name__}: {e})"
        ) from e
    train, validation = loaded[0], loaded[1]
    test = loaded[2] if len(loaded) > 2 else None
    return from_dataset(
        train, validation, test, task=task, batch_size=batch_size, name=f"tfds:{name}"
    )


def resolve_data(
    x=None,
    y=None,
    validation_data=None,
    data=None,
    test_data=None,
    validation_split: float = 0.1,
    task: str | None = None,
    batch_size: int = 64,
    seed: int = 0,
    sample_weight=None,
) -> SearchData:
    """Turns any supported input into `SearchData`.

    `sample_weight` (one weight per training sample) goes with array data;
    a `tf.data.Dataset` carries its weights itself, as `(x, y, weight)`.

    Exactly one source: arrays (`x`, `y`), a `tf.data.Dataset` (`x`), or a
    name (`data="mnist1d"` or `data="tfds:NAME"`); a `SearchData` passes
    through.

    Raises:
        ValueError: for no data, two sources, or an unknown data name.
    """
    if isinstance(data, SearchData):
        return data
    if sample_weight is not None and (data is not None or _is_dataset(x)):
        raise ValueError(
            "`sample_weight` goes with array data (x, y); with `data=` or a "
            "tf.data.Dataset, put the weights in the data. Received: sample_weight with "
            f"data={data!r}"
        )
    if data is not None:
        if x is not None or y is not None:
            raise ValueError(
                "Pass either `data=` or `x`/`y`, not both. "
                f"Received: data={data!r} and x of type {type(x).__name__}"
            )
        if not isinstance(data, str):
            raise ValueError(
                "`data` must be 'mnist1d', 'tfds:NAME' or a SearchData. "
                f"Received: data of type {type(data).__name__}"
            )
        if data == MNIST1D:
            return load_mnist1d(seed=seed, validation_split=validation_split)
        if data.startswith(TFDS_PREFIX) and len(data) > len(TFDS_PREFIX):
            return load_tfds(data[len(TFDS_PREFIX) :], task=task, batch_size=batch_size)
        raise ValueError(
            f"Unknown data name; use 'mnist1d' or 'tfds:NAME'. Received: data={data!r}"
        )
    if x is None:
        raise ValueError(
            "No data: pass x and y (arrays), x (a tf.data.Dataset), or data='mnist1d' "
            "/ 'tfds:NAME' (or an evaluator=callable to search without data). "
            "Received: x=None, data=None"
        )
    try:
        import tensorflow as tf

        is_dataset = isinstance(x, tf.data.Dataset)
    except ImportError:  # pragma: no cover
        is_dataset = False
    if is_dataset:
        if y is not None:
            raise ValueError(
                "With a tf.data.Dataset as `x`, labels come from the dataset; "
                "do not pass `y`. Received: y of type " + type(y).__name__
            )
        return from_dataset(x, validation_data, test_data, task=task, batch_size=batch_size)
    return from_arrays(
        x,
        y,
        validation_data=validation_data,
        validation_split=validation_split,
        test_data=test_data,
        task=task,
        seed=seed,
        sample_weight=sample_weight,
    )


def _is_dataset(x) -> bool:
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover
        return False
    return isinstance(x, tf.data.Dataset)
