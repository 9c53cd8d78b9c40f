"""Model cards: what an exported model is, how good it is, and where it came from."""

from __future__ import annotations

import datetime
import platform
from typing import Any


def library_versions() -> dict:
    """Versions of Python and the libraries that shaped the model."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasnas.version import __version__

    return {
        "kerasnas": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def text_diagram(model) -> list[str]:
    """One line per layer, in graph order: name, class, output shape and inputs.

    A diagram that needs no graphviz: merges show every input they take.
    """
    lines = []
    for layer in model.layers:
        parents = []
        for node in getattr(layer, "_inbound_nodes", [])[:1]:
            for tensor in node.input_tensors:
                history = getattr(tensor, "_keras_history", None)
                if history is not None:
                    parents.append(history[0].name)
        shape = tuple(getattr(layer, "output", None).shape) if hasattr(layer, "output") else ()
        text = f"{layer.name} ({type(layer).__name__}) -> {shape}"
        if len(parents) > 1 or (parents and lines and not lines[-1].startswith(parents[0] + " ")):
            text += "  <- " + ", ".join(parents)
        lines.append(text)
    return lines


def serving_inputs_card(model) -> list[dict]:
    """One card entry per serving input: name, shape, dtype and the preprocessing to apply.

    Example:

    ```python
    import keras
    from kerasnas.export.model_card import serving_inputs_card
    inputs = keras.Input((4,), name="inputs")
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    serving_inputs_card(model)[0]["shape"]  # [None, 4]
    ```
    """
    from kerasnas.export.inputs import serving_input_shapes

    layer_names = {layer.name for layer in model.layers}
    shapes = serving_input_shapes(model)
    entries = []
    for (name, shape), tensor in zip(shapes.items(), model.inputs):
        normalised = f"{tensor.name}_normalization" in layer_names or (
            len(shapes) == 1 and "normalization" in layer_names
        )
        entries.append(
            {
                "name": name,
                "shape": [None, *shape],
                "dtype": "float32",
                "preprocessing": (
                    "per-channel normalisation baked into the model: send raw inputs"
                    if normalised
                    else "none: send inputs as the model was trained on them"
                ),
            }
        )
    return entries


def build_model_card(result, record, model) -> dict:
    """Collects a model card for one trial of a search.

    Args:
        result: the `SearchResult`.
        record: the exported trial's `TrialRecord`.
        model: the model being exported (kept or retrained).

    Returns:
        A JSON-compatible dict.
    """
    from kerasnas.evaluation.costs import count_flops, count_params
    from kerasnas.evaluation.fit import evaluate_model

    metrics = record.metrics
    validation = {k: v for k, v in metrics.items() if k.startswith("val_")}
    training = {
        k: v
        for k, v in metrics.items()
        if not k.startswith("val_") and k not in ("params", "flops", "train_time_s", "latency_ms")
    }
    test = {}
    if result.data is not None and result.data.test is not None:
        test = evaluate_model(model, result.data.test)
    task = result.builder.task.to_json() if result.builder is not None else None
    inputs = serving_inputs_card(model)
    return {
        "model_name": model.name,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "architecture": {
            "encoding": dict(record.architecture),
            "key": record.key,
            "space": result.space.name,
            "space_kind": result.space.kind,
            "summary": result.space.describe(record.architecture),
            "diagram": text_diagram(model),
        },
        "params": count_params(model),
        "flops": count_flops(model),
        "metrics": {"validation": validation, "training": training, "test": test},
        "inputs": inputs,
        **({"input": inputs[0]} if len(inputs) == 1 else {}),
        "task": task,
        "search": {
            "directory": str(result.directory),
            "space": result.space.name,
            "strategy": result.settings.get("strategy", {}).get("name"),
            "objective": result.objective.to_json(),
            "objectives": [o.to_json() for o in result.objectives],
            "seed": result.settings.get("seed"),
            "trials": len(result.trials),
            "completed_trials": len(result.completed),
            "trial": record.number,
            "data": result.settings.get("data"),
        },
        "versions": library_versions(),
    }


#: What the model card's latency table measured.
EXPORT_LATENCY_NOTE = (
    "the reloaded SavedModel's `serving_default` signature on random inputs, on this "
    "machine's CPU: median and 99th percentile of 20 calls after 3 warm-up calls, per "
    "batch size (the search's `latency_ms` is the Keras model at batch 1 instead)"
)


def describe_task(task: dict | None) -> str:
    """A task dict as a sentence, e.g. `classification into 10 classes (integer labels)`."""
    if not task:
        return "not recorded (the search trained no model)"
    kind = task.get("kind", "unknown")
    if kind == "classification":
        labels = {"sparse": "integer labels", "one_hot": "one-hot labels"}.get(
            task.get("label_format"), f"{task.get('label_format')} labels"
        )
        return f"classification into {task.get('num_classes')} classes ({labels})"
    if kind == "regression":
        dim = task.get("output_dim", 1)
        return f"regression of {dim} value{'s' if dim != 1 else ''}"
    return ", ".join(f"{k} {v}" for k, v in task.items())


def describe_data(data: dict | None) -> str:
    """The search's data summary as a sentence."""
    if not data:
        return "not recorded"
    parts = []
    for key, label in (
        ("num_train", "training"),
        ("num_validation", "validation"),
        ("num_test", "test"),
    ):
        if data.get(key) is not None:
            parts.append(f"{data[key]:,} {label}")
    shape = data.get("input_shape")
    if isinstance(shape, dict):
        shape_text = "inputs " + ", ".join(f"{k} {tuple(v)}" for k, v in shape.items())
    elif shape and isinstance(shape[0], list):
        shape_text = "inputs " + ", ".join(str(tuple(v)) for v in shape)
    else:
        shape_text = f"shape {tuple(shape or ())}"
    counts = " / ".join(parts) + " samples" if parts else "samples"
    text = f"`{data.get('name', 'arrays')}`: {counts} of {shape_text}"
    if data.get("sample_weight"):
        text += ", weighted per sample"
    return text


