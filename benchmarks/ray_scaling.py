"""Trials per hour with Ray: 1 worker vs 2 workers (and the local executor) on MNIST-1D.

The same search (random search, seed 0, small chain space, `--epochs`
epochs per trial on MNIST-1D) runs with each executor, each in a fresh
Python process, one after the other, `--rounds` times in alternation (so
that load from other programs falls on every configuration alike):

* `local`: the local executor (trials in the search process, TensorFlow's
  default thread pools).
* `ray1`: one Ray actor reserving 1 CPU (TensorFlow pinned to 1 intra-op
  and 1 inter-op thread: `RayExecutor(num_cpus=1)`'s default).
* `ray2`: two Ray actors, 1 CPU and 1 thread each.
* `ray1x2`: one Ray actor with 2 threads (`tf_threads=2`), the fair
  "one worker gets the whole machine" reference.

The private Ray instance (127.0.0.1 only) starts before the clock starts;
actor start-up (TensorFlow import, data from the object store) is
included. Trials per hour = trials / wall-clock seconds of the search x 3600.

    PYTHONPATH=. python benchmarks/ray_scaling.py --trials 16 --epochs 3 --rounds 2 --record

`--record` appends the figures to benchmarks/RESULTS.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CONFIGS = {
    "local": "local executor (in-process, TF default threads)",
    "ray1": "Ray, 1 worker x 1 CPU (1 TF thread)",
    "ray2": "Ray, 2 workers x 1 CPU (1 TF thread each)",
    "ray1x2": "Ray, 1 worker, 2 TF threads",
}


def run_one(config: str, trials: int, epochs: int) -> dict:
    """Runs one search in this process and returns its figures."""
    import kerasnas
    from kerasnas.data import load_mnist1d
    from kerasnas.runtime import RayExecutor, init_local_ray

    data = load_mnist1d(seed=0)
    x, y = data.train
    ray_start_s = None
    if config == "local":
        executor = "local"
    else:
        started = time.time()
        init_local_ray(num_cpus=2)
        ray_start_s = time.time() - started
        executor = {
            "ray1": RayExecutor(workers=1, num_cpus=1),
            "ray2": RayExecutor(workers=2, num_cpus=1),
            "ray1x2": RayExecutor(workers=1, num_cpus=1, tf_threads=2),
        }[config]
    with tempfile.TemporaryDirectory() as directory:
        started = time.time()
        result = kerasnas.search(
            x,
            y,
            validation_data=data.validation,
            space="chain",
            space_options={"max_layers": 3, "widths": (16, 32)},
            strategy="random",
            max_trials=trials,
            epochs=epochs,
            seed=0,
            executor=executor,
            directory=directory,
            keep_best_models=1,
            verbose=0,
        )
        wall = time.time() - started
    if config != "local":
        import ray

        ray.shutdown()
    durations = [t.duration_s for t in result.trials]
    return {
        "config": config,
        "trials": len(result.trials),
        "completed": sum(t.ok for t in result.trials),
        "wall_s": round(wall, 1),
        "trials_per_hour": round(len(result.trials) / wall * 3600, 1),
        "median_trial_s": round(statistics.median(durations), 2),
        "ray_start_s": None if ray_start_s is None else round(ray_start_s, 1),
        "best_val_accuracy": round(result.best_value, 4),
        "architectures": sorted(t.key for t in result.trials),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--configs", default="local,ray1,ray2,ray1x2")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.trials, args.epochs)))
        return
    configs = args.configs.split(",")
    rows: dict[str, list[dict]] = {c: [] for c in configs}
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for config in configs:
            command = [sys.executable, __file__, "--one", config]
            command += ["--trials", str(args.trials), "--epochs", str(args.epochs)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(done.stderr[-3000:])
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows[config].append(row)
            loads.append(os.getloadavg()[0])
            shown = {k: v for k, v in row.items() if k != "architectures"}
            print(json.dumps(shown), flush=True)
    rate = {c: statistics.median(r["trials_per_hour"] for r in rows[c]) for c in configs}
    same = len({tuple(r["architectures"]) for c in configs for r in rows[c]}) == 1
    lines = [
        "| executor | trials/hour (median) | per round | median trial (s) | vs Ray 1 worker |",
        "|---|---|---|---|---|",
    ]
    for config in configs:
        ratio = rate[config] / rate["ray1"] if "ray1" in rate else float("nan")
        per_round = ", ".join(f"{r['trials_per_hour']:.0f}" for r in rows[config])
        median_trial = statistics.median(r["median_trial_s"] for r in rows[config])
        lines.append(
            f"| {CONFIGS[config]} | {rate[config]:.0f} | {per_round} | {median_trial:.1f} "
            f"| {ratio:.2f}x |"
        )
    summary = "\n".join(lines)
    print(summary)
    if "ray1" in rate and "ray2" in rate:
        print(f"2 workers / 1 worker: {rate['ray2'] / rate['ray1']:.2f}x (target >= 1.6x)")
    if args.record:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from _results import append_section

        ray_start = [r["ray_start_s"] for c in configs for r in rows[c] if r["ray_start_s"]]
        body = (
            f"{args.trials} trials of random search (seed 0) on MNIST-1D, chain space "
            f"(max_layers=3, widths 16/32), {args.epochs} epochs per trial, batch 64; each "
            f"configuration in a fresh process, {args.rounds} round(s) in alternation. Wall "
            "clock of the search, actor start-up included; the private Ray instance "
            f"(127.0.0.1, num_cpus=2) started before the clock (median "
            f"{statistics.median(ray_start) if ray_start else float('nan'):.1f} s). Each Ray "
            "worker reserves 1 CPU and pins TensorFlow to 1 intra-op and 1 inter-op thread "
            "(set in the actor before TensorFlow starts), except `ray1x2` (2 threads).\n\n"
            f"{summary}\n\n"
            f"**2 workers vs 1 worker: {rate['ray2'] / rate['ray1']:.2f}x** trials per hour "
            f"(target >= 1.6x); the local executor: {rate.get('local', float('nan')):.0f} "
            f"trials/hour. Same architectures in every run: {'yes' if same else 'no'}. "
            f"Load average (1 min) seen during the runs: {min(loads):.1f}-{max(loads):.1f} "
            "(the benchmark included)."
        )
        append_section("Ray scaling: trials per hour, 1 vs 2 workers", body)


if __name__ == "__main__":
    main()
