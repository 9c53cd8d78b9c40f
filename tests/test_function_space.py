"""FunctionSpace: a space written as a Keras function, discovered once, searched like any other."""

import json

import keras
import numpy as np
import pytest

import kerasnas
from kerasnas.builder import ModelBuilder, Task
from kerasnas.errors import IncompatibleSearchError, InvalidArchitectureError
from kerasnas.spaces import FunctionSpace


def cnn(hp, inputs):
    """A KerasTuner-style hypermodel body: a loop, a conditional head, a boolean."""
    x = inputs
    for i in range(hp.int("conv_layers", 1, 3)):
        x = keras.layers.Conv1D(
            hp.choice(f"filters_{i}", [8, 16]),
            hp.choice(f"kernel_{i}", [3, 5]),
            padding="same",
            activation="relu",
        )(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    if hp.choice("head", ["plain", "mlp"]) == "mlp":
        with hp.conditional("head", "mlp"):
            x = keras.layers.Dense(hp.choice("units", [16, 32]), activation="relu")(x)
    if hp.boolean("dropout"):
        x = keras.layers.Dropout(hp.float("rate", 0.1, 0.5, num=3))(x)
    return x


def cnn_space():
    return FunctionSpace(cnn, input_shape=(16, 2), name="cnn")


def test_discovery_finds_every_decision_with_the_conditions_its_branches_show():
    space = cnn_space()
    by_name = {d.name: d for d in space.decisions}
    assert set(by_name) == {
        "conv_layers",
        "filters_0",
        "kernel_0",
        "filters_1",
        "kernel_1",
        "filters_2",
        "kernel_2",
        "head",
        "units",
        "dropout",
        "rate",
    }
    assert by_name["conv_layers"].values() == [1, 2, 3]
    assert by_name["rate"].values() == [0.1, 0.3, 0.5]
    conditions = {n: [c.to_json() for c in d.conditions] for n, d in by_name.items()}
    assert conditions["filters_1"] == [{"decision": "conv_layers", "values": [2, 3]}]
    assert conditions["kernel_2"] == [{"decision": "conv_layers", "values": [3]}]
    assert conditions["units"] == [{"decision": "head", "values": ["mlp"]}]
    assert conditions["rate"] == [{"decision": "dropout", "values": [True]}]
    assert conditions["filters_0"] == []
    # 4 * (1 + 4 + 16) layer settings, 1 + 2 heads, 1 + 3 dropout settings.
    assert space.size() == 4 * 21 * 3 * 4 == len(list(space.enumerate()))


def test_architectures_are_json_and_build_what_they_say():
    space = cnn_space()
    builder = kerasnas.ModelBuilder(space, (16, 2), kerasnas.Task.infer(np.arange(3)))
    for seed in range(6):
        arch = space.sample(seed)
        assert kerasnas.Architecture.from_json(json.dumps(arch)) == arch
        model = builder.build(arch)
        convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)]
        assert [c.filters for c in convs] == [
            arch[f"filters_{i}"] for i in range(arch["conv_layers"])
        ]
        assert any(isinstance(la, keras.layers.Dropout) for la in model.layers) == arch["dropout"]
        assert ("units" in arch) == (arch["head"] == "mlp")


def test_moves_flat_encoding_and_fingerprint_work_like_a_declarative_space():
    space = cnn_space()
    arch = space.sample(3)
    child = space.mutate(arch, 0)
    assert child != arch and space.contains(child)
    neighbours = space.neighbours(arch)
    assert neighbours and all(space.contains(n) for n in neighbours)
    other = space.sample(4)
    assert space.contains(space.crossover(arch, other, 0))
    assert space.decode_flat(space.encode_flat(arch)) == arch
    # Same function, same decisions: same fingerprint; the config holds decisions only.
    assert cnn_space().fingerprint() == space.fingerprint()
    assert json.loads(json.dumps(space.get_config()))["decisions"][0]["name"] == "conv_layers"


def wider(hp, inputs):
    x = keras.layers.Flatten()(inputs)
    return keras.layers.Dense(hp.choice("units", [8, 16, 32]))(x)


def narrower(hp, inputs):
    x = keras.layers.Flatten()(inputs)
    return keras.layers.Dense(hp.choice("units", [8, 16]))(x)


def test_resume_passes_the_same_function_and_refuses_a_changed_one(tmp_path):
    def run(fn, trials):
        return kerasnas.search(
            space=FunctionSpace(fn, input_shape=(4,)),
            evaluator=lambda a: a["units"] / 32,
            max_trials=trials,
            directory=tmp_path,
            verbose=0,
        )

    first = run(wider, 2)
    resumed = run(wider, 3)
    assert [t.architecture for t in resumed.trials[:2]] == [t.architecture for t in first.trials]
    assert len(resumed.trials) == 3
    with pytest.raises(IncompatibleSearchError, match="space"):
        run(narrower, 4)
    # The directory reopens without the function: its decisions are stored.
    reopened = kerasnas.load_search(tmp_path)
    assert [d.name for d in reopened.space.decisions] == ["units"]


