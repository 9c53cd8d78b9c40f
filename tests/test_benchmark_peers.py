"""The peer benchmark's bookkeeping: time to 94% and the aggregated table (no training)."""

import argparse
import importlib.util
import json
import pathlib
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def peers():
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("peers_mnist1d", BENCHMARKS / "peers_mnist1d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trial(t, val, test):
    return {"t": t, "fit_s": 1.0, "epochs": 20, "val_accuracy": val, "test_accuracy": test}


def test_time_to_target_follows_the_incumbent_by_validation_never_test(peers):
    trials = [
        trial(10, 0.90, 0.91),
        # Best test so far, but not the best validation: never the incumbent.
        trial(20, 0.89, 0.97),
        trial(30, 0.93, 0.95),  # incumbent reaches 94% test here
        trial(40, 0.96, 0.93),  # incumbent reaches 94% validation here
    ]
    assert peers.incumbent_times(trials) == (30, 40)
    assert peers.incumbent_times(trials[:2]) == (None, None)


def test_aggregate_writes_the_table_and_plot_from_result_files(peers, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    for seed, final in ((0, 0.95), (1, 0.93)):
        record = {
            "config": "kerasnas-evolution",
            "seed": seed,
            "budget_s": 900.0,
            "final_test_mean": final,
            "final_test_accuracy": [final],
            "trials": [trial(100, 0.90, 0.90), trial(200 + seed, 0.95, 0.945)],
            "params": 1000 + seed,
            "trials_completed": 30,
            "search_s": 905.0,
            "fit_s_total": 845.0,
            "fits_recorded": 30,
            "load_average_start": [1.0, 1.0, 1.0],
            "load_average_end": [2.0, 2.0, 2.0],
        }
        (results / f"kerasnas-evolution-seed{seed}.json").write_text(json.dumps(record))
    args = argparse.Namespace(workdir=str(tmp_path), plot=None, record=False, title="t")
    assert peers.aggregate(args) == 0
    (row,) = json.loads((tmp_path / "summary.json").read_text())
    assert row["final_mean"] == pytest.approx(0.94)
    assert row["to_test"] == [200, 201]
    assert row["overhead_s"] == pytest.approx(2.0)  # (905 - 845) / 30
    assert (tmp_path / "peers_mnist1d.png").stat().st_size > 0
