import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_data

import kerasnas
from kerasnas.export import existing_versions


@pytest.fixture(scope="module")
def finished_search(tmp_path_factory):
    directory = tmp_path_factory.mktemp("search")
    x, y = make_data("sequence", n=96)
    return kerasnas.search(
        x, y, test_data=(x[:16], y[:16]), max_trials=2, epochs=1, directory=directory, verbose=0
    )


def test_export_round_trip_matches_the_keras_model(finished_search, tmp_path):
    info = finished_search.export(tmp_path / "demo")
    assert info.path == tmp_path / "demo" / "1" and info.version == 1
    for name in (
        "saved_model.pb",
        "variables",
        "architecture.json",
        "model_card.json",
        "diagram.png",
        "MODEL_CARD.md",
    ):
        assert (info.path / name).exists(), name
    loaded = tf.saved_model.load(str(info.path))
    serve = loaded.signatures["serving_default"]
    x, _ = make_data("sequence", n=7, seed=5)
    served = serve(inputs=tf.constant(x))
    expected = finished_search.best_model.predict(x, verbose=0)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
    assert served["logits"].shape == (7, 3)
    classes = loaded.signatures["classes"](inputs=tf.constant(x))["classes"].numpy()
    np.testing.assert_array_equal(classes, expected.argmax(axis=1))
    assert json.loads((info.path / "architecture.json").read_text()) == dict(
        finished_search.best_architecture
    )
    card = json.loads((info.path / "model_card.json").read_text())
    assert card["params"] == finished_search.best_trial.metrics["params"]
    assert card["input"]["name"] == "inputs" and card["input"]["shape"] == [None, 16, 2]
    assert card["search"]["trial"] == finished_search.best_trial.number
    assert "test_accuracy" in card["metrics"]["test"]
    assert "val_accuracy" in card["metrics"]["validation"]


def test_saved_model_cli_shows_the_named_signature(finished_search, tmp_path):
    info = finished_search.export(tmp_path / "cli")
    # The console script TensorFlow installs beside this Python.
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    cli = cli if os.path.exists(cli) else shutil.which("saved_model_cli")
    assert cli, "saved_model_cli is installed with tensorflow"
    shown = subprocess.run(
        [cli, "show", "--dir", str(info.path), "--all"], capture_output=True, text=True, check=True
    ).stdout
    assert "signature_def['serving_default']" in shown
    assert "inputs['inputs']" in shown and "shape: (-1, 16, 2)" in shown
    assert "outputs['probabilities']" in shown and "outputs['logits']" in shown


def test_versions_increment_and_existing_versions_are_kept(finished_search, tmp_path):
    first = finished_search.export(tmp_path / "m")
    again = finished_search.export(tmp_path / "m")  # issue 14: the same model is re-used
    assert (again.version, again.reused) == (1, True)
    second = finished_search.export(tmp_path / "m", warmup=False)  # other options: new version
    assert (first.version, second.version) == (1, 2)
    with pytest.raises(FileExistsError, match="Version 1 already exists.*overwrite=True"):
        finished_search.export(tmp_path / "m", version=1)
    finished_search.export(tmp_path / "m", version=1, overwrite=True)
    assert existing_versions(tmp_path / "m") == [1, 2]
    assert not [p for p in (tmp_path / "m").iterdir() if p.name.startswith(".staging")]


def test_warmup_requests_and_rest_example_are_valid(finished_search, tmp_path):
    from kerasnas.export import read_warmup_requests

    info = finished_search.export(tmp_path / "warm")
    extra = info.path / "assets.extra"
    requests = read_warmup_requests(extra / "tf_serving_warmup_requests")
    assert [inputs["inputs"].shape[1:] for _, inputs in requests] == [(16, 2)] * len(requests)
    assert {name for name, _ in requests} == {"serving_default"}
    body = json.loads((extra / "rest_request.json").read_text())
    response = json.loads((extra / "rest_response.json").read_text())
    loaded = tf.saved_model.load(str(info.path))
    served = loaded.signatures[body["signature_name"]](
        inputs=tf.constant(np.asarray(body["instances"], "float32"))
    )
    got = [row["probabilities"] for row in response["predictions"]]
    np.testing.assert_allclose(got, served["probabilities"].numpy(), atol=1e-6)


