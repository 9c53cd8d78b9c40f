"""Shipped architecture templates (plain JSON data; see `kerasnas.spaces.template`).

Each function returns a fresh template dict that you may edit before
passing it to `TemplateSpace`, or serialise with `json.dumps`.
"""

from __future__ import annotations

INPUT_KINDS = ("image", "sequence", "vector")


def _check_kind(input_kind: str) -> str:
    if input_kind not in INPUT_KINDS:
        raise ValueError(
            f"`input_kind` must be one of {list(INPUT_KINDS)}. Received: input_kind={input_kind!r}"
        )
    return input_kind


def staged_template(input_kind: str = "image") -> dict:
    """A ResNet/MobileNet-like template: stem, three stages with downsampling, head.

    For images and sequences each stage picks its block (`residual` or
    `inverted_residual`), depth (1-2), width and kernel size, and, for
    inverted residual blocks only, the expansion ratio; stages 2 and 3 halve
    the resolution. For flat vectors the stages are residual dense blocks.

    Example:

    ```python
    import kerasnas
    template = kerasnas.spaces.staged_template("image")
    template["segments"][1]["params"]["depth"] = [1, 2, 3]   # deeper first stage
    space = kerasnas.spaces.TemplateSpace(template)
    ```

    Args:
        input_kind: `"image"`, `"sequence"` or `"vector"`.
    """
    _check_kind(input_kind)
    if input_kind == "vector":
        return {
            "name": "staged_mlp",
            "description": "dense stem, two stages of residual dense blocks, head",
            "segments": [
                {"name": "stem", "type": "op", "params": {"op": "dense", "width": [32, 64]}},
                {
                    "name": "stage1",
                    "type": "stage",
                    "params": {
                        "block": "dense",
                        "depth": [1, 2],
                        "width": [32, 64],
                        "activation": ["relu", "gelu"],
                    },
                },
                {
                    "name": "stage2",
                    "type": "stage",
                    "params": {
                        "block": "dense",
                        "depth": [0, 1, 2],
                        "width": [32, 64, 128],
                        "activation": ["relu", "gelu"],
                    },
                },
                {"name": "head", "type": "head", "params": {"dropout": [0.0, 0.2]}},
            ],
        }
    kernels = [3, 5] if input_kind == "image" else [3, 5, 7]
    segments = [
        {"name": "stem", "type": "conv", "params": {"width": [16, 24], "kernel_size": 3}},
    ]
    for index, (widths, strides) in enumerate((([16, 24], 1), ([32, 48], 2), ([64, 96], 2))):
        segments.append(
            {
                "name": f"stage{index + 1}",
                "type": "stage",
                "params": {
                    "block": ["residual", "inverted_residual"],
                    "depth": [1, 2],
                    "width": widths,
                    "kernel_size": kernels,
                    "expansion": {"choices": [3, 6], "when": {"block": ["inverted_residual"]}},
                    "strides": strides,
                },
            }
        )
    segments.append({"name": "head", "type": "head", "params": {"dropout": [0.0, 0.2]}})
    return {
        "name": "staged",
        "description": "ResNet/MobileNet-like: stem, 3 stages (2 downsampling), head",
        "segments": segments,
    }


def multi_branch_template(input_kind: str = "image") -> dict:
    """A multi-branch template: a stem, three parallel branches that merge, a stage, a head.

    Branches for images: a local convolution (`conv`/`sepconv`, kernel
    3/5), a wide one (kernel 5/7) and a pooling or identity branch. For
    sequences: a convolution branch, a recurrent branch (`gru`/`lstm`) and a
    self-attention (or identity) branch. For vectors: dense branches with
    different activations and an identity branch. The merge is `add` or
    `concat`, a decision.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.TemplateSpace(kerasnas.spaces.multi_branch_template("sequence"))
    space.decision("mix.merge").choices  # ('add', 'concat')
    ```

    Args:
        input_kind: `"image"`, `"sequence"` or `"vector"`.
    """
    _check_kind(input_kind)
    if input_kind == "vector":
        stem = {"name": "stem", "type": "op", "params": {"op": "dense", "width": [32, 64]}}
        branches = [
            {
                "name": "relu_branch",
                "type": "op",
                "inputs": ["stem"],
                "params": {"op": "dense", "width": [32, 64], "activation": "relu"},
            },
            {
                "name": "tanh_branch",
                "type": "op",
                "inputs": ["stem"],
                "params": {"op": "dense", "width": [32, 64], "activation": "tanh"},
            },
            {
                "name": "skip_branch",
                "type": "op",
                "inputs": ["stem"],
                "params": {"op": ["identity", "dense"], "width": 32, "activation": "gelu"},
            },
        ]
        stage = {"block": "dense", "depth": [0, 1], "width": [32, 64]}
    else:
        stem = {"name": "stem", "type": "conv", "params": {"width": [16, 32], "kernel_size": 3}}
        local = {
            "name": "local",
            "type": "op",
            "inputs": ["stem"],
            "params": {
                "op": ["conv", "sepconv"],
                "width": [16, 32],
                "kernel_size": [3, 5],
                "batch_norm": True,
            },
        }
        if input_kind == "image":
            branches = [
                local,
                {
                    "name": "wide",
                    "type": "op",
                    "inputs": ["stem"],
                    "params": {
                        "op": ["conv", "sepconv"],
                        "width": [16, 32],
                        "kernel_size": [5, 7],
                        "batch_norm": True,
                    },
                },
                {
                    "name": "pooled",
                    "type": "op",
                    "inputs": ["stem"],
                    "params": {"op": ["maxpool", "avgpool", "identity"]},
                },
            ]
        else:
            branches = [
                local,
                {
                    "name": "recurrent",
                    "type": "op",
                    "inputs": ["stem"],
                    "params": {"op": ["gru", "lstm"], "width": [16, 32]},
                },
                {
                    "name": "attention",
                    "type": "op",
                    "inputs": ["stem"],
                    "params": {"op": ["attention", "identity"], "width": [16, 32]},
                },
            ]
        stage = {
            "block": ["residual", "inverted_residual"],
            "depth": [1, 2],
            "width": [32, 64],
            "kernel_size": [3, 5],
            "expansion": {"choices": [3, 6], "when": {"block": ["inverted_residual"]}},
            "strides": 2,
        }
    names = [b["name"] for b in branches]
    return {
        "name": "multi_branch",
        "description": "stem, three parallel branches merged by add or concat, a stage, head",
        "segments": [stem]
        + branches
        + [
            {
                "name": "mix",
                "type": "merge",
                "inputs": names,
                "params": {"merge": ["add", "concat"]},
            },
            {"name": "stage", "type": "stage", "inputs": ["mix"], "params": stage},
            {"name": "head", "type": "head", "params": {"dropout": [0.0, 0.2]}},
        ],
    }


#: Shipped templates by name; `TemplateSpace("staged")` uses the image flavour.
TEMPLATES = {
    "staged": staged_template,
    "multi_branch": multi_branch_template,
    "mlp": lambda: staged_template("vector"),
}
