"""Operations with stable names, built as Keras 3 layers for any input rank.

Every operation is a function `op(x, *, name, **params) -> tensor` that works
on flat vectors `(N, F)`, sequences `(N, L, C)` and images `(N, H, W, C)`.
A spatial operation applied to a flat vector first reads the vector as a
sequence of length `F` with one channel (layer `<name>_as_sequence`), so
every operation builds on every input kind.

The names in `OPERATIONS` never change meaning: architecture encodings refer
to them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from kerasnas._lazy import keras
from kerasnas.errors import InvalidArchitectureError


def spatial_rank(x) -> int:
    """Number of spatial axes of a batched tensor: 0 vector, 1 sequence, 2 image."""
    return len(x.shape) - 2


def as_spatial(x, name: str):
    """Reads a flat `(N, F)` tensor as a sequence `(N, F, 1)`; others unchanged."""
    if spatial_rank(x) == 0:
        return keras.layers.Reshape((x.shape[-1], 1), name=f"{name}_as_sequence")(x)
    return x


def as_sequence(x, name: str):
    """Returns `(N, steps, C)`: vectors gain a channel, images flatten H and W."""
    rank = spatial_rank(x)
    if rank == 0:
        return as_spatial(x, name)
    if rank == 2:
        h, w, c = x.shape[1:]
        return keras.layers.Reshape((h * w, c), name=f"{name}_as_sequence")(x)
    return x


def _restore_image(x, like, name: str):
    if spatial_rank(like) == 2:
        h, w = like.shape[1:3]
        return keras.layers.Reshape((h, w, x.shape[-1]), name=f"{name}_as_image")(x)
    return x


def _check_rank(x, name: str):
    rank = spatial_rank(x)
    if rank not in (0, 1, 2):
        raise InvalidArchitectureError(
            f"Operation '{name}' supports vectors, sequences and images "
            f"(rank 2, 3 or 4 tensors). Received: a tensor of shape {tuple(x.shape)}"
        )
    return rank


def conv(x, *, name, width, kernel_size=3, strides=1, dilation_rate=1, use_bias=True):
    """Convolution over the spatial axes (`Conv1D` or `Conv2D`)."""
    x = as_spatial(x, name)
    layer = keras.layers.Conv1D if _check_rank(x, name) == 1 else keras.layers.Conv2D
    return layer(
        width,
        kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        padding="same",
        use_bias=use_bias,
        name=name,
    )(x)


def sepconv(x, *, name, width, kernel_size=3, strides=1, dilation_rate=1, use_bias=True):
    """Depthwise-separable convolution (`SeparableConv1D` or `SeparableConv2D`)."""
    x = as_spatial(x, name)
    if _check_rank(x, name) == 1:
        layer = keras.layers.SeparableConv1D
    else:
        layer = keras.layers.SeparableConv2D
    return layer(
        width,
        kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        padding="same",
        use_bias=use_bias,
        name=name,
    )(x)


def depthwise_conv(x, *, name, kernel_size=3, strides=1, dilation_rate=1, use_bias=False):
    """Depthwise convolution (one filter per channel)."""
    x = as_spatial(x, name)
    if _check_rank(x, name) == 1:
        layer = keras.layers.DepthwiseConv1D
    else:
        layer = keras.layers.DepthwiseConv2D
    return layer(
        kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        padding="same",
        use_bias=use_bias,
        name=name,
    )(x)


def max_pool(x, *, name, pool_size=2, strides=2):
    """Max pooling with `same` padding (halves each spatial axis by default)."""
    x = as_spatial(x, name)
    layer = keras.layers.MaxPooling1D if _check_rank(x, name) == 1 else keras.layers.MaxPooling2D
    return layer(pool_size, strides=strides, padding="same", name=name)(x)


def avg_pool(x, *, name, pool_size=2, strides=2):
    """Average pooling with `same` padding (halves each spatial axis by default)."""
    x = as_spatial(x, name)
    if _check_rank(x, name) == 1:
        layer = keras.layers.AveragePooling1D
    else:
        layer = keras.layers.AveragePooling2D
    return layer(pool_size, strides=strides, padding="same", name=name)(x)


def dense(x, *, name, width, use_bias=True):
    """Fully connected layer on the last axis (pointwise on sequences and images)."""
    _check_rank(x, name)
    return keras.layers.Dense(width, use_bias=use_bias, name=name)(x)


def flatten(x, *, name):
    """Flattens spatial features into one vector (vectors keep their shape).

    Later layers then see a flat vector: `dense` layers after it form a
    multi-layer perceptron on every position at once.
    """
    _check_rank(x, name)
    return keras.layers.Flatten(name=name)(x)


def identity(x, *, name):
    """Returns its input unchanged (adds no layer)."""
    return x


def gru(x, *, name, width):
    """Gated recurrent unit over the sequence axis, returning every step."""
    seq = as_sequence(x, name)
    out = keras.layers.GRU(width, return_sequences=True, name=name)(seq)
    return _restore_image(out, x, name)


def lstm(x, *, name, width):
    """Long short-term memory over the sequence axis, returning every step."""
    seq = as_sequence(x, name)
    out = keras.layers.LSTM(width, return_sequences=True, name=name)(seq)
    return _restore_image(out, x, name)


def attention(x, *, name, width, num_heads=2):
    """Multi-head self-attention over positions, projected to `width` channels."""
    seq = as_sequence(x, name)
    key_dim = max(1, width // num_heads)
    out = keras.layers.MultiHeadAttention(
        num_heads=num_heads, key_dim=key_dim, output_shape=width, name=name
    )(seq, seq)
    return _restore_image(out, x, name)


def pool_for_head(x, pooling: str, name: str = "head"):
    """Reduces a spatial tensor to a vector; vectors pass through.

    Args:
        x: features.
        pooling: `"global_avg"`, `"global_max"` or `"flatten"`.
        name: prefix of the layer name.
    """
    rank = spatial_rank(x)
    if rank == 0:
        return x
    if pooling == "flatten":
        return keras.layers.Flatten(name=f"{name}_flatten")(x)
    if pooling == "global_max":
        layer = keras.layers.GlobalMaxPooling1D if rank == 1 else keras.layers.GlobalMaxPooling2D
        return layer(name=f"{name}_global_max")(x)
    layer = (
        keras.layers.GlobalAveragePooling1D if rank == 1 else keras.layers.GlobalAveragePooling2D
    )
    return layer(name=f"{name}_global_avg")(x)


@dataclasses.dataclass(frozen=True)
class OperationInfo:
    """What an operation needs from a layer's decisions.

    Attributes:
        fn: the builder function.
        uses_width: takes a `width` (filters or units).
        uses_kernel: takes a `kernel_size`.
        trainable: has weights; normalisation and activation follow it in
            chain layers.
        sequence_only: meant for ordered data (recurrent layers); still builds
            on images by reading them as sequences.
    """

    fn: Callable
    uses_width: bool = False
    uses_kernel: bool = False
    trainable: bool = False
    sequence_only: bool = False
    builtin: bool = True


OPERATIONS: dict[str, OperationInfo] = {
    "conv": OperationInfo(conv, uses_width=True, uses_kernel=True, trainable=True),
    "sepconv": OperationInfo(sepconv, uses_width=True, uses_kernel=True, trainable=True),
    "maxpool": OperationInfo(max_pool),
    "avgpool": OperationInfo(avg_pool),
    "dense": OperationInfo(dense, uses_width=True, trainable=True),
    "identity": OperationInfo(identity),
    "flatten": OperationInfo(flatten),
    "gru": OperationInfo(gru, uses_width=True, trainable=True, sequence_only=True),
    "lstm": OperationInfo(lstm, uses_width=True, trainable=True, sequence_only=True),
    "attention": OperationInfo(attention, uses_width=True, trainable=True),
}


#: The names of kerasnas's own operations (never replaced by `kerasnas.ops.register`).
BUILTIN_OPERATIONS = frozenset(OPERATIONS)


def custom_operations() -> dict[str, OperationInfo]:
    """The operations added with `kerasnas.ops.register`, by name."""
    return {name: info for name, info in OPERATIONS.items() if not info.builtin}


def get_operation(name: str) -> OperationInfo:
    """Returns the operation called `name`.

    Raises:
        InvalidArchitectureError: for an unknown name, listing the known ones.
    """
    try:
        return OPERATIONS[name]
    except KeyError:
        raise InvalidArchitectureError(
            f"Unknown operation. Known operations: {sorted(OPERATIONS)}. Received: op={name!r}"
        ) from None
