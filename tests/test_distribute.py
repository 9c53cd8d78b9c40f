"""distribution_strategy=: candidates and the final model trained with tf.distribute.

Multi-device training is tested on CPU by splitting it into two logical
devices, which must happen before TensorFlow starts: in a fresh process.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

import kerasnas
from kerasnas.distribute import resolve_strategy, strategy_from_spec, strategy_spec

REPO = pathlib.Path(kerasnas.__file__).resolve().parent.parent

SCRIPT = """
import json, sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import kerasnas
from kerasnas.cli import main
from conftest import make_data

report = {}
if sys.argv[2] == "api":
    x, y = make_data("vector", n=256)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    result = kerasnas.search(
        x, y, space="chain", space_options={"widths": (8,), "max_layers": 2}, max_trials=2,
        epochs=2, batch_size=32, executor="local", distribution_strategy=strategy,
        directory=sys.argv[1] + "/arrays", verbose=0)
    model = result.train_model(epochs=1, distribution_strategy=strategy)
    report = {
        "trials": [t.info["distribution"] for t in result.trials],
        "accuracy": [t.metrics["val_accuracy"] for t in result.trials],
        "final_replicas": model.distribute_strategy.num_replicas_in_sync,
        "final_variable": type(model.trainable_variables[0].value).__name__,
        "prediction": list(model.predict(x[:3], verbose=0).shape),
    }
else:
    # The command line: a search and a retrained export, mirrored across both CPUs
    # (one process, one MirroredStrategy: TensorFlow cannot run two on the same devices).
    directory = sys.argv[1] + "/cli"
    report["search"] = main(["search", "--data", "mnist1d", "--max-trials", "1", "--epochs",
                             "1", "--distribution-strategy", "mirrored", "--executor", "local",
                             "--directory", directory, "--quiet"])
    report["cli_trial"] = kerasnas.load_search(directory).trials[0].info["distribution"]
    report["export"] = main(["export", directory, "--retrain-epochs", "1", "--output",
                             sys.argv[1] + "/exports", "--distribution-strategy", "mirrored",
                             "--no-warmup"])
print("REPORT " + json.dumps(report))
"""


@pytest.mark.slow
def test_mirrored_strategy_across_two_logical_cpus(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(SCRIPT)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    report = {}
    for part in ("api", "cli"):
        done = subprocess.run(
            [sys.executable, str(script), str(tmp_path), part],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        line = next(x for x in done.stdout.splitlines() if x.startswith("REPORT "))
        report.update(json.loads(line[len("REPORT ") :]))
    mirrored = {"strategy": "MirroredStrategy", "replicas": 2}
    assert report["trials"] == [mirrored, mirrored]
    assert all(0.0 <= a <= 1.0 for a in report["accuracy"])
    assert report["final_replicas"] == 2
    assert "Mirrored" in report["final_variable"]
    assert report["prediction"] == [3, 3]
    assert report["search"] == 0 and report["cli_trial"] == mirrored
    assert report["export"] == 0
    assert list((tmp_path / "exports").glob("*/1/saved_model.pb"))


def test_strategy_names_specs_and_objects():
    assert strategy_spec("mirrored") == {"name": "mirrored", "devices": None}
    spec = {"name": "one_device", "devices": ["/cpu:0"]}
    assert strategy_spec(spec) == spec
    strategy = strategy_from_spec(spec)
    assert type(strategy).__name__ == "OneDeviceStrategy"
    # An object is described by its devices, so a worker can rebuild it.
    assert strategy_spec(strategy) == spec
    mirrored = strategy_from_spec({"name": "mirrored", "devices": ["/cpu:0"]})
    assert mirrored.num_replicas_in_sync == 1
    assert resolve_strategy(mirrored) == (mirrored, {"name": "mirrored", "devices": ["/cpu:0"]})
    # A name is built where training happens, not here.
    assert resolve_strategy("mirrored") == (None, {"name": "mirrored", "devices": None})
    with pytest.raises(ValueError, match="Received: distribution_strategy='tpu'"):
        strategy_spec("tpu")
    with pytest.raises(ValueError, match="exactly one device"):
        strategy_spec({"name": "one_device", "devices": ["/cpu:0", "/cpu:1"]})
    with pytest.raises(ValueError, match="Received: distribution_strategy=42"):
        strategy_spec(42)


def test_distribution_strategy_needs_training(tmp_path):
    with pytest.raises(ValueError, match="nothing is trained"):
        kerasnas.search(
            space="chain",
            evaluator=len,
            max_trials=1,
            distribution_strategy="mirrored",
            directory=tmp_path,
        )


def test_worker_processes_rebuild_a_named_strategy(tmp_path):
    from conftest import make_data

    x, y = make_data("vector", n=96)
    result = kerasnas.search(
        x,
        y,
        space="chain",
        space_options={"widths": (4,), "max_layers": 1},
        max_trials=1,
        epochs=1,
        executor="process",
        distribution_strategy="one_device",
        directory=tmp_path,
        verbose=0,
    )
    assert result.trials[0].info["distribution"] == {
        "strategy": "OneDeviceStrategy",
        "replicas": 1,
    }
