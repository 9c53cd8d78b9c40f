"""Search spaces: what to search. Decisions, spaces of each kind, and presets."""

from __future__ import annotations

from collections.abc import Sequence

from kerasnas.spaces.cells import (
    DARTS_OPERATIONS,
    DARTS_V2_GENOTYPE,
    NB201_OPERATIONS,
    EdgeCellSpace,
    NodeCellSpace,
    darts,
    nas_bench_201,
)
from kerasnas.spaces.chain import ChainSpace
from kerasnas.spaces.chain_skips import SkipChainSpace
from kerasnas.spaces.decisions import (
    Categorical,
    Condition,
    Decision,
    FlatChoice,
    Subset,
    decision_from_json,
)
from kerasnas.spaces.function import FunctionSpace, HyperParameters
from kerasnas.spaces.nas_bench_macro import NasBenchMacroSpace, nas_bench_macro
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.spaces.template import SEGMENT_TYPES, TemplateSpace
from kerasnas.spaces.templates import TEMPLATES, multi_branch_template, staged_template
from kerasnas.spaces.training import training_decisions, with_training
from kerasnas.validation import accepted_keywords, check_option_keys

#: Space classes that `space_from_config` can rebuild from stored settings.
SPACE_CLASSES = {
    cls.__name__: cls
    for cls in (
        ChainSpace,
        NasBenchMacroSpace,
        SkipChainSpace,
        TemplateSpace,
        EdgeCellSpace,
        NodeCellSpace,
    )
}


def _default_chain(input_shape):
    if input_shape is not None and len(input_shape) == 1:
        return ChainSpace(
            max_layers=4,
            operations=("dense", "identity"),
            widths=(32, 64, 128, 256),
            head_pooling=("global_avg",),
            name="chain",
        )
    # Sequences and images: convolutions and pooling for local structure,
    # `flatten` then `dense` for data without it (an MLP on every position);
    # five layers hold the reference CNN (see ChainSpace.reference_architectures).
    if input_shape is not None and len(input_shape) == 3:
        return ChainSpace(
            max_layers=5,
            operations=SPATIAL_OPERATIONS,
            widths=(16, 32, 64, 128),
            kernel_sizes=(3, 5),
            name="chain",
        )
    if input_shape is None:  # no data (a callable evaluator): the plain ChainSpace
        return ChainSpace(max_layers=4, name="chain")
    return ChainSpace(
        max_layers=5,
        operations=SPATIAL_OPERATIONS,
        widths=(16, 32, 64, 128, 256),
        kernel_sizes=(3, 5, 7),
        name="chain",
    )


#: The default chain space's operations for sequences and images.
SPATIAL_OPERATIONS = ("conv", "sepconv", "maxpool", "avgpool", "dense", "flatten", "identity")


def _input_kind(input_shape) -> str:
    if input_shape is not None and len(input_shape) == 1:
        return "vector"
    if input_shape is not None and len(input_shape) == 2:
        return "sequence"
    return "image"


def _default_chain_skips(input_shape):
    kind = _input_kind(input_shape)
    if kind == "vector":
        return SkipChainSpace(
            max_layers=4,
            operations=("dense", "identity"),
            widths=(32, 64, 128),
            head_pooling=("global_avg",),
            name="chain_skips",
        )
    if kind == "sequence":
        return SkipChainSpace(
            max_layers=4,
            operations=("conv", "sepconv", "maxpool", "gru", "lstm", "attention", "identity"),
            widths=(16, 32, 64),
            kernel_sizes=(3, 5, 7),
            name="chain_skips",
        )
    return SkipChainSpace(
        max_layers=5,
        operations=("conv", "sepconv", "maxpool", "avgpool", "identity"),
        widths=(16, 32, 64),
        kernel_sizes=(3, 5),
        name="chain_skips",
    )


def _default_template(input_shape):
    kind = _input_kind(input_shape)
    if kind == "sequence":
        return TemplateSpace(multi_branch_template("sequence"))
    return TemplateSpace(staged_template(kind))


def _default_cell(input_shape):
    operations = NB201_OPERATIONS
    if _input_kind(input_shape) == "sequence":
        operations = NB201_OPERATIONS + ("gru", "attention")
    return EdgeCellSpace(operations, channels=8, cells_per_stage=1, name="cell")


_DEFAULTS = {
    "chain": _default_chain,
    "nas_bench_macro": lambda input_shape: nas_bench_macro(),
    "chain_skips": _default_chain_skips,
    "template": _default_template,
    "cell": _default_cell,
    "nas_bench_201": lambda input_shape: nas_bench_201(),
    "darts": lambda input_shape: darts(),
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
    check_option_keys(
        "space_options", options, accepted_keywords(type(default)), f"space {space!r}"
    )
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
    "DARTS_OPERATIONS",
    "DARTS_V2_GENOTYPE",
    "Decision",
    "EdgeCellSpace",
    "FlatChoice",
    "FunctionSpace",
    "HyperParameters",
    "NB201_OPERATIONS",
    "NasBenchMacroSpace",
    "NodeCellSpace",
    "SEGMENT_TYPES",
    "SPACE_NAMES",
    "SearchSpace",
    "SkipChainSpace",
    "Subset",
    "TEMPLATES",
    "TemplateSpace",
    "darts",
    "get",
    "multi_branch_template",
    "nas_bench_201",
    "nas_bench_macro",
    "space_from_config",
    "staged_template",
    "training_decisions",
    "with_training",
]
