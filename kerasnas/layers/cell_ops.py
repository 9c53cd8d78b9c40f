"""Cell operations: channel-preserving ops with the names used by NAS benchmarks.

Every cell operation is `op(x, *, channels, strides, name) -> tensor` with
`channels` output channels and spatial size divided by `strides` (1 or 2).
They work on sequences `(N, L, C)` and images `(N, H, W, C)` (and on flat
vectors, read as `(N, F, 1)` sequences). Semantics follow NAS-Bench-201 and
DARTS:

| name | what it computes |
| --- | --- |
| `none` | zeros (a `Rescaling(0)` layer; subsampled when `strides=2`) |
| `skip_connect` | identity; `FactorizedReduce` when `strides=2` or channels change |
| `nor_conv_1x1`, `nor_conv_3x3` | ReLU → convolution (no bias) → BN |
| `avg_pool_3x3`, `max_pool_3x3` | 3×3 pooling, `same` padding (average excludes padding) |
| `sep_conv_3x3`, `sep_conv_5x5` | twice: ReLU → depthwise → pointwise → BN (DARTS) |
| `dil_conv_3x3`, `dil_conv_5x5` | ReLU → depthwise with dilation 2 → pointwise → BN (DARTS) |
| `gru`, `lstm`, `attention` | the sequence operation of `kerasnas.layers.ops` at `channels` width |

Padding is Keras' `same`, so shapes and parameter counts equal the
PyTorch references; the exact alignment of strided windows may differ.
Layer names are `<name>_<part>`, stable for a given encoding.
"""

from __future__ import annotations

from collections.abc import Callable

from kerasnas._lazy import keras
from kerasnas.errors import InvalidArchitectureError
from kerasnas.layers import ops as op_lib


def _rank(x) -> int:
    return op_lib.spatial_rank(x)


def subsample(x, name: str):
    """Keeps every second position along each spatial axis (no weights)."""
    layer = keras.layers.MaxPooling1D if _rank(x) == 1 else keras.layers.MaxPooling2D
    return layer(1, strides=2, padding="same", name=name)(x)


def relu_conv_bn(x, *, channels, kernel_size, strides, name, dilation_rate=1):
    """ReLU → convolution without bias → batch normalisation."""
    x = op_lib.as_spatial(x, name)
    x = keras.layers.Activation("relu", name=f"{name}_relu")(x)
    x = op_lib.conv(
        x,
        name=f"{name}_conv",
        width=channels,
        kernel_size=kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        use_bias=False,
    )
    return keras.layers.BatchNormalization(name=f"{name}_bn")(x)


def factorized_reduce(x, *, channels, name, strides=2):
    """Halves spatial size with two offset strided 1×1 convolutions (DARTS).

    ReLU; one 1×1 stride-2 convolution on the input and one on the input
    shifted by one position (cropped at the start, zero-padded at the end);
    their outputs are concatenated (`channels // 2` and the rest) and batch
    normalised. With `strides=1` it is ReLU → 1×1 convolution → BN.
    """
    x = op_lib.as_spatial(x, name)
    if strides == 1:
        return relu_conv_bn(x, channels=channels, kernel_size=1, strides=1, name=name)
    x = keras.layers.Activation("relu", name=f"{name}_relu")(x)
    first = channels // 2
    a = op_lib.conv(x, name=f"{name}_conv_a", width=first, kernel_size=1, strides=2, use_bias=False)
    if _rank(x) == 1:
        shifted = keras.layers.Cropping1D((1, 0), name=f"{name}_crop")(x)
        shifted = keras.layers.ZeroPadding1D((0, 1), name=f"{name}_pad")(shifted)
    else:
        shifted = keras.layers.Cropping2D(((1, 0), (1, 0)), name=f"{name}_crop")(x)
        shifted = keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{name}_pad")(shifted)
    b = op_lib.conv(
        shifted,
        name=f"{name}_conv_b",
        width=channels - first,
        kernel_size=1,
        strides=2,
        use_bias=False,
    )
    out = keras.layers.Concatenate(axis=-1, name=f"{name}_concat")([a, b])
    return keras.layers.BatchNormalization(name=f"{name}_bn")(out)


def _none(x, *, channels, strides, name):
    x = op_lib.as_spatial(x, name)
    if strides > 1:
        x = subsample(x, f"{name}_subsample")
    if int(x.shape[-1]) != channels:
        # Zeros of a different width: any linear map of the input works.
        x = keras.layers.Dense(channels, use_bias=False, trainable=False, name=f"{name}_resize")(x)
    return keras.layers.Rescaling(0.0, name=f"{name}_zero")(x)


