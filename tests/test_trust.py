"""Nothing a second process, a crafted journal or a typo does may lose a search (issue 14)."""

import json
import os
import pathlib
import random
import stat
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import kerasnas
from kerasnas.errors import IncompatibleSearchError, KerasNASError
from kerasnas.spaces import ChainSpace

REPO = pathlib.Path(kerasnas.__file__).resolve().parent.parent


def score_layers(arch):
    return float(arch["num_layers"])


def fails(arch):
    raise RuntimeError(f"broken candidate with {arch['num_layers']} layers")


def _snapshot(directory):
    """Every file under `directory` with its bytes."""
    root = pathlib.Path(directory)
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def _table_search(directory, **kwargs):
    options = dict(space=ChainSpace(max_layers=3), evaluator=score_layers, verbose=0)
    options.update(kwargs)
    return kerasnas.search(directory=directory, **options)


# ---------------------------------------------------------------- 1. a second process
def test_constructing_a_search_touches_nothing_on_disk(tmp_path):
    _table_search(tmp_path, max_trials=3)
    (tmp_path / "trials" / "trial_0001").mkdir(parents=True)
    (tmp_path / "trials" / "trial_0001" / "model.keras").write_bytes(b"kept model")
    before = _snapshot(tmp_path)
    kerasnas.Search(
        ChainSpace(max_layers=3),
        kerasnas.strategies.RandomSearch(),
        kerasnas.evaluation.CallableEvaluator(score_layers, "score"),
        "score",
        tmp_path,
        overwrite=True,
        verbose=0,
    )
    assert _snapshot(tmp_path) == before
    fresh = tmp_path / "never-created"
    kerasnas.Search(
        ChainSpace(max_layers=3),
        kerasnas.strategies.RandomSearch(),
        kerasnas.evaluation.CallableEvaluator(score_layers, "score"),
        "score",
        fresh,
        verbose=0,
    )
    assert not fresh.exists()


