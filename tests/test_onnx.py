"""ONNX export. Runs where the optional `onnx` extra is installed (CI installs it
in a second environment, since tf2onnx cannot share one with TF-Agents)."""

import numpy as np
import pytest

import kerasnas
from kerasnas.export import ExportFormatError

pytest.importorskip("tf2onnx")
onnxruntime = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def relu_search(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 16, 1)).astype("float32")
    y = (x.mean(axis=(1, 2)) > 0).astype("int32")
    space = kerasnas.spaces.ChainSpace(
        max_layers=2, activations=("relu",), operations=("conv", "maxpool", "dense")
    )
    return kerasnas.search(
        x,
        y,
        space=space,
        max_trials=1,
        epochs=1,
        verbose=0,
        directory=tmp_path_factory.mktemp("onnx"),
    )


def test_onnx_export_matches_keras(relu_search, tmp_path):
    info = relu_search.export(tmp_path / "m", formats=("onnx",), measure_latency=False)
    session = onnxruntime.InferenceSession(str(info.path / "model.onnx"))
    x = np.random.default_rng(1).normal(size=(3, 16, 1)).astype("float32")
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, relu_search.best_model.predict(x, verbose=0), atol=1e-5)


def gelu_search(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 8)).astype("float32")
    space = kerasnas.spaces.ChainSpace(max_layers=1, operations=("dense",), activations=("gelu",))
    return kerasnas.search(
        x,
        (x[:, 0] > 0).astype("int32"),
        space=space,
        max_trials=1,
        epochs=1,
        verbose=0,
        directory=tmp_path / "s",
    )


def test_gelu_converts_in_its_exact_erf_form(tmp_path):
    # TensorFlow computes gelu with Erfc, which ONNX lacks; the ONNX copy uses
    # Erf (the same function), so gelu models convert and match Keras.
    result = gelu_search(tmp_path)
    info = result.export(tmp_path / "m", formats=("onnx",), measure_latency=False)
    assert info.formats["onnx"]["max_abs_diff"] <= 1e-4
    session = onnxruntime.InferenceSession(str(info.path / "model.onnx"))
    x = np.random.default_rng(2).normal(size=(5, 8)).astype("float32") * 3
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, result.best_model.predict(x, verbose=0), atol=1e-5)


def test_a_failed_conversion_is_refused_before_the_export_appears(tmp_path, monkeypatch):
    import tf2onnx

    result = gelu_search(tmp_path)

    def unsupported(*args, **kwargs):
        raise RuntimeError("Erfc is not supported")

    monkeypatch.setattr(tf2onnx.convert, "from_keras", unsupported)
    with pytest.raises(ExportFormatError, match="no ONNX equivalent"):
        result.export(tmp_path / "m", formats=("onnx",), measure_latency=False)
    assert not any((tmp_path / "m").glob("[0-9]*"))


def covering_architectures(space, seed=0):
    """Few architectures that together take every operation, activation, merge, ... once.

    Numeric values (widths, kernel sizes, rates) do not change which ONNX
    operations a model needs, so only the other values are covered.
    """
    rng = np.random.default_rng(seed)

    def kind(name):  # "layer_3.op" -> "op", "normal.node_3.op_1" -> "op_"
        return name.split(".")[-1].rstrip("0123456789")

    def covered(arch):
        return {(kind(k), repr(v)) for k, v in arch.items() if not isinstance(v, list)}

    uncovered = {
        (kind(d.name), repr(v))
        for d in space.decisions
        for v in d.values()
        if not isinstance(v, (int, float)) or isinstance(v, bool)
    }
    archs = []
    for _ in range(200):
        if not uncovered:
            break
        arch = space.sample(rng)
        for decision in space.decisions:
            for value in decision.values():
                if (kind(decision.name), repr(value)) not in uncovered - covered(arch):
                    continue
                trial = dict(arch)
                trial[decision.name] = value
                try:
                    arch = space.validate(space._complete(trial, rng))
                except Exception:  # noqa: BLE001 - an inactive or incompatible value
                    continue
        newly = uncovered & covered(arch)
        if newly:
            archs.append(arch)
            uncovered -= newly
    return archs


DEFAULT_SPACES = [
    ("chain", (40, 1)),
    ("chain", (8, 8, 3)),
    ("chain_skips", (40, 1)),
    ("template", (40, 1)),
    ("template", (8, 8, 3)),
    ("template", (12,)),
    ("cell", (40, 1)),
    ("nas_bench_201", (8, 8, 3)),
    ("darts", (8, 8, 3)),
    ("nas_bench_macro", (8, 8, 3)),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,shape", DEFAULT_SPACES, ids=[f"{n}-{len(s)}d" for n, s in DEFAULT_SPACES]
)
def test_every_operation_of_every_default_space_converts(name, shape, tmp_path):
    from kerasnas.builder import ModelBuilder, Task
    from kerasnas.export.formats import write_onnx

    space = kerasnas.spaces.get(name, input_shape=shape)
    builder = ModelBuilder(space, shape, Task.infer(np.arange(3)))
    x = np.random.default_rng(0).normal(size=(4,) + shape).astype("float32")
    for i, arch in enumerate(covering_architectures(space)):
        model = builder.build(arch)
        folder = tmp_path / str(i)
        folder.mkdir()
        info = write_onnx(model, folder, x, model.predict(x, verbose=0), 1e-4)
        assert info["max_abs_diff"] <= 1e-4, (arch, info)
