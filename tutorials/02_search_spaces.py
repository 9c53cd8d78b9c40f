"""
Title: Search spaces: chains with skips, templates, cells and benchmark presets
Author: the kerasnas team
Date created: 2026/11/28
Last modified: 2026/11/28
Description: The four kinds of search space, your own template as data,
the NAS-Bench-201 and DARTS presets, costs without training, diagrams,
and training settings searched jointly with the architecture.
Accelerator: None (a few minutes on 2 CPU cores; seconds in quick mode)
"""

"""
## Introduction

A **search space** says what may be built. In kerasnas a space is a list of
named *decisions*; an architecture is a plain JSON dict of their values.
The survey taxonomy that kerasnas follows names four kinds of space:

| kind | name in `kerasnas.search(space=...)` | class |
| --- | --- | --- |
| chain-structured | `"chain"` | `ChainSpace` |
| chain with skips | `"chain_skips"` | `SkipChainSpace` |
| architecture template | `"template"` | `TemplateSpace` |
| cells stacked by a macro skeleton | `"cell"`, `"nas_bench_201"`, `"darts"` | `EdgeCellSpace`, `NodeCellSpace` |

Every space offers the same moves to strategies: `sample`, `mutate`,
`crossover`, `neighbours`, `size`, a flat sequence of choices for
controllers, and a canonical key for equivalent encodings. This tutorial
tours them on MNIST-1D (sequences of length 40, generated offline).

Set `KERASNAS_TUTORIAL_QUICK=1` for a shortened run.
"""

import json
import os

import numpy as np

import kerasnas
from kerasnas.builder import plot_architecture
from kerasnas.data import load_mnist1d
from kerasnas.evaluation import architecture_costs

QUICK = os.environ.get("KERASNAS_TUTORIAL_QUICK") == "1"
MAX_TRIALS = 1 if QUICK else 6
EPOCHS = 1 if QUICK else 5
rng = np.random.default_rng(0)

data = load_mnist1d()
(x_train, y_train), (x_val, y_val) = data.train, data.validation
if QUICK:
    x_train, y_train, x_val, y_val = x_train[:600], y_train[:600], x_val[:200], y_val[:200]
print("train", x_train.shape, "validation", x_val.shape)


def run(space, name, **options):
    """A small search; same seed and directory = resumable."""
    result = kerasnas.search(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        space=space,
        max_trials=MAX_TRIALS,
        epochs=EPOCHS,
        directory=f"runs/spaces-{name}",
        keep_best_models=1,
        verbose=1,
        **options,
    )
    best = result.best_trial
    print(
        f"{name}: best val_accuracy {best.metrics['val_accuracy']:.3f} with",
        result.space.describe(best.architecture),
    )
    return result


"""
## 1. Chains with skip connections

`"chain_skips"` is a chain of layers where layer `i` may also read any
subset of earlier outputs (`layer_i.skips`), merged by addition or
concatenation (`layer_i.merge`). Shapes are reconciled automatically:
larger inputs are pooled, channels projected for `add`, so every
encoding builds. For sequences the default operations include GRU, LSTM
and self-attention beside convolutions.
"""

skips = kerasnas.spaces.get("chain_skips", input_shape=(40, 1), max_layers=3, widths=(16, 32))
arch = skips.sample(rng)
print(skips.describe(arch))
print("decisions:", [d.name for d in skips.decisions][:8], "...")
print("size of the space:", skips.size())
child = skips.mutate(arch, rng)
print(
    "a mutation changes one decision:",
    {k: (arch.get(k), child.get(k)) for k in set(arch) | set(child) if arch.get(k) != child.get(k)},
)
run(skips, "chain_skips")

"""
## 2. Architecture templates, including your own

A template is **data**: segments (stem, stages, branches, merges, head)
connected in any DAG, each with parameters; a list is a choice. kerasnas
ships a ResNet/MobileNet-like `staged_template` and a
`multi_branch_template` (for sequences: a convolution, a recurrent and an
attention branch). Here is a template of our own: a stem, two parallel
branches and a merge whose mode is searched, then a stage.
"""

