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
    second = finished_search.export(tmp_path / "m")
    assert (first.version, second.version) == (1, 2)
    with pytest.raises(FileExistsError, match="Version 1 already exists.*overwrite=True"):
        finished_search.export(tmp_path / "m", version=1)
    finished_search.export(tmp_path / "m", version=1, overwrite=True)
    assert existing_versions(tmp_path / "m") == [1, 2]
    assert not [p for p in (tmp_path / "m").iterdir() if p.name.startswith(".staging")]
