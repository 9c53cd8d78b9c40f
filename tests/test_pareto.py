"""Pareto utilities, multi-objective search results, constraints and exporting a front member."""

import json

import numpy as np
import pytest
from conftest import make_data

import kerasnas
from kerasnas import pareto
from kerasnas.evaluation import Constraints, FitEvaluator
from kerasnas.spaces import ChainSpace
from kerasnas.tabular import NasBenchMacro
from kerasnas.testing.simulate import simulate
from kerasnas.trial import TrialRecord

ACC = kerasnas.Objective("acc")
PARAMS = kerasnas.Objective("params")


def record(number, status="completed", **metrics):
    return TrialRecord(number, {"n": number}, status, metrics)


def test_dominance_needs_one_strict_improvement():
    assert pareto.dominates([2, 1], [1, 1])
    assert not pareto.dominates([1, 1], [1, 1])
    assert not pareto.dominates([2, 0], [1, 1])


def test_non_dominated_sort_peels_fronts_in_order():
    points = [[3, 1], [1, 3], [2, 2], [1, 1], [0, 0], [2, 1], [3, 1]]
    fronts = pareto.non_dominated_sort(points)
    assert fronts == [[0, 1, 2, 6], [5], [3], [4]]
    assert list(pareto.pareto_ranks(points)) == [0, 0, 0, 2, 3, 1, 0]
    with pytest.raises(ValueError, match="2-D"):
        pareto.non_dominated_sort([1, 2, 3])


def test_crowding_distance_favours_isolated_points():
    # Extremes are infinite; the middle point's gaps: (3-0)/3 + (3-0)/3.
    distance = pareto.crowding_distance([[0, 3], [1, 2], [3, 0]])
    assert np.isinf(distance[0]) and np.isinf(distance[2])
    assert distance[1] == pytest.approx(2.0)
    crowded = pareto.crowding_distance([[0, 4], [1, 3], [1.1, 2.9], [4, 0]])
    assert crowded[1] < np.inf and crowded[2] < np.inf


def test_pareto_front_of_hand_made_records():
    records = [
        record(0, acc=0.90, params=100),  # front: most accurate
        record(1, acc=0.80, params=10),  # front: smallest
        record(2, acc=0.85, params=50),  # front: a trade-off
        record(3, acc=0.80, params=60),  # dominated by 2
        record(4, acc=0.90, params=100),  # equal to 0: kept too
        record(5, "failed"),  # never on the front
        record(6, acc=0.99),  # lacks params: left out
        record(7, "rejected", params=5),  # rejected before training: left out
    ]
    front = pareto.pareto_front(records, [ACC, PARAMS])
    assert [r.number for r in front] == [0, 1, 2, 4]
    # Direction matters: maximising params makes trial 0 (and 4) the only winners.
    front = pareto.pareto_front(records, [ACC, kerasnas.Objective("params", "max")])
    assert [r.number for r in front] == [0, 4]


def test_search_result_pareto_front_is_non_dominated_and_dominates_the_rest(tmp_path):
    table = NasBenchMacro()
    result = kerasnas.search(
        space=table.space,
        evaluator=table.evaluator(),
        objective=["accuracy", "params"],
        strategy="nsga2",
        strategy_options={"population_size": 8},
        max_trials=40,
        directory=tmp_path,
        verbose=0,
    )
    front = result.pareto_front
    assert len(front) >= 3
    objectives = result.objectives
    scores = {t.number: pareto.score_matrix([t], objectives)[0] for t in result.trials}
    front_numbers = {t.number for t in front}
    for t in result.trials:
        dominated = any(pareto.dominates(scores[f], scores[t.number]) for f in front_numbers)
        assert dominated != (t.number in front_numbers)
    # The most accurate and the smallest trial are both on the front.
    assert max(result.trials, key=lambda t: t.metrics["accuracy"]).number in front_numbers
    assert min(result.trials, key=lambda t: t.metrics["params"]).number in front_numbers


def hypervolume_2d(records, reference):
    """Area dominated by (accuracy max, params min) points, up to a reference point."""
    points = sorted(
        (r.metrics["accuracy"], r.metrics["params"])
        for r in pareto.pareto_front(records, [kerasnas.Objective("accuracy"), PARAMS])
    )
    area, best_params = 0.0, reference[1]
    for acc, params in reversed(points):  # from most accurate down
        if params < best_params:
            area += (acc - reference[0]) * (best_params - params)
            best_params = params
    return area