my_template = {
    "name": "two_branches",
    "segments": [
        {"name": "stem", "type": "conv", "params": {"width": [16, 32], "kernel_size": 5}},
        {
            "name": "local",
            "type": "op",
            "inputs": ["stem"],
            "params": {"op": ["conv", "sepconv"], "width": 32, "kernel_size": [3, 7]},
        },
        {
            "name": "context",
            "type": "op",
            "inputs": ["stem"],
            "params": {"op": ["gru", "attention", "maxpool"], "width": 32},
        },
        {
            "name": "mix",
            "type": "merge",
            "inputs": ["local", "context"],
            "params": {"merge": ["add", "concat"]},
        },
        {
            "name": "stage",
            "type": "stage",
            "params": {
                "block": ["residual", "inverted_residual"],
                "depth": [1, 2],
                "width": 32,
                "expansion": {"choices": [2, 4], "when": {"block": ["inverted_residual"]}},
                "strides": 2,
            },
        },
        {"name": "head", "type": "head", "params": {"dropout": [0.0, 0.2]}},
    ],
}
print(json.dumps(my_template)[:120], "...")
template_space = kerasnas.spaces.TemplateSpace(my_template)
print("decisions:", [d.name for d in template_space.decisions])
print(template_space.summary(template_space.sample(rng)))

"""
Templates are checked when the space is made; a typo gets an error that
names the segment and parameter:
"""

try:
    kerasnas.spaces.TemplateSpace(
        {"segments": [{"name": "stem", "type": "conv", "params": {"widht": 16}}]}
    )
except ValueError as error:
    print("ValueError:", error)

run(template_space, "template")

"""
## 3. Cells

Cell spaces search a small DAG and stack it in a fixed macro skeleton.
`"cell"` is an NAS-Bench-201-style edge cell (every edge of a 4-node DAG
picks an operation; for sequences GRU and attention are among them) in a
small skeleton that trains quickly on a CPU.
"""

cells = kerasnas.spaces.get("cell", input_shape=(40, 1))
print(cells.summary(cells.sample(rng)))
run(cells, "cell")

"""
### NAS-Bench-201, exactly

`nas_bench_201()` is the benchmark's space: 15,625 cells, the benchmark's
macro skeleton (16 channels, 3 stages of 5 cells, residual reductions),
and its own arch strings. Many strings describe the same network: an edge
whose input is always zero, or whose output cannot reach the cell output,
changes nothing. The canonical key treats them as one, so strategies do
not evaluate the same network twice.
"""

nb201 = kerasnas.spaces.nas_bench_201()
text = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
arch = nb201.from_string(text)
assert nb201.to_string(arch) == text
cut_off = nb201.from_string(
    "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|"
)
print("canonical form:", nb201.to_string(nb201.canonicalize(cut_off)))
distinct = {nb201.canonical_key(a) for a in nb201.enumerate()}
print(f"{nb201.size()} strings, {len(distinct)} distinct networks by the canonical key")
print("costs without training:", architecture_costs(nb201, arch, (32, 32, 3)))

"""
### DARTS cells

`darts()` is the DARTS search space: 8 operations, 4 intermediate nodes that
each pick two inputs and an operation per input, separate normal and
reduction cells. Architectures convert to and from DARTS genotypes; the
published DARTS-V2 cell at paper scale (36 channels, 20 cells) has DARTS'
3.3M parameters.
"""

darts = kerasnas.spaces.darts()
darts_v2 = darts.from_genotype(kerasnas.spaces.DARTS_V2_GENOTYPE)
print(darts.summary(darts_v2))
paper = kerasnas.spaces.darts(channels=36, num_cells=20)
print(
    "DARTS-V2 at paper scale:",
    architecture_costs(paper, darts_v2, (32, 32, 3))["trainable_params"],
    "trainable parameters",
)

"""
## 4. Seeing an architecture

`space.summary(arch)` is a readable text form; `plot_architecture` draws
the built network to a PNG (with Graphviz if it is installed, otherwise
with matplotlib).
"""

small_nb201 = kerasnas.spaces.nas_bench_201(channels=8, cells_per_stage=1)
path = plot_architecture(small_nb201, arch, (32, 32, 3), "runs/spaces-nb201.png")
print("diagram written to", path)

"""
## 5. Training settings as decisions

`training_choices=True` adds `train.learning_rate`, `train.optimizer`,
`train.batch_size` and `train.weight_decay` to any space, so architecture
and training settings are searched jointly; each trial records them.
"""

result = run(
    "chain",
    "chain_with_training",
    space_options={"max_layers": 2},
    training_choices={"learning_rates": (1e-3, 3e-3), "batch_sizes": (32, 64)},
)
print({k: v for k, v in result.best_architecture.items() if k.startswith("train.")})

"""
## Next steps

- Write your own template as JSON and pass it as
  `kerasnas.search(..., space=kerasnas.spaces.TemplateSpace(template))`.
- For full control subclass `kerasnas.SearchSpace`: declare decisions and
  implement `build_body`.
"""
