"""The inputs an export serves: their names, shapes, and sample batches for the checks.

A model with one input is served under the input name `inputs`, whatever
its Keras input is called. A model with several inputs is served under
its Keras input names (for kerasnas models: the keys of the data's dict,
or `inputs_0`, `inputs_1`, ... for a list), each a float32 tensor with a
dynamic batch axis.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: The serving name of a model's only input.
INPUT_NAME = "inputs"


def serving_input_shapes(model) -> dict[str, tuple]:
    """Maps each serving input name to the shape of one sample (no batch axis).

    Example:

    ```python
    import keras
    from kerasnas.export.inputs import serving_input_shapes
    a, b = keras.Input((3,), name="meta"), keras.Input((10, 1), name="signal")
    x = keras.layers.Concatenate()([a, keras.layers.Flatten()(b)])
    model = keras.Model([a, b], keras.layers.Dense(1)(x))
    serving_input_shapes(model)  # {'meta': (3,), 'signal': (10, 1)}
    ```

    Args:
        model: a Keras model.

    Returns:
        `{name: shape}` in the model's input order.

    Raises:
        ValueError: if an input has an unknown dimension or two inputs share a name.
    """
    tensors = list(model.inputs)
    names = [INPUT_NAME] if len(tensors) == 1 else [_input_name(t) for t in tensors]
    if len(set(names)) != len(names):
        raise ValueError(
            f"Every input of an exported model needs its own name. Received: inputs {names}"
        )
    shapes = {}
    for name, tensor in zip(names, tensors):
        dims = tuple(tensor.shape[1:])
        if any(d is None for d in dims):
            raise ValueError(
                f"Exported inputs need a fixed sample shape. Received: input '{name}' with "
                f"shape {tuple(tensor.shape)}"
            )
        shapes[name] = tuple(int(d) for d in dims)
    return shapes


def _input_name(tensor) -> str:
    name = getattr(tensor, "name", None) or ""
    return name.split(":")[0]


def sample_batch(sample_inputs, shapes: Mapping[str, tuple], size: int = 4) -> dict:
    """Sample inputs as `{serving name: float32 array}`, random ones when none are given.

    Args:
        sample_inputs: None, one array (a model with one input), a dict
            keyed by input name, or a list in the model's input order.
        shapes: `serving_input_shapes(model)`.
        size: how many random samples to make when `sample_inputs` is None.

    Returns:
        A dict with one float32 array per serving input, all the same length.

    Raises:
        ValueError: when the samples do not match the model's inputs.
    """
    names = list(shapes)
    if sample_inputs is None:
        rng = np.random.default_rng(0)
        return {n: rng.normal(size=(size,) + shapes[n]).astype("float32") for n in names}
    if isinstance(sample_inputs, Mapping):
        given = dict(sample_inputs)
        if len(names) == 1 and len(given) == 1:
            given = {names[0]: next(iter(given.values()))}
    elif isinstance(sample_inputs, (list, tuple)) and len(names) > 1:
        if len(sample_inputs) != len(names):
            raise ValueError(
                f"`sample_inputs` needs one array per model input {names}. Received: "
                f"{len(sample_inputs)} arrays"
            )
        given = dict(zip(names, sample_inputs))
    elif len(names) == 1:
        given = {names[0]: sample_inputs}
    else:
        raise ValueError(
            f"The model has inputs {names}: give `sample_inputs` as a dict or list of arrays. "
            f"Received: {type(sample_inputs).__name__}"
        )
    missing = [n for n in names if n not in given]
    if missing:
        raise ValueError(
            f"`sample_inputs` lacks inputs {missing} of the model (inputs {names}). "
            f"Received: keys {sorted(given)}"
        )
    batch = {n: np.asarray(given[n], dtype="float32") for n in names}
    lengths = {len(v) for v in batch.values()}
    if len(lengths) != 1:
        raise ValueError(
            "Every array of `sample_inputs` needs the same number of samples. Received: "
            f"{ {n: len(v) for n, v in batch.items()} }"
        )
    return batch


def batch_length(batch: Mapping[str, np.ndarray]) -> int:
    """The number of samples in a `sample_batch`."""
    return len(next(iter(batch.values())))


def take(batch: Mapping[str, np.ndarray], count: int) -> dict:
    """The first `count` samples of every input of a `sample_batch`."""
    return {k: v[:count] for k, v in batch.items()}


def keras_inputs(batch: Mapping[str, np.ndarray]):
    """What a Keras model is called with: the one array, or the dict keyed by input name."""
    if len(batch) == 1:
        return next(iter(batch.values()))
    return dict(batch)
