"""Regularized (aging) evolution and NSGA-II: validity, determinism, resume, selection."""

import numpy as np
import pytest

import kerasnas
from kerasnas.errors import ConstraintViolation
from kerasnas.spaces import Categorical, ChainSpace
from kerasnas.strategies import NSGA2, RegularizedEvolution
from kerasnas.tabular import NasBenchMacro
from kerasnas.testing.simulate import simulate
from kerasnas.trial import TrialRecord

TARGET = "21021021"


def matches(arch):
    """OneMax-like toy: how many layers match a hidden target (0-8)."""
    ops = ("identity", "MB3_K3", "MB6_K5")
    return float(sum(ops[int(c)] == arch[f"layer_{i}"] for i, c in enumerate(TARGET)))


def two_objectives(arch):
    """A trade-off on NAS-Bench-Macro: bigger layers score more and cost more."""
    weights = {"identity": 0, "MB3_K3": 1, "MB6_K5": 2}
    size = sum(weights[arch[f"layer_{i}"]] for i in range(8))
    early = sum(weights[arch[f"layer_{i}"]] for i in range(3))
    return {"score": size + 0.5 * early, "cost": size * size}


@pytest.fixture(scope="module")
def table():
    return NasBenchMacro()


@pytest.mark.parametrize("name", ["evolution", "nsga2", "pareto"])
def test_named_strategies_run_through_the_front_door(name, tmp_path):
    result = kerasnas.search(
        space="nas_bench_macro",
        evaluator=two_objectives,
        objective=["score", ("cost", "min")],
        strategy=name,
        strategy_options={"population_size": 4},
        max_trials=12,
        directory=tmp_path,
        verbose=0,
    )
    assert len(result.trials) == 12
    assert result.settings["strategy"]["population_size"] == 4
    keys = [t.key for t in result.trials]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    "make", [lambda: RegularizedEvolution(10, 3, crossover_rate=0.5), lambda: NSGA2(10)]
)
def test_same_seed_same_search_and_another_seed_differs(make, table):
    runs = [
        simulate(make(), table.space, table.evaluator(), ["accuracy", "params"], 40, seed=s)
        for s in (5, 5, 6)
    ]
    archs = [[r.architecture for r in run] for run in runs]
    assert archs[0] == archs[1]
    assert archs[0] != archs[2]


@pytest.mark.parametrize("name", ["evolution", "nsga2"])
def test_resume_reproduces_an_uninterrupted_search(name, tmp_path):
    def run(directory, trials):
        return kerasnas.search(
            space="nas_bench_macro",
            evaluator=two_objectives,
            objective=["score", ("cost", "min")],
            strategy=name,
            strategy_options={"population_size": 5},
            max_trials=trials,
            directory=directory,
            seed=11,
            verbose=0,
        )

    straight = run(tmp_path / "straight", 20)
    first = run(tmp_path / "resumed", 10)
    assert len(first.trials) == 10
    resumed = run(tmp_path / "resumed", 20)
    assert [t.architecture for t in resumed.trials] == [t.architecture for t in straight.trials]
    # The proposals after the population filled up came from evolution, not sampling.
    assert len({t.key for t in straight.trials}) == 20


def test_simulate_proposes_what_search_proposes(table, tmp_path):
    result = kerasnas.search(
        space=table.space,
        evaluator=table.evaluator(),
        objective="accuracy",
        strategy="evolution",
        strategy_options={"population_size": 6, "sample_size": 2},
        max_trials=25,
        seed=3,
        directory=tmp_path,
        verbose=0,
    )
    records = simulate(
        RegularizedEvolution(6, 2), table.space, table.evaluator(), "accuracy", 25, seed=3
    )
    assert [r.architecture for r in records] == [t.architecture for t in result.trials]


@pytest.mark.parametrize("make", [lambda: RegularizedEvolution(6, 3, 0.5, 0.5), lambda: NSGA2(6)])
def test_proposals_are_valid_and_new_on_a_conditional_chain_space(make):
    space = ChainSpace(max_layers=4)
    assert any(d.conditions for d in space.decisions)  # decisions depend on num_layers

    def score(arch):
        return {"score": arch["num_layers"] + (arch["layer_0.op"] == "conv"), "params": 1}

    records = simulate(make(), space, score, ["score", "params"], 60, seed=0)
    assert len(records) == 60
    for record in records:
        assert space.contains(record.architecture)
        assert space.validate(record.architecture) == record.architecture
    assert len({r.key for r in records}) == 60


