"""The defaults a new user gets: training recipe, warm start, regression units, every strategy."""

import numpy as np
import pytest
from conftest import make_data

import kerasnas
from kerasnas.builder import ModelBuilder
from kerasnas.data import from_arrays
from kerasnas.evaluation import FitEvaluator, TrialContext
from kerasnas.evaluation.recipe import cosine_learning_rate
from kerasnas.evaluation.recipe_callbacks import BestEpoch
from kerasnas.runtime import wire
from kerasnas.runtime.worker import evaluator_from_spec, evaluator_spec
from kerasnas.spaces import ChainSpace
from kerasnas.strategies import RandomSearch, WarmStart
from kerasnas.trial import TrialRecord


def test_cosine_learning_rate_falls_from_the_initial_value():
    rates = [cosine_learning_rate(1e-2, e, 10) for e in range(10)]
    assert rates[0] == pytest.approx(1e-2)
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert rates[-1] < 1e-3


def test_trial_records_the_best_epoch_and_keeps_its_weights():
    x, y = make_data("vector", n=128)
    data = from_arrays(x, y)
    space = ChainSpace(max_layers=1, operations=("dense",), widths=(16,))
    builder = ModelBuilder(space, data.input_shape, data.task)
    evaluator = FitEvaluator(builder, data, epochs=6, patience=0)
    result = evaluator.evaluate(space.sample(0), TrialContext(number=0, seed=0))
    curve = result.info["history"]["val_accuracy"]
    best = int(np.argmax(curve))
    assert result.metrics["val_accuracy"] == pytest.approx(max(curve))
    assert result.info["best_epoch"] == best + 1
    assert result.metrics["loss"] == pytest.approx(result.info["history"]["loss"][best])
    # The returned model is the best epoch's: evaluating it gives that accuracy.
    _, accuracy = result.model.evaluate(*data.validation, verbose=0)
    assert accuracy == pytest.approx(max(curve), abs=1e-6)


def test_best_epoch_stops_after_patience_epochs_without_improvement():
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.0), "mse")  # learning rate 0: never improves
    best = BestEpoch("val_loss", patience=2)
    x = np.ones((8, 2), "float32")
    history = model.fit(x, x[:, 0], validation_data=(x, x[:, 0]), epochs=10, verbose=0,
                        callbacks=[best])
    assert len(history.history["loss"]) == 3
    assert best.best_epoch == 1 and best.stopped_epoch == 3


def test_fit_evaluator_settings_travel_to_worker_processes(tmp_path):
    x, y = make_data("sequence", n=64)
    data = from_arrays(x, y)
    space = kerasnas.spaces.get("chain", input_shape=data.input_shape)
    builder = ModelBuilder(space, data.input_shape, data.task)
    evaluator = FitEvaluator(
        builder, data, epochs=3, patience=2, lr_schedule="constant", objective="val_loss"
    )
    from kerasnas.runtime.directory import SearchDirectory

    payload = wire.encode_spec(evaluator_spec(evaluator, SearchDirectory(tmp_path)))
    assert payload.startswith(b"json\n")  # plain data on the worker pipe, no pickle
    rebuilt, _ = evaluator_from_spec(wire.decode_spec(payload))
    assert rebuilt.get_config() == evaluator.get_config()
    assert rebuilt.objective.direction == "min"


