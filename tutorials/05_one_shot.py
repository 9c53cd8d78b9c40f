"""
Title: One-shot architecture search: DARTS, ENAS and SPOS on a weight-sharing supernet
Author: the kerasnas team
Date created: 2026/11/28
Last modified: 2026/11/28
Description: Train one supernet instead of many candidates, derive an
architecture from it with DARTS, ENAS or single-path one-shot, and retrain it
from scratch as an ordinary, exportable Keras model.
Accelerator: None (about 10 minutes on 2 CPU cores; quick mode about a minute)
"""

"""
## Introduction

The strategies of the earlier tutorials train every candidate they
propose. A **one-shot** method trains a single network during the search,
the **supernet**: the union of every architecture of the space, where each
candidate operation is present once and its weights are shared by all the
architectures that use it. An architecture is a **path** through the
supernet, and candidates are scored with the weights they inherit, without
training of their own.

kerasnas implements three classic one-shot strategies:

- `strategy="darts"` (Liu et al., 2019) relaxes every choice into a softmax
  mixture with learnable *architecture weights*, and alternates gradient
  steps on the shared weights (training split) and on the architecture
  weights (validation split); the architecture is the argmax;
- `strategy="enas"` (Pham et al., 2018) lets the RL controller of tutorial 04
  sample paths; the sampled paths train the shared weights, and the
  controller learns from their validation accuracy under those weights;
- `strategy="spos"` (Guo et al., 2020) trains the supernet by sampling a
  uniform random path per batch, then runs aging evolution over paths
  scored with the inherited weights.

Whatever the strategy, the result is an ordinary architecture of the space
that kerasnas **retrains from scratch** as a standalone functional model: it
has no supernet leftovers and exports like any other result.

Set `KERASNAS_TUTORIAL_QUICK=1` for a shortened run (the test suite does).
"""

import os

import numpy as np
import tensorflow as tf

import kerasnas
from kerasnas.data import load_mnist1d
from kerasnas.oneshot import build_supernet
from kerasnas.runtime.journal import Journal

QUICK = os.environ.get("KERASNAS_TUTORIAL_QUICK") == "1"
FINAL_EPOCHS = 1 if QUICK else 20

"""
## Data and search space

MNIST-1D: 4,000 one-dimensional sequences of length 40 in 10 classes,
generated offline (published baselines: a CNN reaches about 94% test
accuracy). The space is NAS-Bench-201's cell: a 4-node DAG whose 6 edges each
pick one of `none`, `skip_connect`, `nor_conv_1x1`, `nor_conv_3x3` and
`avg_pool_3x3`, stacked by a small ResNet-like skeleton (15,625 cells).
Cell spaces are the natural home of one-shot methods: every operation keeps
the shape, so all candidates of an edge can be mixed or swapped.
"""

data = load_mnist1d()
x_train, y_train = data.train
x_val, y_val = data.validation
if QUICK:
    x_train, y_train, x_val, y_val = x_train[:400], y_train[:400], x_val[:200], y_val[:200]

space = kerasnas.spaces.EdgeCellSpace(
    kerasnas.spaces.NB201_OPERATIONS,
    channels=4 if QUICK else 16,
    cells_per_stage=1,
    num_stages=1 if QUICK else 3,
    name="nb201_mnist1d",
)
print(space.size(), "cells")

"""
## The supernet

`build_supernet` turns a space into its supernet. Its **choice points** are
the places where it chooses among candidates (here the 6 edges). A path is
one index per choice point; `encode` turns an architecture into its path.
Two architectures that share an operation on an edge use the very same
Keras variables: that is the weight sharing.
"""

supernet = build_supernet(space, data.input_shape, data.task, data.normalization)
print([point.name for point in supernet.choice_points])
print(f"{supernet.count_params():,} shared weights")

a = space.from_string("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_3x3~2|")
b = space.from_string("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|")
print("path a:", supernet.encode(a), " path b:", supernet.encode(b))


def variables_used(arch):
    """The shared variables that get a gradient from one path."""
    with tf.GradientTape() as tape:
        logits = supernet.forward_path(x_val[:16], tf.constant(supernet.encode(arch)))
        loss = tf.reduce_mean(tf.square(logits))
    grads = tape.gradient(loss, supernet.trainable_variables)
    return {
        v.path
        for v, g in zip(supernet.trainable_variables, grads)
        if g is not None and float(tf.reduce_sum(tf.abs(g))) > 0
    }


shared = sorted(p for p in variables_used(a) & variables_used(b) if "node1" in p)
print("edge 1<-0 weights used by both paths:", shared[:2])

"""
The supernet is internal: kerasnas trains it with its own loop
(`tf.GradientTape`, steps compiled once with `tf.function`; a path or the
mixture weights are tensors, so changing them never retraces) and never
exports it.

## SPOS: uniform path training, then evolution on inherited weights

`kerasnas.search(..., strategy="spos")` trains the supernet, lets aging
evolution score `candidates` paths with their inherited weights, and
retrains the best one from scratch. `epochs=` is the training of the final
model; `strategy_options["epochs"]` the supernet's.
"""