def test_population_is_the_last_completed_trials_and_ages_out_the_best():
    space = kerasnas.spaces.nas_bench_macro()
    strategy = RegularizedEvolution(population_size=3, sample_size=3)
    strategy.setup(space, [kerasnas.Objective("score")])
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(8)]
    statuses = ["completed", "completed", "failed", "completed", "rejected", "completed"]
    scores = [9.0, 1.0, None, 2.0, None, 3.0]
    history = [
        TrialRecord(i, archs[i], status, {"score": s} if s is not None else {})
        for i, (status, s) in enumerate(zip(statuses, scores))
    ]
    members = strategy.population(history)
    # Failed and rejected trials never join; the best (trial 0) is the oldest and died.
    assert [m.number for m in members] == [1, 3, 5]
    # With sample_size == population_size, the parent is always the best living
    # member (trial 5), so every child is one decision away from it.
    parent = archs[5]
    for seed in range(10):
        child = strategy.ask(history, np.random.default_rng(seed))
        assert sum(child[k] != parent[k] for k in parent) == 1
        assert child.key not in {r.key for r in history}


def test_before_the_population_fills_proposals_are_random_samples():
    space = kerasnas.spaces.nas_bench_macro()
    strategy = RegularizedEvolution(population_size=5, sample_size=2)
    strategy.setup(space, [kerasnas.Objective("score")])
    history = [TrialRecord(i, space.sample(i + 10), "completed", {"score": 1.0}) for i in range(4)]
    first_draw = space.sample(np.random.default_rng(1))
    assert strategy.ask(history, np.random.default_rng(1)) == first_draw
    # A draw that was tried already is drawn again.
    history[0] = TrialRecord(0, first_draw, "completed", {"score": 1.0})
    proposal = strategy.ask(history, np.random.default_rng(1))
    assert proposal.key not in {r.key for r in history}


def test_evolution_beats_random_search_on_a_toy_landscape():
    space = kerasnas.spaces.nas_bench_macro()
    best = {}
    for name in ("random", "evolution"):
        values = []
        for seed in range(6):
            strategy = kerasnas.strategies.get(name)
            records = simulate(strategy, space, matches, "score", 80, seed=seed)
            values.append(max(r.metrics["score"] for r in records))
        best[name] = np.mean(values)
    # 80 random draws of 6,561 rarely match 7 of 8 layers; evolution climbs to 8.
    assert best["evolution"] >= 7.5
    assert best["evolution"] > best["random"] + 1


def test_failed_and_rejected_candidates_are_skipped_not_retried():
    space = kerasnas.spaces.nas_bench_macro()

    def flaky(arch):
        if arch["layer_7"] == "identity":
            raise RuntimeError("cannot train this one")
        if arch["layer_6"] == "identity":
            raise ConstraintViolation("too big", metrics={"params": 10})
        return matches(arch)

    records = simulate(RegularizedEvolution(5, 2), space, flaky, "score", 40, seed=2)
    statuses = [r.status for r in records]
    assert statuses.count("failed") > 0 and statuses.count("rejected") > 0
    assert sum(s != "rejected" for s in statuses) == 40
    assert len({r.key for r in records}) == len(records)


def test_a_tiny_space_is_exhausted_without_repeats(tmp_path):
    space = kerasnas.SearchSpace([Categorical("a", [0, 1, 2]), Categorical("b", [0, 1])])
    result = kerasnas.search(
        space=space,
        evaluator=lambda a: a["a"] + a["b"],
        strategy="evolution",
        strategy_options={"population_size": 2, "sample_size": 2},
        max_trials=10,
        directory=tmp_path,
        verbose=0,
    )
    assert sorted((t.architecture["a"], t.architecture["b"]) for t in result.trials) == [
        (a, b) for a in range(3) for b in range(2)
    ]


@pytest.mark.parametrize(
    "options, message",
    [
        ({"population_size": 1}, "population_size"),
        ({"population_size": 4, "sample_size": 5}, "sample_size"),
        ({"mutation_rate": 1.5}, "mutation_rate"),
        ({"crossover_rate": -0.1}, "crossover_rate"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_bad_evolution_options_are_named(options, message):
    with pytest.raises(ValueError, match=f"Received: {message}="):
        kerasnas.strategies.get("evolution", **options)


def test_nsga2_says_which_objective_no_trial_reports():
    space = kerasnas.spaces.nas_bench_macro()
    with pytest.raises(ValueError, match=r"Received: objective=\['latency_ms'\]"):
        simulate(NSGA2(3), space, two_objectives, ["score", "latency_ms"], 6, seed=0)


@pytest.mark.slow
def test_readme_evolution_example_runs_as_written(tmp_path, monkeypatch):
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Evolution and multi-objective search")[1].split("\n## ")[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code, "README", "exec"), scope)
    assert scope["table"].regret(scope["result"].best_value) < 0.5
    front = scope["pareto"].pareto_front
    assert len(front) >= 3
    assert all(t.metrics["params"] <= 2_000_000 for t in front)
    assert any(t.status == "rejected" for t in scope["pareto"].trials)