@pytest.mark.parametrize("strategy", ["random", "evolution", "nsga2"])
def test_strategies_search_a_function_space(strategy, tmp_path):
    space = cnn_space()
    options = {"population_size": 4, "sample_size": 2} if strategy == "evolution" else {}
    if strategy == "nsga2":
        options = {"population_size": 4}
    objective = ["score", "size"] if strategy == "nsga2" else "score"

    def evaluate(arch):
        return {"score": float(arch["conv_layers"]), "size": float(arch.get("units", 0))}

    result = kerasnas.search(
        space=space,
        strategy=strategy,
        strategy_options=options,
        evaluator=evaluate,
        objective=objective,
        max_trials=10,
        directory=tmp_path,
        verbose=0,
    )
    assert len(result.completed) == 10
    assert all(space.contains(t.architecture) for t in result.trials)


@pytest.mark.slow
def test_rl_controller_searches_a_function_space(tmp_path):
    pytest.importorskip("kerasnas.strategies.rl")
    space = cnn_space()
    result = kerasnas.search(
        space=space,
        strategy="rl",
        strategy_options={"batch_size": 4},
        evaluator=lambda a: float(a["conv_layers"]),
        max_trials=8,
        directory=tmp_path,
        verbose=0,
    )
    assert len(result.completed) == 8
    assert all(space.contains(t.architecture) for t in result.trials)


def test_bad_functions_are_refused_with_the_reason():
    def twice(hp, inputs):
        hp.choice("units", [8, 16])
        hp.choice("units", [8, 32])
        return keras.layers.Flatten()(inputs)

    with pytest.raises(ValueError, match="asked for twice"):
        FunctionSpace(twice, input_shape=(4,))

    def unknown_parent(hp, inputs):
        hp.choice("units", [8, 16], when={"kind": "mlp"})
        return keras.layers.Flatten()(inputs)

    with pytest.raises(ValueError, match="not asked for before"):
        FunctionSpace(unknown_parent, input_shape=(4,))

    def no_tensor(hp, inputs):
        hp.boolean("flag")
        return None

    with pytest.raises(ValueError, match="must return the Keras tensor"):
        FunctionSpace(no_tensor, input_shape=(4,))

    def breaks(hp, inputs):
        return keras.layers.Conv2D(hp.choice("filters", [4, 8]), 3)(inputs)

    with pytest.raises(ValueError, match="failed on symbolic inputs"):
        FunctionSpace(breaks, input_shape=(4,))
    with pytest.raises(ValueError, match="Received: input_shape"):
        FunctionSpace(wider, input_shape=(0,))
    with pytest.raises(ValueError, match="min_value <= max_value"):
        FunctionSpace(lambda hp, x: hp.int("n", 3, 1) and x, input_shape=(4,))


def test_values_outside_the_discovered_space_are_refused():
    space = FunctionSpace(wider, input_shape=(4,))
    with pytest.raises(InvalidArchitectureError, match="units"):
        space.validate({"units": 64})


def test_float_and_int_helpers_discretise_as_documented():
    seen = {}

    def body(hp, inputs):
        seen["lr"] = hp.float("lr", 1e-4, 1e-2, num=3, log=True)
        seen["step"] = hp.float("step", 0.0, 0.5, step=0.25)
        seen["n"] = hp.int("n", 2, 8, step=3)
        return keras.layers.Flatten()(inputs)

    space = FunctionSpace(body, input_shape=(4,))
    by_name = {d.name: d.values() for d in space.decisions}
    assert by_name == {"lr": [0.0001, 0.001, 0.01], "step": [0.0, 0.25, 0.5], "n": [2, 5, 8]}


def two_inputs(hp, inputs):
    a = keras.layers.Dense(hp.choice("units", [4, 8]), activation="relu")(inputs["meta"])
    b = keras.layers.Conv1D(hp.choice("filters", [4, 8]), 3, padding="same")(inputs["signal"])
    b = keras.layers.GlobalAveragePooling1D()(b)
    return keras.layers.Concatenate()([a, b])


def two_inputs_list(hp, inputs):
    meta, signal = inputs
    return two_inputs(hp, {"meta": meta, "signal": signal})


@pytest.mark.parametrize("as_dict", [True, False])
def test_multi_input_data_trains_a_function_space(as_dict, tmp_path):
    rng = np.random.default_rng(0)
    meta = rng.normal(size=(96, 3)).astype("float32")
    signal = rng.normal(size=(96, 10, 1)).astype("float32")
    y = (meta[:, 0] > 0).astype("int32")
    if as_dict:
        shapes, x = {"meta": (3,), "signal": (10, 1)}, {"meta": meta, "signal": signal}
        fn = two_inputs
    else:
        shapes, x, fn = [(3,), (10, 1)], [meta, signal], two_inputs_list
    result = kerasnas.search(
        x,
        y,
        space=FunctionSpace(fn, input_shape=shapes),
        max_trials=1,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        executor="local",
    )
    assert result.best_trial.metrics["val_accuracy"] >= 0
    model = result.best_model
    assert len(model.inputs) == 2
    assert model.predict(x, verbose=0).shape == (96, 2)
    # Reopened without the function: the kept model loads and the table prints.
    reopened = kerasnas.load_search(tmp_path)
    assert len(reopened.best_model.inputs) == 2
    assert "units=" in reopened.summary(return_text=True)


