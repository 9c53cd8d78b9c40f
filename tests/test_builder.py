import json

import keras
import numpy as np
import pytest
from conftest import SHAPES

from kerasnas.builder import OPERATIONS, ModelBuilder, Task
from kerasnas.evaluation import count_flops, count_params
from kerasnas.spaces import ChainSpace


def one_layer(op: str) -> dict:
    info = OPERATIONS[op]
    arch = {"num_layers": 1, "layer_0.op": op, "head.pooling": "global_avg"}
    if info.uses_width:
        arch["layer_0.width"] = 8
    if info.uses_kernel:
        arch["layer_0.kernel_size"] = 3
    if info.trainable:
        arch["layer_0.activation"] = "relu"
        arch["layer_0.batch_norm"] = True
    if op != "identity":
        arch["layer_0.dropout"] = 0.1
    return arch


@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_every_operation_builds_and_runs_on_every_input_kind(op, input_kind):
    space = ChainSpace(max_layers=1, operations=tuple(OPERATIONS), widths=(8,))
    builder = ModelBuilder(space, SHAPES[input_kind], Task("classification", 3, "sparse"))
    model = builder.build(one_layer(op))
    x = np.random.default_rng(0).normal(size=(2,) + SHAPES[input_kind]).astype("float32")
    probabilities = np.asarray(model(x))
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    names = [layer.name for layer in model.layers]
    assert names[0] == "inputs" and names[-2:] == ["logits", "probabilities"]
    if op != "identity":
        assert f"layer_0_{op}" in names


def test_models_have_readable_names_and_round_trip_config():
    space = ChainSpace(max_layers=3)
    builder = ModelBuilder(
        space,
        (16, 2),
        Task("classification", 4, "sparse"),
        normalization=(np.zeros(2), np.ones(2)),
    )
    arch = space.sample(3)
    model = builder.build(arch)
    assert model.get_layer("normalization") is not None
    clone = keras.Model.from_config(json.loads(json.dumps(model.get_config())))
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(1).normal(size=(5, 16, 2)).astype("float32")
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(model(x)), atol=1e-6)


def test_regression_head_and_loss():
    task = Task.infer(np.random.rand(10, 2).astype("float32"))
    assert task.kind == "regression" and task.output_dim == 2
    builder = ModelBuilder(ChainSpace(max_layers=1), (12,), task)
    model = builder.build({"num_layers": 1, "layer_0.op": "identity"})
    assert model.output.shape[-1] == 2 and model.layers[-1].name == "predictions"
    assert task.loss() == "mean_squared_error" and task.default_objective() == "val_mae"


def test_param_and_flop_counts_match_hand_computation():
    inputs = keras.Input((10, 3), name="inputs")
    x = keras.layers.Conv1D(4, 3, padding="same")(inputs)  # 10*4*(3*3) MACs
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(2)(x)  # 40*2 MACs
    model = keras.Model(inputs, outputs)
    assert count_params(model) == (3 * 3 * 4 + 4) + (40 * 2 + 2)
    assert count_flops(model) == 2 * (10 * 4 * 9 + 40 * 2)


def test_builder_rejects_bad_input_shapes():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(1, 2, 3, 4\)"):
        ModelBuilder(ChainSpace(), (1, 2, 3, 4), Task("regression", output_dim=1))
