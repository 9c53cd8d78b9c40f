import json

import numpy as np
import pytest
from conftest import make_data

import kerasnas
from kerasnas.errors import IncompatibleSearchError, SearchAborted
from kerasnas.spaces import ChainSpace


def depth_score(arch):
    return {"score": arch["num_layers"] + 0.1 * (arch["layer_0.op"] == "conv"), "params": 1}


def test_callable_evaluator_needs_no_data(tmp_path):
    result = kerasnas.search(
        space=ChainSpace(max_layers=3),
        evaluator=depth_score,
        objective="score",
        max_trials=8,
        directory=tmp_path,
        verbose=0,
    )
    assert len(result.trials) == 8
    assert all(t.status == "completed" for t in result.trials)
    assert result.best_value == max(t.metrics["score"] for t in result.trials)
    with pytest.raises(ValueError, match="no kept model"):
        _ = result.best_model


def test_random_search_never_repeats_an_architecture(tmp_path):
    space = kerasnas.SearchSpace(
        [kerasnas.spaces.Categorical("a", [0, 1, 2]), kerasnas.spaces.Categorical("b", [0, 1])]
    )
    result = kerasnas.search(
        space=space,
        evaluator=lambda a: a["a"] + a["b"],
        max_trials=10,
        directory=tmp_path,
        verbose=0,
    )
    keys = [t.key for t in result.trials]
    assert len(keys) == len(set(keys)) == 6  # the space has 6 members; then it stops


def test_same_seed_same_search(tmp_path):
    runs = [
        kerasnas.search(
            space="chain",
            evaluator=depth_score,
            max_trials=6,
            directory=tmp_path / f"run{i}",
            seed=3,
            verbose=0,
        )
        for i in range(2)
    ]
    assert [t.architecture for t in runs[0].trials] == [t.architecture for t in runs[1].trials]
    other = kerasnas.search(
        space="chain",
        evaluator=depth_score,
        max_trials=6,
        directory=tmp_path / "other",
        seed=4,
        verbose=0,
    )
    assert [t.architecture for t in other.trials] != [t.architecture for t in runs[0].trials]


def test_resume_continues_with_the_same_trials(tmp_path):
    straight = kerasnas.search(
        space="chain",
        evaluator=depth_score,
        max_trials=6,
        directory=tmp_path / "straight",
        verbose=0,
    )
    kerasnas.search(
        space="chain",
        evaluator=depth_score,
        max_trials=3,
        directory=tmp_path / "resumed",
        verbose=0,
    )
    resumed = kerasnas.search(
        space="chain",
        evaluator=depth_score,
        max_trials=6,
        directory=tmp_path / "resumed",
        verbose=0,
    )
    assert [t.architecture for t in resumed.trials] == [t.architecture for t in straight.trials]
    lines = (tmp_path / "resumed" / "journal.jsonl").read_text().splitlines()
    finished = [json.loads(line) for line in lines if '"trial_finished"' in line]
    assert [e["record"]["number"] for e in finished] == list(range(6))


def test_a_trial_cut_short_is_retried_once(tmp_path):
    kerasnas.search(
        space="chain", evaluator=depth_score, max_trials=2, directory=tmp_path, verbose=0
    )
    journal = kerasnas.Journal(tmp_path)
    journal.append(
        {
            "event": "trial_started",
            "trial": 2,
            "attempt": 1,
            "architecture": {"num_layers": 1, "layer_0.op": "identity", "head.pooling": "flatten"},
            "seed": 5,
        }
    )
    result = kerasnas.search(
        space="chain", evaluator=depth_score, max_trials=3, directory=tmp_path, verbose=0
    )
    retried = result.trial(2)
    assert retried.attempt == 2 and retried.ok
    assert retried.architecture["layer_0.op"] == "identity"


