"""The MNIST-1D strategy benchmark's bookkeeping: best-so-far and paired table (no training)."""

import importlib.util
import pathlib
import sys

import pytest

from kerasnas.trial import TrialRecord

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    path = BENCHMARKS / "strategies_mnist1d.py"
    spec = importlib.util.spec_from_file_location("strategies_mnist1d", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(number, val, status="completed"):
    metrics = {"val_accuracy": val} if status == "completed" else {}
    return TrialRecord(number, {"a": number}, status, metrics=metrics)


def test_best_so_far_follows_trial_order_and_counts_failed_trials(bench):
    trials = [record(2, 0.9), record(0, 0.5), record(1, 0.0, status="failed"), record(3, 0.7)]
    best = bench.best_so_far(trials, (1, 2, 3, 4, 5))
    # Trial 2 (0.9) is the third trial, so it counts from k=3; a failed trial still
    # uses up a trial; k beyond the search's length has no value.
    assert best == {"1": 0.5, "2": 0.5, "3": 0.9, "4": 0.9, "5": None}


def row(strategy, seed, vals, test):
    best = dict(zip(("5", "10", "15", "20"), vals))
    return {"strategy": strategy, "seed": seed, "trials": 20, "epochs": 5,
            "best_val_at": best, "test_accuracy": test, "wall_s": 60.0}  # fmt: skip


def test_summary_pairs_differences_by_seed(bench):
    rows = [
        row("random", 0, (0.5, 0.6, 0.6, 0.7), 0.70),
        row("random", 1, (0.4, 0.5, 0.6, 0.6), 0.60),
        row("local_search", 0, (0.5, 0.6, 0.7, 0.8), 0.80),
        row("local_search", 1, (0.4, 0.5, 0.7, 0.7), 0.70),
        row("local_search", 2, (0.0, 0.0, 0.0, 0.0), 0.0),  # no random row for seed 2: unpaired
    ]
    table = bench.summarize(rows, trials=20, epochs=5)
    lines = {line.split(" | ")[0]: line for line in table.splitlines()}
    # Every paired difference is exactly +10 points at @15, @20 and on test, so the
    # interval collapses; @5 and @10 are ties; local search wins @20 on both seeds.
    assert lines["| local_search − random"] == (
        "| local_search − random | 2 | +0.00 (every seed) | +0.00 (every seed) | "
        "+10.00 (every seed) | +10.00 (every seed) | +10.00 (every seed) | 2-0-0 |"
    )
    assert lines["| random"].startswith("| random | 2 | 45.00 | 55.00 | 60.00 | 65.00 | 65.00 |")
    assert "bananas" not in table


def test_strategy_specs_carry_options(bench):
    assert bench.parse_strategy("bananas") == ("bananas", {})
    assert bench.parse_strategy("evolution:population_size=10,sample_size=3") == (
        "evolution",
        {"population_size": 10, "sample_size": 3},
    )
    with pytest.raises(ValueError, match="strategy='evolution:10'"):
        bench.parse_strategy("evolution:10")
