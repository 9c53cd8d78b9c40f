"""Resident memory over a long search: 200 small trials, local vs worker-process executor.

Runs the same search (random search over a small chain space, 1 epoch per
trial on 512 toy sequences) with each executor and records the resident
memory (RSS) of the search process, and of the search process plus its
worker (as the worker reports it right after the trial, before its clean-up
and before it may be recycled: the worst moment), after trial 20 and after trial 200.

    PYTHONPATH=. python benchmarks/memory_long_search.py --trials 200 --executor both

`--executor both` runs the two searches one after the other, each in a
fresh Python process, and prints one JSON line per executor and a summary;
benchmarks/RESULTS.md has the figures.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import psutil

import kerasnas
from kerasnas.builder import ModelBuilder
from kerasnas.data import from_arrays
from kerasnas.evaluation import FitEvaluator


def rss_mb(pids):
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


class MeasuredSearch(kerasnas.Search):
    """A search that records memory after chosen trial counts."""

    marks = (1, 10, 20, 50, 100, 150, 200)

    def _finish(self, outcome, progress):
        record = super()._finish(outcome, progress)
        done = len(self.history)
        if done in self.marks:
            search_mb = rss_mb([os.getpid()])
            # The worker's own figure right after this trial (before its clean-up).
            worker_mb = getattr(self.executor, "last_worker_rss_mb", None) or 0.0
            self.memory[done] = {
                "search_mb": round(search_mb, 1),
                "worker_mb": round(worker_mb, 1),
                "search_plus_worker_mb": round(search_mb + worker_mb, 1),
                "elapsed_s": round(time.time() - self.t0, 1),
            }
            print(done, self.memory[done], file=sys.stderr, flush=True)
        return record


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--executor", default="both", choices=("both", "local", "process"))
    parser.add_argument("--recycle-after", type=int, default=25)
    args = parser.parse_args()
    if args.executor == "both":
        rows = []
        for name in ("process", "local"):
            command = [sys.executable, __file__, "--trials", str(args.trials), "--executor", name]
            command += ["--recycle-after", str(args.recycle_after)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
        for row in rows:
            m, last = row["memory"], str(max(int(k) for k in row["memory"]))
            print(
                f"{row['executor']:>8}: after 20 trials {m['20']['search_plus_worker_mb']:.0f} MB, "
                f"after {last} {m[last]['search_plus_worker_mb']:.0f} MB "
                f"(+{row['growth_20_to_last_total_mb']:.0f} MB), {m[last]['elapsed_s']:.0f} s"
            )
        return
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 16, 2)).astype("float32")
    y = (np.abs(x[:, :3, 0]).argmax(axis=1)).astype("int32")
    data = from_arrays(x, y, validation_split=0.25)
    space = kerasnas.spaces.ChainSpace(max_layers=3, widths=(8, 16, 32))
    builder = ModelBuilder(space, data.input_shape, data.task, normalization=data.normalization)
    evaluator = FitEvaluator(builder, data, epochs=1, batch_size=64)
    executor = (
        kerasnas.runtime.ProcessExecutor(recycle_after=args.recycle_after)
        if args.executor == "process"
        else kerasnas.runtime.LocalExecutor()
    )
    with tempfile.TemporaryDirectory() as directory:
        search = MeasuredSearch(
            space,
            kerasnas.strategies.RandomSearch(),
            evaluator,
            objective="val_accuracy",
            directory=directory,
            max_trials=args.trials,
            builder=builder,
            data=data,
            keep_best_models=3,
            verbose=0,
            executor=executor,
        )
        search.memory = {}
        search.t0 = time.time()
        search.run()
    m = search.memory
    last = max(m)
    print(
        json.dumps(
            {
                "executor": args.executor,
                "recycle_after": args.recycle_after if args.executor == "process" else None,
                "trials": args.trials,
                "memory": m,
                "growth_20_to_last_search_mb": round(m[last]["search_mb"] - m[20]["search_mb"], 1),
                "growth_20_to_last_total_mb": round(
                    m[last]["search_plus_worker_mb"] - m[20]["search_plus_worker_mb"], 1
                ),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