def describe_objectives(search: dict) -> str:
    """Every objective of the search, the first one marked as the ranking one."""
    objectives = search.get("objectives") or [search.get("objective") or {}]
    names = [f"{o.get('name')} ({o.get('direction')})" for o in objectives if o]
    if not names:
        return "not recorded"
    if len(names) == 1:
        return names[0]
    return (
        f"{names[0]}, which ranks the best trial; also "
        + ", ".join(names[1:])
        + (" (a multi-objective search: this model is one point of the Pareto front)")
    )


def _intended_use(card: dict) -> list[str]:
    search = card.get("search", {})
    data = search.get("data") or {}
    intended = card.get("intended_use") or (
        f"{describe_task(card.get('task')).capitalize()} of inputs like the search's data "
        f"({data.get('name', 'arrays')}), sent raw to the `serving_default` signature. The "
        "architecture was chosen by neural architecture search for this data and objective; "
        "it is not a general-purpose model."
    )
    limitations = card.get("limitations") or [
        "Validation metrics are optimistic: the same validation data chose this architecture "
        "among the search's trials. Use the test metrics (when present) as the estimate.",
        "Quality is only known on data like the search's; inputs from another distribution, "
        "shape or scale were not evaluated.",
        "No fairness, robustness or calibration analysis was made.",
        "Latency figures are from the exporting machine's CPU and vary with hardware, batch "
        "size and server settings.",
    ]
    if isinstance(limitations, str):
        limitations = [limitations]
    return (
        ["## Intended use", "", intended, "", "## Limitations", ""]
        + [f"- {item}" for item in limitations]
        + [""]
    )


def _versions(versions: dict | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in (versions or {}).items()) or "not recorded"


def _table(rows: dict) -> list[str]:
    if not rows:
        return ["(none)"]
    lines = ["| metric | value |", "| --- | --- |"]
    for key, value in rows.items():
        if isinstance(value, float):
            text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4f}"
        else:
            text = str(value)
        lines.append(f"| {key} | {text} |")
    return lines


def render_markdown(card: dict[str, Any]) -> str:
    """Renders a model card dict as a readable `MODEL_CARD.md`."""
    arch = card.get("architecture", {})
    search = card.get("search", {})
    lines = [
        f"# Model card: {card.get('model_name', 'kerasnas model')}",
        "",
        f"Exported {card.get('created_at', '')} by kerasnas "
        f"{card.get('versions', {}).get('kerasnas', '')}.",
        "",
    ]
    lines += _intended_use(card)
    lines += [
        "## Architecture",
        "",
        f"- Space: `{arch.get('space')}` ({arch.get('space_kind')}), key `{arch.get('key')}`",
        f"- Summary: `{arch.get('summary')}`",
        f"- Parameters: {card.get('params', 0):,}; FLOPs per sample: {card.get('flops', 0):,}",
        "",
        "Encoding (`architecture.json`):",
        "",
        "```json",
    ]
    import json

    lines += json.dumps(arch.get("encoding", {}), indent=2, sort_keys=True).splitlines()
    lines += ["```", ""]
    if card.get("diagram_file"):
        lines += [f"![architecture diagram]({card['diagram_file']})", ""]
    if arch.get("diagram"):
        lines += (
            ["Layers, in graph order (`<-` marks inputs other than the line above):", "", "```"]
            + list(arch["diagram"])
            + ["```", ""]
        )
    if card.get("retrained"):
        lines += [f"Retrained from scratch before export: {card['retrained']}.", ""]
    lines += ["## Metrics", ""]
    for split in ("validation", "test", "training"):
        lines += [f"### {split.capitalize()}", ""] + _table(card.get("metrics", {}).get(split, {}))
        lines.append("")
    latency = card.get("latency")
    if latency:
        lines += [
            "## CPU latency",
            "",
            f"Measured: {EXPORT_LATENCY_NOTE}.",
            "",
            "| batch | median ms | p99 ms |",
            "| --- | --- | --- |",
        ]
        for row in latency:
            lines.append(
                f"| {row['batch_size']} | {row['median_ms']:.3f} | {row.get('p99_ms', float('nan')):.3f} |"
            )
        lines.append("")
    inputs = card.get("inputs") or [card.get("input", {})]
    lines += ["## Serving", ""]
    lines += [
        f"- Input `{inp.get('name')}`: float32, shape {inp.get('shape')}; {inp.get('preprocessing')}"
        for inp in inputs
    ]
    lines += [
        f"- Task: {describe_task(card.get('task'))}",
        "",
        "## Provenance",
        "",
        f"- Search directory: `{search.get('directory')}`; trial #{search.get('trial')} of "
        f"{search.get('trials')} ({search.get('completed_trials')} completed)",
        f"- Strategy `{search.get('strategy')}`, seed {search.get('seed')}",
        f"- Objectives: {describe_objectives(search)}",
        f"- Data: {describe_data(search.get('data'))}",
        f"- Versions: {_versions(card.get('versions'))}",
        "",
    ]
    return "\n".join(lines)
