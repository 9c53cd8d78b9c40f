"""
Title: Long searches: worker processes, time limits, successive halving, resume and reports
Author: the kerasnas team
Date created: 2026/11/28
Last modified: 2026/11/28
Description: Run a search you can leave overnight: trials in recycled worker
processes with time and memory limits, successive halving to spend epochs
where they matter, resume after an interruption, TensorBoard logs and a
report.
Accelerator: None (a few minutes on 2 CPU cores)
"""

"""
## Introduction

A neural architecture search that runs for hours has to survive what hours
bring: memory that creeps up, a candidate that hangs or explodes, a machine
that reboots. This tutorial runs a random search on MNIST-1D with the
settings meant for that:

* `executor="process"`: trials run in worker processes that are reused and
  replaced every 25 trials (flat memory); a trial over `trial_timeout` or
  over `max_memory_mb` is killed and recorded as failed, and the search goes
  on;
* `pruner="asha"`: asynchronous successive halving stops the trials that are
  not in the top third at 1 and 3 epochs, so most epochs go to the
  promising ones;
* the journal: running the same call again resumes the search;
* `tensorboard=True` and `kerasnas.report.write_report(...)` to look at it.

Set `KERASNAS_TUTORIAL_QUICK=1` to run a shortened version (the test suite
does).
"""

import os
import tempfile

import kerasnas
from kerasnas.data import from_arrays, load_mnist1d
from kerasnas.report import write_report

QUICK = os.environ.get("KERASNAS_TUTORIAL_QUICK") == "1"
TRIALS = 4 if QUICK else 24
EPOCHS = 3 if QUICK else 9

"""
## The data

MNIST-1D is generated offline. The quick mode keeps 800 training sequences.
"""

data = load_mnist1d()
if QUICK:
    (x, y), validation = data.train, data.validation
    data = from_arrays(x[:800], y[:800], validation_data=(validation[0][:200], validation[1][:200]))
print("training inputs", data.train[0].shape)

"""
## A search split in two runs

We run half of the trials, stop, and run the same call again with the full
budget: the second run reads the journal, keeps the finished trials and
continues where the first one stopped. The same happens after a crash or
`kill -9` (a trial that was running is retried once), and the trials are
the ones an uninterrupted run with the same seed would have made.
"""

directory = os.path.join(tempfile.mkdtemp(), "overnight")


def run(max_trials):
    return kerasnas.search(
        data=data,
        space="chain",
        strategy="random",
        max_trials=max_trials,
        epochs=EPOCHS,
        seed=0,
        directory=directory,
        executor="process",
        trial_timeout=600,
        max_memory_mb=6000,
        keep_best_models=2,
        pruner="asha",
        pruner_options={"min_epochs": 1, "reduction_factor": 3},
        tensorboard=True,
    )


first = run(TRIALS // 2)
result = run(TRIALS)
print(f"{len(first.trials)} trials in the first run, {len(result.trials)} in all")

"""
## Where the epochs went

Each record says how many epochs it trained (`info["budget"]`) and, when a
pruner stopped it, why. Full training would have cost `TRIALS * EPOCHS`
epochs.
"""

used = sum(t.info.get("budget", 0) for t in result.completed)
print(f"epochs trained: {used} of {len(result.completed) * EPOCHS} for full training")
for trial in result.trials:
    stopped = trial.info.get("stopped_early")
    note = f"stopped: {stopped['reason']}" if stopped else "full budget"
    value = trial.metrics.get("val_accuracy")
    print(
        f"#{trial.number:<3} {trial.status:<9} val_accuracy={value} epochs={trial.info.get('budget')} {note}"
    )
print("best:", result.best_trial.number, result.best_value)

"""
## TensorBoard and the report

The search wrote per-trial curves and the HParams dashboard:

```bash
tensorboard --logdir <directory>/tensorboard
```

`write_report` (or `kerasnas report <directory>`) draws the best value so
far against trials and time, accuracy against size with the Pareto front
and the best architecture, and writes a one-page summary.
"""

paths = write_report(directory)
for name, path in paths.items():
    print(f"{name:>13}: {path}")
print(open(paths["markdown"]).read().split("## Best so far")[0])