def test_nsga2_finds_a_better_front_than_random_search():
    table = NasBenchMacro()
    reference = (80.0, 2.5e6)
    volumes = {}
    for name in ("random", "nsga2"):
        volumes[name] = np.mean(
            [
                hypervolume_2d(
                    simulate(
                        kerasnas.strategies.get(name),
                        table.space,
                        table.evaluator(),
                        ["accuracy", "params"],
                        100,
                        seed=seed,
                    ),
                    reference,
                )
                for seed in range(5)
            ]
        )
    assert volumes["nsga2"] > volumes["random"]


def test_callable_constraints_reject_without_spending_the_budget(tmp_path):
    table = NasBenchMacro()
    result = kerasnas.search(
        space=table.space,
        evaluator=table.evaluator(),
        objective="accuracy",
        strategy="evolution",
        strategy_options={"population_size": 5},
        max_params=1_000_000,
        max_trials=20,
        directory=tmp_path,
        verbose=0,
    )
    rejected = [t for t in result.trials if t.status == "rejected"]
    completed = [t for t in result.trials if t.status == "completed"]
    assert len(completed) == 20 and rejected
    assert all(t.metrics["params"] <= 1_000_000 for t in completed)
    for t in rejected:
        assert t.metrics["params"] > 1_000_000 and "accuracy" not in t.metrics
        assert "max_params" in t.error


def test_a_constraint_the_callable_cannot_check_fails_clearly(tmp_path):
    with pytest.raises(kerasnas.errors.SearchAborted, match="returned no 'flops' metric"):
        kerasnas.search(
            space="nas_bench_macro",
            evaluator=lambda arch: 1.0,
            max_flops=1000,
            max_trials=12,
            directory=tmp_path,
            verbose=0,
        )
    with pytest.raises(ValueError, match="max_params"):
        kerasnas.search(
            space="nas_bench_macro",
            evaluator=kerasnas.CallableEvaluator(lambda arch: 1.0, "score"),
            max_params=1000,
            directory=tmp_path / "other",
            verbose=0,
        )


class CountingFit(FitEvaluator):
    fits = 0

    def fit(self, *args, **kwargs):
        CountingFit.fits += 1
        return super().fit(*args, **kwargs)


def test_fit_constraints_reject_before_training(tmp_path):
    x, y = make_data("vector", n=64)
    data = kerasnas.data.from_arrays(x, y)
    space = ChainSpace(max_layers=2, operations=("dense",), widths=(4, 64))
    builder = kerasnas.ModelBuilder(space, data.input_shape, data.task)
    evaluator = CountingFit(builder, data, epochs=1, constraints=Constraints(max_params=400))
    result = kerasnas.Search(
        space,
        kerasnas.strategies.get("evolution", population_size=2),
        evaluator,
        objective="val_accuracy",
        directory=tmp_path,
        max_trials=3,
        builder=builder,
        data=data,
        verbose=0,
    ).run()
    rejected = [t for t in result.trials if t.status == "rejected"]
    assert rejected, [t.metrics.get("params") for t in result.trials]
    for t in rejected:
        assert t.metrics["params"] > 400 and "val_accuracy" not in t.metrics
    assert CountingFit.fits == 3  # only the completed trials were trained


@pytest.mark.slow
def test_export_a_pareto_member_that_is_not_the_best(tmp_path):
    x, y = make_data("vector", n=96)
    result = kerasnas.search(
        x,
        y,
        space=ChainSpace(max_layers=2, operations=("dense", "identity"), widths=(4, 32)),
        strategy="nsga2",
        strategy_options={"population_size": 2},
        objective=["val_accuracy", "latency_ms", "params"],
        max_trials=5,
        epochs=1,
        keep_best_models=1,
        warm_start=False,  # a front of several members needs varied designs, not the references
        directory=tmp_path / "search",
        verbose=0,
    )
    assert all("latency_ms" in t.metrics for t in result.completed)
    front = result.pareto_front
    others = [t for t in front if t.number != result.best_trial.number]
    assert others, [(t.metrics["val_accuracy"], t.metrics["params"]) for t in front]
    member = min(others, key=lambda t: t.metrics["params"])
    info = result.export(tmp_path / "exports" / "small", trial=member.number)
    exported = json.loads((info.path / "architecture.json").read_text())
    assert exported == dict(member.architecture)
    assert result.load_model(member.number).count_params() == member.metrics["params"]
