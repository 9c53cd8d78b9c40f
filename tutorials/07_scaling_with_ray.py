"""
Title: Scaling out: parallel trials on Ray, several devices per candidate
Author: the kerasnas team
Date created: 2026/11/28
Last modified: 2026/11/28
Description: Run trials in parallel as Ray actors (on this machine or on a
Ray cluster), see what runs where, survive a worker that dies, and train
each candidate on several devices with tf.distribute.
Accelerator: None (about two minutes on 2 CPU cores); GPUs on a cluster
"""

"""
## Introduction

When one machine is not enough, kerasnas hands trials to
[Ray](https://docs.ray.io): `kerasnas.search(..., executor="ray",
workers=N)`. What runs where:

* **The driver** (the process that calls `kerasnas.search`, or the
  `kerasnas search` command) keeps the strategy, the journal and the kept
  models. It proposes architectures, writes every trial to the journal and
  decides when the search ends. Kill it and run the same call again: the
  search resumes from the journal, as with the other executors.
* **Ray actors** (one per worker) are stateless trial runners. Each starts
  TensorFlow once, receives the data once through Ray's object store, then
  trains one architecture at a time and sends back metrics (and, for
  models worth keeping, the saved model as bytes). An actor is replaced
  after `recycle_after` trials so memory stays flat. A worker that dies
  mid-trial is replaced and its trial runs once more; the retry is
  journaled.
* **Scheduling**: random search and evolution hand a new architecture to a
  worker as soon as it is free; the RL controller proposes a batch of
  architectures per policy update. Each actor declares the CPUs and GPUs it
  needs (`num_cpus`, `num_gpus`), so Ray places it on a node that has them.

### On a cluster

Start a head node and join workers to it with Ray's own commands (every
machine needs the same Python environment, `pip install "kerasnas[all]"`):

```bash
# on the head node
ray start --head --port=6379
# on every worker node
ray start --address=HEAD_IP:6379
# then, on the head node, point kerasnas at the cluster:
kerasnas search --data mnist1d --max-trials 200 --epochs 20 \\
    --executor ray --workers 8 --ray-address auto --gpus-per-trial 1 \\
    --distribution-strategy mirrored --directory runs/cluster
```

`--ray-address ray://HEAD_IP:10001` connects through Ray Client from a
machine outside the cluster. Only the driver's machine needs the search
directory.

### On this machine

Without an address, kerasnas starts a private Ray instance that listens on
127.0.0.1 only, with the dashboard and usage statistics off, and stops it
when the search ends. That is what this tutorial does.

Set `KERASNAS_TUTORIAL_QUICK=1` to run a shortened version (the test suite
does).
"""

import collections
import os
import tempfile

import kerasnas
from kerasnas.data import from_arrays, load_mnist1d
from kerasnas.runtime import RayExecutor

QUICK = os.environ.get("KERASNAS_TUTORIAL_QUICK") == "1"
TRIALS = 4 if QUICK else 12
EPOCHS = 2 if QUICK else 8

"""
## The data

MNIST-1D is generated offline; the quick mode keeps 800 training
sequences.
"""

data = load_mnist1d()
if QUICK:
    (x, y), validation = data.train, data.validation
    data = from_arrays(x[:800], y[:800], validation_data=(validation[0][:200], validation[1][:200]))
print("training inputs", data.train[0].shape)

"""
## Two workers

`RayExecutor` holds the Ray settings: two actors of one CPU each, so the
two trials in flight do not fight over this machine's two cores (each actor
pins TensorFlow to as many threads as CPUs it reserved). `executor="ray",
workers=2` is the short form with the same defaults.
"""

directory = os.path.join(tempfile.mkdtemp(), "ray-search")
result = kerasnas.search(
    data=data,
    space="chain",
    space_options={"max_layers": 4},
    strategy="evolution",
    strategy_options={"population_size": 6, "sample_size": 3},
    max_trials=TRIALS,
    epochs=EPOCHS,
    seed=0,
    directory=directory,
    executor=RayExecutor(workers=2, num_cpus=1),
    keep_best_models=1,
)
print(f"{len(result.completed)} trials completed; best val_accuracy {result.best_value:.3f}")

"""
## What ran where

Each trial's record names the actor process (and host) that ran it; the
driver wrote them all into one journal.
"""

by_worker = collections.Counter(
    (t.info["worker"]["host"], t.info["worker"]["pid"]) for t in result.trials
)
for (host, pid), count in sorted(by_worker.items()):
    print(f"host {host} pid {pid}: {count} trials")

"""
## Resume

Running the same call again with a larger `max_trials` continues the
search: the finished trials are read from the journal, none is repeated,
and the strategy picks up where it left off (evolution rebuilds its
population from the journal). The same holds after the driver is killed.
"""

more = kerasnas.search(
    data=data,
    space="chain",
    space_options={"max_layers": 4},
    strategy="evolution",
    strategy_options={"population_size": 6, "sample_size": 3},
    max_trials=TRIALS + 2,
    epochs=EPOCHS,
    seed=0,
    directory=directory,
    executor=RayExecutor(workers=2, num_cpus=1),
    keep_best_models=1,
)
print(f"{len(more.trials)} trials after resuming (was {len(result.trials)})")

"""
## Several devices per candidate

`distribution_strategy=` trains every candidate, and the final model, with
a `tf.distribute` strategy. Workers build it themselves from its name, on
their own devices: `"mirrored"` uses all GPUs an actor was given
(`num_gpus=`). Without GPUs we split the actor's CPU into two logical
devices (`logical_cpus=2`) to see the same code path: each trial's record
says which devices trained it.
"""

mirrored = kerasnas.search(
    data=data,
    space="chain",
    space_options={"max_layers": 3},
    strategy="random",
    max_trials=2,
    epochs=1,
    seed=0,
    directory=os.path.join(tempfile.mkdtemp(), "mirrored"),
    executor=RayExecutor(workers=1, num_cpus=1, logical_cpus=2),
    distribution_strategy="mirrored",
)
print("trained with:", mirrored.trials[0].info["distribution"])
