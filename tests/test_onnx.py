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


def test_unsupported_ops_give_a_clear_error(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 8)).astype("float32")
    space = kerasnas.spaces.ChainSpace(max_layers=1, operations=("dense",), activations=("gelu",))
    result = kerasnas.search(
        x,
        (x[:, 0] > 0).astype("int32"),
        space=space,
        max_trials=1,
        epochs=1,
        verbose=0,
        directory=tmp_path / "s",
    )
    with pytest.raises(ExportFormatError, match="no ONNX equivalent"):
        result.export(tmp_path / "m", formats=("onnx",), measure_latency=False)
    assert not any((tmp_path / "m").glob("[0-9]*"))
