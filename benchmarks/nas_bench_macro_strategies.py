"""Strategies on NAS-Bench-Macro without training: best accuracy and regret vs queries.

Runs every strategy in `STRATEGIES` for many seeds against the vendored
NAS-Bench-Macro table (6,561 architectures, CIFAR-10 accuracies, optimum
93.13%), and reports the mean regret (percentage points below the table's
best mean accuracy) of the best architecture found after each number of
queries. Writes a regret-vs-queries plot and, with `--record`, appends a
dated section to benchmarks/RESULTS.md.

The strategies are the real `Strategy` objects, driven by
`kerasnas.testing.simulate.simulate`, which asks and tells exactly as
`kerasnas.Search` does (same per-trial random generators, so the same
trials) but keeps the history in memory instead of a journal on disk.
`--via-search N` also runs N seeds through `kerasnas.Search`, checks that
they propose the same architectures, and reports the journal's overhead.

Every strategy runs by default: random search, regularized (aging)
evolution, NSGA-II with the single objective (a generational genetic
algorithm with crossover and mutation), the TF-Agents RL controller
(REINFORCE; `benchmarks/nas_bench_macro_rl.py` has its controller
overheads), local search and BANANAS. `--strategies` picks some;
`--sweep local_search bananas` adds other settings of those (sensitivity
to the defaults). Paired differences between local search, BANANAS and
evolution are reported at every checkpoint. To add a strategy, add a factory to
`STRATEGIES`: a name mapped to a function that returns a ready `Strategy`.
With `--record` the section also cites what the literature reports for the
same kind of comparison (`LITERATURE`).

    python benchmarks/nas_bench_macro_strategies.py --seeds 200 --queries 150 --record
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import kerasnas
from kerasnas.strategies import NSGA2, Bananas, LocalSearch, RandomSearch, RegularizedEvolution
from kerasnas.tabular import NasBenchMacro
from kerasnas.testing.simulate import simulate

HERE = pathlib.Path(__file__).resolve().parent

_RL = {}


def _rl():
    """The RL strategy, one object per process: `setup` resets its controller to the
    initial weights but keeps the compiled functions (tracing costs seconds)."""
    if "strategy" not in _RL:
        _RL["strategy"] = kerasnas.strategies.get("rl")
    return _RL["strategy"]


#: name -> factory of a ready strategy. Defaults of each strategy unless the name says.
STRATEGIES = {
    "random": lambda: RandomSearch(),
    "evolution": lambda: RegularizedEvolution(),
    "nsga2": lambda: NSGA2(),
    "rl": _rl,
    "local_search": lambda: LocalSearch(),
    "bananas": lambda: Bananas(),
}

#: What the literature reports for the same kind of comparison, in our words.
#: Only findings checked against the papers' text are given with numbers.
LITERATURE = """\
- Real et al. (2019), "Regularized Evolution for Image Classifier Architecture
  Search" (AAAI): aging evolution against a reinforcement-learning controller
  (and random search as a baseline) with the same hardware, compute and
  training code, repeated side by side. Their abstract reports that evolution
  gave similar or higher accuracy in every setting without re-tuning, and did
  considerably better than RL early in the search, so it suits small budgets.
  Checked against the abstract; no figure of theirs is restated here.
- White et al. (2021), "BANANAS" (AAAI), as reproduced in Table 1 of Sci. Rep.
  15 (2025), doi:10.1038/s41598-025-94187-8: on NAS-Bench-101 (CIFAR-10),
  after 150 queries, mean over 200 runs of the best architecture's test error:
  regularized evolution 6.109%, random search 6.341%, REINFORCE 6.436%. That
  is the same protocol as this table (best found after N queries, many seeds):
  evolution 0.23 points better than random search, and the RL controller no
  better than random search at 150 queries.
- The same Table 1 (BANANAS' NAS-Bench-101 comparison at 150 queries, as
  cited in issue 16; not re-checked here): BANANAS 5.92% and local search
  5.93% test error lead, ahead of regularized evolution (6.11%), random
  search (6.34%) and REINFORCE (6.44%). So on NAS-Bench-101 the two new
  strategies are ~0.2 points better than evolution and ~0.4 better than
  random search at 150 queries, and within 0.01 points of each other.