def test_no_device_is_pinned_and_latency_is_in_the_card(finished_search, tmp_path):
    from kerasnas.export.verify import hard_coded_devices

    info = finished_search.export(tmp_path / "gpu")
    assert hard_coded_devices(info.path) == []
    card = json.loads((info.path / "model_card.json").read_text())
    assert [row["batch_size"] for row in card["latency"]] == [1, 32, 256]
    assert all(0 < row["median_ms"] <= row["p99_ms"] for row in card["latency"])
    assert card["versions"]["tensorflow"] == tf.__version__
    assert "| 256 |" in (info.path / "MODEL_CARD.md").read_text()


def test_mixed_precision_and_xla_exports(finished_search, tmp_path):
    x, _ = make_data("sequence", n=6, seed=9)
    expected = finished_search.best_model.predict(x, verbose=0)
    half = finished_search.export(tmp_path / "half", mixed_precision=True, measure_latency=False)
    assert 0 < half.options["float16_max_abs_diff"] < 2e-2
    got = tf.saved_model.load(str(half.path)).signatures["serving_default"](inputs=tf.constant(x))[
        "probabilities"
    ]
    assert got.dtype == tf.float32
    np.testing.assert_allclose(got.numpy(), expected, atol=2e-2)
    xla = finished_search.export(tmp_path / "xla", jit_compile=True, measure_latency=False)
    got = tf.saved_model.load(str(xla.path)).signatures["serving_default"](inputs=tf.constant(x))
    # XLA reorders float32 arithmetic (3e-5 apart on an AVX-512 CPU): compare at 1e-4.
    np.testing.assert_allclose(got["probabilities"].numpy(), expected, atol=1e-4)
    assert json.loads((xla.path / "model_card.json").read_text())["export"]["jit_compile"]


def test_keras_and_tflite_formats_and_a_clear_onnx_message(finished_search, tmp_path):
    import keras

    from kerasnas.export import ExportFormatError

    info = finished_search.export(
        tmp_path / "fmt", formats=("keras", "tflite"), measure_latency=False
    )
    x, _ = make_data("sequence", n=4, seed=2)
    expected = finished_search.best_model.predict(x, verbose=0)
    reloaded = keras.models.load_model(info.path / "model.keras")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, atol=1e-6)
    assert info.formats["tflite"]["max_abs_diff"] < 1e-4
    assert (info.path / "model.tflite").stat().st_size > 0
    try:
        import tf2onnx  # noqa: F401
    except ImportError:
        with pytest.raises(ExportFormatError, match=r"kerasnas\[onnx\]"):
            finished_search.export(tmp_path / "onnx", formats=("onnx",), measure_latency=False)
        assert existing_versions(tmp_path / "onnx") == []
    with pytest.raises(ValueError, match=r"Received: formats=\('pdf',\)"):
        finished_search.export(tmp_path / "bad", formats=("pdf",))


def test_a_failed_check_leaves_no_version_behind(finished_search, tmp_path):
    from kerasnas.export import ExportVerificationError

    with pytest.raises(ExportVerificationError, match="differs from the Keras model"):
        finished_search.export(tmp_path / "strict", tolerance=-1.0)
    assert not (tmp_path / "strict").exists() or not any((tmp_path / "strict").iterdir())


def test_the_signature_check_names_what_the_saved_model_lacks(finished_search, tmp_path):
    from kerasnas.export import ExportVerificationError
    from kerasnas.export.verify import check_signature_def

    info = finished_search.export(tmp_path / "sig", measure_latency=False, serving_config=False)
    shown = check_signature_def(info.path, {"inputs": (16, 2)}, ["logits", "probabilities"])
    assert shown["inputs"] == {"inputs": (-1, 16, 2)}
    with pytest.raises(
        ExportVerificationError, match=r"input 'inputs' float32 with shape \(-1, 16, 3\)"
    ):
        check_signature_def(info.path, {"inputs": (16, 3)}, ["logits"])
    with pytest.raises(ExportVerificationError, match="output 'scores'"):
        check_signature_def(info.path, {"inputs": (16, 2)}, ["scores"])


