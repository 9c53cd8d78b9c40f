"""Successive halving against full training on MNIST-1D: same quality, less compute?

For each seed, runs the same random search twice on MNIST-1D (generated
offline): once training every candidate for the full budget, once with
asynchronous successive halving (rungs at 1, 3 and 9 epochs, the top third
continues). With the same seed both runs propose the same architectures,
so the comparison isolates the pruner. Compute is counted in training
epochs (and wall-clock seconds); quality is the best trial's validation
accuracy and its kept model's test accuracy.

    PYTHONPATH=. python benchmarks/successive_halving_mnist1d.py --trials 20 --epochs 9 --seeds 0 1 2

Prints one JSON line per run and a summary; benchmarks/RESULTS.md has the figures.
"""

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import kerasnas
from kerasnas.data import load_mnist1d


def run(data, seed, trials, epochs, pruner):
    with tempfile.TemporaryDirectory() as directory:
        start = time.time()
        result = kerasnas.search(
            data=data,
            space="chain",
            strategy="random",
            max_trials=trials,
            epochs=epochs,
            seed=seed,
            directory=directory,
            keep_best_models=1,
            verbose=0,
            executor="local",
            pruner=pruner,
            pruner_options={"min_epochs": 1, "reduction_factor": 3} if pruner else None,
        )
        wall = time.time() - start
        best = result.best_trial
        test = result.test_metrics()
        return {
            "seed": seed,
            "pruner": pruner or "none",
            "epochs_trained": int(sum(t.info.get("budget", epochs) for t in result.completed)),
            "trials_completed": len(result.completed),
            "stopped_early": sum(1 for t in result.completed if t.info.get("stopped_early")),
            "best_trial": best.number,
            "best_val_accuracy": round(best.metrics["val_accuracy"], 4),
            "best_test_accuracy": round(test.get("test_accuracy", float("nan")), 4),
            "best_epochs": best.info.get("budget"),
            "wall_s": round(wall, 1),
        }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    data = load_mnist1d()
    rows = []
    for seed in args.seeds:
        for pruner in (None, "successive_halving"):
            row = run(data, seed, args.trials, args.epochs, pruner)
            rows.append(row)
            print(json.dumps(row), flush=True)
    full = [r for r in rows if r["pruner"] == "none"]
    halving = [r for r in rows if r["pruner"] != "none"]
    summary = {
        "median_compute_ratio_epochs": float(
            np.median([h["epochs_trained"] / f["epochs_trained"] for f, h in zip(full, halving)])
        ),
        "median_compute_ratio_wall": float(
            np.median([h["wall_s"] / f["wall_s"] for f, h in zip(full, halving)])
        ),
        "median_best_val_full": float(np.median([r["best_val_accuracy"] for r in full])),
        "median_best_val_halving": float(np.median([r["best_val_accuracy"] for r in halving])),
        "median_best_test_full": float(np.median([r["best_test_accuracy"] for r in full])),
        "median_best_test_halving": float(np.median([r["best_test_accuracy"] for r in halving])),
        "same_best_architecture": [
            f["best_trial"] == h["best_trial"] for f, h in zip(full, halving)
        ],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
