"""A simple diagram of a Keras model's layers, drawn with matplotlib (no graphviz).

Layers are placed in rows by their depth from the input (the longest path),
side by side when several share a depth, with an arrow from each layer to
the layers it feeds. Each box shows the layer's name, class and output shape.
"""

from __future__ import annotations

import os
import textwrap

from kerasnas._lazy import keras


def layer_graph(model: keras.Model) -> tuple[list[dict], list[tuple[str, str]]]:
    """Returns `(layers, edges)`: one dict per layer and `(parent, child)` name pairs."""
    layers, edges = [], []
    for layer in model.layers:
        parents = []
        for node in getattr(layer, "_inbound_nodes", []):
            for parent in getattr(node, "parent_nodes", []):
                parents.append(parent.operation.name)
        try:
            shape = tuple(layer.output.shape)[1:]
        except Exception:  # noqa: BLE001 - layers with several outputs
            shape = None
        layers.append(
            {
                "name": layer.name,
                "class": type(layer).__name__,
                "shape": shape,
                "params": int(layer.count_params()) if layer.built else 0,
            }
        )
        edges += [(parent, layer.name) for parent in dict.fromkeys(parents)]
    return layers, edges


def plot_layers(model: keras.Model, path: str | os.PathLike, title: str | None = None) -> str:
    """Draws `model`'s layers as boxes and arrows and saves a PNG.

    Example:

    ```python
    import keras
    from kerasnas.layer_diagram import plot_layers
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    plot_layers(model, "model.png")
    ```

    Args:
        model: a built Keras model.
        path: the PNG file to write.
        title: an optional title.

    Returns:
        The path written, as a string.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layers, edges = layer_graph(model)
    parents: dict[str, list[str]] = {}
    for parent, child in edges:
        parents.setdefault(child, []).append(parent)
    depth: dict[str, int] = {}
    for layer in layers:  # model.layers is in topological order
        depth[layer["name"]] = 1 + max(
            (depth.get(p, 0) for p in parents.get(layer["name"], [])), default=-1
        )
    rows: dict[int, list[str]] = {}
    for layer in layers:
        rows.setdefault(depth[layer["name"]], []).append(layer["name"])
    width = max(len(names) for names in rows.values())
    position = {}
    for d, names in rows.items():
        for i, name in enumerate(names):
            position[name] = (i - (len(names) - 1) / 2.0, -d)
    info = {layer["name"]: layer for layer in layers}
    fig_height = max(3.0, 0.75 * len(rows) + 1.0)
    fig, ax = plt.subplots(figsize=(max(6.0, 3.4 * width), fig_height))
    for parent, child in edges:
        (x0, y0), (x1, y1) = position[parent], position[child]
        ax.annotate(
            "",
            xy=(x1, y1 + 0.22),
            xytext=(x0, y0 - 0.22),
            arrowprops={"arrowstyle": "->", "color": "0.35", "lw": 1.0},
        )
    for name, (x, y) in position.items():
        layer = info[name]
        shape = "x".join(str(d) for d in layer["shape"]) if layer["shape"] else "?"
        label = f"{name}  ({layer['class']})\n{shape}" + (
            f", {layer['params']:,} params" if layer["params"] else ""
        )
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=7.5,
            bbox={"boxstyle": "round,pad=0.35", "fc": "#e8f0fb", "ec": "#3a6ea5"},
        )
    ax.set_xlim(-width / 2.0 - 0.2, width / 2.0 + 0.2)
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.axis("off")
    if title:
        ax.set_title(textwrap.fill(title, width=int(12 * fig.get_figwidth())), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