def test_changed_space_is_refused_with_instructions(tmp_path):
    kerasnas.search(
        space=ChainSpace(max_layers=2),
        evaluator=depth_score,
        max_trials=1,
        directory=tmp_path,
        verbose=0,
    )
    with pytest.raises(
        IncompatibleSearchError,
        match=r"(?s)space.max_layers: stored 2, requested 3.*overwrite=True",
    ):
        kerasnas.search(
            space=ChainSpace(max_layers=3),
            evaluator=depth_score,
            max_trials=1,
            directory=tmp_path,
            verbose=0,
        )
    fresh = kerasnas.search(
        space=ChainSpace(max_layers=3),
        evaluator=depth_score,
        max_trials=1,
        directory=tmp_path,
        verbose=0,
        overwrite=True,
    )
    assert len(fresh.trials) == 1


def test_failures_are_recorded_and_many_in_a_row_stop(tmp_path):
    calls = []

    def flaky(arch):
        calls.append(arch)
        if len(calls) % 2:
            raise RuntimeError("candidate exploded")
        return 1.0

    result = kerasnas.search(
        space="chain", evaluator=flaky, max_trials=6, directory=tmp_path / "flaky", verbose=0
    )
    failed = [t for t in result.trials if t.status == "failed"]
    assert len(failed) == 3 and "candidate exploded" in failed[0].error

    def broken(arch):
        raise RuntimeError("always")

    with pytest.raises(SearchAborted, match="10 trials failed in a row"):
        kerasnas.search(
            space="chain", evaluator=broken, max_trials=50, directory=tmp_path / "broken", verbose=0
        )
    journal = (tmp_path / "broken" / "journal.jsonl").read_text()
    assert journal.count('"trial_finished"') == 10  # every failure stays recorded


@pytest.mark.parametrize("name", ["max_consecutive_failures", "max_consecutive_rejections"])
def test_streak_limits_below_one_are_refused_before_any_trial(tmp_path, name):
    from kerasnas.evaluation import CallableEvaluator
    from kerasnas.strategies import RandomSearch

    with pytest.raises(ValueError, match=f"Received: {name}=0"):
        kerasnas.Search(
            ChainSpace(max_layers=3), RandomSearch(), CallableEvaluator(depth_score, "score"),
            objective="score", directory=tmp_path, verbose=0, **{name: 0},
        )  # fmt: skip
    assert not (tmp_path / "journal.jsonl").exists()


def test_many_rejected_candidates_in_a_row_stop_after_a_completed_trial(tmp_path):
    from kerasnas.errors import ConstraintViolation

    calls = []

    def deep_only(arch):  # the first candidate completes, every later one is rejected
        calls.append(arch)
        if len(calls) == 1:
            return 1.0
        raise ConstraintViolation("too shallow")

    with pytest.raises(SearchAborted, match="3 candidates in a row broke the constraints"):
        kerasnas.Search(
            ChainSpace(max_layers=3), kerasnas.strategies.RandomSearch(),
            kerasnas.evaluation.CallableEvaluator(deep_only, "score"), objective="score",
            directory=tmp_path, max_trials=20, verbose=0, max_consecutive_rejections=3,
        ).run()  # fmt: skip
    journal = (tmp_path / "journal.jsonl").read_text()
    assert journal.count('"rejected"') == 3 and journal.count('"completed"') == 1


def test_unknown_objective_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"Available metrics: \['params', 'score'\]"):
        kerasnas.search(
            space="chain",
            evaluator=depth_score,
            objective="val_acc",
            max_trials=3,
            directory=tmp_path,
            verbose=0,
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"space": "resnet"}, "Received: space='resnet'"),
        ({"strategy": "genetic"}, "Received: strategy='genetic'"),
        ({"max_trials": 0}, "Received: max_trials=0"),
        ({"epochs": -1}, "Received: epochs=-1"),
        ({"max_params": -5}, "Received: max_params=-5"),
    ],
)
def test_bad_arguments_name_the_parameter(tmp_path, kwargs, message):
    x, y = make_data("vector", n=32)
    with pytest.raises(ValueError, match=message):
        kerasnas.search(x, y, directory=tmp_path, verbose=0, **kwargs)


