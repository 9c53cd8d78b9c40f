"""The NAS-Bench-Macro space: 8 chain layers × {identity, MB3_K3, MB6_K5}.

Matches the public benchmark of Su et al. (CVPR 2021, "Prioritized
Architecture Sampling with Monte-Carlo Tree Search"): 6,561 architectures
encoded as 8-digit strings such as `"22212220"`, whose CIFAR-10 accuracies
are tabulated (see `kerasnas.tabular.NasBenchMacro`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kerasnas._lazy import keras
from kerasnas.errors import InvalidArchitectureError
from kerasnas.layers import ops as op_lib
from kerasnas.spaces.decisions import Categorical
from kerasnas.spaces.space import Architecture, SearchSpace

MACRO_OPERATIONS = ("identity", "MB3_K3", "MB6_K5")
_EXPANSION_AND_KERNEL = {"MB3_K3": (3, 3), "MB6_K5": (6, 5)}


def _conv_bn(x, width, kernel_size, strides, name, activation=None):
    x = op_lib.conv(
        x,
        name=f"{name}_conv",
        width=width,
        kernel_size=kernel_size,
        strides=strides,
        use_bias=False,
    )
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    if activation:
        x = keras.layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def inverted_residual(x, width: int, expansion: int, kernel_size: int, strides: int, name: str):
    """MobileNetV2 block: 1×1 expand, k×k depthwise, 1×1 project; residual when shapes match."""
    c_in = x.shape[-1]
    y = _conv_bn(x, c_in * expansion, 1, 1, f"{name}_expand", "relu6")
    y = op_lib.depthwise_conv(y, name=f"{name}_depthwise", kernel_size=kernel_size, strides=strides)
    y = keras.layers.BatchNormalization(name=f"{name}_depthwise_bn")(y)
    y = keras.layers.Activation("relu6", name=f"{name}_depthwise_relu6")(y)
    y = _conv_bn(y, width, 1, 1, f"{name}_project")
    if strides == 1 and c_in == width:
        y = keras.layers.Add(name=f"{name}_residual")([x, y])
    return y


def macro_identity(x, width: int, strides: int, name: str):
    """Identity, or a 1×1 convolution + BN shortcut where the shape changes."""
    if strides == 1 and x.shape[-1] == width:
        return x
    return _conv_bn(x, width, 1, strides, f"{name}_shortcut")


class NasBenchMacroSpace(SearchSpace):
    """NAS-Bench-Macro: a MobileNetV2-like chain of 8 searchable layers.

    Macro skeleton: a 3×3 convolution stem (32 channels, BN, ReLU); 8 layers
    in stages of [2, 3, 3] whose first layer has stride 2 and doubles the
    channels (64, 128, 256); a 1×1 convolution to 1,280 channels (BN, ReLU);
    global average pooling; the classifier. Each layer is `identity`,
    `MB3_K3` (expansion 3, kernel 3) or `MB6_K5` (expansion 6, kernel 5).
    With CIFAR-10-shaped inputs the built models have exactly the
    benchmark's trainable parameter counts. Works on images and sequences.

    Example:

    ```python
    import kerasnas
    space = kerasnas.spaces.nas_bench_macro()
    arch = space.from_string("22212220")   # the benchmark's best architecture
    space.to_string(arch)                  # '22212220'
    space.size()                           # 6561
    ```

    Args:
        stem_width: channels of the stem (benchmark: 32).
        stage_widths: channels of the three stages (benchmark: 64, 128, 256).
        head_width: channels of the final 1×1 convolution (benchmark: 1280).
    """

    kind = "chain"
    STAGES = (2, 3, 3)

    def __init__(
        self,
        stem_width: int = 32,
        stage_widths=(64, 128, 256),
        head_width: int = 1280,
        name: str = "nas_bench_macro",
    ):
        if len(tuple(stage_widths)) != 3:
            raise ValueError(
                f"`stage_widths` needs 3 values. Received: stage_widths={stage_widths!r}"
            )
        self.stem_width = int(stem_width)
        self.stage_widths = tuple(int(w) for w in stage_widths)
        self.head_width = int(head_width)
        decisions = [Categorical(f"layer_{i}", MACRO_OPERATIONS) for i in range(8)]
        super().__init__(decisions, name=name)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            stem_width=self.stem_width,
            stage_widths=list(self.stage_widths),
            head_width=self.head_width,
        )
        return config

    def to_string(self, architecture: Mapping[str, Any]) -> str:
        """Returns the benchmark's 8-digit encoding (0 identity, 1 MB3_K3, 2 MB6_K5)."""
        arch = self.validate(architecture)
        return "".join(str(MACRO_OPERATIONS.index(arch[f"layer_{i}"])) for i in range(8))

    def from_string(self, text: str) -> Architecture:
        """Parses an 8-digit encoding such as `"22212220"`.

        Raises:
            InvalidArchitectureError: for anything but 8 digits in 0-2.
        """
        if not isinstance(text, str) or len(text) != 8 or any(c not in "012" for c in text):
            raise InvalidArchitectureError(
                "A NAS-Bench-Macro encoding is 8 digits, each 0 (identity), 1 (MB3_K3) "
                f"or 2 (MB6_K5). Received: {text!r}"
            )
        return self.validate({f"layer_{i}": MACRO_OPERATIONS[int(c)] for i, c in enumerate(text)})

    def describe(self, architecture: Mapping[str, Any]) -> str:
        return self.to_string(architecture)

    def build_body(self, architecture: Architecture, inputs):
        x = op_lib.as_spatial(inputs, "stem")
        x = _conv_bn(x, self.stem_width, 3, 1, "stem", "relu")
        layer = 0
        for depth, width in zip(self.STAGES, self.stage_widths):
            for position in range(depth):
                op = architecture[f"layer_{layer}"]
                strides = 2 if position == 0 else 1
                name = f"layer_{layer}_{op.lower()}"
                if op == "identity":
                    x = macro_identity(x, width, strides, name)
                else:
                    expansion, kernel = _EXPANSION_AND_KERNEL[op]
                    x = inverted_residual(x, width, expansion, kernel, strides, name)
                layer += 1
        x = _conv_bn(x, self.head_width, 1, 1, "head", "relu")
        return op_lib.pool_for_head(x, "global_avg")


def nas_bench_macro(**options) -> NasBenchMacroSpace:
    """Returns the NAS-Bench-Macro space (see `NasBenchMacroSpace`)."""
    return NasBenchMacroSpace(**options)