class HalfEpochs(FitEvaluator):
    """A subclass at module level: workers rebuild it from its config, as itself."""

    def fit(self, model, architecture, epochs, **kwargs):
        return super().fit(model, architecture, max(1, epochs // 2), **kwargs)


def test_worker_processes_rebuild_evaluator_subclasses_as_themselves(tmp_path):
    x, y = make_data("vector", n=64)
    data = from_arrays(x, y)
    builder = ModelBuilder(ChainSpace(max_layers=1), data.input_shape, data.task)
    from kerasnas.runtime.directory import SearchDirectory

    spec = evaluator_spec(HalfEpochs(builder, data, epochs=4), SearchDirectory(tmp_path))
    rebuilt, _ = evaluator_from_spec(wire.decode_spec(wire.encode_spec(spec)))
    assert type(rebuilt) is HalfEpochs and rebuilt.epochs == 4


def test_worker_messages_are_json_and_keep_nan():
    import multiprocessing.connection

    here, there = multiprocessing.connection.Pipe()
    wire.send(here, {"type": "outcome", "metrics": {"loss": float("nan"), "acc": np.float32(0.5)}})
    message = wire.recv(there)
    assert np.isnan(message["metrics"]["loss"]) and message["metrics"]["acc"] == 0.5


@pytest.mark.parametrize("bad", [{"patience": -1}, {"lr_schedule": "step"}, {"objective": 3}])
def test_fit_evaluator_refuses_bad_recipe_settings(bad):
    x, y = make_data("vector", n=32)
    data = from_arrays(x, y)
    builder = ModelBuilder(ChainSpace(max_layers=1), data.input_shape, data.task)
    name = next(iter(bad))
    with pytest.raises(ValueError, match=f"Received: {name}="):
        FitEvaluator(builder, data, **bad)


@pytest.mark.parametrize("shape", [(40, 1), (16, 16, 1), (20,)])
def test_default_space_offers_valid_distinct_reference_architectures(shape):
    space = kerasnas.spaces.get("chain", input_shape=shape)
    references = space.reference_architectures(shape)
    assert len(references) == 3
    assert len({space.canonical_key(a) for a in references}) == 3
    described = " ".join(space.describe(a) for a in references)
    if len(shape) > 1:
        assert "conv" in described and "flatten > dense" in described
    else:
        assert "identity" in described  # a linear model


def test_reference_architectures_skip_what_the_space_lacks():
    space = ChainSpace(max_layers=2, operations=("dense", "identity"), widths=(8, 16))
    references = space.reference_architectures((12,))
    assert [space.describe(a) for a in references] == [
        "dense16+bn/relu/d0.1 > dense16+bn/relu/d0.1 | global_avg",
        "dense16/relu > dense16/relu | global_avg",
        "identity | global_avg",
    ]
    assert ChainSpace(operations=("conv",)).reference_architectures((12,)) == []


def _record(number, arch, space):
    return TrialRecord(
        number=number, architecture=arch, status="completed",
        key=space.canonical_key(arch), metrics={"score": 0.0},
    )


def test_warm_start_proposes_references_first_then_resumes_from_history():
    space = kerasnas.spaces.get("chain", input_shape=(40, 1))
    references = space.reference_architectures((40, 1))
    objectives = [kerasnas.Objective("score")]

    def run(history_len):
        strategy = WarmStart(RandomSearch(), references)
        strategy.setup(space, objectives)
        history, proposed = [], []
        for number in range(5):
            arch = strategy.ask(history, np.random.default_rng(number))
            proposed.append(space.canonical_key(arch))
            if number < history_len or True:
                record = _record(number, arch, space)
                history.append(record)
                strategy.tell(record)
        return proposed, history

    proposed, history = run(5)
    assert proposed[:3] == [space.canonical_key(a) for a in references]
    assert len(set(proposed)) == 5
    # A fresh strategy that replays the first two trials goes on with the third reference.
    resumed = WarmStart(RandomSearch(), references)
    resumed.setup(space, objectives)
    for record in history[:2]:
        resumed.tell(record)
    assert space.canonical_key(resumed.ask(history[:2], np.random.default_rng(2))) == proposed[2]
    # Asked again before hearing back (a trial in flight), it never repeats itself.
    assert space.canonical_key(resumed.ask(history[:2], np.random.default_rng(3))) != proposed[2]


def test_warm_start_refuses_an_architecture_outside_the_space():
    strategy = WarmStart(RandomSearch(), [{"num_layers": 99}])
    with pytest.raises(ValueError, match="Warm-start architecture 0"):
        strategy.setup(ChainSpace(max_layers=2), [kerasnas.Objective("score")])


def test_search_tries_reference_architectures_first_unless_turned_off(tmp_path):
    x, y = make_data("sequence", n=64)
    space = kerasnas.spaces.get("chain", input_shape=x.shape[1:])
    first = space.canonical_key(space.reference_architectures(x.shape[1:])[0])
    warm = kerasnas.search(x, y, max_trials=1, epochs=1, directory=tmp_path / "a", verbose=0)
    assert warm.trials[0].key == first
    cold = kerasnas.search(
        x, y, max_trials=1, epochs=1, directory=tmp_path / "b", verbose=0, warm_start=False
    )
    assert cold.trials[0].key != first
    with pytest.raises(ValueError, match="Received: warm_start="):
        kerasnas.search(x, y, max_trials=1, directory=tmp_path / "c", warm_start="yes")


def test_regression_model_trains_on_standardised_targets_and_answers_in_user_units(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 6)).astype("float32")
    y = (500.0 + 100.0 * x[:, 0] - 50.0 * x[:, 1]).astype("float32")
    result = kerasnas.search(
        x[:200], y[:200], validation_data=(x[200:], y[200:]), max_trials=1, epochs=10,
        directory=tmp_path, verbose=0,
    )
    model = result.best_model
    assert model.get_layer("predictions").__class__.__name__ == "Rescaling"
    predictions = model.predict(x[200:], verbose=0).ravel()
    mae = float(np.abs(predictions - y[200:]).mean())
    assert abs(predictions.mean() - 500.0) < 50.0  # the targets' units, not standardised
    assert result.best_trial.metrics["val_mae"] == pytest.approx(mae, rel=1e-3)
    assert mae < 0.5 * float(np.abs(y[200:] - y[:200].mean()).mean())  # it learned
    reopened = kerasnas.load_search(tmp_path)
    assert reopened.builder.target_scaling is not None


@pytest.mark.parametrize("shape", [(40, 1), (16, 16, 1), (20,)])
def test_default_chain_space_has_a_one_shot_version(shape):
    from kerasnas.oneshot import check_supported
    from kerasnas.oneshot.compat import one_shot_space

    space = kerasnas.spaces.get("chain", input_shape=shape)
    with pytest.raises(ValueError):
        check_supported(space, shape)
    adapted, note = one_shot_space(space, shape)
    check_supported(adapted, shape)  # a supernet can be built
    assert adapted.name == "chain_oneshot" and "restricted to operations" in note
    assert one_shot_space(adapted, shape) == (adapted, None)


#: The cheapest settings of each strategy: what is tested is that it runs on the default space.
_CHEAP = {
    "rl": {"batch_size": 2},
    "darts": {"epochs": 1},
    "enas": {"epochs": 1, "controller_steps": 1, "controller_batch": 2, "derive_samples": 2},
    "spos": {"epochs": 1, "candidates": 2, "population_size": 2},
}


# Training a supernet takes minutes even at this size: SPOS runs end to end here;
# DARTS and ENAS are checked to accept the default space's one-shot version above.
TRAINED = [s for s in kerasnas.strategies.STRATEGY_NAMES if s not in ("pareto", "darts", "enas")]


@pytest.mark.parametrize("strategy", ["darts", "enas", "spos"])
def test_one_shot_strategies_accept_the_default_space(strategy):
    from kerasnas.oneshot.compat import one_shot_space

    one_shot = kerasnas.strategies.get(strategy)
    space = kerasnas.spaces.get("chain", input_shape=(16, 2))
    converted, note = one_shot_space(space, (16, 2), one_shot.max_candidates)
    one_shot.check_space(converted, (16, 2))
    assert note


@pytest.mark.slow
@pytest.mark.parametrize("strategy", TRAINED)
def test_every_strategy_runs_on_the_default_space(strategy, tmp_path, capsys):
    x, y = make_data("vector", n=48)
    result = kerasnas.search(
        x, y, strategy=strategy, max_trials=1, epochs=1, directory=tmp_path, verbose=1,
        strategy_options=_CHEAP.get(strategy), progress_bar=False,
    )
    assert result.best_trial is not None and result.best_trial.ok
    if strategy in ("darts", "enas", "spos"):
        assert "searching 'chain_oneshot'" in capsys.readouterr().out


def _table_search(directory, objective="accuracy", **options):
    from kerasnas.tabular import NasBenchMacro

    table = NasBenchMacro()
    score = table.evaluator()

    def evaluate(architecture):
        return {**score(architecture), "params": float(len(str(architecture)))}

    return kerasnas.search(space=table.space, evaluator=evaluate, objective=objective,
                           max_trials=3, directory=directory, verbose=0, **options)  # fmt: skip


def test_the_default_strategy_is_bananas_and_nsga2_for_several_objectives(tmp_path):
    assert _table_search(tmp_path / "one").settings["strategy"]["name"] == "bananas"
    several = _table_search(tmp_path / "two", objective=["accuracy", ("params", "min")])
    assert several.settings["strategy"]["name"] == "nsga2"
    chosen = _table_search(tmp_path / "three", strategy="local_search")
    assert chosen.settings["strategy"]["name"] == "local_search"


def test_the_cli_default_strategy_is_the_api_default():
    from kerasnas.cli import build_parser

    args = build_parser().parse_args(["search", "--data", "mnist1d"])
    assert args.strategy is None  # search() then picks by the number of objectives
