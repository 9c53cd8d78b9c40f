"""Cost of a model without training: parameters, FLOPs, measured latency."""

from __future__ import annotations

import math
import time

import numpy as np

from kerasnas._lazy import keras


def count_params(model: keras.Model) -> int:
    """Returns the number of weights (trainable and not) of `model`.

    Example:

    ```python
    import keras
    from kerasnas.evaluation import count_params
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    count_params(model)  # 15
    ```
    """
    return int(sum(math.prod(w.shape) for w in model.weights))


def _shape(tensor) -> tuple:
    return tuple(1 if d is None else int(d) for d in tensor.shape[1:])


def _prod(shape) -> int:
    return int(math.prod(shape)) if shape else 1


def _layer_flops(layer, in_shape: tuple, out_shape: tuple) -> int:
    name = type(layer).__name__
    if name in ("Conv1D", "Conv2D", "Conv3D"):
        k = _prod(layer.kernel_size)
        groups = getattr(layer, "groups", 1) or 1
        return 2 * _prod(out_shape) * k * in_shape[-1] // groups
    if name in ("DepthwiseConv1D", "DepthwiseConv2D"):
        return 2 * _prod(out_shape) * _prod(layer.kernel_size)
    if name in ("SeparableConv1D", "SeparableConv2D"):
        k = _prod(layer.kernel_size)
        c_in = in_shape[-1]
        mult = layer.depth_multiplier
        positions = _prod(out_shape[:-1])
        return 2 * positions * (k * c_in * mult + c_in * mult * out_shape[-1])
    if name in ("Dense", "EinsumDense"):
        return 2 * _prod(out_shape) * in_shape[-1]
    if name in ("GRU", "LSTM", "SimpleRNN"):
        gates = {"GRU": 3, "LSTM": 4, "SimpleRNN": 1}[name]
        steps = in_shape[0] if len(in_shape) > 1 else 1
        units = layer.units
        return 2 * steps * gates * units * (in_shape[-1] + units)
    if name == "MultiHeadAttention":
        steps, d_in = (in_shape[0], in_shape[-1]) if len(in_shape) > 1 else (1, in_shape[-1])
        inner = layer.num_heads * layer.key_dim
        projections = 2 * steps * d_in * inner * 3 + 2 * steps * inner * out_shape[-1]
        scores = 2 * 2 * steps * steps * inner
        return projections + scores
    return 0


def count_flops(model: keras.Model) -> int:
    """Returns the floating-point operations of one forward pass of one sample.

    Counts `2 × multiply-accumulates` of convolutions (plain, depthwise,
    separable), dense, recurrent (GRU, LSTM) and attention layers;
    element-wise work (activations, normalisation, pooling, adds) is left
    out, as in most NAS papers. Nested models are counted through.

    Example:

    ```python
    import keras
    from kerasnas.evaluation import count_flops
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    count_flops(model)  # 24
    ```
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += count_flops(layer)
            continue
        for node in getattr(layer, "_inbound_nodes", []):
            inputs = node.input_tensors
            outputs = node.output_tensors
            if not inputs or not outputs:
                continue
            total += _layer_flops(layer, _shape(inputs[0]), _shape(outputs[0]))
    return int(total)


def measure_latency(
    model: keras.Model,
    batch_size: int = 1,
    repeats: int = 30,
    warmup: int = 3,
    percentiles: tuple = (50, 99),
) -> dict:
    """Measures inference latency of `model` on random inputs, in milliseconds.

    Calls a compiled (`tf.function`) forward pass `repeats` times after
    `warmup` calls and reports the median and other percentiles.

    Example:

    ```python
    import keras
    from kerasnas.evaluation import measure_latency
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    measure_latency(model, repeats=5)["median_ms"]
    ```

    Args:
        model: a built Keras model (several inputs get a dict of random
            tensors keyed by input name).
        batch_size: samples per call.
        repeats: timed calls.
        warmup: untimed calls first (tracing, caches).
        percentiles: which percentiles to report besides the median.

    Returns:
        A dict with `median_ms` and `p<q>_ms` for each percentile.

    Raises:
        ValueError: for a non-positive batch size or repeat count.
    """
    import tensorflow as tf

    if batch_size < 1 or repeats < 1:
        raise ValueError(
            "batch_size and repeats must be >= 1. Received: "
            f"batch_size={batch_size}, repeats={repeats}"
        )
    rng = np.random.default_rng(0)

    def random_input(tensor):
        shape = (batch_size,) + _shape(tensor)
        return tf.constant(rng.normal(size=shape).astype("float32"))

    if len(model.inputs) == 1:
        x = random_input(model.inputs[0])
    else:  # several inputs: a dict keyed by the inputs' names
        x = {t.name: random_input(t) for t in model.inputs}
    forward = tf.function(lambda t: model(t, training=False))
    for _ in range(max(1, warmup)):
        forward(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = forward(x)
        _ = out.numpy() if hasattr(out, "numpy") else out
        times.append((time.perf_counter() - start) * 1000.0)
    result = {"batch_size": batch_size, "median_ms": float(np.median(times))}
    for q in percentiles:
        if q != 50:
            result[f"p{q}_ms"] = float(np.percentile(times, q))
    return result


def architecture_costs(
    space,
    architecture,
    input_shape,
    task=None,
    latency: bool = False,
    repeats: int = 30,
) -> dict:
    """Returns the cost of an architecture without training it.

    Builds the model (fresh weights) and counts its weights and FLOPs; with
    `latency=True` also measures the median batch-1 inference time.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.nas_bench_201(channels=8, cells_per_stage=1)
    arch = space.from_string("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    kerasnas.evaluation.architecture_costs(space, arch, (32, 32, 3))
    # {'params': ..., 'trainable_params': ..., 'flops': ...}
    ```

    Args:
        space: the `SearchSpace`.
        architecture: an architecture of `space`.
        input_shape: shape of one sample, e.g. `(32, 32, 3)`.
        task: the `Task` that sets the head; defaults to 10-class
            classification.
        latency: also measure latency (`latency_ms`, median of `repeats`
            batch-1 calls after warm-up, on this machine).
        repeats: timed calls for the latency.

    Returns:
        A dict with `params` (all weights), `trainable_params`, `flops` (per
        sample, 2 per multiply-accumulate) and, if asked, `latency_ms`.

    Raises:
        InvalidArchitectureError: if the architecture is not in the space.
    """
    from kerasnas.builder import ModelBuilder, Task

    task = task or Task("classification", num_classes=10, label_format="sparse")
    model = ModelBuilder(space, input_shape, task).build(architecture)
    costs = {
        "params": count_params(model),
        "trainable_params": int(sum(math.prod(w.shape) for w in model.trainable_weights)),
        "flops": count_flops(model),
    }
    if latency:
        costs["latency_ms"] = measure_latency(model, repeats=repeats)["median_ms"]
    return costs
