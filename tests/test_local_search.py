"""Local search: climbing, restarts, determinism, resume, failures, every space kind."""

import numpy as np
import pytest

import kerasnas
from kerasnas.errors import ConstraintViolation
from kerasnas.spaces.space import stable_hash
from kerasnas.strategies import LocalSearch
from kerasnas.strategies.local_search import neighbours
from kerasnas.tabular import NasBenchMacro
from kerasnas.testing.simulate import simulate
from kerasnas.trial import TrialRecord

TARGET = "21021021"
OPS = ("identity", "MB3_K3", "MB6_K5")
KINDS = ("nas_bench_macro", "chain", "chain_skips", "template", "cell", "nas_bench_201", "darts")


def matches(arch):
    """OneMax-like toy on NAS-Bench-Macro: layers equal to a hidden target (0-8)."""
    return float(sum(OPS[int(c)] == arch[f"layer_{i}"] for i, c in enumerate(TARGET)))


def hashed(arch):
    """A deterministic, structureless score for any space."""
    return int(stable_hash(dict(arch))[:6], 16) / 16**6


@pytest.fixture(scope="module")
def table():
    return NasBenchMacro()


def differs_in_one(a, b):
    return sum(a[k] != b[k] for k in a) == 1


def test_first_improvement_climbs_to_the_optimum_then_stops_without_restarts():
    space = kerasnas.spaces.nas_bench_macro()
    strategy = LocalSearch(initial_samples=5, restarts=0)
    records = simulate(strategy, space, matches, "score", 500, seed=1)
    # OneMax has one optimum; the climb reaches it, tries all 16 neighbours and stops.
    assert max(r.metrics["score"] for r in records) == 8
    assert len(records) < 200
    incumbent = max(records[:5], key=lambda r: (r.metrics["score"], -r.number))
    for record in records[5:]:
        assert differs_in_one(record.architecture, incumbent.architecture)
        if record.metrics["score"] > incumbent.metrics["score"]:
            incumbent = record
    assert incumbent.metrics["score"] == 8
    assert len({r.key for r in records}) == len(records)


def test_best_improvement_evaluates_the_whole_neighbourhood_before_moving():
    space = kerasnas.spaces.nas_bench_macro()
    records = simulate(
        LocalSearch(initial_samples=4, improvement="best"), space, matches, "score", 40, seed=2
    )
    start = max(records[:4], key=lambda r: (r.metrics["score"], -r.number))
    first_sweep = records[4:20]
    neighbour_keys = {space.canonical_key(a) for a in space.neighbours(start.architecture)}
    assert {r.key for r in first_sweep} == neighbour_keys
    # Then it moves to the best of them and sweeps that one's neighbourhood.
    best = max(first_sweep, key=lambda r: (r.metrics["score"], -r.number))
    assert best.metrics["score"] > start.metrics["score"]
    assert all(differs_in_one(r.architecture, best.architecture) for r in records[20:30])


def test_restarts_from_a_random_point_at_a_local_optimum():
    space = kerasnas.spaces.nas_bench_macro()
    # A flat landscape: the first incumbent is a local optimum at once.
    records = simulate(
        LocalSearch(initial_samples=2, restarts=1), space, lambda a: 1.0, "score", 100, seed=0
    )
    # 2 random, 16 neighbours, 1 random restart, its (new) neighbours, then the end.
    assert 2 + 16 + 1 + 8 <= len(records) <= 2 + 16 + 1 + 16
    restart = records[18]
    assert all(differs_in_one(r.architecture, restart.architecture) for r in records[19:])


def test_same_seed_same_search_and_another_seed_differs(table):
    runs = [
        simulate(LocalSearch(), table.space, table.evaluator(), "accuracy", 60, seed=s)
        for s in (4, 4, 5)
    ]
    archs = [[r.architecture for r in run] for run in runs]
    assert archs[0] == archs[1]
    assert archs[0] != archs[2]
    assert len({r.key for r in runs[0]}) == 60


def test_a_proposal_depends_on_the_history_only_not_on_earlier_calls(table):
    records = simulate(LocalSearch(), table.space, table.evaluator(), "accuracy", 80, seed=3)
    warm = LocalSearch()
    warm.setup(table.space, [kerasnas.Objective("accuracy")])
    for n in (10, 30, 80):
        warm.ask(records[:n], np.random.default_rng(n))
    # A strategy that saw longer histories answers a shorter one like a fresh one.
    for n in (25, 80, 40):
        cold = LocalSearch()
        cold.setup(table.space, [kerasnas.Objective("accuracy")])
        rng_a, rng_b = np.random.default_rng([n, 1]), np.random.default_rng([n, 1])
        assert warm.ask(records[:n], rng_a) == cold.ask(records[:n], rng_b)


def test_resume_reproduces_an_uninterrupted_search(table, tmp_path):
    def run(directory, trials):
        return kerasnas.search(
            space=table.space,
            evaluator=table.evaluator(),
            objective="accuracy",
            strategy="local_search",
            strategy_options={"initial_samples": 5},
            max_trials=trials,
            directory=directory,
            seed=7,
            verbose=0,
        )

    straight = run(tmp_path / "straight", 40)
    assert run(tmp_path / "resumed", 20).trials[-1].number == 19
    resumed = run(tmp_path / "resumed", 40)
    assert [t.architecture for t in resumed.trials] == [t.architecture for t in straight.trials]
    assert len({t.key for t in straight.trials}) == 40
    assert straight.settings["strategy"]["name"] == "local_search"
    assert straight.settings["strategy"]["initial_samples"] == 5
    # The search climbed: better than the best of its 5 random starts.
    assert straight.best_value > max(t.metrics["accuracy"] for t in straight.trials[:5])


