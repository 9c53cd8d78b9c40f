"""RL controller vs random search on NAS-Bench-Macro (regret vs queries, overhead).

Runs `kerasnas.search` with `strategy="rl"` and `strategy="random"` on the
vendored NAS-Bench-Macro table (no training: each query is a table lookup of
the mean CIFAR-10 test accuracy) for many seeds, and reports the mean regret
(percentage points below the best architecture, 93.13%) of the best
architecture found after each number of queries, side by side.

It also measures the controller's overhead per proposed architecture in a
long search: the time spent in the strategy's `ask` and `tell` (sampling,
decoding, and the policy update every `batch_size` trials), after the
one-time tracing of the compiled functions, which is reported separately.

Usage:

```bash
PYTHONPATH=. python benchmarks/nas_bench_macro_rl.py --seeds 50 --queries 200 \\
    --plot benchmarks/nas_bench_macro_rl.png
```
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import numpy as np

import kerasnas
from kerasnas.strategies.base import Strategy
from kerasnas.tabular import NasBenchMacro


class Timed(Strategy):
    """Wraps a strategy and records the wall time of each `ask` and `tell`."""

    def __init__(self, inner: Strategy):
        self.inner = inner
        self.name = inner.name
        self.batch_size = inner.batch_size
        self.ask_s: list[float] = []
        self.tell_s: list[float] = []

    def setup(self, space, objectives):
        super().setup(space, objectives)
        self.inner.setup(space, objectives)

    def ask(self, history, rng):
        start = time.perf_counter()
        arch = self.inner.ask(history, rng)
        self.ask_s.append(time.perf_counter() - start)
        return arch

    def tell(self, record):
        start = time.perf_counter()
        self.inner.tell(record)
        self.tell_s.append(time.perf_counter() - start)

    def get_config(self):
        return self.inner.get_config()


def regret_curve(table: NasBenchMacro, trials, queries: int) -> np.ndarray:
    """Regret of the best architecture after each query (padded if stopped early)."""
    best, curve = -np.inf, []
    for trial in trials[:queries]:
        best = max(best, trial.metrics["mean_accuracy"])
        curve.append(table.regret(best))
    curve += [curve[-1]] * (queries - len(curve))
    return np.array(curve)


def run(strategy, table, seed, queries, directory):
    result = kerasnas.search(
        space=table.space,
        evaluator=table.evaluator(),
        objective="accuracy",
        strategy=strategy,
        max_trials=queries,
        seed=seed,
        directory=directory,
        overwrite=True,
        verbose=0,
    )
    return regret_curve(table, result.trials, queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--entropy-weight", type=float, default=0.01)
    parser.add_argument("--algorithm", default="reinforce")
    parser.add_argument("--long-queries", type=int, default=2000)
    parser.add_argument("--plot", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    table = NasBenchMacro()
    # One-time cost: tracing the compiled sampling and training functions of
    # a new controller (the first in this process, so it includes TF's
    # warm-up, as a user's first RL search does).
    from kerasnas.strategies.rl import Controller

    probe = Controller(table.space)
    t0 = time.perf_counter()
    probe.sample(1, seed=0)
    trace_sample_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    probe.update(probe.sample(8, seed=1), np.arange(8.0))
    trace_update_s = time.perf_counter() - t0
    rl_strategy = kerasnas.strategies.get(
        "rl",
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        entropy_weight=args.entropy_weight,
        algorithm=args.algorithm,
    )
    timed = Timed(rl_strategy)
    curves = {"rl": [], "random": []}
    first_search_s = None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            curves["rl"].append(run(timed, table, seed, args.queries, f"{tmp}/rl"))
            if first_search_s is None:
                first_search_s = time.perf_counter() - t0
            curves["random"].append(
                run(kerasnas.strategies.get("random"), table, seed, args.queries, f"{tmp}/random")
            )
        elapsed = time.perf_counter() - start
        # Overhead in one long search (the controller is already traced).
        long = Timed(rl_strategy)
        t0 = time.perf_counter()
        run(long, table, 10_000, args.long_queries, f"{tmp}/long")
        long_s = time.perf_counter() - t0

    summary = {"seeds": args.seeds, "queries": args.queries, "options": rl_strategy.get_config()}
    for name, rows in curves.items():
        rows = np.array(rows)
        summary[name] = {
            q: {
                "mean_regret": float(rows[:, q - 1].mean()),
                "stderr": float(rows[:, q - 1].std(ddof=1) / np.sqrt(len(rows))),
                "found_optimum": float((rows[:, q - 1] <= 1e-9).mean()),
            }
            for q in sorted({25, 50, 100, args.queries})
            if q <= args.queries
        }
    rl_final = np.array(curves["rl"])[:, -1]
    random_final = np.array(curves["random"])[:, -1]
    summary["rl_beats_random_seeds"] = int((rl_final < random_final).sum())
    summary["rl_ties_random_seeds"] = int((rl_final == random_final).sum())
    per_proposal = np.array(long.ask_s) + 0.0
    tell = np.array(long.tell_s)
    summary["overhead"] = {
        "long_search_queries": args.long_queries,
        "ask_ms_median": float(np.median(long.ask_s) * 1e3),
        "ask_ms_mean": float(per_proposal.mean() * 1e3),
        "tell_ms_mean (includes one update per batch)": float(tell.mean() * 1e3),
        "controller_ms_per_proposal_mean": float(
            (per_proposal.sum() + tell.sum()) / len(tell) * 1e3
        ),
        "long_search_wall_s": long_s,
        "first_rl_search_s (includes tracing)": first_search_s,
        "tracing_first_sample_s": trace_sample_s,
        "tracing_first_update_s": trace_update_s,
    }
    summary["total_wall_s"] = elapsed
    summary["machine"] = (
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )

    controller = rl_strategy.controller
    for n in (1, 16):
        controller.sample(n, seed=0)
        start = time.perf_counter()
        for i in range(50):
            controller.sample(n, seed=i)
        summary["overhead"][f"sample_batch_{n}_ms_per_proposal"] = (
            (time.perf_counter() - start) / 50 / n * 1e3
        )
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        x = np.arange(1, args.queries + 1)
        for name, rows in curves.items():
            rows = np.array(rows)
            mean = rows.mean(axis=0)
            err = rows.std(axis=0, ddof=1) / np.sqrt(len(rows))
            ax.plot(x, mean, label=f"{name} ({len(rows)} seeds)")
            ax.fill_between(x, mean - err, mean + err, alpha=0.25)
        ax.set_yscale("log")
        ax.set_xlabel("queries (architectures evaluated)")
        ax.set_ylabel("regret (accuracy points below the best)")
        ax.set_title("NAS-Bench-Macro (CIFAR-10): RL controller vs random search")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)


if __name__ == "__main__":
    main()
