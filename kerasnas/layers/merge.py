"""Merging tensors of different shapes: the glue of skips, branches and cells.

`merge(tensors, mode, name)` makes any list of tensors from one network
compatible, then adds or concatenates them, so that every encoding of a
space with skip connections or parallel branches builds:

1. **Rank.** Tensors are lifted to the highest spatial rank among them: a
   flat vector `(F,)` is read as a sequence `(F, 1)` (as the operations in
   `kerasnas.layers.ops` read vectors), a sequence `(L, C)` as an image
   `(L, 1, C)`.
2. **Spatial size.** Every spatial axis is brought to the smallest size
   among the inputs by average pooling with stride `ceil(size / target)`
   (`same` padding); if that undershoots (sizes that do not divide), zeros
   are padded at the end. Nothing is cropped.
3. **Channels.** For `"add"`, inputs whose channels differ from the first
   input's are projected by a pointwise (1×1) `Dense` layer without bias;
   `"concat"` concatenates channels as they are.

Layer names derive from `name`, so the same encoding always yields the same
layer names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kerasnas._lazy import keras
from kerasnas.layers.ops import spatial_rank

MERGE_MODES = ("add", "concat")


def lift_rank(x, rank: int, name: str):
    """Reshapes `x` to `rank` spatial axes by inserting axes of size 1.

    A vector `(F,)` becomes `(F, 1)` then `(F, 1, 1)`; a sequence `(L, C)`
    becomes `(L, 1, C)`.
    """
    current = spatial_rank(x)
    if current >= rank:
        return x
    shape = tuple(int(d) for d in x.shape[1:])
    if current == 0:
        shape = shape + (1,)
        current = 1
    while current < rank:
        shape = shape[:-1] + (1, shape[-1])
        current += 1
    return keras.layers.Reshape(shape, name=f"{name}_lift")(x)


def match_spatial(x, target: Sequence[int], name: str):
    """Pools (and if needed zero-pads) `x`'s spatial axes down to `target`.

    Args:
        x: a tensor with `len(target)` spatial axes, each at least as large
            as the target.
        target: the wanted spatial sizes.
        name: prefix of the layer names.
    """
    sizes = tuple(int(d) for d in x.shape[1:-1])
    target = tuple(int(t) for t in target)
    if sizes == target:
        return x
    rank = len(sizes)
    strides = tuple(max(1, math.ceil(s / t)) for s, t in zip(sizes, target))
    if any(s > 1 for s in strides):
        layer = keras.layers.AveragePooling1D if rank == 1 else keras.layers.AveragePooling2D
        pool = strides[0] if rank == 1 else strides
        x = layer(pool, strides=pool, padding="same", name=f"{name}_pool")(x)
    sizes = tuple(int(d) for d in x.shape[1:-1])
    missing = tuple(t - s for s, t in zip(sizes, target))
    if any(m > 0 for m in missing):
        if rank == 1:
            x = keras.layers.ZeroPadding1D((0, missing[0]), name=f"{name}_pad")(x)
        else:
            x = keras.layers.ZeroPadding2D(((0, missing[0]), (0, missing[1])), name=f"{name}_pad")(
                x
            )
    return x


def project_channels(x, channels: int, name: str):
    """A pointwise projection to `channels` (a 1×1 convolution on spatial inputs)."""
    if int(x.shape[-1]) == channels:
        return x
    return keras.layers.Dense(channels, use_bias=False, name=f"{name}_project")(x)


def reconcile(tensors: Sequence, name: str, same_channels: bool = False) -> list:
    """Returns the tensors with equal rank and spatial size (and channels if asked).

    Args:
        tensors: Keras tensors from one network (vectors, sequences or images).
        name: prefix of the layer names; input `i` uses `<name>_in<i>_...`.
        same_channels: project every tensor to the first one's channels
            (counted after lifting its rank).
    """
    tensors = list(tensors)
    rank = max(spatial_rank(t) for t in tensors)
    lifted = [lift_rank(t, rank, f"{name}_in{i}") for i, t in enumerate(tensors)]
    if rank > 0:
        target = [min(int(t.shape[1 + axis]) for t in lifted) for axis in range(rank)]
        lifted = [match_spatial(t, target, f"{name}_in{i}") for i, t in enumerate(lifted)]
    if same_channels:
        channels = int(lifted[0].shape[-1])
        lifted = [project_channels(t, channels, f"{name}_in{i}") for i, t in enumerate(lifted)]
    return lifted


def merge(tensors: Sequence, mode: str, name: str):
    """Adds or concatenates tensors of any shapes, reconciling them first.

    Example:

    ```python
    import keras
    from kerasnas.layers.merge import merge
    a = keras.Input((16, 8))           # a sequence
    b = keras.Input((8, 32))           # shorter, wider
    c = keras.Input((12,))             # a flat vector, read as (12, 1)
    merge([a, b, c], "add", "node").shape      # (None, 8, 8)
    merge([a, b, c], "concat", "node2").shape  # (None, 8, 41)
    ```

    Args:
        tensors: one or more Keras tensors.
        mode: `"add"` (channels follow the first tensor) or `"concat"`.
        name: prefix of the layer names; the merge layer is `<name>_<mode>`.

    Returns:
        A tensor (the input itself when only one is given).

    Raises:
        ValueError: for an unknown mode or an empty list.
    """
    if mode not in MERGE_MODES:
        raise ValueError(f"`mode` must be one of {list(MERGE_MODES)}. Received: mode={mode!r}")
    tensors = list(tensors)
    if not tensors:
        raise ValueError("merge() needs at least one tensor. Received: tensors=[]")
    if len(tensors) == 1:
        return tensors[0]
    if mode == "add":
        ready = reconcile(tensors, name, same_channels=True)
        return keras.layers.Add(name=f"{name}_add")(ready)
    ready = reconcile(tensors, name)
    return keras.layers.Concatenate(axis=-1, name=f"{name}_concat")(ready)