spos = kerasnas.search(
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    test_data=data.test,
    space=space,
    strategy="spos",
    strategy_options={"epochs": 1 if QUICK else 20, "candidates": 4 if QUICK else 100},
    epochs=FINAL_EPOCHS,
    directory="runs/oneshot/spos",
    overwrite=True,
)
print(space.to_string(spos.best_architecture), spos.best_value, spos.test_metrics())

"""
Everything the one-shot phase did is in the search's journal, next to the
ordinary record of the retrained model: `oneshot_epoch` events (losses, and
for DARTS the architecture weights), `oneshot_candidate` events (each path
scored with shared weights, as a trial record) and `oneshot_finished` with
the derived architectures and `search_time_s`.
"""

events = list(Journal(spos.directory).events())
print(sorted({e["event"] for e in events}))
finished = next(e for e in events if e["event"] == "oneshot_finished")
print(
    f"one-shot search {finished['search_time_s']:.1f}s; "
    f"retraining {spos.best_trial.duration_s:.1f}s"
)

"""
## DARTS, and its collapse to parameter-free operations

DARTS is famous for drifting toward `skip_connect` and `none` when searched
long enough: they pass gradient easily before the convolutions have learned
anything, so their weights grow, and the derived cell is nearly empty
(NAS-Bench-201 reports all-skip cells at 54.3% on CIFAR-10). kerasnas's
DARTS has two remedies, both on by default
(`mitigation="auxiliary_skip+early_stop"`):

- DARTS-: every edge gets an extra skip connection *outside* the choice,
  with a weight that decays from 1 to 0 during the search, so no candidate
  has to win architecture weight just to carry gradient;
- a DARTS+ style early stop: when parameter-free operations lead more than
  `max_parameter_free` (half) of the choices at the end of an epoch, the
  search stops and derives from the last epoch within the limit.

Each epoch's journal event records `parameter_free_share`, the share of
edges whose strongest operation has no weights. Here we search with plain
DARTS and with the default; `benchmarks/RESULTS.md` has the measured
comparison (on MNIST-1D, plain DARTS drifts to 4 of 6 parameter-free edges
in a long search; DARTS- alone delays the drift, the early stop caps it).
"""

# The quick mode (the test suite's) runs the default only: one epoch compares nothing.
for mitigation in ("auxiliary_skip+early_stop",) if QUICK else ("none", "auxiliary_skip+early_stop"):
    result = kerasnas.search(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        space=space,
        strategy="darts",
        strategy_options={"epochs": 1 if QUICK else 8, "mitigation": mitigation},
        epochs=FINAL_EPOCHS,
        directory=f"runs/oneshot/darts-{mitigation}",
        overwrite=True,
        verbose=0,
    )
    epochs = [e for e in Journal(result.directory).events() if e["event"] == "oneshot_epoch"]
    shares = [round(e["metrics"]["parameter_free_share"], 2) for e in epochs]
    print(f"mitigation={mitigation}: parameter-free share by epoch {shares}")
    print("  derived:", space.to_string(result.best_architecture), f"val {result.best_value:.3f}")

last = epochs[-1]["weights"]["node_3.input_2"]
print("architecture weights of edge 3<-2 after the search:", last)

"""
## ENAS: the RL controller samples paths

ENAS uses the TF-Agents controller (`kerasnas.strategies.rl.Controller`):
each epoch, the controller samples one path per training batch to train the
shared weights, then takes `controller_steps` policy-gradient steps on the
validation accuracy of sampled paths under the shared weights. At the end it
samples `derive_samples` paths; the best by shared-weight accuracy is
retrained. (The controller's first compilation costs some seconds.)
"""

enas = kerasnas.search(
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    space=space,
    strategy="enas",
    strategy_options={
        "epochs": 1 if QUICK else 15,
        "controller_steps": 1 if QUICK else 5,
        "derive_samples": 4 if QUICK else 32,
    },
    epochs=FINAL_EPOCHS,
    directory="runs/oneshot/enas",
    overwrite=True,
    verbose=0,
)
print("ENAS:", space.to_string(enas.best_architecture), f"val {enas.best_value:.3f}")

"""
## The result is an ordinary model

The best model is the retrained standalone functional model, built by the
same `ModelBuilder` as in every other search: no mixed operations, no
architecture weights. It exports to a TensorFlow Serving SavedModel like any
other result.
"""

model = spos.best_model
print(model.name, f"{model.count_params():,} parameters")
print([layer.name for layer in model.layers][:6], "...")
info = spos.export("exports/oneshot_mnist1d", overwrite=True)
print("exported to", info.path)
print(np.argmax(model.predict(data.test[0][:5], verbose=0), axis=-1), data.test[1][:5])

"""
## Resuming, and what is supported

Re-running a search on its directory resumes it. If the derived
architectures are already in the journal, they are retrained without
touching the supernet; otherwise the supernet phase continues after the last
epoch whose weights were checkpointed (a Keras `.weights.h5` file in
`<directory>/oneshot/`; DARTS's architecture weights come back from the
journal; optimizer moments restart), and SPOS's already scored candidates
are replayed.

Supernets exist for `ChainSpace` and `SkipChainSpace` (operations that keep
the spatial size; global pooling heads), `EdgeCellSpace` (like here) and
`NodeCellSpace` (DARTS's own space, `kerasnas.spaces.darts()`). Other spaces
are refused with a message saying why.
"""
