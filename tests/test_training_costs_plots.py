"""Training settings searched jointly; costs without training; diagrams as PNG."""

import keras
import numpy as np
import pytest
from conftest import make_data

import kerasnas
from kerasnas.builder import ModelBuilder, Task, plot_architecture, plot_model
from kerasnas.builder.plot import graphviz_available
from kerasnas.evaluation import architecture_costs, count_flops, count_params
from kerasnas.spaces import training_decisions


def test_training_decisions_validate_their_values():
    names = [d.name for d in training_decisions()]
    assert names == [
        "train.learning_rate",
        "train.optimizer",
        "train.batch_size",
        "train.weight_decay",
    ]
    assert [d.name for d in training_decisions(optimizers=None, weight_decays=None)] == [
        "train.learning_rate",
        "train.batch_size",
    ]
    with pytest.raises(ValueError, match=r"Received: -0.1 in learning_rates"):
        training_decisions(learning_rates=(1e-3, -0.1))
    with pytest.raises(ValueError, match=r"optimizers.*Received: 'adagrad'"):
        training_decisions(optimizers=("adam", "adagrad"))
    with pytest.raises(ValueError, match="batch_sizes"):
        training_decisions(batch_sizes=(32.5,))
    with pytest.raises(ValueError, match="every argument was None"):
        training_decisions(None, None, None, None)
    space = kerasnas.spaces.with_training(kerasnas.spaces.darts(), True)
    with pytest.raises(ValueError, match="already has the decisions"):
        kerasnas.spaces.with_training(space, True)
    with pytest.raises(ValueError, match="training_choices"):
        kerasnas.spaces.with_training(space, "yes")


def test_search_varies_and_records_training_settings(tmp_path):
    x, y = make_data("vector", n=64)
    result = kerasnas.search(
        x,
        y,
        space="chain_skips",
        space_options={"widths": (8,), "max_layers": 2},
        training_choices={
            "learning_rates": (1e-3, 1e-2),
            "optimizers": ("adam", "sgd"),
            "batch_sizes": (16, 32),
            "weight_decays": None,
        },
        max_trials=4,
        warm_start=False,  # the reference designs use the default training settings
        epochs=1,
        directory=tmp_path,
        keep_best_models=1,
        verbose=0,
    )
    recorded = [t.architecture for t in result.trials]
    assert all(
        {"train.learning_rate", "train.optimizer", "train.batch_size"} <= set(a) for a in recorded
    )
    assert (
        len(
            {
                (a["train.learning_rate"], a["train.optimizer"], a["train.batch_size"])
                for a in recorded
            }
        )
        > 1
    )
    best = result.best_architecture
    model = result.best_model
    assert type(model.optimizer).__name__.lower() == best["train.optimizer"]
    assert float(model.optimizer.learning_rate) == pytest.approx(best["train.learning_rate"])
    journal = (tmp_path / "journal.jsonl").read_text()
    assert '"train.batch_size"' in journal
    # Resuming with other training choices is refused (the space changed).
    with pytest.raises(kerasnas.errors.IncompatibleSearchError):
        kerasnas.search(
            x,
            y,
            space="chain_skips",
            space_options={"widths": (8,), "max_layers": 2},
            training_choices=True,
            max_trials=4,
            epochs=1,
            directory=tmp_path,
            verbose=0,
        )


def test_architecture_costs_match_the_built_model_and_grow_with_operations():
    space = kerasnas.spaces.nas_bench_201(channels=4, cells_per_stage=1)
    light = space.from_string("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
    heavy = space.from_string(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    )
    costs = architecture_costs(space, heavy, (8, 8, 3), latency=True, repeats=3)
    model = ModelBuilder(space, (8, 8, 3), Task("classification", 10, "sparse")).build(heavy)
    assert costs["params"] == count_params(model) and costs["flops"] == count_flops(model)
    assert costs["latency_ms"] > 0
    light_costs = architecture_costs(space, light, (8, 8, 3))
    # Six 3x3 convolutions per cell at 4, 8 and 16 channels, without bias, plus BN.
    extra = 6 * sum(9 * c * c + 2 * c for c in (4, 8, 16))
    assert costs["trainable_params"] - light_costs["trainable_params"] == extra
    # ... and each 3x3 convolution costs 2 * H * W * 9 * C * C FLOPs.
    extra_flops = 6 * 2 * sum(s * s * 9 * c * c for s, c in ((8, 4), (4, 8), (2, 16)))
    assert costs["flops"] - light_costs["flops"] == extra_flops
    assert "latency_ms" not in light_costs


def is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagrams_are_written_as_png_without_graphviz(tmp_path):
    space = kerasnas.spaces.get("template", (16, 2))
    path = plot_architecture(
        space, space.sample(0), (16, 2), tmp_path / "arch.png", engine="matplotlib"
    )
    assert path.exists() and is_png(path) and path.stat().st_size > 5000
    auto = plot_architecture(
        kerasnas.spaces.darts(channels=4, num_cells=1),
        kerasnas.spaces.darts().sample(0),
        (8, 8, 3),
        tmp_path / "sub" / "cell.png",
    )
    assert is_png(auto)
    with pytest.raises(ValueError, match=r"Received: to_file='.*model.svg'"):
        plot_model(
            keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), tmp_path / "model.svg"
        )


@pytest.mark.skipif(graphviz_available(), reason="Graphviz is installed here")
def test_asking_for_graphviz_without_it_says_how_to_get_it(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ImportError, match="engine='auto' or 'matplotlib'"):
        plot_model(model, tmp_path / "m.png", engine="graphviz")


def test_summaries_read_like_the_architecture():
    nb201 = kerasnas.spaces.nas_bench_201()
    text = nb201.summary(
        nb201.from_string(
            "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
        )
    )
    assert "node 2 = none(node 0) + skip_connect(node 1)" in text
    darts = kerasnas.spaces.darts()
    text = darts.summary(darts.from_genotype(kerasnas.spaces.DARTS_V2_GENOTYPE))
    assert "node 5 = skip_connect(state 0) + dil_conv_3x3(state 2)" in text
    assert "reduction cells at [1, 3]" in text
    assert np.all([len(line) < 140 for line in text.splitlines()])