def test_end_to_end_tiny_search_trains_and_keeps_the_best(tmp_path, capsys):
    x, y = make_data("sequence", n=128)
    result = kerasnas.search(
        x,
        y,
        validation_data=(x[:32], y[:32]),
        space="chain",
        strategy="random",
        objective="val_accuracy",
        max_trials=3,
        epochs=1,
        directory=tmp_path,
        seed=0,
        keep_best_models=1,
    )
    printed = capsys.readouterr().out
    assert printed.count("Trial ") == 3 and "val_accuracy=" in printed and "best" in printed
    assert len(result.trials) == 3
    for trial in result.trials:
        assert trial.ok
        assert {"val_accuracy", "loss", "params", "flops", "train_time_s"} <= set(trial.metrics)
        assert trial.duration_s > 0
    json.dumps(result.best_architecture)
    model = result.best_model
    probabilities = model.predict(x[:4], verbose=0)
    assert probabilities.shape == (4, 3)
    kept = list((tmp_path / "trials").glob("*/model.keras"))
    assert len(kept) == 1 and kept[0].parent.name == f"trial_{result.best_trial.number:04d}"


def test_constraints_reject_before_training(tmp_path):
    x, y = make_data("vector", n=64)
    result = kerasnas.search(
        x,
        y,
        max_trials=2,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        max_params=300,
        space_options={"widths": (8, 256)},
    )
    rejected = [t for t in result.trials if t.status == "rejected"]
    assert all("max_params=300" in t.error and t.metrics["params"] > 300 for t in rejected)
    assert all(t.metrics["params"] <= 300 for t in result.completed)
    assert len(result.completed) == 2


def test_regression_search(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = x[:, :2].sum(axis=1).astype("float32")
    result = kerasnas.search(x, y, max_trials=2, epochs=2, directory=tmp_path, verbose=0)
    assert result.objective.name == "val_mae" and result.objective.direction == "min"
    assert all("val_mae" in t.metrics for t in result.completed)
    assert result.best_model.predict(x[:3], verbose=0).shape == (3, 1)


def test_one_hot_labels(tmp_path):
    x, y = make_data("vector", n=64)
    result = kerasnas.search(x, np.eye(3)[y], max_trials=1, epochs=1, directory=tmp_path, verbose=0)
    assert result.completed[0].metrics["val_accuracy"] >= 0


def test_proxy_ranking_claims_only_the_proposal_it_returns():
    """Candidates a proxy ranked lower stay free for later trials to propose."""
    from kerasnas.strategies import RandomSearch
    from kerasnas.strategies.wrappers import Deduplicated, ProxyRanked

    class CountLayers:
        name = "count_layers"

        def score(self, architecture, seed=0):
            return float(architecture["num_layers"])

    space = ChainSpace(max_layers=3)
    strategy = Deduplicated(ProxyRanked(RandomSearch(), CountLayers(), candidates=5))
    strategy.setup(space, [kerasnas.Objective("score", "max")])
    strategy.for_trial(0)
    chosen = strategy.ask([], np.random.default_rng(0))
    assert list(strategy.running) == [space.canonical_key(chosen)]
    assert strategy.last_info["zero_cost"]["candidates"] > 1


def test_strategies_inside_the_loop_see_which_architectures_are_running():
    """A batch-proposing strategy (RL) avoids what runs via `running_keys`, not a copy of its own."""
    from kerasnas.strategies import RandomSearch, WarmStart
    from kerasnas.strategies.wrappers import Deduplicated

    space = ChainSpace(max_layers=3)
    inner = RandomSearch()
    strategy = Deduplicated(WarmStart(inner, [space.sample(1)]))
    strategy.setup(space, [kerasnas.Objective("score", "max")])
    keys = [space.canonical_key(strategy.ask([], np.random.default_rng(i))) for i in range(2)]
    assert set(inner.running_keys) == set(keys) and len(set(keys)) == 2
    strategy.tell(kerasnas.trial.TrialRecord(number=0, architecture=space.sample(1),
                                             status="completed", key=keys[0], metrics={}))  # fmt: skip
    assert set(inner.running_keys) == {keys[1]}
