"""Search spaces: what to search. Decisions, spaces of each kind, and presets."""

from __future__ import annotations

from collections.abc import Sequence

from kerasnas.spaces.chain import ChainSpace
from kerasnas.spaces.decisions import (
    Categorical,
    Condition,
    Decision,
    FlatChoice,
    Subset,
    decision_from_json,
)
from kerasnas.spaces.nas_bench_macro import NasBenchMacroSpace, nas_bench_macro
from kerasnas.spaces.space import Architecture, SearchSpace

#: Space classes that `space_from_config` can rebuild from stored settings.
SPACE_CLASSES = {cls.__name__: cls for cls in (ChainSpace, NasBenchMacroSpace)}


def _default_chain(input_shape):
    if input_shape is not None and len(input_shape) == 1:
        return ChainSpace(
            max_layers=4,
            operations=("dense", "identity"),
            widths=(32, 64, 128, 256),
            head_pooling=("global_avg",),
            name="chain",
        )
    if input_shape is not None and len(input_shape) == 3:
        return ChainSpace(
            max_layers=5,
            operations=("conv", "sepconv", "maxpool", "avgpool", "identity"),
            widths=(16, 32, 64),
            kernel_sizes=(3, 5),
            name="chain",
        )
    return ChainSpace(max_layers=4, name="chain")


_DEFAULTS = {
    "chain": _default_chain,
    "nas_bench_macro": lambda input_shape: nas_bench_macro(),
}

#: Names accepted by `kerasnas.search(space=...)`.
SPACE_NAMES = tuple(_DEFAULTS)


def get(space, input_shape: Sequence[int] | None = None, **options) -> SearchSpace:
    """Returns a space from a name (a sensible default for the input shape) or an object.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.get("chain", input_shape=(40, 1))
    ```

    Args:
        space: a name from `SPACE_NAMES` or a `SearchSpace`.
        input_shape: shape of one sample; picks operations that suit
            vectors, sequences or images.
        **options: constructor arguments that replace the defaults.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(space, SearchSpace):
        if options:
            raise ValueError(
                "space_options apply to spaces given by name. "
                f"Received: space={space!r} with options {sorted(options)}"
            )
        return space
    if not isinstance(space, str) or space not in _DEFAULTS:
        raise ValueError(
            f"Unknown search space. Known spaces: {list(SPACE_NAMES)}. Received: space={space!r}"
        )
    default = _DEFAULTS[space](tuple(input_shape) if input_shape is not None else None)
    if not options:
        return default
    config = default.get_config()
    config.update(options)
    return space_from_config(config)


def space_from_config(config: dict) -> SearchSpace:
    """Rebuilds a space from `space.get_config()`.

    Raises:
        ValueError: for a space class kerasnas cannot rebuild (custom
            subclasses need their own code).
    """
    config = dict(config)
    class_name = config.pop("class", None)
    extra = config.pop("extra_decisions", None)
    decisions = config.pop("decisions", None)
    if class_name in SPACE_CLASSES:
        space = SPACE_CLASSES[class_name](**config)
    elif decisions is not None:
        space = SearchSpace([decision_from_json(d) for d in decisions], name=config.get("name"))
    else:
        raise ValueError(
            f"Cannot rebuild a space of class {class_name!r} from its settings; "
            f"known classes: {sorted(SPACE_CLASSES)}."
        )
    if extra:
        space = space.with_decisions([decision_from_json(d) for d in extra])
    return space


__all__ = [
    "Architecture",
    "Categorical",
    "ChainSpace",
    "Condition",
    "Decision",
    "FlatChoice",
    "NasBenchMacroSpace",
    "SPACE_NAMES",
    "SearchSpace",
    "Subset",
    "get",
    "nas_bench_macro",
    "space_from_config",
]
