"""A float16-compute copy of a model, for serving on GPUs with tensor cores."""

from __future__ import annotations

import copy

# Layers that stay float32: the input, the input normalisation and the outputs
# whose values clients read.
_KEEP_FLOAT32 = {"inputs", "normalization", "probabilities", "predictions"}

_MIXED = {
    "module": "keras",
    "class_name": "DTypePolicy",
    "config": {"name": "mixed_float16"},
    "registered_name": None,
}


def mixed_precision_copy(model):
    """Returns a copy of `model` that computes in float16 with float32 weights.

    Every layer takes Keras' `mixed_float16` policy except the input, the
    `normalization` layer and the `probabilities`/`predictions` outputs, which
    stay float32 so that clients send and receive float32. Weights are copied.

    Example:

    ```python
    import keras
    from kerasnas.export.precision import mixed_precision_copy
    inputs = keras.Input((4,), name="inputs")
    model = keras.Model(inputs, keras.layers.Dense(2, name="predictions")(
        keras.layers.Dense(8, name="hidden")(inputs)))
    fast = mixed_precision_copy(model)
    fast.get_layer("hidden").compute_dtype  # 'float16'
    ```

    Args:
        model: a functional Keras model.

    Returns:
        A new functional model with the same weights.
    """
    import keras

    config = copy.deepcopy(model.get_config())
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer" or layer["config"].get("name") in _KEEP_FLOAT32:
            continue
        if "dtype" in layer["config"]:
            layer["config"]["dtype"] = copy.deepcopy(_MIXED)
    clone = keras.Model.from_config(config)
    clone.set_weights(model.get_weights())
    return clone
