"""How long a strategy takes to propose the next architecture with 1,000 trials of history.

For each strategy (the factories of `nas_bench_macro_strategies.STRATEGIES`
plus NSGA-II; `--strategies` picks some), a search of `--history` trials is simulated first; then the
next `--calls` proposals are timed one by one, each followed by its
evaluation and `tell`, as in a real search (so caches see one new trial per
call, as they would). Reported: median and 90th percentile of `ask()` in
milliseconds, on NAS-Bench-Macro (8 decisions) and on a conditional
chain space (up to 6 layers, 25 decisions). "cold" is the first `ask` of a
fresh strategy object on the whole history (a resumed search). "max" is
the slowest call: for BANANAS, a call that trains the predictor ensemble
and ranks the round's candidates (one call in `batch_size`); "round" is
the median of 5 such rounds timed directly (BANANAS only).

    python benchmarks/proposal_latency.py --record
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from nas_bench_macro_strategies import STRATEGIES

from kerasnas.objective import as_objectives
from kerasnas.spaces import ChainSpace
from kerasnas.strategies import NSGA2
from kerasnas.tabular import NasBenchMacro
from kerasnas.testing.simulate import run_trial, simulate
from kerasnas.trial import trial_rng

HERE = pathlib.Path(__file__).resolve().parent


def chain_score(arch):
    """A smooth analytic score and a size on the chain space (no training)."""
    layers = arch["num_layers"]
    width = sum(arch.get(f"layer_{i}.width", 0) for i in range(layers))
    score = (
        layers
        + 0.01 * width
        - 0.2 * sum(arch.get(f"layer_{i}.op") == "identity" for i in range(layers))
    )
    return {"score": float(score), "params": float(width * 10 + layers)}


def benchmarks():
    table = NasBenchMacro()
    chain = ChainSpace(max_layers=6)
    return {
        "nas_bench_macro": (table.space, table.evaluator(), ["accuracy", "params"]),
        "chain (6 layers)": (chain, chain_score, ["score", "params"]),
    }


#: Strategies that optimise one objective: they get the first objective only.
SINGLE_OBJECTIVE = {"bananas"}


def time_strategy(factory, space, fn, objectives, history_size, calls, seed=0):
    objectives = as_objectives(objectives)
    history = simulate(factory(), space, fn, objectives, history_size, seed=seed)
    cold = factory()
    cold.setup(space, objectives)
    start = time.perf_counter()
    cold.ask(list(history), trial_rng(seed, len(history)))
    cold_ms = (time.perf_counter() - start) * 1000
    strategy = factory()
    records = simulate(strategy, space, fn, objectives, history_size, seed=seed)
    times = []
    for _ in range(calls):
        number = len(records)
        rng = trial_rng(seed, number)
        start = time.perf_counter()
        arch = strategy.ask(list(records), rng)
        times.append((time.perf_counter() - start) * 1000)
        records.append(run_trial(space, fn, objectives, arch, number, seed))
        strategy.tell(records[-1])
    rounds = []
    if hasattr(strategy, "round"):
        # BANANAS: a predictor fit and the acquisition's candidates, on 1,000+ trials.
        for i in range(5):
            start = time.perf_counter()
            strategy.round(records[: len(records) - i])
            rounds.append((time.perf_counter() - start) * 1000)
    round_ms = f"{np.median(rounds):.0f}" if rounds else "-"
    return np.median(times), np.percentile(times, 90), max(times), cold_ms, round_ms


def round_times(space, fn, objective, history_size, rounds=5, seed=0):
    """Milliseconds of BANANAS rounds (ensemble fit + candidates) on a random-search history."""
    from kerasnas.strategies import Bananas, RandomSearch

    history = simulate(RandomSearch(), space, fn, objective, history_size, seed=seed)
    strategy = Bananas()
    strategy.setup(space, as_objectives(objective))
    for record in history:
        strategy.vector(record.architecture, record.key)  # encodings are cached across rounds
    times = []
    for i in range(rounds):
        start = time.perf_counter()
        strategy.round(history[: len(history) - i])
        times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    known = dict(STRATEGIES, nsga2=lambda: NSGA2())
    parser.add_argument("--strategies", nargs="+", default=list(known), choices=list(known))
    parser.add_argument(
        "--rounds-only",
        action="store_true",
        help="only time BANANAS rounds on a random-search history of --history trials",
    )
    args = parser.parse_args(argv)
    if args.rounds_only:
        for space_name, (space, fn, objectives) in benchmarks().items():
            times = round_times(space, fn, objectives[:1], args.history)
            print(
                f"| {space_name} | BANANAS round | median {np.median(times):.0f} ms | "
                f"max {max(times):.0f} ms |"
            )
        return 0
    factories = {name: known[name] for name in args.strategies}
    lines = [
        "| space | strategy | median ms | p90 ms | max ms | cold first ask ms | round ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for space_name, (space, fn, objectives) in benchmarks().items():
        for name, factory in factories.items():
            median, p90, worst, cold, round_ms = time_strategy(
                factory,
                space,
                fn,
                objectives[:1] if name in SINGLE_OBJECTIVE else objectives,
                args.history,
                args.calls,
            )
            lines.append(
                f"| {space_name} | {name} | {median:.3f} | {p90:.3f} | {worst:.1f} | {cold:.2f} "
                f"| {round_ms} |"
            )
            print(lines[-1], file=sys.stderr)
    command = "python benchmarks/proposal_latency.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    report = "\n".join(
        [
            f"## Proposal latency with {args.history} trials of history ({datetime.date.today()})",
            "",
            f"Command: `{command.strip()}`",
            f"Machine: {os.cpu_count()} cores (shared), no GPU, Python "
            f"{platform.python_version()}, numpy {np.__version__}. Each row: {args.calls} "
            f"consecutive `ask()` calls after {args.history} simulated trials, timed one by "
            "one; NSGA-II (and the others but BANANAS, which is single-objective) with two "
            "objectives (accuracy or score, and params). Targets: under 5 ms; local search "
            "under 1 ms; BANANAS median under 50 ms per proposal and its round (predictor "
            "training and acquisition, the round column) well under 1 s.",
            "",
            *lines,
            "",
        ]
    )
    print(report)
    if args.record:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
