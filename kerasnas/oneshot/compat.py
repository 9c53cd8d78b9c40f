"""One-shot-compatible versions of chain spaces (what `search(space="chain", strategy="spos")` uses)."""

from __future__ import annotations

from collections.abc import Sequence

from kerasnas.oneshot.supernet import RESIZING_CHAIN_OPS, check_supported
from kerasnas.spaces.chain import ChainSpace
from kerasnas.spaces.space import SearchSpace


def _narrowing_steps(space: ChainSpace) -> list[dict]:
    """Settings to narrow, one after another, until a chain layer fits in a supernet."""
    relu = ("relu",) if "relu" in space.activations else space.activations[:1]
    with_bn = (True,) if True in space.batch_norm else space.batch_norm[:1]
    kernels = tuple(k for k in space.kernel_sizes if k in (3, 5)) or space.kernel_sizes[:2]
    return [
        {"dropout": (min(space.dropout),)},
        {"activations": relu},
        {"batch_norm": with_bn},
        {"kernel_sizes": kernels},
        {"widths": tuple(sorted(space.widths))[-2:]},
    ]


#: Candidates per layer a converted space narrows to: each gets 1/N of a
#: supernet's updates, and one-shot methods train well with few (SPOS uses 4
#: per block, DARTS 8 per edge); it also keeps the supernet's graph small.
CONVERTED_CANDIDATES = 8


def one_shot_space(
    space: SearchSpace,
    input_shape: Sequence[int],
    max_candidates: int = 64,
    candidates_per_layer: int = CONVERTED_CANDIDATES,
) -> tuple[SearchSpace, str | None]:
    """Returns `space`, or a version of a chain space that one-shot strategies can search.

    A weight-sharing supernet needs every candidate of a chain layer to keep
    the spatial size (no pooling, no `flatten`), a head that pools globally,
    and few enough candidates per layer. This keeps the operations that
    keep the size (`dense` and `identity` on vectors), the global pooling
    heads, and narrows dropout, activations, batch normalisation, kernel
    sizes and widths, in that order, until a layer has at most
    `candidates_per_layer` candidates. A space that is supported as it is
    stays as it is.

    Example:

    ```python
    import kerasnas
    from kerasnas.oneshot.compat import one_shot_space
    space = kerasnas.spaces.get("chain", input_shape=(40, 1))
    adapted, note = one_shot_space(space, (40, 1))
    print(note)
    ```

    Args:
        space: the search space (a `ChainSpace` or `SkipChainSpace` may be adapted).
        input_shape: shape of one sample.
        max_candidates: the most candidates a supernet layer may hold.
        candidates_per_layer: what a converted space narrows to (at most
            `max_candidates`).

    Returns:
        `(space, None)` if the space is supported as it is, else
        `(adapted_space, note)` with a sentence saying what changed.

    Raises:
        ValueError: for a space that is neither supported nor a chain space
            (the supernet's own reason).
    """
    from kerasnas.spaces import space_from_config

    try:
        check_supported(space, input_shape, max_candidates)
        return space, None
    except ValueError:
        if not isinstance(space, ChainSpace) or getattr(space, "_extra_decisions", None):
            raise
    if len(tuple(input_shape)) == 1:
        operations = tuple(op for op in space.operations if op in ("dense", "identity"))
    else:
        resizing = (*RESIZING_CHAIN_OPS, "flatten")
        operations = tuple(op for op in space.operations if op not in resizing)
    operations = operations or ("identity",)
    heads = tuple(h for h in space.head_pooling if h != "flatten") or ("global_avg",)
    config = space.get_config()
    config.update(
        operations=list(operations), head_pooling=list(heads), name=f"{space.name}_oneshot"
    )
    changed, limit = [], min(int(max_candidates), int(candidates_per_layer))
    adapted = space_from_config(config)
    for step in _narrowing_steps(adapted):
        try:
            check_supported(adapted, input_shape, limit)
            break
        except ValueError:
            config.update({k: list(v) for k, v in step.items()})
            changed += [f"{k}={list(v)}" for k, v in step.items()]
            adapted = space_from_config(config)
    check_supported(adapted, input_shape, max_candidates)
    note = (
        f"One-shot strategies need a supernet-compatible space: searching '{adapted.name}' "
        f"('{space.name}' restricted to operations {list(operations)}, head pooling "
        f"{list(heads)}" + (f", {', '.join(changed)}" if changed else "") + ")."
    )
    return adapted, note