def _hold_lock(directory):
    """A second process that holds the directory lock (as a running search does)."""
    code = (
        "import fcntl, os, sys, time\n"
        f"h = open({str(directory / '.lock')!r}, 'a+')\n"
        "fcntl.flock(h.fileno(), fcntl.LOCK_EX)\n"
        "h.seek(0); h.truncate(); h.write(str(os.getpid())); h.flush()\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_overwrite_of_a_directory_in_use_is_refused_before_anything_is_deleted(tmp_path):
    _table_search(tmp_path, max_trials=3)
    before = _snapshot(tmp_path)
    other = _hold_lock(tmp_path)
    try:
        with pytest.raises(IncompatibleSearchError, match=f"process {other.pid}"):
            _table_search(tmp_path, max_trials=3, overwrite=True)
        assert _snapshot(tmp_path) == before
    finally:
        other.kill()
        other.wait()


def test_cli_overwrite_while_another_search_runs_names_its_process(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    _table_search(tmp_path, max_trials=2)
    before = _snapshot(tmp_path)
    other = _hold_lock(tmp_path)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "kerasnas.cli", "search", "--data", "mnist1d",
             "--max-trials", "1", "--epochs", "1", "--directory", str(tmp_path), "--overwrite"],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
    finally:
        other.kill()
        other.wait()
    assert done.returncode == 1
    assert f"process {other.pid}" in done.stderr
    assert _snapshot(tmp_path) == before


# ---------------------------------------------------------------- 2. paths stay inside
def _rewrite_records(directory, change):
    path = pathlib.Path(directory) / "journal.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "trial_finished":
            change(event["record"])
        lines.append(json.dumps(event))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("style", ["relative", "absolute"])
def test_model_paths_from_the_journal_never_leave_the_directory(tmp_path, style):
    run = tmp_path / "run"
    victim = tmp_path / "victim" / "model.keras"
    victim.parent.mkdir()
    victim.write_bytes(b"not yours")
    _table_search(run, max_trials=3, keep_best_models=1)
    target = "../victim/model.keras" if style == "relative" else str(victim)

    def plant(record):
        record["info"]["model_path"] = target

    _rewrite_records(run, plant)
    with pytest.warns(UserWarning, match=r"[Ll]ine \d+.*outside the search directory"):
        result = _table_search(run, max_trials=5, keep_best_models=1)
    assert victim.read_bytes() == b"not yours"
    assert all("model_path" not in t.info for t in result.trials)
    with pytest.warns(UserWarning, match="outside the search directory"):
        reopened = kerasnas.load_search(run)
    with pytest.raises(ValueError, match="no kept model"):
        reopened.load_model(reopened.trials[0].number)


# ---------------------------------------------------------------- 3. crafted journal lines
@pytest.mark.parametrize(
    "line",
    [
        {"event": "trial_finished", "record": {"bogus": 1}},
        {"event": "trial_finished", "record": "notadict"},
        {"event": "trial_started", "trial": "abc"},
        {"event": "trial_started", "trial": 99, "architecture": "x"},
        {"event": "trial_finished", "record": {"number": True, "architecture": {}, "status": "x"}},
        {"event": 5},
    ],
)
def test_valid_json_that_is_not_a_valid_event_is_skipped_with_a_warning(tmp_path, line):
    _table_search(tmp_path, max_trials=3)
    with open(tmp_path / "journal.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")
    with pytest.warns(UserWarning, match=r"Skipping .*line \d+"):
        result = _table_search(tmp_path, max_trials=4)
    assert [t.number for t in result.trials][:3] == [0, 1, 2]
    assert len(result.trials) == 4


def _corrupt(lines, rng):
    """One random corruption of a journal's lines."""
    lines = list(lines)
    i = rng.randrange(len(lines))
    kind = rng.choice(["cut", "swap_type", "drop_field", "duplicate", "reorder", "garbage"])
    if kind == "cut":
        lines[i] = lines[i][: rng.randrange(1, max(2, len(lines[i])))]
    elif kind == "duplicate":
        lines.insert(rng.randrange(len(lines)), lines[i])
    elif kind == "reorder":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "garbage":
        lines[i] = "\x00{]" + lines[i]
    else:
        try:
            event = json.loads(lines[i])
        except ValueError:  # already cut or garbled
            return lines
        target = event.get("record", event) if rng.random() < 0.7 else event
        if not isinstance(target, dict) or not target:
            return lines
        field = rng.choice(sorted(target))
        if kind == "drop_field":
            del target[field]
        else:
            target[field] = rng.choice(["abc", 3, -1, None, [], {}, True, 1.5, {"x": 1}])
        lines[i] = json.dumps(event)
    return lines


def test_fuzzed_journals_resume_or_stop_with_one_clear_error(tmp_path):
    original = tmp_path / "original"
    _table_search(original, max_trials=6, seed=3)
    source = (original / "journal.jsonl").read_text().splitlines()
    settings = (original / "search.json").read_text()
    rng = random.Random(0)
    outcomes = {"resumed": 0, "refused": 0}
    for case in range(60):
        run = tmp_path / f"case{case}"
        run.mkdir()
        lines = source
        for _ in range(rng.randrange(1, 4)):
            lines = _corrupt(lines, rng)
        (run / "journal.jsonl").write_text("\n".join(lines) + "\n")
        (run / "search.json").write_text(settings)
        intact = {
            json.loads(line)["record"]["number"]
            for line in lines
            if line in source and '"trial_finished"' in line
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = _table_search(run, max_trials=8, seed=3)
            except KerasNASError as e:  # one clear error naming the line
                assert "line" in str(e), (case, e)
                outcomes["refused"] += 1
                continue
        numbers = [t.number for t in result.trials]
        assert intact <= set(numbers), (case, intact, numbers)
        assert len(numbers) == len(set(numbers)), case
        outcomes["resumed"] += 1
    assert outcomes["resumed"] > 30


# ---------------------------------------------------------------- 4. sizes and option names
def test_huge_space_sizes_are_refused_quickly():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"max_layers.*Received: max_layers=1000000"):
        kerasnas.spaces.get("chain", input_shape=(40, 1), max_layers=10**6)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("name", kerasnas.spaces.SPACE_NAMES)
@pytest.mark.parametrize("shape", [(12,), (40, 1), (8, 8, 3)])
def test_every_default_space_constructs_in_under_a_second(name, shape):
    start = time.perf_counter()
    kerasnas.spaces.get(name, input_shape=shape)
    assert time.perf_counter() - start < 1.0


def test_unknown_option_keys_list_the_accepted_ones(tmp_path):
    with pytest.raises(ValueError, match=r"max_layer.*Accepted.*max_layers"):
        _table_search(tmp_path, space="chain", max_trials=1, space_options={"max_layer": 2})
    with pytest.raises(ValueError, match=r"populaton_size.*Accepted.*population_size"):
        _table_search(
            tmp_path, strategy="evolution", max_trials=1, strategy_options={"populaton_size": 2}
        )
    x = np.random.rand(32, 8, 1).astype("float32")
    y = (x.mean(axis=(1, 2)) > 0.5).astype("int32")
    with pytest.raises(ValueError, match=r"min_epoch\b.*Accepted.*min_epochs"):
        kerasnas.search(
            x, y, max_trials=1, epochs=2, directory=tmp_path / "p", verbose=0,
            pruner="asha", pruner_options={"min_epoch": 1},
        )  # fmt: skip
    assert not (tmp_path / "p").exists()


def test_cli_unknown_option_keys_are_one_clear_line(tmp_path, capsys):
    from kerasnas.cli import main

    code = main(
        ["search", "--data", "mnist1d", "--max-trials", "1", "--epochs", "1",
         "--directory", str(tmp_path), "--space-option", "max_layer=2"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "max_layer" in err and "Accepted" in err and "Traceback" not in err


# ---------------------------------------------------------------- 5. objectives
def test_an_objective_the_trainer_never_reports_is_refused_before_training(tmp_path):
    x = np.random.rand(32, 8, 1).astype("float32")
    y = (x.mean(axis=(1, 2)) > 0.5).astype("int32")
    with pytest.raises(ValueError, match=r"val_f1.*val_accuracy"):
        kerasnas.search(
            x, y, objective="val_f1", max_trials=1, epochs=1, directory=tmp_path, verbose=0
        )
    assert not (tmp_path / "journal.jsonl").exists()


# ---------------------------------------------------------------- 6. all failed
def test_a_search_in_which_every_trial_failed_says_so(tmp_path):
    with pytest.warns(UserWarning, match=r"No trial completed.*3 failed.*broken candidate"):
        result = _table_search(tmp_path, evaluator=fails, max_trials=3)
    with pytest.raises(ValueError, match=r"No trial completed: 3 failed"):
        result.best_trial  # noqa: B018
    with pytest.raises(ValueError, match=r"No trial completed"):
        result.best_architecture  # noqa: B018


# ---------------------------------------------------------------- 8. small holes
def test_load_search_accepts_arrays_as_data(tmp_path):
    x = np.random.rand(40, 8, 1).astype("float32")
    y = (x.mean(axis=(1, 2)) > 0.5).astype("int32")
    kerasnas.search(
        x, y, validation_data=(x, y), max_trials=1, epochs=1,
        directory=tmp_path, verbose=0, executor="local",
    )  # fmt: skip
    result = kerasnas.load_search(tmp_path, data=(x, y))
    assert result.data.train is not None
    model = result.train_model("best", epochs=1)
    assert model.predict(x[:2], verbose=0).shape == (2, 2)
    with pytest.raises(ValueError, match="Received: data="):
        kerasnas.load_search(tmp_path, data=[1, 2, 3])


def test_unknown_tfds_name_is_one_clear_line():
    from kerasnas.data import resolve_data

    with pytest.raises(ValueError) as caught:
        resolve_data(data="tfds:no_such_dataset_xyz")
    message = str(caught.value)
    assert "no_such_dataset_xyz" in message
    assert message.count("\n") <= 2 and len(message) < 600


def test_journal_settings_and_data_copies_are_private(tmp_path):
    _table_search(tmp_path, max_trials=2)
    for name in ("journal.jsonl", "search.json"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode & 0o077 == 0, (name, oct(mode))
    from kerasnas.runtime.worker import save_array

    save_array(tmp_path / "data" / "x.npy", np.zeros(3))
    assert stat.S_IMODE((tmp_path / "data" / "x.npy").stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) & 0o077 == 0


def test_a_directory_that_is_a_file_is_not_a_directory_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(NotADirectoryError, match="Received: directory="):
        _table_search(blocker, max_trials=1)
    assert blocker.read_text() == "not a directory"


# ---------------------------------------------------------------- 7. the export command
@pytest.fixture(scope="module")
def finished_search(tmp_path_factory):
    """A one-trial MNIST-1D search (2 epochs) with its kept model."""
    directory = tmp_path_factory.mktemp("search") / "run"
    kerasnas.search(
        data="mnist1d", max_trials=1, epochs=2, directory=directory, verbose=0,
        executor="local", space_options={"max_layers": 2},
    )  # fmt: skip
    return directory


def _export(finished_search, output, *flags, capsys):
    from kerasnas.cli import main

    code = main(["export", str(finished_search), "--output", str(output), "--name", "m", *flags])
    return code, capsys.readouterr()


def _card(output, version):
    return json.loads((output / "m" / str(version) / "model_card.json").read_text())


def test_export_version_flag_writes_that_version(finished_search, tmp_path, capsys):
    code, out = _export(finished_search, tmp_path, "--version", "3", "--no-warmup", capsys=capsys)
    assert code == 0, out.err
    assert (tmp_path / "m" / "3" / "saved_model.pb").exists()
    assert kerasnas.__version__ not in out.out.splitlines()


def test_export_flags_take_effect(finished_search, tmp_path, capsys):
    code, out = _export(
        finished_search, tmp_path, "--formats", "keras", "--mixed-precision", "--xla",
        "--no-warmup", capsys=capsys,
    )  # fmt: skip
    assert code == 0, out.err
    version = tmp_path / "m" / "1"
    assert (version / "model.keras").exists()
    assert not (version / "assets.extra" / "tf_serving_warmup_requests").exists()
    export = _card(tmp_path, 1)["export"]
    assert export["mixed_precision"] is True and export["jit_compile"] is True
    assert export["warmup"] is False and "keras" in export["formats"]


def test_exporting_the_same_model_again_reuses_its_version(finished_search, tmp_path, capsys):
    first, out1 = _export(finished_search, tmp_path, "--no-warmup", capsys=capsys)
    stale = tmp_path / "m" / ".staging-7-999999999"
    (stale / "variables").mkdir(parents=True)
    second, out2 = _export(finished_search, tmp_path, "--no-warmup", capsys=capsys)
    assert first == second == 0
    assert sorted(p.name for p in (tmp_path / "m").iterdir() if p.is_dir()) == ["1"]
    assert "already exported" in out2.out and str(tmp_path / "m" / "1") in out2.out
    third, _ = _export(finished_search, tmp_path, capsys=capsys)  # other options: new version
    assert third == 0 and (tmp_path / "m" / "2").exists()


def test_export_retrain_epochs_card_describes_the_retrained_model(
    finished_search, tmp_path, capsys
):
    with pytest.warns(UserWarning, match="fewer than the 2"):
        code, out = _export(
            finished_search, tmp_path, "--retrain-epochs", "1", "--no-warmup", capsys=capsys
        )
    assert code == 0, out.err
    card = _card(tmp_path, 1)
    retrained = card["retrained"]
    assert retrained["epochs"] == 1 and retrained["search_epochs"] == 2
    assert "training + validation" in retrained["data"]
    assert "test_accuracy" in retrained["test_metrics"]
    assert card["metrics"]["test"] == retrained["test_metrics"]
    assert "search_trial" in card["metrics"]
    assert "retrained for 1 epochs" in out.out and "test_accuracy=" in out.out
    assert "val_accuracy=" not in out.out
    assert "Warning: retrained for 1 epochs, fewer than the 2" in out.out


class _FakeResult:
    directory = "runs/fake"

    def summary(self, top=5):
        return "summary"

    def test_metrics(self):
        return {}

    best_trial = None


SEARCH_FLAGS = [
    (["--space", "template"], "space", "template"),
    (["--strategy", "evolution"], "strategy", "evolution"),
    (["--objective", "val_loss"], "objective", "val_loss"),
    (["--objective", "val_accuracy,params"], "objective", ["val_accuracy", "params"]),
    (["--strategy-option", "population_size=7"], "strategy_options", {"population_size": 7}),
    (["--space-option", "max_layers=2"], "space_options", {"max_layers": 2}),
    (["--training-choices"], "training_choices", True),
    (["--max-trials", "7"], "max_trials", 7),
    (["--epochs", "3"], "epochs", 3),
    (["--batch-size", "16"], "batch_size", 16),
    (["--learning-rate", "0.01"], "learning_rate", 0.01),
    (["--seed", "5"], "seed", 5),
    (["--max-params", "1000"], "max_params", 1000),
    (["--max-flops", "5000"], "max_flops", 5000),
    (["--directory", "runs/x"], "directory", "runs/x"),
    (["--overwrite"], "overwrite", True),
    (["--quiet"], "verbose", 0),
    (["--verbose"], "verbose", 2),
    (["--executor", "process"], "executor", "process"),
    (["--workers", "2"], "workers", 2),
    (["--distribution-strategy", "mirrored"], "distribution_strategy", "mirrored"),
    (["--max-memory-mb", "900"], "max_memory_mb", 900),
    (["--trial-timeout", "30"], "trial_timeout", 30),
    (["--pruner", "asha"], "pruner", "asha"),
    (["--pruner", "asha", "--min-epochs", "2"], "pruner_options", {"min_epochs": 2}),
    (["--proxy", "naswot"], "proxy", "naswot"),
    (["--proxy-candidates", "4"], "proxy_candidates", 4),
    (["--tensorboard"], "tensorboard", True),
]


@pytest.mark.parametrize("flags,keyword,expected", SEARCH_FLAGS)
def test_every_search_flag_reaches_the_search(monkeypatch, capsys, flags, keyword, expected):
    from kerasnas.cli import main

    calls = []

    def fake_search(**kwargs):
        calls.append(kwargs)
        return _FakeResult()

    monkeypatch.setattr(kerasnas, "search", fake_search)
    assert main(["search", "--data", "mnist1d"]) == 0
    assert main(["search", "--data", "mnist1d", *flags]) == 0
    baseline, flagged = calls
    assert flagged[keyword] == expected
    assert baseline[keyword] != expected
    changed = {k for k in flagged if flagged[k] != baseline[k]}
    assert changed <= {keyword, "pruner", "pruner_options"}, changed