def _skip(x, *, channels, strides, name):
    x = op_lib.as_spatial(x, name)
    if strides == 1 and int(x.shape[-1]) == channels:
        return x
    return factorized_reduce(x, channels=channels, strides=strides, name=name)


def _nor_conv(kernel_size: int) -> Callable:
    def op(x, *, channels, strides, name):
        return relu_conv_bn(
            x, channels=channels, kernel_size=kernel_size, strides=strides, name=name
        )

    return op


def _pool(kind: str) -> Callable:
    def op(x, *, channels, strides, name):
        fn = op_lib.avg_pool if kind == "avg" else op_lib.max_pool
        x = fn(x, name=f"{name}_pool", pool_size=3, strides=strides)
        if int(x.shape[-1]) != channels:
            x = relu_conv_bn(x, channels=channels, kernel_size=1, strides=1, name=f"{name}_proj")
        return x

    return op


def _depthwise(x, kernel_size, strides, dilation_rate, name):
    # Keras/TF refuse strides > 1 together with dilation > 1: subsample after.
    conv_strides = strides if dilation_rate == 1 else 1
    x = op_lib.depthwise_conv(
        x,
        name=name,
        kernel_size=kernel_size,
        strides=conv_strides,
        dilation_rate=dilation_rate,
        use_bias=False,
    )
    if dilation_rate > 1 and strides > 1:
        x = subsample(x, f"{name}_subsample")
    return x


def _sep_conv(kernel_size: int) -> Callable:
    def op(x, *, channels, strides, name):
        x = op_lib.as_spatial(x, name)
        c_in = int(x.shape[-1])
        for part, (stride, width) in enumerate(((strides, c_in), (1, channels)), start=1):
            x = keras.layers.Activation("relu", name=f"{name}_relu{part}")(x)
            x = _depthwise(x, kernel_size, stride, 1, f"{name}_dw{part}")
            x = op_lib.conv(x, name=f"{name}_pw{part}", width=width, kernel_size=1, use_bias=False)
            x = keras.layers.BatchNormalization(name=f"{name}_bn{part}")(x)
        return x

    return op


def _dil_conv(kernel_size: int) -> Callable:
    def op(x, *, channels, strides, name):
        x = op_lib.as_spatial(x, name)
        x = keras.layers.Activation("relu", name=f"{name}_relu")(x)
        x = _depthwise(x, kernel_size, strides, 2, f"{name}_dw")
        x = op_lib.conv(x, name=f"{name}_pw", width=channels, kernel_size=1, use_bias=False)
        return keras.layers.BatchNormalization(name=f"{name}_bn")(x)

    return op


def _sequence(kind: str) -> Callable:
    def op(x, *, channels, strides, name):
        x = op_lib.as_spatial(x, name)
        fn = op_lib.OPERATIONS[kind].fn
        x = fn(x, name=f"{name}_{kind}", width=channels)
        if strides > 1:
            x = subsample(x, f"{name}_subsample")
        return x

    return op


CELL_OPERATIONS: dict[str, Callable] = {
    "none": _none,
    "skip_connect": _skip,
    "nor_conv_1x1": _nor_conv(1),
    "nor_conv_3x3": _nor_conv(3),
    "avg_pool_3x3": _pool("avg"),
    "max_pool_3x3": _pool("max"),
    "sep_conv_3x3": _sep_conv(3),
    "sep_conv_5x5": _sep_conv(5),
    "dil_conv_3x3": _dil_conv(3),
    "dil_conv_5x5": _dil_conv(5),
    "gru": _sequence("gru"),
    "lstm": _sequence("lstm"),
    "attention": _sequence("attention"),
}


def check_cell_operations(parameter: str, names) -> tuple:
    """Returns `names` as a tuple, or raises `ValueError` for unknown or repeated ones."""
    names = tuple(names)
    if not names:
        raise ValueError(f"`{parameter}` needs at least one operation. Received: {parameter}=()")
    unknown = [n for n in names if n not in CELL_OPERATIONS]
    if unknown:
        raise ValueError(
            f"`{parameter}` has unknown cell operations {unknown}. Known: "
            f"{list(CELL_OPERATIONS)}. Received: {parameter}={list(names)}"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"`{parameter}` repeats an operation. Received: {parameter}={list(names)}")
    return names


def cell_op(op: str, x, *, channels: int, strides: int, name: str):
    """Applies the cell operation `op` (see the table in this module's docstring).

    Raises:
        InvalidArchitectureError: for an unknown operation name.
    """
    try:
        fn = CELL_OPERATIONS[op]
    except KeyError:
        raise InvalidArchitectureError(
            f"Unknown cell operation. Known: {list(CELL_OPERATIONS)}. Received: op={op!r}"
        ) from None
    return fn(x, channels=int(channels), strides=int(strides), name=name)
