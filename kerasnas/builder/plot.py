"""Diagrams of built architectures, as PNG files.

`plot_model` draws a Keras functional model. With `engine="auto"` it uses
`keras.utils.plot_model` when pydot and Graphviz's `dot` program are both
available, and otherwise draws the same layer graph with matplotlib (a
core dependency), so a diagram is always produced without root access or
system packages. `engine="graphviz"` insists on Graphviz and raises a clear
`ImportError` when it is missing.
"""

from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

from kerasnas._lazy import keras

ENGINES = ("auto", "graphviz", "matplotlib")


def graphviz_available() -> bool:
    """Returns whether pydot is importable and Graphviz's `dot` is on the PATH."""
    try:
        import pydot  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def _layer_graph(model: keras.Model):
    """Returns the layers in order and the `(source, target)` index pairs."""
    layers = list(model.layers)
    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = set()
    for i, layer in enumerate(layers):
        for node in getattr(layer, "_inbound_nodes", []):
            for tensor in node.input_tensors:
                history = getattr(tensor, "_keras_history", None)
                if history is None:
                    continue
                source = history[0]
                if id(source) in index:
                    edges.add((index[id(source)], i))
    return layers, sorted(edges)


def _shape_text(layer) -> str:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return ""
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


def _draw_with_matplotlib(model: keras.Model, path: pathlib.Path, show_shapes: bool, dpi: int):
    """Draws with matplotlib: rows by depth, parallel branches side by side, no overlaps."""
    import matplotlib.pyplot as plt

    from kerasnas.layer_diagram import _draw

    fig, _ = _draw(model, title=model.name, show_shapes=show_shapes)
    # Keep the image below matplotlib's pixel limit for very wide or deep models.
    dpi = int(min(dpi, 30000 / max(fig.get_figwidth(), fig.get_figheight())))
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_model(
    model: keras.Model,
    to_file: str | os.PathLike = "model.png",
    engine: str = "auto",
    show_shapes: bool = True,
    dpi: int = 96,
) -> pathlib.Path:
    """Draws a Keras model's layer graph to a PNG file.

    Example:

    ```python
    import keras
    from kerasnas.builder import plot_model
    inputs = keras.Input((8,), name="inputs")
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(inputs))
    plot_model(model, "/tmp/model.png")
    ```

    Args:
        model: a built Keras model.
        to_file: the PNG path to write.
        engine: `"auto"` (Graphviz if installed, else matplotlib),
            `"graphviz"` (`keras.utils.plot_model`) or `"matplotlib"`.
        show_shapes: print each layer's output shape.
        dpi: image resolution.

    Returns:
        The path written.

    Raises:
        ValueError: for an unknown engine or a path not ending in `.png`.
        ImportError: for `engine="graphviz"` without pydot and Graphviz.
    """
    if engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {list(ENGINES)}. Received: engine={engine!r}")
    path = pathlib.Path(to_file)
    if path.suffix.lower() != ".png":
        raise ValueError(
            f"Diagrams are written as PNG; use a '.png' path. Received: to_file={str(to_file)!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    use_graphviz = engine == "graphviz" or (engine == "auto" and graphviz_available())
    if use_graphviz:
        if not graphviz_available():
            raise ImportError(
                "engine='graphviz' needs the pydot package (pip install pydot) and Graphviz's "
                "`dot` program on the PATH (e.g. apt-get install graphviz, or conda install "
                "graphviz without root). Use engine='auto' or 'matplotlib' to draw without it."
            )
        keras.utils.plot_model(model, to_file=str(path), show_shapes=show_shapes, dpi=dpi)
    else:
        _draw_with_matplotlib(model, path, show_shapes, dpi)
    return path


def plot_architecture(
    space,
    architecture: Mapping[str, Any],
    input_shape: Sequence[int],
    to_file: str | os.PathLike = "architecture.png",
    task=None,
    engine: str = "auto",
    show_shapes: bool = True,
    dpi: int = 96,
) -> pathlib.Path:
    """Builds an architecture and draws its network to a PNG file.

    Example:

    ```python
    import kerasnas
    from kerasnas.builder import plot_architecture
    space = kerasnas.spaces.nas_bench_201(channels=8, cells_per_stage=1)
    arch = space.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
    plot_architecture(space, arch, (32, 32, 3), "/tmp/nb201.png")
    ```

    Args:
        space: the `SearchSpace`.
        architecture: an architecture of `space`.
        input_shape: shape of one sample.
        to_file: the PNG path to write.
        task: the `Task` for the head; defaults to 10-class classification.
        engine: see `plot_model`.
        show_shapes: print each layer's output shape.
        dpi: image resolution.

    Returns:
        The path written.
    """
    from kerasnas.builder.builder import ModelBuilder
    from kerasnas.builder.task import Task

    task = task or Task("classification", num_classes=10, label_format="sparse")
    model = ModelBuilder(space, input_shape, task).build(architecture)
    return plot_model(model, to_file, engine=engine, show_shapes=show_shapes, dpi=dpi)