def test_failed_and_rejected_trials_count_as_tried_and_never_lead():
    space = kerasnas.spaces.nas_bench_macro()

    def flaky(arch):
        if arch["layer_7"] == "identity":
            raise RuntimeError("cannot train this one")
        if arch["layer_6"] == "identity":
            raise ConstraintViolation("too big", metrics={"params": 10})
        return matches(arch)

    records = simulate(LocalSearch(initial_samples=4), space, flaky, "score", 60, seed=2)
    statuses = [r.status for r in records]
    assert statuses.count("failed") > 0 and statuses.count("rejected") > 0
    assert sum(s != "rejected" for s in statuses) == 60
    assert len({r.key for r in records}) == len(records)
    state = LocalSearch(initial_samples=4)
    state.setup(space, [kerasnas.Objective("score")])
    assert state.state(records).incumbent.ok


def test_minimising_climbs_the_same_way_as_maximising_the_negation():
    space = kerasnas.spaces.nas_bench_macro()
    up = simulate(LocalSearch(), space, matches, "score", 50, seed=6)
    down = simulate(
        LocalSearch(),
        space,
        lambda a: {"loss": -matches(a)},
        kerasnas.Objective("loss", "min"),
        50,
        seed=6,
    )
    assert [r.architecture for r in up] == [r.architecture for r in down]


def test_asks_before_tells_get_different_neighbours_and_spill_to_random_points():
    space = kerasnas.spaces.nas_bench_macro()
    history = simulate(LocalSearch(initial_samples=3), space, matches, "score", 3, seed=0)
    strategy = LocalSearch(initial_samples=3, batch_size=32)
    strategy.setup(space, [kerasnas.Objective("score")])
    proposals = [strategy.ask(history, np.random.default_rng(i)) for i in range(8)]
    assert len({p.key for p in proposals}) >= 6
    start = strategy.state(history).incumbent.architecture
    # 16 neighbours for a batch of 32: about half the proposals explore elsewhere.
    far = [p for p in proposals if not differs_in_one(p, start)]
    assert 0 < len(far) < 8


@pytest.mark.parametrize("kind", KINDS)
def test_every_space_kind(kind):
    space = kerasnas.spaces.get(kind)
    records = simulate(LocalSearch(initial_samples=3), space, hashed, "score", 12, seed=0)
    assert len(records) == 12
    assert len({r.key for r in records}) == 12
    assert all(space.contains(r.architecture) for r in records)
    # The fast path for plain grids gives exactly the space's own neighbours.
    for record in records[:3]:
        assert neighbours(space, record.architecture) == space.neighbours(record.architecture)


@pytest.mark.parametrize(
    "options, name",
    [
        ({"initial_samples": 0}, "initial_samples"),
        ({"improvement": "steepest"}, "improvement"),
        ({"restarts": -1}, "restarts"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_options_name_the_parameter(options, name):
    with pytest.raises(ValueError, match=f"Received: {name}="):
        kerasnas.strategies.get("local_search", **options)


def test_a_history_from_another_strategy_is_climbed_from_its_best():
    space = kerasnas.spaces.nas_bench_macro()
    rng = np.random.default_rng(0)
    history = [
        TrialRecord(i, a, "completed", {"score": matches(a)})
        for i, a in enumerate(space.sample(rng) for _ in range(30))
    ]
    strategy = LocalSearch(initial_samples=10)
    strategy.setup(space, [kerasnas.Objective("score")])
    best_of_first_ten = max(history[:10], key=lambda r: (r.metrics["score"], -r.number))
    incumbent = strategy.state(history).incumbent
    assert incumbent.metrics["score"] >= best_of_first_ten.metrics["score"]
    proposal = strategy.ask(history, np.random.default_rng(1))
    assert differs_in_one(proposal, incumbent.architecture)


def test_a_trial_stopped_early_counts_with_the_value_it_reached():
    space = kerasnas.spaces.nas_bench_macro()
    strategy = LocalSearch(initial_samples=2)
    strategy.setup(space, [kerasnas.Objective("score")])
    rng = np.random.default_rng(0)
    a, b = space.sample(rng), space.sample(rng)
    history = [
        TrialRecord(0, a, "completed", {"score": 1.0}),
        TrialRecord(1, b, "completed", {"score": 2.0}),
    ]
    neighbour = strategy.ask(history, np.random.default_rng(1))
    pruned = TrialRecord(
        2, neighbour, "completed", {"score": 3.0}, info={"stopped_early": {"epoch": 1}}
    )
    assert strategy.state([*history, pruned]).incumbent.number == 2
    stopped_low = TrialRecord(
        2, neighbour, "completed", {"score": 0.5}, info={"stopped_early": {"epoch": 1}}
    )
    assert strategy.state([*history, stopped_low]).incumbent.number == 1