- White, Nolen, Sanchez & Savani (2021), "Exploring the loss landscape in
  neural architecture search" (UAI): local search (best of a few random
  starts, first improvement, random restarts) is competitive with the best
  methods on the NAS-Bench tables at small budgets; we quote no figure of
  theirs. The issue measured local search here at about 0.055 points after
  50 queries and 0.023 after 100.
- Ying et al. (2019), "NAS-Bench-101" (ICML), and Dong & Yang (2020),
  "NAS-Bench-201" (ICLR), ran the same comparison on their tables; as we
  recall them, regularized evolution was among the best sample-based
  methods and REINFORCE close to random search, with small gaps between
  sample-based methods. We could not re-check their text here, so no
  numbers of theirs are quoted.
- Su et al. (2021), "Prioritized Architecture Sampling with Monte-Carlo Tree
  Search" (CVPR), published NAS-Bench-Macro (the table used here: 8 layers x
  3 blocks, 6,561 architectures, CIFAR-10, 3 trainings each) and compared
  search methods on it; we could not verify their figures, so none are quoted.
"""

#: Other settings shown with `--sweep GROUP` (sensitivity to the defaults), by group.
SWEEPS = {
    "evolution": {
        "evolution P=10 S=3": lambda: RegularizedEvolution(population_size=10, sample_size=3),
        "evolution P=20 S=10": lambda: RegularizedEvolution(population_size=20, sample_size=10),
        "evolution P=50 S=12": lambda: RegularizedEvolution(population_size=50, sample_size=12),
        "evolution crossover=0.5": lambda: RegularizedEvolution(crossover_rate=0.5),
    },
    "local_search": {
        "local_search best-improvement": lambda: LocalSearch(improvement="best"),
        "local_search initial=5": lambda: LocalSearch(initial_samples=5),
        "local_search initial=20": lambda: LocalSearch(initial_samples=20),
    },
    "bananas": {
        "bananas ensemble=3": lambda: Bananas(ensemble_size=3),
        "bananas ensemble=10": lambda: Bananas(ensemble_size=10),
        "bananas initial=5": lambda: Bananas(initial_samples=5),
        "bananas initial=20": lambda: Bananas(initial_samples=20),
        "bananas candidates=50": lambda: Bananas(candidates=50),
        "bananas candidates=200": lambda: Bananas(candidates=200),
        "bananas ucb": lambda: Bananas(acquisition="ucb"),
    },
}

#: Pairs compared seed by seed at every checkpoint (when both ran).
PAIRS = (
    ("bananas", "local_search"),
    ("bananas", "evolution"),
    ("local_search", "evolution"),
)

CHECKPOINTS = (10, 20, 30, 50, 75, 100, 150, 200, 300)


def regret_curve(table: NasBenchMacro, records, queries: int) -> np.ndarray:
    """Regret after each query of the architecture with the best *observed* accuracy.

    The regret is measured on the table's mean accuracy, so with noisy
    observations a lucky draw is not mistaken for a good architecture.
    """
    curve = np.empty(queries)
    best_seen, best_mean = -np.inf, None
    counted = [r for r in records if r.status != "rejected"]
    for i in range(queries):
        record = counted[min(i, len(counted) - 1)]
        if record.ok and record.metrics["accuracy"] > best_seen:
            best_seen = record.metrics["accuracy"]
            best_mean = record.metrics["mean_accuracy"]
        curve[i] = table.regret(best_mean) if best_mean is not None else np.nan
    return curve


def run_strategy(table, factory, seeds, queries, noisy):
    curves = []
    for seed in seeds:
        records = simulate(
            factory(),
            table.space,
            table.evaluator(noisy=noisy, seed=seed),
            "accuracy",
            queries,
            seed=seed,
        )
        curves.append(regret_curve(table, records, queries))
    return np.array(curves)


def via_search(table, factory, seeds, queries, noisy):
    """Runs seeds through kerasnas.Search (journal on disk); returns (seconds, same_trials)."""
    same, elapsed = True, 0.0
    for seed in seeds:
        with tempfile.TemporaryDirectory() as directory:
            start = time.perf_counter()
            result = kerasnas.Search(
                table.space,
                factory(),
                kerasnas.CallableEvaluator(table.evaluator(noisy=noisy, seed=seed), "accuracy"),
                objective="accuracy",
                directory=directory,
                max_trials=queries,
                seed=seed,
                keep_best_models=0,
                verbose=0,
            ).run()
            elapsed += time.perf_counter() - start
        records = simulate(
            factory(),
            table.space,
            table.evaluator(noisy=noisy, seed=seed),
            "accuracy",
            queries,
            seed,
        )
        same &= [t.architecture for t in result.trials] == [r.architecture for r in records]
    return elapsed, same


def paired_lines(curves: dict, marks) -> list[str]:
    """Seed-by-seed differences of mean regret for the `PAIRS` that ran, at every mark."""
    lines = []
    for a, b in PAIRS:
        if a not in curves or b not in curves:
            continue
        n = len(curves[a])
        idx = np.random.default_rng(0).integers(n, size=(2000, n))
        cells = []
        for q in marks:
            d = curves[a][:, q - 1] - curves[b][:, q - 1]
            low, high = np.percentile(d[idx].mean(axis=1), [2.5, 97.5])
            cells.append(f"@{q} {d.mean():+.4f} [{low:+.4f}, {high:+.4f}]")
        lines.append(
            f"- {a} minus {b}, mean paired regret difference (negative: {a} better; 95% "
            "paired bootstrap interval): " + "; ".join(cells) + "."
        )
    return lines


def plot(curves: dict, queries: int, path: pathlib.Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = np.arange(1, queries + 1)
    for name, c in curves.items():
        mean = np.nanmean(c, axis=0)
        err = np.nanstd(c, axis=0) / np.sqrt(len(c))
        style = "-" if name in STRATEGIES else "--"
        ax.plot(x, mean, style, label=f"{name} (n={len(c)})", lw=1.6 if style == "-" else 1)
        ax.fill_between(x, np.maximum(mean - err, 1e-4), mean + err, alpha=0.2)
    ax.set_yscale("log")
    ax.set_xlabel("queries (architectures evaluated)")
    ax.set_ylabel("mean regret (accuracy points below 93.13%)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="seeds per strategy")
    parser.add_argument("--queries", type=int, default=150, help="queries per search")
    parser.add_argument(
        "--noisy", action="store_true", help="observe one training run, not the mean"
    )
    parser.add_argument(
        "--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES)
    )
    parser.add_argument(
        "--sweep",
        nargs="*",
        choices=list(SWEEPS),
        default=None,
        help="also run other settings of these strategies (no name: evolution)",
    )
    parser.add_argument("--via-search", type=int, default=0, metavar="N", help="N seeds via Search")
    parser.add_argument("--plot", default=None, help="PNG path (default benchmarks/...png)")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.queries < 10:
        parser.error(
            f"need --seeds >= 1 and --queries >= 10. Received: {args.seeds}, {args.queries}"
        )

    table = NasBenchMacro()
    seeds = range(args.seeds)
    factories = {name: STRATEGIES[name] for name in args.strategies}
    for group in (args.sweep or ["evolution"]) if args.sweep is not None else []:
        factories.update(SWEEPS[group])
    curves, seconds = {}, {}
    for name, factory in factories.items():
        start = time.perf_counter()
        curves[name] = run_strategy(table, factory, seeds, args.queries, args.noisy)
        seconds[name] = time.perf_counter() - start
        print(f"{name}: {seconds[name]:.1f} s", file=sys.stderr)

    marks = [q for q in CHECKPOINTS if q <= args.queries]
    lines = [
        "| strategy | " + " | ".join(f"regret @{q}" for q in marks) + " | found optimum @100 "
        "| median regret @100 | mean best acc @100 |",
        "|---|" + "---|" * (len(marks) + 3),
    ]
    at = min(100, args.queries) - 1
    for name, c in curves.items():
        cells = [
            f"{np.nanmean(c[:, q - 1]):.4f} ± {np.nanstd(c[:, q - 1]) / np.sqrt(len(c)):.4f}"
            for q in marks
        ]
        found = np.mean(c[:, at] < 1e-9)
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {found:.0%} | {np.nanmedian(c[:, at]):.4f} "
            f"| {table.optimum - np.nanmean(c[:, at]):.3f} |"
        )
    summary = []
    if "random" in curves:
        rnd = curves["random"][:, at]
        rng = np.random.default_rng(0)
        idx = rng.integers(len(rnd), size=(2000, len(rnd)))
        for name, c in curves.items():
            if name == "random":
                continue
            other = c[:, at]
            ratio = np.mean(other) / np.mean(rnd)
            # Bootstrap over seeds (paired): 95% interval of the ratio of mean regrets.
            boot = other[idx].mean(axis=1) / rnd[idx].mean(axis=1)
            low, high = np.percentile(boot, [2.5, 97.5])
            summary.append(
                f"- At {at + 1} queries, mean regret of {name} / random = {ratio:.3f} "
                f"(95% paired bootstrap interval {low:.3f}-{high:.3f}); {name} better on "
                f"{np.mean(other < rnd):.0%} of seeds, tied on {np.mean(other == rnd):.0%}."
            )
    summary += paired_lines(curves, marks)
    noise = (
        "one of the 3 training runs, drawn per query (noisy)" if args.noisy else "mean of 3 runs"
    )
    title = f"NAS-Bench-Macro, {args.seeds} seeds, observed accuracy = {noise}"
    plot_path = (
        pathlib.Path(args.plot)
        if args.plot
        else HERE / ("nas_bench_macro_regret" + ("_noisy" if args.noisy else "") + ".png")
    )
    plot(curves, args.queries, plot_path, title)
    extra = []
    if args.via_search:
        n = min(args.via_search, args.seeds)
        extra.append("")
        for name in args.strategies:
            t_search, same = via_search(table, STRATEGIES[name], range(n), args.queries, args.noisy)
            per_query_sim = seconds[name] / (args.seeds * args.queries) * 1000
            per_query_search = t_search / (n * args.queries) * 1000
            extra.append(
                f"- via `kerasnas.Search` ({n} seeds, journal with fsync on disk): {name} "
                f"{per_query_search:.2f} ms per query vs {per_query_sim:.2f} ms in memory; "
                f"same trials as in memory: {same}."
            )
    command = "python benchmarks/nas_bench_macro_strategies.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    report = "\n".join(
        [
            "## NAS-Bench-Macro: "
            + ", ".join(factories)
            + " (regret vs queries)"
            + (", noisy observations" if args.noisy else "")
            + f" ({datetime.date.today()})",
            "",
            f"Command: `{command.strip()}`",
            f"Machine: {os.cpu_count()} cores, no GPU, Python {platform.python_version()}, "
            f"numpy {np.__version__}, {platform.machine()}. Observed accuracy: {noise}; "
            f"regret is measured on the mean accuracy of the best-observed architecture "
            f"against the optimum {table.optimum:.2f}% ({table.best_string}). "
            f"Mean ± standard error over {args.seeds} seeds (seeds 0-{args.seeds - 1}, the same "
            "for every strategy, so the first random architectures are shared). "
            "Every strategy uses its defaults: evolution population 20, tournament 5, "
            "mutation only; NSGA-II with the single objective (population 20, crossover 0.5, "
            "mutation); RL: REINFORCE, LSTM controller, batch 8, learning rate 0.01; "
            "local search: best of 10 random starts, first improvement, unlimited restarts; "
            "BANANAS: 10 random starts, ensemble of 5 MLPs (2x32), 100 candidates per round "
            "mutated from the 5 best (10% random), independent Thompson sampling, 10 "
            "proposals per round. "
            "Seconds per strategy (all seeds, in memory): "
            + ", ".join(f"{name} {sec:.0f} s" for name, sec in seconds.items())
            + ".",
            "",
            *lines,
            "",
            *summary,
            *extra,
            "",
            f"Plot: `benchmarks/{plot_path.name}`.",
            "",
            "What the literature reports for the same kind of comparison:",
            "",
            LITERATURE,
        ]
    )
    print(report)
    if args.record:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
