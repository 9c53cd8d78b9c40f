"""SynFlow: a zero-cost proxy from the "synaptic flow" through a network.

Tanaka et al. (2020) score a network by `sum(|theta * dR/dtheta|)` where
`R` is the sum of the outputs for an all-ones input after every weight is
replaced by its absolute value. It needs no data and no labels. Abdelfattah
et al. (2021) found it among the proxies that best rank architectures
before training.
"""

from __future__ import annotations

import math

import numpy as np

from kerasnas._lazy import keras


def _score_output(model: keras.Model):
    """The logits (pre-softmax) output when the model has one, else its output."""
    for name in ("logits", "predictions"):
        try:
            return model.get_layer(name).output
        except ValueError:
            continue
    return model.outputs[0]


def synflow(model: keras.Model) -> float:
    """Returns the SynFlow score of an (untrained) model, as a natural logarithm.

    The score is computed on a copy of the weights' absolute values and the
    original weights are restored afterwards. Batch normalisation and
    dropout run in inference mode. The logarithm keeps the number readable;
    the ranking is the same. A network whose flow overflows float32 scores
    `inf`; one with no flow (no trainable path) scores `-inf`.

    Example:

    ```python
    import keras
    from kerasnas.proxies import synflow
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    synflow(model)
    ```

    Args:
        model: a built Keras model with one input.

    Returns:
        `log(sum(|theta * dR/dtheta|))`.
    """
    import tensorflow as tf

    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    scored = keras.Model(inputs, _score_output(model))
    saved = [w.numpy() for w in scored.weights]
    try:
        for w, value in zip(scored.weights, saved):
            w.assign(np.abs(value))
        x = tf.ones((1,) + tuple(int(d) for d in model.inputs[0].shape[1:]), dtype="float32")
        with tf.GradientTape() as tape:
            total = tf.reduce_sum(scored(x, training=False))
        weights = scored.trainable_weights
        grads = tape.gradient(total, weights)
        score = 0.0
        for w, g in zip(weights, grads):
            if g is not None:
                score += float(tf.reduce_sum(tf.abs(w * g)).numpy())
    finally:
        for w, value in zip(scored.weights, saved):
            w.assign(value)
    if not math.isfinite(score):
        return math.inf
    return math.log(score) if score > 0 else -math.inf