def _two_input_search(tmp_path, as_dict=True):
    from kerasnas.spaces import TemplateSpace

    rng = np.random.default_rng(0)
    meta = rng.normal(size=(96, 3)).astype("float32")
    signal = rng.normal(size=(96, 10, 1)).astype("float32")
    y = (meta[:, 0] > 0).astype("int32")
    names = ("input:meta", "input:signal") if as_dict else ("input:0", "input:1")
    template = {
        "segments": [
            {"name": "meta", "type": "op", "inputs": [names[0]], "params": {"op": "dense"}},
            {"name": "signal", "type": "op", "inputs": [names[1]], "params": {"op": "conv"}},
            {"name": "pool", "type": "head", "inputs": ["signal"]},
            {"name": "join", "type": "merge", "inputs": ["meta", "pool"]},
        ]
    }
    x = {"meta": meta, "signal": signal} if as_dict else [meta, signal]
    result = kerasnas.search(
        x,
        y,
        space=TemplateSpace(template),
        max_trials=1,
        epochs=1,
        directory=tmp_path / "search",
        verbose=0,
        executor="local",
    )
    return result, meta, signal


@pytest.mark.slow
def test_a_model_with_several_inputs_exports_and_serves_without_kerasnas(tmp_path):
    result, meta, signal = _two_input_search(tmp_path)
    info = result.export(tmp_path / "two_inputs", formats=("keras",), check_cli=True)
    inputs = info.signatures["serving_default"]["inputs"]
    assert inputs == {
        "meta": {"shape": [None, 3], "dtype": "float32"},
        "signal": {"shape": [None, 10, 1], "dtype": "float32"},
    }
    expected = result.best_model.predict({"meta": meta[:5], "signal": signal[:5]}, verbose=0)
    request = json.loads((info.path / "assets.extra" / "rest_request.json").read_text())
    assert sorted(request["instances"][0]) == ["meta", "signal"]
    assert np.asarray(request["instances"][0]["signal"]).shape == (10, 1)
    card = json.loads((info.path / "model_card.json").read_text())
    assert [i["name"] for i in card["inputs"]] == ["meta", "signal"]
    assert all("normalisation baked" in i["preprocessing"] for i in card["inputs"])
    assert (
        "Input `signal`: float32, shape [None, 10, 1]" in (info.path / "MODEL_CARD.md").read_text()
    )
    np.save(tmp_path / "meta.npy", meta[:5])
    np.save(tmp_path / "signal.npy", signal[:5])
    script = (
        "import sys, numpy as np, tensorflow as tf\n"
        f"serve = tf.saved_model.load({str(info.path)!r}).signatures['serving_default']\n"
        f"meta, signal = (np.load({str(tmp_path)!r} + f'/{{n}}.npy') for n in ('meta', 'signal'))\n"
        "out = serve(meta=tf.constant(meta), signal=tf.constant(signal))['probabilities']\n"
        "assert not [m for m in sys.modules if m.startswith('kerasnas')]\n"
        "print(out.numpy().tolist())\n"
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


def test_list_inputs_are_served_under_their_input_names(tmp_path):
    result, meta, signal = _two_input_search(tmp_path, as_dict=False)
    info = result.export(
        tmp_path / "listed", measure_latency=False, check_cli=False, serving_config=False
    )
    assert sorted(info.signatures["serving_default"]["inputs"]) == ["inputs_0", "inputs_1"]
    serve = tf.saved_model.load(str(info.path)).signatures["serving_default"]
    out = serve(inputs_0=tf.constant(meta[:3]), inputs_1=tf.constant(signal[:3]))
    expected = result.best_model.predict([meta[:3], signal[:3]], verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)


def test_several_inputs_refuse_single_input_formats_before_writing(tmp_path):
    result, _, _ = _two_input_search(tmp_path)
    with pytest.raises(ValueError, match=r"Formats \['tflite'\] are written for models with one"):
        result.export(tmp_path / "refused", formats=("tflite",))
    assert not (tmp_path / "refused").exists() or existing_versions(tmp_path / "refused") == []
