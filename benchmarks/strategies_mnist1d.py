"""Search strategies compared with real training on MNIST-1D, paired over seeds.

The tabular benchmarks (`nas_bench_macro_strategies.py`,
`synthetic_landscape_strategies.py`) compare the strategies on tables of
known accuracies. This script checks the comparison with real training at
small budgets: for each seed, one `kerasnas.search()` per strategy on the
chain space, with the same data, budget and seed, and the warm start off
(`warm_start=False`) so that only the strategies differ. Strategy options
are the defaults unless a `--strategies` entry gives some
(`evolution:population_size=10`). With the defaults, the first 10 trials of
`local_search` and `bananas` and the first 20 of `evolution` (its
population) are the random search's own, for the same seed: the
strategies differ only after them.

```python
kerasnas.search(data=load_mnist1d(), space="chain", strategy=strategy,
                max_trials=20, epochs=5, seed=seed, warm_start=False,
                executor="local", verbose=0, directory=tmp)
```

Data: `kerasnas.data.load_mnist1d()` (split seed 0) for every run: 3,600
training, 400 validation and 1,000 test sequences. The seed changes the
search, the initial weights and the shuffling; the same seed gives every
strategy the same seed, so the differences between strategies are paired.

Recorded per (strategy, seed) run, one JSON row in `--out`: the best
validation accuracy among the first 5, 10, 15, 20 trials (in trial order;
failed trials count as trials), the best trial's test accuracy (its model
as trained during the search, evaluated once on the test split), the
search's wall time and its trial count.

Usage:

```bash
# Runs (rows already in --out are skipped, so a stopped run resumes):
PYTHONPATH=. python benchmarks/strategies_mnist1d.py --trials 20 --epochs 5 --seeds 0,1,2
# A strategy with options, beside the defaults:
PYTHONPATH=. python benchmarks/strategies_mnist1d.py --strategies evolution:population_size=10
# Medians per strategy and paired differences over seeds (markdown):
PYTHONPATH=. python benchmarks/strategies_mnist1d.py --summarize
# The same, appended as a dated section of benchmarks/RESULTS.md:
PYTHONPATH=. python benchmarks/strategies_mnist1d.py --summarize --record --reading reading.txt
```
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "strategies_mnist1d.jsonl"
STRATEGIES = ("random", "evolution", "local_search", "bananas")
CHECKPOINTS = (5, 10, 15, 20, 30, 40, 50)
PAIRS = (
    ("local_search", "random"),
    ("bananas", "random"),
    ("local_search", "evolution"),
    ("bananas", "evolution"),
    ("bananas", "local_search"),
)


def best_so_far(trials, checkpoints, objective="val_accuracy") -> dict:
    """Best objective among the first k trials (in trial order) for each k.

    Example:

    ```python
    best_so_far(result.trials, (5, 10))  # {"5": 0.93, "10": 0.95}
    ```

    Args:
        trials: `TrialRecord`s of one search.
        checkpoints: trial counts k.
        objective: the metric to maximise.

    Returns:
        `{str(k): best value or None}`; None when no trial among the first
        k completed, or the search ran fewer than k trials.
    """
    ordered = sorted(trials, key=lambda t: t.number)
    out = {}
    for k in checkpoints:
        values = [
            t.metrics[objective]
            for t in ordered[:k]
            if t.status == "completed" and objective in t.metrics
        ]
        out[str(k)] = float(max(values)) if values and len(ordered) >= k else None
    return out


def parse_strategy(spec: str) -> tuple[str, dict]:
    """`"evolution:population_size=10"` -> `("evolution", {"population_size": 10})`.

    Raises:
        ValueError: for an option without `=`.
    """
    name, _, rest = spec.partition(":")
    options = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"Strategy options are key=value. Received: strategy={spec!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return name, options


def run_one(data, strategy: str, seed: int, trials: int, epochs: int) -> dict:
    """One search; returns its JSON row (without the identifying keys).

    `strategy` is a name, optionally with options: `"evolution:population_size=10"`.
    """
    import keras

    import kerasnas

    name, options = parse_strategy(strategy)

    with tempfile.TemporaryDirectory(prefix="kerasnas-strategies-") as tmp:
        start = time.perf_counter()
        result = kerasnas.search(
            data=data,
            space="chain",
            strategy=name,
            strategy_options=options,
            max_trials=trials,
            epochs=epochs,
            seed=seed,
            warm_start=False,
            executor="local",
            keep_best_models=1,
            verbose=0,
            progress_bar=False,
            directory=tmp,
        )
        wall = time.perf_counter() - start
        best = result.best_trial
        test = result.test_metrics()["test_accuracy"]
        row = {
            "best_val_at": best_so_far(result.trials, CHECKPOINTS),
            "best_val": float(best.metrics["val_accuracy"]),
            "best_trial": best.number,
            "best_architecture": str(best.architecture),
            "test_accuracy": float(test),
            "wall_s": round(wall, 1),
            "n_trials": len(result.trials),
            "n_completed": len(result.completed),
        }
    keras.backend.clear_session()
    return row


def load_rows(out: pathlib.Path) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def run(args) -> None:
    from kerasnas.data import load_mnist1d

    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {(r["strategy"], r["seed"], r["trials"], r["epochs"]) for r in load_rows(out)}
    data = load_mnist1d()
    for seed in args.seeds:  # seed-major: a stopped run leaves complete pairs
        for strategy in args.strategies:
            key = (strategy, seed, args.trials, args.epochs)
            if key in done:
                print(f"skip {key}: already in {out}", flush=True)
                continue
            row = {"strategy": strategy, "seed": seed, "trials": args.trials,
                   "epochs": args.epochs}  # fmt: skip
            row.update(run_one(data, strategy, seed, args.trials, args.epochs))
            row["time"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


# ------------------------------------------------------------------- summary
def t_interval(diffs) -> tuple:
    """Mean and 95% t-interval of paired differences (bounds None for n < 2)."""
    from scipy import stats

    d = np.asarray(diffs, "float64")
    if len(d) < 2:
        return float(d.mean()), None, None
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def _fmt_diff(diffs) -> str:
    if not diffs:
        return "-"
    mean, low, high = t_interval(diffs)
    if low is None:
        return f"{mean:+.2f}"
    if high - low < 1e-6:  # the same difference on every seed (up to rounding)
        return f"{mean:+.2f} (every seed)"
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


def _wins(diffs) -> str:
    """`wins-ties-losses` of the first strategy over the seeds."""
    d = np.asarray(diffs)
    return f"{int((d > 0).sum())}-{int((d == 0).sum())}-{int((d < 0).sum())}"


def _best_at(row: dict, k: int):
    """A row's best validation accuracy after k trials (None if not recorded).

    Rows from before the 30/40/50 checkpoints have the last one only as
    `best_val` (the best after all the row's trials).
    """
    value = row["best_val_at"].get(str(k))
    if value is None and k == row["trials"]:
        value = row.get("best_val")
    return value


def summarize(rows: list[dict], trials: int, epochs: int) -> str:
    """The markdown tables of one budget (`trials`, `epochs`)."""
    rows = [r for r in rows if r["trials"] == trials and r["epochs"] == epochs]
    by = {(r["strategy"], r["seed"]): r for r in rows}
    names = {k[0] for k in by}
    variants = sorted(names - set(STRATEGIES))  # e.g. "evolution:population_size=10"
    strategies = [s for s in STRATEGIES if s in names] + variants
    checkpoints = [k for k in CHECKPOINTS if k < trials] + [trials]
    head = " | ".join(f"@{k}" for k in checkpoints)
    lines = [
        f"Best validation accuracy (%) after k trials, median over seeds; "
        f"{trials} trials of {epochs} epochs.",
        "",
        f"| strategy | seeds | {head} | test acc. of final best (median) | wall time (median) |",
        "|---|---|" + "---|" * len(checkpoints) + "---|---|",
    ]
    for s in strategies:
        group = [r for (name, _), r in sorted(by.items()) if name == s]
        cells = []
        for k in checkpoints:
            values = [_best_at(r, k) for r in group]
            values = [v for v in values if v is not None]
            cells.append(f"{100 * np.median(values):.2f}" if values else "-")
        lines.append(
            f"| {s} | {len(group)} | " + " | ".join(cells) + " | "
            f"{100 * np.median([r['test_accuracy'] for r in group]):.2f} | "
            f"{np.median([r['wall_s'] for r in group]) / 60:.1f} min |"
        )
    lines += [
        "",
        "Paired differences (percentage points), mean [95% t-interval] over the seeds "
        "both strategies ran:",
        "",
        f"| difference | seeds | {head} | test acc. of final best | "
        f"wins-ties-losses @{checkpoints[-1]} |",
        "|---|---|" + "---|" * len(checkpoints) + "---|---|",
    ]
    pairs = list(PAIRS)
    for v in variants:
        pairs += [(v, "random"), ("local_search", v), ("bananas", v)]
    for a, b in pairs:
        seeds = sorted(seed for (name, seed) in by if name == a and (b, seed) in by)
        if not seeds:
            continue
        cells = []
        for k in checkpoints:
            values = [
                (_best_at(by[a, s], k), _best_at(by[b, s], k)) for s in seeds
            ]
            diffs = [100 * (x - y) for x, y in values if x is not None and y is not None]
            cells.append(_fmt_diff(diffs))
        test = [100 * (by[a, s]["test_accuracy"] - by[b, s]["test_accuracy"]) for s in seeds]
        lines.append(
            f"| {a} − {b} | {len(seeds)} | " + " | ".join(cells) + f" | {_fmt_diff(test)} | "
            f"{_wins(diffs)} |"
        )
    return "\n".join(lines)


RECORD_NOTE = """\
The machine was shared: the lead engineer's test suite ran beside it on the
same 2 cores, and these runs were niced (`nice -n 10`), so wall times are
inflated and only comparable within this table. One search at a time,
in-process (`executor="local"`).

What is measured: for each seed, one `kerasnas.search(data=load_mnist1d(),
space="chain", strategy=S, max_trials={trials}, epochs={epochs}, seed=seed,
warm_start=False)` per strategy (strategy options at their defaults unless
the row names some; the warm start off so that the strategies alone are
compared). With the defaults, `local_search` and `bananas` begin with 10
random trials and `evolution` with a random population of 20, the same
architectures as the random search of the same seed, so up to those counts
the paired differences are zero by construction. "@k" is the best
validation accuracy among the first k trials in trial order; the test
accuracy is that of the final best trial's model as trained during the
search (1,000 test sequences, evaluated once). Rows:
`benchmarks/results/strategies_mnist1d.jsonl`."""


def record(table: str, reading: str, trials: int, epochs: int, seeds: int) -> None:
    from _results import append_section

    body = RECORD_NOTE.format(trials=trials, epochs=epochs) + "\n\n" + table
    if reading:
        body += "\n\nReading: " + reading.strip()
    append_section(
        f"Strategies with real training on MNIST-1D: {trials} trials of {epochs} epochs, "
        f"{seeds} seeds, paired",
        body,
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--summarize", action="store_true", help="print the tables, run nothing")
    parser.add_argument(
        "--record", action="store_true", help="with --summarize: append to RESULTS.md"
    )
    parser.add_argument(
        "--reading",
        default="",
        help="with --record: a text file with the paragraph that reads the table",
    )
    args = parser.parse_args(argv)
    args.strategies = [s for s in args.strategies.split(",") if s]
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    if args.summarize:
        rows = load_rows(pathlib.Path(args.out))
        table = summarize(rows, args.trials, args.epochs)
        print(table)
        if args.record:
            seeds = len({r["seed"] for r in rows
                         if r["trials"] == args.trials and r["epochs"] == args.epochs})  # fmt: skip
            reading = pathlib.Path(args.reading).read_text() if args.reading else ""
            record(table, reading, args.trials, args.epochs, seeds)
        return
    run(args)


if __name__ == "__main__":
    main()
