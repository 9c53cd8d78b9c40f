"""Your own blocks as candidate operations of chain, chain-with-skips and template spaces.

Register a function that builds a block with Keras layers; spaces then
accept its name in `operations=` (chain spaces) or in a template's `op`
choices, and architectures refer to it by that name, like the built-in
operations (`conv`, `sepconv`, `dense`, ...). The exported SavedModel holds
only the Keras layers the function built, so serving it needs nothing from
kerasnas.

Example:

```python
import keras
import kerasnas

def se_block(x, *, name, width):
    # A squeeze-and-excitation block over a sequence's channels.
    x = keras.layers.Conv1D(width, 3, padding="same", name=f"{name}_conv")(x)
    scale = keras.layers.GlobalAveragePooling1D(keepdims=True, name=f"{name}_squeeze")(x)
    scale = keras.layers.Dense(width, activation="sigmoid", name=f"{name}_excite")(scale)
    return keras.layers.Multiply(name=name)([x, scale])

kerasnas.ops.register("se_block", se_block, uses_width=True, trainable=True)
space = kerasnas.spaces.ChainSpace(max_layers=3, operations=("conv", "se_block", "identity"))
```
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from kerasnas.layers.ops import (
    BUILTIN_OPERATIONS,
    OPERATIONS,
    OperationInfo,
    custom_operations,
    get_operation,
)

__all__ = ["OperationInfo", "get", "names", "register", "registered", "unregister"]


def register(
    name: str,
    build_fn: Callable,
    *,
    uses_width: bool = False,
    uses_kernel: bool = False,
    trainable: bool = False,
    sequence_only: bool = False,
    overwrite: bool = False,
) -> OperationInfo:
    """Adds an operation that spaces accept by name.

    `build_fn(x, *, name, **params)` builds the block on the Keras tensor
    `x` and returns its output tensor. It receives `width=` (filters or
    units) when `uses_width` and `kernel_size=` when `uses_kernel`; it must
    name its layers from `name` (e.g. `f"{name}_conv"`) so that layer names
    stay unique in a model.

    Worker processes (`executor="process"` or `"ray"`) re-register the
    operation from the function's module, so define `build_fn` at module
    level in an importable module to use them.

    Args:
        name: the stable name architectures use (letters, digits, `_`).
        build_fn: the function building the block.
        uses_width: the block takes a `width`, searched by the space.
        uses_kernel: the block takes a `kernel_size`, searched by the space.
        trainable: the block has weights; chain layers add their batch
            normalisation and activation after it.
        sequence_only: meant for ordered data (like `gru`).
        overwrite: replace an operation registered before under this name
            (built-in operations are never replaced).

    Returns:
        The `OperationInfo` now registered.

    Raises:
        ValueError: for a name that is taken or malformed, or a function
            that does not take `name` as a keyword argument.
    """
    if not isinstance(name, str) or not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(
            "An operation name is letters, digits and '_', starting with a letter. "
            f"Received: name={name!r}"
        )
    if name in BUILTIN_OPERATIONS:
        raise ValueError(
            f"'{name}' is a built-in operation and keeps its meaning; choose another name. "
            f"Built-in operations: {sorted(BUILTIN_OPERATIONS)}. Received: name={name!r}"
        )
    if name in OPERATIONS and not overwrite:
        raise ValueError(
            f"An operation named '{name}' is registered already; pass overwrite=True to "
            f"replace it. Received: name={name!r}"
        )
    if not callable(build_fn):
        raise ValueError(
            f"`build_fn` must be a function (x, *, name, ...). Received: build_fn={build_fn!r}"
        )
    _check_signature(build_fn, uses_width, uses_kernel)
    info = OperationInfo(
        build_fn,
        uses_width=bool(uses_width),
        uses_kernel=bool(uses_kernel),
        trainable=bool(trainable),
        sequence_only=bool(sequence_only),
        builtin=False,
    )
    OPERATIONS[name] = info
    return info


def _check_signature(build_fn: Callable, uses_width: bool, uses_kernel: bool) -> None:
    try:
        parameters = inspect.signature(build_fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    needed = ["name"] + (["width"] if uses_width else []) + (["kernel_size"] if uses_kernel else [])
    missing = [n for n in needed if n not in parameters]
    if missing:
        raise ValueError(
            f"`build_fn` must accept the keyword arguments {needed} (x, *, name, ...). "
            f"Received: build_fn={getattr(build_fn, '__name__', build_fn)!r} without {missing}"
        )


def unregister(name: str) -> None:
    """Removes an operation added with `register` (built-in ones stay).

    Raises:
        ValueError: for a built-in or unknown name.
    """
    if name in BUILTIN_OPERATIONS or name not in OPERATIONS:
        raise ValueError(
            f"Only registered operations can be removed. Registered: "
            f"{sorted(custom_operations())}. Received: name={name!r}"
        )
    del OPERATIONS[name]


def get(name: str) -> OperationInfo:
    """Returns the operation called `name` (built-in or registered).

    Raises:
        InvalidArchitectureError: for an unknown name, listing the known ones.
    """
    return get_operation(name)


def names() -> list[str]:
    """Every operation name spaces accept: built-in and registered."""
    return sorted(OPERATIONS)


def registered() -> list[str]:
    """The names added with `register`."""
    return sorted(custom_operations())
