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
    shape = [None] + [int(d) for d in model.inputs[0].shape[1:]]
    layer_names = {layer.name for layer in model.layers}
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
        "input": {
            "name": "inputs",
            "shape": shape,
            "dtype": "float32",
            "preprocessing": (
                "per-channel normalisation baked into the model: send raw inputs"
                if "normalization" in layer_names
                else "none: send inputs as the model was trained on them"
            ),
        },
        "task": task,
        "search": {
            "directory": str(result.directory),
            "space": result.space.name,
            "strategy": result.settings.get("strategy", {}).get("name"),
            "objective": result.objective.to_json(),
            "seed": result.settings.get("seed"),
            "trials": len(result.trials),
            "completed_trials": len(result.completed),
            "trial": record.number,
            "data": result.settings.get("data"),
        },
        "versions": library_versions(),
    }


def _table(rows: dict) -> list[str]:
    if not rows:
        return ["(none)"]
    lines = ["| metric | value |", "| --- | --- |"]
    for key, value in rows.items():
        text = f"{value:.4f}" if isinstance(value, float) else str(value)
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
        lines += ["## CPU latency", "", "| batch | median ms | p99 ms |", "| --- | --- | --- |"]
        for row in latency:
            lines.append(
                f"| {row['batch_size']} | {row['median_ms']:.3f} | {row.get('p99_ms', float('nan')):.3f} |"
            )
        lines.append("")
    inp = card.get("input", {})
    lines += [
        "## Serving",
        "",
        f"- Input `{inp.get('name')}`: float32, shape {inp.get('shape')}; {inp.get('preprocessing')}",
        f"- Task: {card.get('task')}",
        "",
        "## Provenance",
        "",
        f"- Search directory: `{search.get('directory')}`; trial #{search.get('trial')} of "
        f"{search.get('trials')} ({search.get('completed_trials')} completed)",
        f"- Strategy `{search.get('strategy')}`, objective {search.get('objective')}, "
        f"seed {search.get('seed')}",
        f"- Data: {search.get('data')}",
        f"- Versions: {card.get('versions')}",
        "",
    ]
    return "\n".join(lines)