def test_multi_input_needs_a_space_that_takes_it():
    x = {"a": np.zeros((20, 3), "float32"), "b": np.zeros((20, 3), "float32")}
    with pytest.raises(ValueError, match="Several inputs"):
        kerasnas.search(x, np.arange(20) % 2, space="chain", max_trials=1, verbose=0)


def test_process_workers_refuse_a_function_they_cannot_import(tmp_path):
    def local_body(hp, inputs):
        return keras.layers.Dense(hp.choice("units", [4, 8]))(inputs)

    x, y = np.zeros((40, 4), "float32"), np.arange(40) % 2
    with pytest.raises(ValueError, match="define it at module level"):
        kerasnas.search(
            x,
            y,
            space=FunctionSpace(local_body, input_shape=(4,)),
            max_trials=1,
            epochs=1,
            directory=tmp_path,
            verbose=0,
            executor="process",
        )


@pytest.mark.slow
def test_process_workers_train_a_function_space_with_fit_options(tmp_path):
    rng = np.random.default_rng(0)
    meta = rng.normal(size=(80, 3)).astype("float32")
    signal = rng.normal(size=(80, 10, 1)).astype("float32")
    y = (meta[:, 0] > 0).astype("int32")
    top2 = keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")
    result = kerasnas.search(
        {"meta": meta, "signal": signal},
        y,
        space=FunctionSpace(two_inputs, input_shape={"meta": (3,), "signal": (10, 1)}),
        max_trials=2,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        executor="process",
        workers=1,
        metrics=[top2],
        objective="val_top2",
        sample_weight=np.zeros(80),
    )
    assert [t.status for t in result.trials] == ["completed", "completed"]
    assert all(t.metrics["loss"] == 0.0 for t in result.trials)  # the weights reached fit
    assert all(t.metrics["val_top2"] == pytest.approx(1.0) for t in result.trials)


def test_data_must_have_the_shape_the_decisions_were_discovered_on(tmp_path):
    space = FunctionSpace(wider, input_shape=(4,))
    with pytest.raises(ValueError, match=r"discovered its decisions on input_shape=\(4,\)"):
        kerasnas.search(
            np.zeros((30, 5), "float32"), np.arange(30) % 2, space=space, directory=tmp_path
        )


def test_when_and_default_arguments():
    def body(hp, inputs):
        hp.choice("kind", ["mlp", "linear"], default="linear")
        hp.int("units", 4, 8, step=4, when={"kind": "mlp"})
        hp.boolean("bias", default=True)
        return keras.layers.Flatten()(inputs)

    space = FunctionSpace(body, input_shape=(3,))
    by_name = {d.name: d for d in space.decisions}
    assert by_name["kind"].default == "linear" and by_name["bias"].default is True
    assert [c.to_json() for c in by_name["units"].conditions] == [
        {"decision": "kind", "values": ["mlp"]}
    ]
    assert space.validate({}) == {"kind": "linear", "bias": True}
    assert space.validate({"kind": "mlp"})["units"] == 4


def both_flags(hp, inputs):
    deep, wide = hp.boolean("deep"), hp.boolean("wide")
    extra = hp.choice("extra", [8, 16], when={"deep": True, "wide": True})
    x = inputs
    if deep and wide:
        x = keras.layers.Dense(extra, name="extra")(x)
    return x


def both_flags_inside_the_if(hp, inputs):
    deep, wide = hp.boolean("deep"), hp.boolean("wide")
    x = inputs
    if deep and wide:
        x = keras.layers.Dense(hp.choice("extra", [8, 16]), name="extra")(x)
    return x


def test_a_decision_under_two_choices_is_declared_with_when_and_built_only_then():
    space = FunctionSpace(both_flags, input_shape=(4,))
    assert space.size() == 5  # deep x wide, and extra only when both are True
    builder = ModelBuilder(space, (4,), Task.infer(np.arange(2)))
    both = builder.build({"deep": True, "wide": True, "extra": 16})
    assert both.get_layer("extra").units == 16
    one = builder.build({"deep": True, "wide": False})
    assert "extra" not in {layer.name for layer in one.layers}
    with pytest.raises(InvalidArchitectureError):
        space.validate({"deep": True, "wide": False, "extra": 8})


def test_a_decision_discovery_cannot_reach_says_how_to_declare_it():
    space = FunctionSpace(both_flags_inside_the_if, input_shape=(4,))
    assert [d.name for d in space.decisions] == ["deep", "wide"]
    builder = ModelBuilder(space, (4,), Task.infer(np.arange(2)))
    with pytest.raises(InvalidArchitectureError, match=r"ask for it before the `if`, with when="):
        builder.build({"deep": True, "wide": True})
