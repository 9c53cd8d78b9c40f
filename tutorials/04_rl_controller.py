"""
Title: Reinforcement-learning search: an LSTM controller trained with TF-Agents
Author: the kerasnas team
Date created: 2026/11/28
Last modified: 2026/11/28
Description: `strategy="rl"` lets a TF-Agents policy propose architectures one
decision at a time and learn from their scores; inspect, save and reuse it.
Accelerator: None (a few minutes on 2 CPU cores; quick mode about a minute)
"""

"""
## Introduction

In the reinforcement-learning view of NAS (Zoph & Le, 2017), a **controller**
writes down an architecture one decision at a time, the architecture is
evaluated, and its score becomes the controller's **reward**. Architectures
that score above the recent average become more likely; the others less so.

kerasnas implements the controller with TF-Agents:

- the *environment* walks the space's flat decision sequence
  (`space.flat_choices()`): one step per decision, with the outcomes that
  are not allowed (inactive decisions, subset sizes) masked out. It never
  trains anything; the reward arrives once the architecture was evaluated;
- the *policy* is an LSTM that reads the previous decision and outputs a
  softmax over the next one (the classic NAS controller);
- the *agent* is REINFORCE with a moving-average baseline and an entropy
  bonus (PPO is an option), updated after every batch of `batch_size`
  finished trials.

This tutorial:

1. races the controller against random search on NAS-Bench-Macro, a table
   of 6,561 CIFAR-10 architectures (no training needed);
2. prints and plots what the controller learned;
3. saves the policy with TF-Agents' `PolicySaver` and samples from it again;
4. makes the reward cost-aware (MnasNet-style penalty on parameters);
5. runs a real search on MNIST-1D, then resumes it.

Set `KERASNAS_TUTORIAL_QUICK=1` to run a shortened version.
"""

import os

import keras
import numpy as np

import kerasnas
from kerasnas.data import load_mnist1d
from kerasnas.tabular import NasBenchMacro

QUICK = os.environ.get("KERASNAS_TUTORIAL_QUICK") == "1"
QUERIES = 64 if QUICK else 200
SEEDS = 1 if QUICK else 5

"""
## 1. RL versus random search on NAS-Bench-Macro

`NasBenchMacro` scores an architecture by looking up its measured accuracy,
so a query costs microseconds and we can compare strategies over many
queries. We pass a strategy *object* (instead of the name `"rl"`) so we can
look at its controller afterwards. Running several searches with the same
object reuses its compiled TensorFlow functions: the first search pays a
one-time tracing cost of several seconds, the next ones do not.
"""

table = NasBenchMacro()
controller_strategy = kerasnas.strategies.get("rl", batch_size=8, learning_rate=0.01)


def search_table(strategy, seed):
    return kerasnas.search(
        space=table.space,
        evaluator=table.evaluator(),
        objective="accuracy",
        strategy=strategy,
        max_trials=QUERIES,
        seed=seed,
        directory=f"runs/rl_tutorial/{strategy.name}-{seed}",
        overwrite=True,
        verbose=0,
    )


for name, strategy in [("rl", controller_strategy), ("random", "random")]:
    results = [search_table(kerasnas.strategies.get(strategy), s) for s in range(SEEDS)]
    regrets = [table.regret(r.best_value) for r in results]
    print(f"{name:>6}: mean regret after {QUERIES} queries: {np.mean(regrets):.3f} points")
    if name == "rl":
        rl_result = results[-1]

"""
The regret is how many accuracy points the best architecture found lies
below the best one in the table (93.13%). `benchmarks/nas_bench_macro_rl.py`
runs this comparison over 50 seeds; the numbers are in
`benchmarks/RESULTS.md`.

## 2. What did the controller learn?

The controller decides step by step, so the probabilities of a step depend
on the choices before it. `decision_probabilities` reports them along the
controller's most likely architecture (or any architecture you pass).
"""

from kerasnas.strategies import rl  # noqa: E402 - loads TF-Agents

rows = controller_strategy.decision_probabilities()
print(rl.format_probabilities(rows))
rl.plot_probabilities(rows, "runs/rl_tutorial/probabilities.png")
most_likely = controller_strategy.controller.most_likely()
print("most likely architecture:", table.space.to_string(table.space.decode_flat(most_likely)))

"""
## 3. Save the policy and sample from it later

`save_policy` uses TF-Agents' `PolicySaver`: the result is a SavedModel
(plus a small JSON file naming the space). `load_policy` needs no kerasnas
controller, only the space, and samples the same way (same seed, same
architectures).
"""

path = controller_strategy.save_policy("runs/rl_tutorial/policy")
saved = rl.load_policy(path, table.space)
for arch in saved.sample(3, seed=0):
    print("sampled from the saved policy:", table.space.to_string(arch))

"""
## 4. Cost-aware rewards

A `cost_penalty` multiplies the reward by `(cost / target) ** w` (MnasNet):
`w = alpha` below the target and `beta` above it. With `alpha = 0` and
`beta = -1` ("hard"), an architecture twice as large as the target loses half
of its reward. The cost is any metric the trials record: here the table's
parameter count.
"""

target = 1_000_000
small = kerasnas.search(
    space=table.space,
    evaluator=table.evaluator(),
    objective="accuracy",
    strategy="rl",
    strategy_options={
        "batch_size": 8,
        "cost_penalty": {"metric": "params", "target": target, "alpha": 0.0, "beta": -1.0},
    },
    max_trials=QUERIES,
    directory="runs/rl_tutorial/cost_aware",
    overwrite=True,
    verbose=0,
)
for label, result in [("accuracy only", rl_result), ("cost-aware", small)]:
    late = result.trials[-16:]
    params = np.median([t.metrics["params"] for t in late])
    accuracy = np.median([t.metrics["accuracy"] for t in late])
    print(
        f"{label:>13}: last 16 proposals have median {params:,.0f} parameters "
        f"(target {target:,}) and median accuracy {accuracy:.2f}%"
    )

"""
## 5. A real search on MNIST-1D, and resuming it

Here every candidate is trained with `model.fit`. The strategy takes the
first objective as its reward (`val_accuracy`). Running the same call again
on the same `directory` resumes: the journal is replayed through the
strategy, which repeats every controller update, so the controller continues
exactly where it stopped instead of starting from scratch.
"""

data = load_mnist1d()
(x_train, y_train), (x_val, y_val) = data.train, data.validation
if QUICK:
    x_train, y_train = x_train[:600], y_train[:600]

search_options = dict(
    validation_data=(x_val, y_val),
    space="chain",
    strategy="rl",
    strategy_options={"batch_size": 2 if QUICK else 4},
    objective="val_accuracy",
    epochs=1 if QUICK else 8,
    directory="runs/rl_tutorial/mnist1d",
    seed=0,
)
first = kerasnas.search(x_train, y_train, max_trials=2 if QUICK else 12, **search_options)
more = kerasnas.search(x_train, y_train, max_trials=4 if QUICK else 24, **search_options)
more.summary()

"""
The models kerasnas builds are ordinary Keras 3 models, also after an RL
search (TF-Agents runs on legacy Keras inside kerasnas only):
"""

model = more.best_model
assert isinstance(model, keras.Model)
print("best model's validation accuracy:", round(more.best_value, 4))

"""
## Next steps

- Strategy options: `algorithm="ppo"`, `learning_rate`, `entropy_weight`,
  `baseline_decay`, `lstm_units`, `failure_reward` (see
  `kerasnas.strategies.rl.RLStrategy`).
- Reuse the controller in your own loop: `rl.Controller(space)` has
  `sample(n, seed)` and `update(indices, rewards)`.
"""
