"""
Title: Evolutionary and multi-objective architecture search
Author: the kerasnas team
Date created: 2026/11/28
Last modified: 2026/11/28
Description: Regularized (aging) evolution on a benchmark table and on
MNIST-1D, then an NSGA-II search that trades accuracy for model size and
exports a small model from the Pareto front.
Accelerator: None (a few minutes on 2 CPU cores; quick mode under a minute)
"""

"""
## Introduction

Evolutionary search keeps a **population** of architectures that have
been trained. To propose the next one it picks a **parent** by a small
tournament (draw a few members, keep the best) and **mutates** it: one
decision changes, for instance a layer's operation or width. In
*regularized* or *aging* evolution (Real et al., 2019) the child then
replaces the **oldest** member, not the worst: every architecture lives for
the same number of steps, so a lucky evaluation cannot dominate the
search forever.

Often one number is not enough: a model must also be small or fast.
A **multi-objective** search keeps the *Pareto front*, the architectures no
other one beats on every objective at once, and lets you pick the trade-off
afterwards. kerasnas implements it in the style of NSGA-II.

This tutorial:

1. compares evolution with random search on NAS-Bench-Macro, a table of
   6,561 trained architectures (no training needed, seconds);
2. runs evolution on MNIST-1D with real training;
3. runs a Pareto search of accuracy against parameter count, with a hard
   limit on size, and exports a small model from the front.

Set `KERASNAS_TUTORIAL_QUICK=1` for a shortened run (the test suite does).
"""

import os

import numpy as np

import kerasnas
from kerasnas.data import load_mnist1d
from kerasnas.spaces import ChainSpace
from kerasnas.tabular import NasBenchMacro

QUICK = os.environ.get("KERASNAS_TUTORIAL_QUICK") == "1"
TABLE_SEEDS = 3 if QUICK else 20
TABLE_QUERIES = 60 if QUICK else 100
TRIALS = 4 if QUICK else 24
POPULATION = 2 if QUICK else 8
EPOCHS = 1 if QUICK else 8

"""
## Evolution versus random search on a benchmark table

`NasBenchMacro` ships the CIFAR-10 accuracies of every architecture of the
NAS-Bench-Macro space (8 layers, each identity, MB3_K3 or MB6_K5).
`table.evaluator()` looks an architecture up instead of training it, so a
whole search takes a moment and we can repeat it over several seeds.
`strategy_options` sets the evolution's parameters: the population size
(also the number of random architectures that start the search) and the
tournament size.
"""

table = NasBenchMacro()
regrets = {"random": [], "evolution": []}
for seed in range(TABLE_SEEDS):
    for name in regrets:
        result = kerasnas.search(
            space=table.space,
            evaluator=table.evaluator(),
            objective="accuracy",
            strategy=name,
            strategy_options={"population_size": 20, "sample_size": 5}
            if name == "evolution"
            else None,
            max_trials=TABLE_QUERIES,
            seed=seed,
            directory=f"runs/evolution-table/{name}-{seed}",
            overwrite=True,
            verbose=0,
        )
        regrets[name].append(table.regret(result.best_value))
for name, values in regrets.items():
    print(
        f"{name:>9}: mean regret after {TABLE_QUERIES} queries "
        f"{np.mean(values):.3f} points below the optimum {table.optimum:.2f}%"
    )

"""
Over 200 seeds (see `benchmarks/RESULTS.md`), evolution's regret after 100
queries is about a seventh of random search's. Both strategies start from
the same random architectures for a given seed; the difference is what
happens once the population has filled.

## Evolution on MNIST-1D

Now with real training. The search space is a chain of up to three layers
for sequences; every candidate is trained for a few epochs and scored on
the validation split. With `strategy="evolution"` the first `population_size`
trials are random, the rest are mutations of tournament winners.
"""

