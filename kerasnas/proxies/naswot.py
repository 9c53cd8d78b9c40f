"""NASWOT: "neural architecture search without training" (Mellor et al., 2021).

For a batch of inputs, every rectified unit gives each input a bit (active
or not). The score is `log|det K|` of the kernel `K[i, j]` = number of units
on which inputs `i` and `j` agree: networks that tell the inputs apart
already at initialisation tend to train to better accuracy.
"""

from __future__ import annotations

import math

import numpy as np

from kerasnas._lazy import keras


def _activation_outputs(model: keras.Model) -> list:
    outputs = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            continue
        if isinstance(layer, (keras.layers.ReLU, keras.layers.Activation)):
            outputs.append(layer.output)
            continue
        activation = getattr(layer, "activation", None)
        if activation is not None and getattr(activation, "__name__", "") not in (
            "linear",
            "softmax",
            "sigmoid",
        ):
            outputs.append(layer.output)
    return outputs


def naswot(model: keras.Model, x) -> float:
    """Returns the NASWOT score of an (untrained) model on a batch of inputs.

    Units of every activation layer (and of layers with a built-in
    activation) give the binary codes; a unit is "on" when its output is
    positive. A network without such layers is coded by the input of its
    output layer.

    Example:

    ```python
    import keras
    import numpy as np
    from kerasnas.proxies import naswot
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(2)])
    naswot(model, np.random.default_rng(0).normal(size=(32, 8)))
    ```

    Args:
        model: a built Keras model with one input.
        x: a batch of inputs (at least 2; 32 to 128 is typical).

    Returns:
        `log|det K|`; `-inf` when two inputs get identical codes.

    Raises:
        ValueError: for fewer than two inputs.
    """
    x = np.asarray(x, dtype="float32")
    if len(x) < 2:
        raise ValueError(f"naswot needs a batch of at least 2 inputs. Received: x.shape={x.shape}")
    outputs = _activation_outputs(model)
    if not outputs:
        last = model.layers[-1]
        outputs = [last.input]
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    extractor = keras.Model(inputs, outputs)
    values = extractor(x, training=False)
    if not isinstance(values, (list, tuple)):
        values = [values]
    codes = np.concatenate(
        [(np.asarray(v).reshape(len(x), -1) > 0).astype("float64") for v in values], axis=1
    )
    kernel = codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T
    sign, logdet = np.linalg.slogdet(kernel)
    if sign <= 0 or not math.isfinite(logdet):
        return -math.inf
    return float(logdet)
