"""report.md tables that GitHub renders, and model cards written as text."""

import re

import numpy as np

import kerasnas
from kerasnas.export.model_card import render_markdown
from kerasnas.report import code_cell, shorten, summary_sections, write_report
from kerasnas.spaces import ChainSpace


def scored(arch):
    return {"score": arch["num_layers"] / 4, "params": 1000.0 + arch["num_layers"]}


def test_report_tables_escape_pipes_and_never_cut_a_token(tmp_path):
    space = ChainSpace(max_layers=4)
    result = kerasnas.search(
        space=space, evaluator=scored, max_trials=6, directory=tmp_path, verbose=0, seed=1
    )
    markdown = write_report(tmp_path)["markdown"].read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| #")]
    assert len(rows) == 6
    for row in rows:
        # 7 columns: 8 unescaped pipes; the architecture's own " | " is escaped.
        assert len(re.findall(r"(?<!\\)\|", row)) == 8, row
        assert "\\|" in row
    described = set()
    for record in result.trials:
        described.update(space.describe(record.architecture).split())
    cells = [row.rsplit("`", 2)[1].replace("\\|", "|") for row in rows]
    for cell in cells:
        assert set(cell.split()) - {"…"} <= described, cell
    assert "0.1234" not in markdown and re.search(r"\| 0\.\d{4} \|", markdown)


def test_shorten_cuts_between_tokens_and_code_cells_escape_pipes():
    text = "conv5x32+bn/relu > sepconv3x64/relu > maxpool | global_avg"
    assert shorten(text, 100) == text
    assert shorten(text, 30) == "conv5x32+bn/relu > …"
    assert shorten("a_single_very_long_token and more", 5) == "a_single_very_long_token …"
    assert code_cell("a | b") == "`a \\| b`"


def test_report_says_what_its_latency_measured(tmp_path):
    def with_latency(arch):
        return {"score": float(arch["num_layers"]), "params": 10.0, "latency_ms": 0.123456}

    kerasnas.search(
        space=ChainSpace(max_layers=2),
        evaluator=with_latency,
        max_trials=2,
        directory=tmp_path,
        verbose=0,
    )
    result = kerasnas.load_search(tmp_path)
    assert summary_sections(result)["best"]["metrics"]["latency_ms"] == 0.123456
    markdown = write_report(tmp_path)["markdown"].read_text()
    assert "params 10 · latency_ms 0.12" in markdown
    assert "batch-1 calls of the trained Keras model" in markdown


def card(**extra):
    base = {
        "model_name": "kerasnas_abc",
        "architecture": {"space": "chain", "space_kind": "chain", "summary": "dense64"},
        "params": 1234,
        "flops": 5678,
        "metrics": {"validation": {"val_accuracy": 0.912345}, "training": {}, "test": {}},
        "latency": [{"batch_size": 1, "median_ms": 0.61, "p99_ms": 0.9}],
        "input": {"name": "inputs", "shape": [None, 40, 1]},
        "task": {"kind": "classification", "num_classes": 10, "label_format": "sparse"},
        "search": {
            "strategy": "nsga2",
            "objective": {"name": "val_accuracy", "direction": "max"},
            "objectives": [
                {"name": "val_accuracy", "direction": "max"},
                {"name": "params", "direction": "min"},
            ],
            "data": {
                "name": "mnist1d",
                "input_shape": [40, 1],
                "num_train": 3600,
                "num_validation": 400,
                "num_test": 1000,
                "task": {"kind": "classification"},
            },
        },
        "versions": {"kerasnas": "0.1.0", "keras": "3.15.1"},
    }
    base.update(extra)
    return base


def test_model_card_states_use_limitations_objectives_task_and_data_as_text():
    text = render_markdown(card())
    assert "## Intended use" in text and "## Limitations" in text
    assert "Validation metrics are optimistic" in text
    assert "val_accuracy (max), which ranks the best trial; also params (min)" in text
    assert "Task: classification into 10 classes (integer labels)" in text
    assert (
        "`mnist1d`: 3,600 training / 400 validation / 1,000 test samples of shape (40, 1)" in text
    )
    assert "Versions: kerasnas 0.1.0, keras 3.15.1" in text
    assert "{" not in text.split("## Provenance")[1]  # no Python dicts
    assert "reloaded SavedModel's `serving_default` signature" in text
    assert "| val_accuracy | 0.9123 |" in text


def test_model_card_takes_the_users_intended_use_and_limitations():
    text = render_markdown(card(intended_use="Sorting parcels.", limitations="Daylight only."))
    assert "Sorting parcels." in text and "- Daylight only." in text
    assert "Validation metrics are optimistic" not in text


def test_cell_diagram_boxes_on_parallel_branches_do_not_overlap():
    import matplotlib.pyplot as plt

    from kerasnas.builder import ModelBuilder, Task
    from kerasnas.layer_diagram import _draw

    space = kerasnas.spaces.nas_bench_201(channels=4, cells_per_stage=1)
    arch = space.from_string(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
        "+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|"
    )
    model = ModelBuilder(space, (8, 8, 3), Task.infer(np.arange(3))).build(arch)
    fig, texts = _draw(model, title="cell")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = {n: t.get_bbox_patch().get_window_extent(renderer) for n, t in texts.items()}
    width, _ = fig.canvas.get_width_height()
    names = sorted(boxes)
    for i, a in enumerate(names):
        assert 0 <= boxes[a].x0 and boxes[a].x1 <= width, a  # inside the image
        for b in names[i + 1 :]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)
    # Parallel branches share a row: the widest row has the three edges into node 3.
    rows = {}
    for box in boxes.values():
        rows.setdefault(round(box.y0), []).append(box)
    assert max(len(r) for r in rows.values()) >= 3
    plt.close(fig)


def test_diagram_without_shapes_has_narrower_boxes():
    import keras

    from kerasnas.layer_diagram import layer_graph, layout

    inputs = keras.Input((4,), name="inputs")
    model = keras.Model(inputs, keras.layers.Dense(3, name="dense")(inputs))
    layers, edges = layer_graph(model)
    with_shapes = layout(layers, edges)["dense"][2]
    without = layout(layers, edges, show_shapes=False)["dense"][2]
    assert without < with_shapes