data = load_mnist1d()
x_train, y_train = data.train
x_val, y_val = data.validation
if QUICK:
    x_train, y_train, x_val, y_val = x_train[:400], y_train[:400], x_val[:200], y_val[:200]

space = ChainSpace(
    max_layers=3,
    operations=("conv", "sepconv", "dense", "identity"),
    widths=(8, 16, 32, 64),
    kernel_sizes=(3, 5),
    activations=("relu",),
    batch_norm=(True,),
    dropout=(0.0,),
)

evolution = kerasnas.search(
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    space=space,
    strategy="evolution",
    strategy_options={"population_size": POPULATION, "sample_size": 2},
    max_trials=TRIALS,
    epochs=EPOCHS,
    directory="runs/evolution-mnist1d",
    overwrite=True,
    verbose=0,
)
evolution.summary(top=5)

"""
## Trading accuracy for size: a Pareto search

Pass several objectives and `strategy="nsga2"`. Here we maximise validation
accuracy and minimise the parameter count (`params` is minimised by
default; write `("name", "min")` for other metrics). `max_params` is a hard
limit: a candidate over it is rejected right after it is built, before any
training, and does not count towards `max_trials`.

Other useful objectives are `flops` and `latency_ms` (the median batch-1 CPU
latency, measured for every candidate when it is an objective).
"""

pareto_search = kerasnas.search(
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    test_data=data.test,
    space=space,
    strategy="nsga2",
    strategy_options={"population_size": POPULATION},
    objective=["val_accuracy", "params"],
    max_params=20_000,
    max_trials=TRIALS,
    epochs=EPOCHS,
    directory="runs/pareto-mnist1d",
    overwrite=True,
    verbose=0,
)
rejected = [t for t in pareto_search.trials if t.status == "rejected"]
print(f"{len(rejected)} candidates were rejected for size before training")

front = sorted(pareto_search.pareto_front, key=lambda t: t.metrics["params"])
print("Pareto front (smallest first):")
for trial in front:
    print(
        f"  trial {trial.number:>2}: params={int(trial.metrics['params']):>6,}  "
        f"val_accuracy={trial.metrics['val_accuracy']:.3f}  "
        f"{space.describe(trial.architecture)}"
    )

"""
Every completed trial is a dot; the front is the staircase along the top
left. The plot is written next to the script's working directory.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

completed = pareto_search.completed
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(
    [t.metrics["params"] for t in completed],
    [t.metrics["val_accuracy"] for t in completed],
    label="trials",
    alpha=0.6,
)
ax.step(
    [t.metrics["params"] for t in front],
    [t.metrics["val_accuracy"] for t in front],
    where="post",
    color="C3",
    label="Pareto front",
)
ax.set_xlabel("parameters")
ax.set_ylabel("validation accuracy")
ax.legend()
fig.tight_layout()
fig.savefig("pareto_front.png", dpi=100)
print("saved pareto_front.png")

"""
## Export a member of the front

Pick the trade-off you want, for example the smallest model within two
points of the most accurate one, and export it like any other trial. In a
search with several objectives the trained models of the whole front are
kept on disk, so this needs no retraining.
"""

best_accuracy = max(t.metrics["val_accuracy"] for t in front)
chosen = next(t for t in front if t.metrics["val_accuracy"] >= best_accuracy - 0.02)
info = pareto_search.export("exports/mnist1d-small", trial=chosen.number, overwrite=True)
print(
    f"exported trial {chosen.number} ({int(chosen.metrics['params']):,} parameters) to {info.path}; "
    f"test metrics: {pareto_search.test_metrics(chosen.number)}"
)

"""
## Next steps

- `benchmarks/nas_bench_macro_strategies.py` repeats the first experiment
  over hundreds of seeds and plots regret against the number of queries.
- `RegularizedEvolution(crossover_rate=0.5)` also recombines two parents.
- Add `flops` or `latency_ms` as a third objective, or `max_latency_ms` as a
  hard limit.
"""
