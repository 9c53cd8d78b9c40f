import json
import os
import subprocess
import sys

import pytest
from conftest import TF_START_UP_NOISE as NOISE
from conftest import USER_ENV

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def run(*args, cwd, env=ENV):
    return subprocess.run(
        [sys.executable, "-m", "kerasnas.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_cli_search_export_and_resume(tmp_path):
    done = run(
        "search",
        "--data",
        "mnist1d",
        "--max-trials",
        "2",
        "--epochs",
        "1",
        "--directory",
        "runs/cli",
        "--export",
        "exports/mnist1d",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Trial 1/2" in out and "Trial 2/2" in out and "val_accuracy=" in out
    assert "test_accuracy=" in out
    assert "exports/mnist1d/1" in out
    assert (tmp_path / "exports/mnist1d/1/saved_model.pb").exists()
    # The rest runs as a user runs it, without TF_CPP_MIN_LOG_LEVEL: no C++ start-up lines.
    again = run(
        "search", "--data", "mnist1d", "--max-trials", "3", "--epochs", "1",
        "--directory", "runs/cli", "--executor", "process", cwd=tmp_path, env=USER_ENV,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "Resuming search" in again.stdout and again.stdout.count("Trial ") == 1
    exported = run(
        "export", "runs/cli", "--trial", "0", "--name", "first", "--output", "served",
        cwd=tmp_path, env=USER_ENV,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    card = json.loads((tmp_path / "served/first/1/model_card.json").read_text())
    assert card["search"]["trial"] == 0
    reported = run("report", "runs/cli", cwd=tmp_path, env=USER_ENV)
    assert reported.returncode == 0, reported.stderr
    summary = run("summary", "runs/cli", cwd=tmp_path, env=USER_ENV)
    assert "3 trials" in summary.stdout
    for command, done in [
        ("search --executor process", again),
        ("export", exported),
        ("report", reported),
        ("summary", summary),
    ]:
        assert not [word for word in NOISE if word in done.stderr], (command, done.stderr)


def test_cli_errors_are_one_clear_line(tmp_path):
    bad = run("search", "--data", "mnist1d", "--space", "nope", "--max-trials", "1", cwd=tmp_path)
    assert bad.returncode == 1
    assert "Received: space='nope'" in bad.stderr
    missing = run("export", "no/such/dir", cwd=tmp_path)
    assert missing.returncode == 1 and "No search found" in missing.stderr


def test_options_and_objectives_parse_as_json():
    from kerasnas.cli import parse_objective, parse_options

    assert parse_options(["population_size=20", "widths=[8, 16]", "name=fast"], "--x") == {
        "population_size": 20,
        "widths": [8, 16],
        "name": "fast",
    }
    assert parse_objective("val_accuracy, params") == ["val_accuracy", "params"]
    assert parse_objective("val_loss") == "val_loss"
    with pytest.raises(ValueError, match=r"Received: --strategy-option 'oops'"):
        parse_options(["oops"], "--strategy-option")


def test_cli_strategy_options_reach_the_strategy(tmp_path):
    done = run(
        "search",
        "--data",
        "mnist1d",
        "--strategy",
        "evolution",
        "--strategy-option",
        "population_size=-3",
        "--max-trials",
        "1",
        cwd=tmp_path,
    )
    assert done.returncode == 1 and "population_size=-3" in done.stderr
