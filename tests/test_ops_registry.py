"""kerasnas.ops.register: your own blocks as candidate operations, by name."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import kerasnas
from kerasnas.builder import ModelBuilder, Task
from kerasnas.errors import InvalidArchitectureError
from kerasnas.spaces import ChainSpace, SkipChainSpace, TemplateSpace


def gated(x, *, name, width):
    """A gated linear unit: Dense(width) * sigmoid(Dense(width))."""
    value = keras.layers.Dense(width, name=f"{name}_value")(x)
    gate = keras.layers.Dense(width, activation="sigmoid", name=f"{name}_gate")(x)
    return keras.layers.Multiply(name=name)([value, gate])


@pytest.fixture
def registered_gated():
    kerasnas.ops.register("gated", gated, uses_width=True, trainable=True)
    yield "gated"
    kerasnas.ops.unregister("gated")


def only(space, op):
    """An architecture of `space` whose every layer is `op`."""
    for arch in space.enumerate(limit=5000):
        ops = [v for k, v in arch.items() if k.endswith(".op")]
        if ops and set(ops) == {op}:
            return arch
    raise AssertionError(f"no architecture of only {op}")


def test_chain_spaces_accept_a_registered_operation_by_name(registered_gated):
    assert "gated" in kerasnas.ops.names() and kerasnas.ops.registered() == ["gated"]
    for cls in (ChainSpace, SkipChainSpace):
        space = cls(max_layers=2, operations=("gated", "identity"), widths=(8,))
        arch = only(space, "gated")
        assert "gated" in json.dumps(arch)  # serialised by name
        model = ModelBuilder(space, (6,), Task.infer(np.arange(3))).build(arch)
        names = {layer.name for layer in model.layers}
        assert {"layer_0_gated_value", "layer_0_gated_gate", "layer_0_gated"} <= names
        # The config names the operation, so the space rebuilds from stored settings.
        rebuilt = kerasnas.spaces.space_from_config(space.get_config())
        assert rebuilt.fingerprint() == space.fingerprint()


def test_template_op_segments_accept_a_registered_operation(registered_gated):
    template = {
        "name": "gated_template",
        "segments": [
            {"name": "body", "type": "op", "params": {"op": ["gated", "dense"], "width": [8]}},
            {"name": "head", "type": "head"},
        ],
    }
    space = TemplateSpace(template)
    arch = next(a for a in space.enumerate() if "gated" in json.dumps(a))
    model = ModelBuilder(space, (6,), Task.infer(np.arange(3))).build(arch)
    assert any(layer.name.endswith("gated_gate") for layer in model.layers)


def test_unknown_and_conflicting_names_are_refused_with_the_known_ones(registered_gated):
    with pytest.raises(ValueError, match=r"Allowed: \[.*'gated'.*\]"):
        ChainSpace(operations=("gated", "nope"))
    with pytest.raises(InvalidArchitectureError, match="'gated'"):
        kerasnas.ops.get("nope")
    with pytest.raises(ValueError, match="built-in operation"):
        kerasnas.ops.register("conv", gated, uses_width=True)
    with pytest.raises(ValueError, match="registered already"):
        kerasnas.ops.register("gated", gated, uses_width=True)
    with pytest.raises(ValueError, match="width"):
        kerasnas.ops.register("no_width", lambda x, *, name: x, uses_width=True)
    with pytest.raises(ValueError, match="Received: name="):
        kerasnas.ops.register("bad name", gated)
    with pytest.raises(ValueError, match="Only registered"):
        kerasnas.ops.unregister("conv")


def test_workers_rebuild_a_space_with_a_registered_operation(registered_gated, tmp_path):
    from kerasnas.data import from_arrays
    from kerasnas.runtime.directory import SearchDirectory
    from kerasnas.runtime.worker import _register_operations, evaluator_from_spec, evaluator_spec

    space = ChainSpace(max_layers=1, operations=("gated",), widths=(4,))
    data = from_arrays(np.random.rand(30, 5), np.arange(30) % 2)
    evaluator = kerasnas.FitEvaluator(ModelBuilder(space, (5,), data.task), data, epochs=1)
    spec = evaluator_spec(evaluator, SearchDirectory(tmp_path))
    assert set(spec["operations"]) == {"gated"}
    kerasnas.ops.unregister("gated")  # as in a fresh worker process
    try:
        rebuilt, _ = evaluator_from_spec(spec)
        assert rebuilt.builder.space.fingerprint() == space.fingerprint()
    finally:
        kerasnas.ops.unregister("gated")
        _register_operations({})
        kerasnas.ops.register("gated", gated, uses_width=True, trainable=True)


@pytest.mark.slow
def test_export_with_a_registered_operation_serves_without_kerasnas(registered_gated, tmp_path):
    from kerasnas.export import export_saved_model

    space = ChainSpace(max_layers=2, operations=("gated",), widths=(8,))
    arch = only(space, "gated")
    model = ModelBuilder(space, (6,), Task.infer(np.arange(3))).build(arch)
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    info = export_saved_model(
        model, tmp_path / "gated", measure_latency=False, check_cli=False, warmup=False
    )
    expected = model.predict(x, verbose=0)
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"serve = tf.saved_model.load({str(info.path)!r}).signatures['serving_default']\n"
        f"x = np.load({str(tmp_path / 'x.npy')!r})\n"
        "out = serve(inputs=tf.constant(x))['probabilities'].numpy()\n"
        "assert not [m for m in sys.modules if m.startswith('kerasnas')]\n"
        "print(out.tolist())\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH="")
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    served = np.asarray(json.loads(done.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(served, expected, atol=1e-5)


def kernel_block(x, *, name, width, kernel_size):
    return keras.layers.Conv1D(width, kernel_size, padding="same", name=name)(x)


def test_register_options_decide_what_the_space_searches_and_builds():
    kerasnas.ops.register("kconv", kernel_block, uses_width=True, uses_kernel=True, trainable=True)
    try:
        space = ChainSpace(
            max_layers=1, operations=("kconv",), widths=(4,), kernel_sizes=(5,), batch_norm=(True,)
        )
        arch = space.sample(0)
        assert arch["layer_0.kernel_size"] == 5  # uses_kernel: the space searches a kernel
        model = ModelBuilder(space, (10, 1), Task.infer(np.arange(2))).build(arch)
        conv = model.get_layer("layer_0_kconv")
        assert conv.kernel_size == (5,) and conv.filters == 4
        assert "layer_0_bn" in {la.name for la in model.layers}  # trainable: BN follows
        # overwrite=True replaces a registered operation; without it, refused.
        info = kerasnas.ops.register("kconv", kernel_block, uses_width=True, overwrite=True)
        assert kerasnas.ops.get("kconv") is info and not info.uses_kernel
    finally:
        kerasnas.ops.unregister("kconv")
