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


#: Width of one character of the diagram's 7.5 pt labels, in inches (with margin).
CHAR_INCHES = 0.068
#: Gap between neighbouring boxes of a row, in characters.
GAP_CHARS = 4
#: Height of one row of boxes, in inches.
ROW_INCHES = 0.8


def _label(layer: dict, show_shapes: bool = True) -> str:
    if not show_shapes:
        return f"{layer['name']}\n{layer['class']}"
    shape = "x".join(str(d) for d in layer["shape"]) if layer["shape"] else "?"
    params = f", {layer['params']:,} params" if layer["params"] else ""
    return f"{layer['name']}\n{layer['class']} {shape}{params}"


def layout(layers: list[dict], edges: list[tuple[str, str]], show_shapes: bool = True) -> dict:
    """Places each layer: a row per depth, boxes side by side without overlapping.

    Rows are the longest path from the input; within a row, boxes are ordered
    by the mean position of their parents (fewer crossing arrows) and spaced
    by their label widths.

    Returns:
        `{name: (x, row, width)}` with `x` and `width` in characters.
    """
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
    widths = {
        layer["name"]: max(len(line) for line in _label(layer, show_shapes).splitlines())
        + GAP_CHARS
        for layer in layers
    }
    position: dict[str, tuple] = {}

    def place(row: int) -> None:
        names = rows[row]
        total = sum(widths[n] for n in names)
        x = -total / 2.0
        for name in names:
            position[name] = (x + widths[name] / 2.0, row, widths[name] - GAP_CHARS)
            x += widths[name]

    for row in sorted(rows):
        names = rows[row]
        if row > 0:
            rows[row] = sorted(names, key=lambda n: _barycentre(n, names, parents, position))
        place(row)
    return position


def _barycentre(name: str, names: list, parents: dict, position: dict) -> tuple:
    xs = [position[p][0] for p in parents.get(name, []) if p in position]
    return (sum(xs) / len(xs) if xs else 0.0, names.index(name))


def _draw(model: keras.Model, title: str | None = None, show_shapes: bool = True):
    """Draws the diagram; returns `(figure, {name: text artist})`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    layers, edges = layer_graph(model)
    position = layout(layers, edges, show_shapes)
    info = {layer["name"]: layer for layer in layers}
    half = max(abs(x) + w / 2.0 for x, _, w in position.values()) + GAP_CHARS
    n_rows = 1 + max(row for _, row, _ in position.values())
    fig_width = max(6.0, 2 * half * CHAR_INCHES)
    fig_height = max(3.0, ROW_INCHES * n_rows + 1.0)
    fig, ax = plt.subplots(figsize=(fig_width, fig_height))
    ax.set_position([0.0, 0.0, 1.0, 1.0 - 0.6 / fig_height])
    for parent, child in edges:
        (x0, y0, _), (x1, y1, _) = position[parent], position[child]
        ax.annotate(
            "",
            xy=(x1, -y1 + 0.25),
            xytext=(x0, -y0 - 0.25),
            arrowprops={"arrowstyle": "->", "color": "0.35", "lw": 1.0},
        )
    texts = {}
    for name, (x, row, _) in position.items():
        texts[name] = ax.text(
            x,
            -row,
            _label(info[name], show_shapes),
            ha="center",
            va="center",
            fontsize=7.5,
            family="monospace",
            bbox={"boxstyle": "round,pad=0.35", "fc": "#e8f0fb", "ec": "#3a6ea5"},
        )
    ax.set_xlim(-half, half)
    ax.set_ylim(-n_rows + 0.4, 0.6)
    ax.axis("off")
    if title:
        fig.suptitle(
            textwrap.fill(title, width=int(fig_width / CHAR_INCHES * 0.9)), fontsize=9, y=0.999
        )
    return fig, texts


def plot_layers(model: keras.Model, path: str | os.PathLike, title: str | None = None) -> str:
    """Draws `model`'s layers as boxes and arrows and saves a PNG.

    Layers sit in rows by their depth from the input; layers on parallel
    branches share a row side by side, spaced by their labels so that no
    two boxes overlap, and ordered to keep arrows from crossing.

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
    import matplotlib.pyplot as plt

    fig, _ = _draw(model, title)
    # Keep the image below matplotlib's pixel limit for very wide or deep models.
    dpi = int(min(110, 30000 / max(fig.get_figwidth(), fig.get_figheight())))
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return str(path)
