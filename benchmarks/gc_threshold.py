"""Time spent in Python's garbage collector during a search, at two young-generation thresholds.

kerasnas raises the threshold of the youngest generation from Python's
default (700 allocations) to `TRIAL_GC_THRESHOLD` while trials run (see
`kerasnas.runtime.trial.freeze_long_lived_objects`). This benchmark runs the
same search (MNIST-1D, the default chain space, random search, `--trials`
trials of `--epochs` epochs, the local executor) with each threshold,
alternating in fresh processes for `--rounds` rounds, and reports per trial:
the seconds inside every collection (automatic and explicit, timed with
`gc.callbacks`), the number of collections, the median `fit` time and the
search's wall time.

    python benchmarks/gc_threshold.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

PYTHON_DEFAULT = 700


def one_run(threshold: int, trials: int, epochs: int, seed: int) -> dict:
    """Runs one search in this process with `threshold`; returns its figures."""
    import gc

    import kerasnas
    from kerasnas.data import load_mnist1d
    from kerasnas.runtime import trial as trial_module

    trial_module.TRIAL_GC_THRESHOLD = threshold
    spent, started = [0.0, 0], [0.0]

    def clock(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - started[0]
            spent[1] += 1

    data = load_mnist1d()
    with tempfile.TemporaryDirectory() as directory:
        gc.callbacks.append(clock)
        begin = time.perf_counter()
        result = kerasnas.search(
            data=data,
            strategy="random",
            max_trials=trials,
            epochs=epochs,
            seed=seed,
            directory=directory,
            executor="local",
            verbose=0,
        )
        wall = time.perf_counter() - begin
        gc.callbacks.remove(clock)
    fits = [t.info["timing"]["fit"] for t in result.completed]
    return {
        "threshold": threshold,
        "gc_s_per_trial": spent[0] / trials,
        "collections_per_trial": spent[1] / trials,
        "fit_median_s": statistics.median(fits),
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_run(args.one, args.trials, args.epochs, args.seed)))
        return
    from kerasnas.runtime.trial import TRIAL_GC_THRESHOLD

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    rows = []
    for round_ in range(args.rounds):
        for threshold in (PYTHON_DEFAULT, TRIAL_GC_THRESHOLD):
            command = [sys.executable, __file__, "--one", str(threshold)]
            command += ["--trials", str(args.trials), "--epochs", str(args.epochs)]
            command += ["--seed", str(args.seed)]
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1]) | {"round": round_}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(
        "\n| threshold | rounds | gc s/trial (median) | collections/trial | fit s (median) "
        "| search wall s (median) |\n|---|---|---|---|---|---|"
    )
    for threshold in (PYTHON_DEFAULT, TRIAL_GC_THRESHOLD):
        group = [r for r in rows if r["threshold"] == threshold]
        print(
            f"| {threshold} | {len(group)} | "
            f"{statistics.median(r['gc_s_per_trial'] for r in group):.3f} | "
            f"{statistics.median(r['collections_per_trial'] for r in group):.0f} | "
            f"{statistics.median(r['fit_median_s'] for r in group):.3f} | "
            f"{statistics.median(r['wall_s'] for r in group):.1f} |"
        )
    pairs = zip(rows[0::2], rows[1::2])
    saved = [a["wall_s"] - b["wall_s"] for a, b in pairs]
    print(f"\nwall saved per round (default minus raised), s: {[round(s, 1) for s in saved]}")


if __name__ == "__main__":
    main()
