"""The search runtime: resume after SIGKILL, failure isolation, executors, pruning, logs."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import make_data

import kerasnas
from kerasnas.errors import SearchAborted
from kerasnas.runtime import (
    Executor,
    Hyperband,
    LocalExecutor,
    MedianStopping,
    ProcessExecutor,
    SuccessiveHalving,
    choose_executor,
    run_trial_job,
)
from kerasnas.spaces import Categorical, ChainSpace

REPO = pathlib.Path(kerasnas.__file__).resolve().parent.parent


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def _events(directory):
    path = pathlib.Path(directory) / "journal.jsonl"
    if not path.exists():
        return []
    events = []
    for line in path.read_bytes().split(b"\n"):
        try:
            events.append(json.loads(line))
        except ValueError:
            pass
    return events


def _kill_mid_trial(script, directory, after_finished, timeout=240):
    """Runs `script` and SIGKILLs it while a trial is running."""
    process = subprocess.Popen(
        [sys.executable, str(script)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            events = [e for e in _events(directory) if e["event"].startswith("trial_")]
            done = sum(e["event"] == "trial_finished" for e in events)
            if done >= after_finished and events[-1]["event"] == "trial_started":
                process.send_signal(signal.SIGKILL)
                process.wait()
                return events[-1]
            if process.poll() is not None:
                raise AssertionError(
                    "the search ended before it could be killed: " + process.stderr.read().decode()
                )
            time.sleep(0.01)
    finally:
        if process.poll() is None:
            process.kill()
    raise AssertionError("no trial was caught running")


def _trials(directory):
    result = kerasnas.load_search(directory)
    return [(t.number, t.status, dict(t.architecture), t.metrics) for t in result.trials]


SLEEPY_SCRIPT = """
import sys, time
import kerasnas

def slow_score(arch):
    time.sleep(0.15)
    return arch["num_layers"] + 0.01 * len(kerasnas.spaces.ChainSpace().describe(arch))

kerasnas.search(space="chain", evaluator=slow_score, max_trials=10, seed=11,
                directory=sys.argv[1] if len(sys.argv) > 1 else {directory!r}, verbose=0)
"""


def test_sigkill_mid_trial_then_resume_gives_the_uninterrupted_trials(tmp_path):
    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    script = tmp_path / "search.py"
    script.write_text(SLEEPY_SCRIPT.format(directory=str(killed_dir)))
    running = _kill_mid_trial(script, killed_dir, after_finished=4)
    assert not any(
        e["event"] == "trial_finished" and e["record"]["number"] == running["trial"]
        for e in _events(killed_dir)
    )
    resumed = subprocess.run(
        [sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=240
    )
    assert resumed.returncode == 0, resumed.stderr
    straight = subprocess.run(
        [sys.executable, str(script), str(straight_dir)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert straight.returncode == 0, straight.stderr
    assert _trials(killed_dir) == _trials(straight_dir)
    assert len(_trials(killed_dir)) == 10
    retried = kerasnas.load_search(killed_dir).trial(running["trial"])
    assert retried.attempt == 2 and retried.ok
    finished = [
        e["record"]["number"] for e in _events(killed_dir) if e["event"] == "trial_finished"
    ]
    assert sorted(finished) == list(range(10))  # none lost, none repeated


FIT_SCRIPT = """
import sys
import kerasnas
from runtime_helpers import fit_data

x, y = fit_data()
kerasnas.search(x, y, space="chain", max_trials=4, epochs=2, seed=3, executor="process",
                space_options={{"widths": (8, 16), "max_layers": 2}},
                directory=sys.argv[1] if len(sys.argv) > 1 else {directory!r}, verbose=0)
"""


@pytest.mark.slow
def test_sigkill_with_worker_processes_then_resume(tmp_path):
    import psutil

    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    script = tmp_path / "search.py"
    script.write_text(FIT_SCRIPT.format(directory=str(killed_dir)))
    process = subprocess.Popen([sys.executable, str(script)], env=_env(), stderr=subprocess.PIPE)
    deadline = time.time() + 300
    workers = []
    while time.time() < deadline and process.poll() is None:
        events = [e for e in _events(killed_dir) if e["event"].startswith("trial_")]
        done = sum(e["event"] == "trial_finished" for e in events)
        if done >= 1 and events[-1]["event"] == "trial_started":
            workers = psutil.Process(process.pid).children()
            process.send_signal(signal.SIGKILL)
            process.wait()
            break
        time.sleep(0.01)
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    assert workers, "the search ran no worker process"
    _, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, "orphaned workers outlived the killed search"
    done = subprocess.run(
        [sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The same search, uninterrupted, in this process.
    from runtime_helpers import fit_data

    kerasnas.search(
        *fit_data(),
        space="chain",
        max_trials=4,
        epochs=2,
        seed=3,
        executor="local",
        space_options={"widths": (8, 16), "max_layers": 2},
        directory=straight_dir,
        verbose=0,
    )
    resumed, straight = _trials(killed_dir), _trials(straight_dir)
    assert [t[:3] for t in resumed] == [t[:3] for t in straight]
    for a, b in zip(resumed, straight):
        assert a[3]["params"] == b[3]["params"]
        assert a[3]["val_accuracy"] == pytest.approx(b[3]["val_accuracy"], abs=0.02)


# ------------------------------------------------------------ failure isolation
def _behaviour_space():
    return kerasnas.SearchSpace(
        [
            Categorical("behaviour", ["ok", "sleep", "hog", "crash", "raise", "nap"]),
            Categorical("x", [0, 1, 2, 3, 4, 5]),
        ],
        name="behaviours",
    )


class Scripted(kerasnas.strategies.Strategy):
    """Proposes a fixed list of architectures in order."""

    name = "scripted"

    def __init__(self, architectures):
        self.architectures = architectures

    def ask(self, history, rng):
        return self.architectures[len(history)]


def _scripted_search(directory, behaviours, **kwargs):
    from runtime_helpers import misbehave

    archs = [{"behaviour": b, "x": i % 6} for i, b in enumerate(behaviours)]
    search = kerasnas.Search(
        _behaviour_space(),
        Scripted(archs),
        kerasnas.CallableEvaluator(misbehave, "score"),
        objective="score",
        directory=directory,
        max_trials=len(archs),
        verbose=0,
        **kwargs,
    )
    return search, search.run()


@pytest.mark.slow
def test_worker_processes_isolate_timeouts_memory_hogs_and_crashes(tmp_path):
    executor = ProcessExecutor(workers=1, max_memory_mb=1200, recycle_after=3)
    behaviours = ["ok", "sleep", "ok", "hog", "ok", "crash", "ok", "raise", "ok", "ok"]
    # 5 s: time for the hog to fill 1.2 GB even on a busy machine (the sleep lasts 60 s).
    search, result = _scripted_search(tmp_path, behaviours, executor=executor, trial_timeout=5.0)
    statuses = [t.status for t in result.trials]
    assert statuses == ["completed" if b == "ok" else "failed" for b in behaviours]
    errors = {t.architecture["behaviour"]: t.error for t in result.trials if not t.ok}
    assert "time limit of 5s" in errors["sleep"]
    assert "max_memory_mb=1200" in errors["hog"]
    assert "exit code 7" in errors["crash"]
    assert "candidate exploded" in errors["raise"]
    sleep_trial = result.trials[1]
    assert sleep_trial.duration_s < 15  # killed, not left to sleep its 60 s
    # Workers are reused, replaced after a kill, and recycled every 3 trials.
    pids = [int(t.metrics["pid"]) for t in result.trials if t.ok]
    assert pids[0] != pids[1] and len(set(pids)) < len(pids)
    assert executor.processes_started >= 4
    assert not executor.worker_pids()  # all shut down at the end


@pytest.mark.slow
def test_two_workers_run_trials_at_the_same_time(tmp_path):
    executor = ProcessExecutor(workers=2)
    search, result = _scripted_search(tmp_path, ["nap"] * 6, executor=executor)
    assert [t.status for t in result.trials] == ["completed"] * 6
    assert len({t.metrics["pid"] for t in result.trials}) == 2
    spans = sorted((t.metrics["end"] - t.duration_s, t.metrics["end"]) for t in result.trials)
    overlaps = sum(1 for a, b in zip(spans, spans[1:]) if b[0] < a[1])
    assert overlaps >= 2  # naps of the two workers overlapped
    events = [e["event"] for e in _events(tmp_path) if e["event"].startswith("trial_")]
    assert events[:2] == ["trial_started", "trial_started"]


def test_local_executor_time_limit_and_failure_streak(tmp_path):
    def slow_then_fine(arch):
        if arch["x"] == 0:
            time.sleep(0.6)
        return float(arch["x"])

    space = _behaviour_space()
    archs = [{"behaviour": "ok", "x": x} for x in (1, 0, 2)]
    result = kerasnas.Search(
        space,
        Scripted(archs),
        kerasnas.CallableEvaluator(slow_then_fine, "score"),
        objective="score",
        directory=tmp_path / "limit",
        max_trials=3,
        verbose=0,
        trial_timeout=0.3,
        executor="local",
    ).run()
    assert [t.status for t in result.trials] == ["completed", "failed", "completed"]
    assert "time limit" in result.trials[1].error

    with pytest.raises(SearchAborted, match=r"3 trials failed in a row.*exploded"):
        _scripted_search(
            tmp_path / "streak",
            ["ok", "raise", "raise", "raise", "ok"],
            max_consecutive_failures=3,
            executor="local",
        )
    assert len(kerasnas.load_search(tmp_path / "streak").trials) == 4


def test_local_time_limit_stops_training_between_batches(tmp_path):
    x, y = make_data("vector", n=20000)
    search = kerasnas.search(
        x,
        y,
        max_trials=1,
        epochs=50,
        batch_size=8,
        directory=tmp_path,
        verbose=0,
        trial_timeout=1.5,
        executor="local",
        keep_best_models=0,
    )
    trial = search.trials[0]
    assert trial.status == "failed" and "time limit of 1.5s" in trial.error
    assert trial.duration_s < 10


def test_choose_executor():
    assert choose_executor("auto", trains_models=True, max_trials=5).name == "local"
    assert choose_executor("auto", trains_models=True, max_trials=200).name == "process"
    assert choose_executor("auto", trains_models=True, max_trials=5, trial_timeout=9).name == (
        "process"
    )
    assert choose_executor("auto", trains_models=False, max_trials=500).name == "local"
    with pytest.raises(ValueError, match="Received: executor='cluster'"):
        choose_executor("cluster")
    with pytest.raises(ValueError, match="executor='process'"):
        choose_executor("local", workers=2)
    with pytest.raises(ValueError, match="Received: max_memory_mb=-1"):
        ProcessExecutor(max_memory_mb=-1)


def test_process_executor_refuses_lambdas_with_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="not a lambda.*executor='local'"):
        kerasnas.search(
            space="chain",
            evaluator=lambda a: 1.0,
            max_trials=2,
            directory=tmp_path,
            executor="process",
            verbose=0,
        )


# ------------------------------------------------------------ trials in flight
class Juggler(Executor):
    """Keeps 3 trials and finishes them newest first (like a busy cluster)."""

    name = "juggler"
    capacity = 3

    def __init__(self, crash_after=None):
        self.queue = []
        self.crash_after = crash_after
        self.max_in_flight = 0
        self.finished = 0

    def submit(self, job):
        self.queue.append(job)
        self.max_in_flight = max(self.max_in_flight, len(self.queue))

    def wait(self):
        if self.crash_after is not None and self.finished >= self.crash_after:
            raise KeyboardInterrupt
        job = self.queue.pop()
        self.finished += 1
        return [run_trial_job(self.evaluator, job)]


def score_layers(arch):
    return float(arch["num_layers"])


def test_several_trials_in_flight_and_resume_retries_all_of_them(tmp_path):
    def make(executor):
        return kerasnas.Search(
            ChainSpace(max_layers=3),
            kerasnas.strategies.RandomSearch(),
            kerasnas.CallableEvaluator(score_layers, "score"),
            objective="score",
            directory=tmp_path,
            max_trials=8,
            verbose=0,
            executor=executor,
        )

    juggler = Juggler(crash_after=4)
    with pytest.raises(KeyboardInterrupt):
        make(juggler).run()
    assert juggler.max_in_flight == 3
    events = [e for e in _events(tmp_path) if e["event"].startswith("trial_")]
    kinds = [e["event"][6:] for e in events]
    assert kinds[:4] == ["started", "started", "started", "finished"]  # real order
    finished = {e["record"]["number"] for e in events if e["event"] == "trial_finished"}
    started = {e["trial"] for e in events if e["event"] == "trial_started"}
    assert len(started - finished) == 3
    result = make(LocalExecutor()).run()
    assert len(result.trials) == 8
    assert sorted(t.number for t in result.trials) == list(range(8))
    assert len({t.key for t in result.trials}) == 8
    retried = [t for t in result.trials if t.attempt == 2]
    assert {t.number for t in retried} == started - finished


# ------------------------------------------------------------ journal damage
def test_corrupt_and_truncated_journal_lines_lose_nothing(tmp_path):
    kwargs = dict(space="chain", evaluator=score_layers, seed=2, verbose=0)
    kerasnas.search(max_trials=6, directory=tmp_path / "straight", **kwargs)
    kerasnas.search(max_trials=4, directory=tmp_path, **kwargs)
    path = tmp_path / "journal.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    # A garbled line in the middle (a started event: its trial finished later).
    middle = next(i for i, line in enumerate(lines) if '"trial_started"' in line and i > 2)
    lines[middle] = '{"event": "trial_sta\x00rted", garbage\n'
    # A final line cut short by a crash mid-write.
    path.write_text("".join(lines) + '{"event":"trial_started","trial":4,"arch')
    with pytest.warns(UserWarning) as caught:
        result = kerasnas.search(max_trials=6, directory=tmp_path, **kwargs)
    messages = " ".join(str(w.message) for w in caught)
    assert "unreadable line" in messages and "incomplete line" in messages
    assert (tmp_path / "journal.jsonl.partial").read_text().startswith('{"event":"trial_started"')
    straight = kerasnas.load_search(tmp_path / "straight")
    assert [t.architecture for t in result.trials] == [t.architecture for t in straight.trials]
    assert "garbage" in path.read_text()  # the damaged line is left as it was


def test_unwritable_directory_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    # Issue 14: a path under a file is a NotADirectoryError (it was a PermissionError).
    with pytest.raises(NotADirectoryError, match="search directory is a file"):
        kerasnas.search(
            space="chain", evaluator=score_layers, max_trials=1, directory=blocker / "run"
        )
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere: nothing to refuse
            return
        with pytest.raises(PermissionError, match="not writable"):
            kerasnas.search(space="chain", evaluator=score_layers, max_trials=1, directory=locked)
    finally:
        locked.chmod(0o700)


# ------------------------------------------------------------ pruning
def test_successive_halving_rule():
    rule = SuccessiveHalving(min_epochs=1, reduction_factor=3)
    assert rule.rungs(9) == [1, 3, 9]
    assert rule.should_stop(0, 1, 0.5, []) is None  # alone at the rung: promoted
    assert rule.should_stop(1, 2, 0.1, [0.9]) is None  # not a rung
    assert rule.should_stop(1, 1, 0.4, [0.5]) is not None  # top 1 of 2
    assert rule.should_stop(1, 1, 0.6, [0.5]) is None
    others = [0.9, 0.8, 0.7, 0.6, 0.5]  # with itself 6 at the rung: keep the top 2
    assert rule.should_stop(7, 3, 0.85, others) is None
    assert "top 2 of 6" in rule.should_stop(7, 3, 0.75, others)
    with pytest.raises(ValueError, match="Received: reduction_factor=1"):
        SuccessiveHalving(reduction_factor=1)

    band = Hyperband(min_epochs=1, max_epochs=9, reduction_factor=3)
    assert [band.bracket_min_epochs(n) for n in range(4)] == [1, 3, 9, 1]
    assert band.competes_with(0, 3) and not band.competes_with(0, 1)
    assert band.should_stop(1, 1, 0.0, [0.9]) is None  # bracket 1 starts at 3 epochs

    median = MedianStopping(warmup_epochs=2, min_trials=3)
    assert median.should_stop(5, 1, 0.0, [0.5, 0.6, 0.7]) is None  # warm-up
    assert median.should_stop(5, 2, 0.55, [0.5, 0.6]) is None  # too few trials
    assert median.should_stop(5, 2, 0.55, [0.5, 0.6, 0.7]) is not None
    assert median.should_stop(5, 2, 0.65, [0.5, 0.6, 0.7]) is None


def test_successive_halving_search_stops_losers_and_saves_epochs(tmp_path):
    x, y = make_data("sequence", n=256)
    result = kerasnas.search(
        x,
        y,
        max_trials=6,
        epochs=3,
        seed=1,
        directory=tmp_path,
        verbose=0,
        executor="local",
        pruner="asha",
        pruner_options={"min_epochs": 1, "reduction_factor": 3},
        space_options={"widths": (8,), "max_layers": 2},
        tensorboard=True,
        measure_latency=True,  # by default latency is measured only for each new best model
    )
    trials = result.completed
    assert len(trials) == 6
    for t in trials:  # costs recorded for every trial
        assert {"params", "flops", "train_time_s", "latency_ms"} <= set(t.metrics)
        assert t.metrics["latency_ms"] > 0
    stopped = [t for t in trials if t.info.get("stopped_early")]
    assert stopped, "no trial was stopped at the first rung"
    first = {}
    for t in trials:  # in finish order: each judged against the earlier ones
        value = t.info["history"]["val_accuracy"][0]
        earlier = list(first.values())
        ranked = sorted([*earlier, value], reverse=True)
        keep = max(1, len(ranked) // 3)
        should_continue = value >= ranked[keep - 1]
        assert t.info["budget"] == (3 if should_continue else 1), t.info
        assert (t.info.get("stopped_early") is None) == should_continue
        first[t.number] = value
    assert sum(t.info["budget"] for t in trials) < 3 * len(trials)
    assert result.settings["pruner"] == {
        "name": "successive_halving",
        "min_epochs": 1,
        "reduction_factor": 3,
    }
    # TensorBoard: the HParams experiment and per-trial epoch scalars.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = EventAccumulator(str(tmp_path / "tensorboard" / "trial_0000")).Reload()
    assert {"epoch/loss", "final/val_accuracy"} <= set(run.Tags()["tensors"])
    root = EventAccumulator(str(tmp_path / "tensorboard")).Reload()
    assert "_hparams_/experiment" in root.Tags()["tensors"]
    # A different pruner on the same directory is refused.
    with pytest.raises(kerasnas.errors.IncompatibleSearchError, match="pruner"):
        kerasnas.search(
            x,
            y,
            max_trials=6,
            epochs=3,
            seed=1,
            directory=tmp_path,
            verbose=0,
            space_options={"widths": (8,), "max_layers": 2},
            pruner="median",
        )
    # The report of this search.
    from kerasnas.report import write_report

    paths = write_report(tmp_path)
    for key in ("best_so_far", "size", "architecture", "markdown", "html"):
        assert paths[key].stat().st_size > 1000 or key in ("markdown",), key
    text = paths["markdown"].read_text()
    best = result.best_trial
    assert f"Trial #{best.number}: **{best.metrics['val_accuracy']:.4f}**" in text
    assert f"Epochs trained: {sum(t.info['budget'] for t in trials)}" in text
    assert f"({len(stopped)} trials stopped early)" in text


def test_pruner_needs_a_training_evaluator(tmp_path):
    with pytest.raises(ValueError, match="needs an evaluator that trains"):
        kerasnas.search(
            space="chain", evaluator=score_layers, pruner="asha", directory=tmp_path, verbose=0
        )


# ------------------------------------------------------------ proxies
def test_zero_cost_proxies_rank_candidates(tmp_path):
    import keras

    from kerasnas.proxies import naswot, synflow

    def mlp(width, depth):
        layers = [keras.Input((8,))]
        layers += [keras.layers.Dense(width, activation="relu") for _ in range(depth)]
        return keras.Sequential([*layers, keras.layers.Dense(3, name="logits")])

    keras.utils.set_random_seed(0)
    assert synflow(mlp(64, 3)) > synflow(mlp(4, 1))
    batch = np.random.default_rng(0).normal(size=(32, 8))
    assert naswot(mlp(64, 2), batch) > naswot(mlp(2, 1), batch)
    x, y = make_data("vector", n=96)
    result = kerasnas.search(
        x,
        y,
        max_trials=2,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        proxy="naswot",
        proxy_candidates=4,
        executor="local",
    )
    for trial in result.trials:
        ranked = trial.info["zero_cost"]
        assert ranked["proxy"] == "naswot" and ranked["candidates"] == 4
        assert ranked["score"] == max(ranked["rank_scores"])


# ------------------------------------------------------------ progress
def test_progress_modes(tmp_path, capsys):
    kwargs = dict(space="chain", evaluator=score_layers, max_trials=3)
    kerasnas.search(directory=tmp_path / "quiet", verbose=0, progress_bar=True, **kwargs)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    kerasnas.search(directory=tmp_path / "bar", verbose=1, progress_bar=True, **kwargs)
    shown = capsys.readouterr()
    assert shown.out.count("Trial ") == 3
    assert "3/3" in shown.err and "best score=" in shown.err
    kerasnas.search(directory=tmp_path / "lines", verbose=1, progress_bar=False, **kwargs)
    lines = capsys.readouterr()
    assert lines.out.count("Trial ") == 3 and lines.err == ""


# ------------------------------------------------------------ report
def sized_score(arch):
    layers = arch["num_layers"]
    return {"score": 0.5 + 0.1 * layers, "params": 100.0 * layers**2}


def test_report_command_writes_plots_and_summary(tmp_path, capsys):
    from kerasnas.cli import main

    result = kerasnas.search(
        space=ChainSpace(max_layers=4),
        evaluator=sized_score,
        max_trials=6,
        directory=tmp_path,
        verbose=0,
        seed=4,
    )
    assert main(["report", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    report = tmp_path / "report"
    for name in ("best_so_far.png", "size_vs_objective.png", "architecture.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (report / name).stat().st_size > 5000
        assert str(report / name) in printed
    markdown = (report / "report.md").read_text()
    best = result.best_trial
    assert "**6 trials**: 6 completed" in markdown
    assert f"Trial #{best.number}: **{best.metrics['score']:.4f}**" in markdown
    assert "![Size against objective](size_vs_objective.png)" in markdown
    html = (report / "report.html").read_text()
    assert f"Trial #{best.number}: <b>{best.metrics['score']:.4f}</b>" in html
    from kerasnas.report import best_so_far, pareto_front

    curve = best_so_far(result)
    assert [p[0] for p in curve] == list(range(1, 7))
    assert curve[-1][2] == best.metrics["score"]
    assert all(a[2] <= b[2] for a, b in zip(curve, curve[1:]))
    assert pareto_front([(10, 0.5), (20, 0.9), (30, 0.8), (5, 0.4)]) == [3, 0, 1]

    assert main(["report", str(tmp_path / "none")]) == 1
    assert "No search found" in capsys.readouterr().err


def test_auto_executor_falls_back_to_local_for_what_workers_cannot_get(tmp_path):
    import tensorflow as tf

    x, y = make_data("vector", n=64)
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    with pytest.warns(UserWarning, match="Running trials in this process.*tf.data.Dataset"):
        result = kerasnas.search(
            train,
            validation_data=train,
            max_trials=1,
            epochs=1,
            directory=tmp_path,
            verbose=0,
            trial_timeout=120,  # "auto" would pick worker processes
        )
    assert len(result.completed) == 1


def test_lost_or_corrupt_settings_file(tmp_path):
    kwargs = dict(space=ChainSpace(max_layers=2), evaluator=score_layers, verbose=0)
    kerasnas.search(max_trials=3, directory=tmp_path, **kwargs)
    settings = tmp_path / "search.json"
    settings.write_text('{"space": ')
    with pytest.raises(kerasnas.errors.IncompatibleSearchError, match="Move it away"):
        kerasnas.search(max_trials=4, directory=tmp_path, **kwargs)
    settings.unlink()  # resume from the journal alone: still checked
    with pytest.raises(kerasnas.errors.IncompatibleSearchError, match="max_layers"):
        kerasnas.search(
            max_trials=4, directory=tmp_path, space=ChainSpace(max_layers=3), evaluator=score_layers
        )
    result = kerasnas.search(max_trials=4, directory=tmp_path, **kwargs)
    assert [t.number for t in result.trials] == [0, 1, 2, 3]


def test_two_searches_cannot_share_a_directory(tmp_path):
    import fcntl

    kerasnas.search(space="chain", evaluator=score_layers, max_trials=1, directory=tmp_path)
    with open(tmp_path / ".lock", "a+") as other:  # as if another search held it
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(kerasnas.errors.IncompatibleSearchError, match="Another running"):
            kerasnas.search(space="chain", evaluator=score_layers, max_trials=2, directory=tmp_path)
    result = kerasnas.search(
        space="chain", evaluator=score_layers, max_trials=2, directory=tmp_path
    )
    assert len(result.trials) == 2


def test_simulate_pruner_replays_full_curves():
    from kerasnas import Objective, TrialRecord
    from kerasnas.runtime import simulate_pruner

    curves = [[0.5, 0.6, 0.7], [0.4, 0.5, 0.9], [0.6, 0.65, 0.8], [0.3, 0.2, 0.1]]
    history = [
        TrialRecord(
            number=i,
            architecture={"i": i},
            status="completed",
            metrics={"val_accuracy": c[-1]},
            info={"history": {"val_accuracy": c}},
        )
        for i, c in enumerate(curves)
    ]
    rows = simulate_pruner(SuccessiveHalving(1, 3), history, Objective("val_accuracy"))
    assert [r["epochs"] for r in rows] == [3, 1, 3, 1]
    assert [r["value"] for r in rows] == [0.7, 0.4, 0.8, 0.3]
    loss = simulate_pruner(
        MedianStopping(warmup_epochs=2, min_trials=2),
        [
            TrialRecord(
                number=i,
                architecture={"i": i},
                status="completed",
                info={"history": {"val_loss": [2 - x for x in c]}},
            )
            for i, c in enumerate(curves)
        ],
        Objective("val_loss"),  # minimised: the rule compares -loss
    )
    assert [r["epochs"] for r in loss] == [3, 3, 3, 2]


@pytest.mark.slow
def test_workers_save_kept_models_after_their_outcome_and_the_journal_matches_the_disk(tmp_path):
    # Each worker sends its outcome before it saves the model and measures latency;
    # recycling every 2 trials stops a worker only after it has reported its model.
    x, y = make_data("vector", n=256)
    executor = ProcessExecutor(workers=1, recycle_after=2)
    result = kerasnas.search(
        x, y, max_trials=5, epochs=1, keep_best_models=1, seed=1, directory=tmp_path,
        verbose=0, executor=executor, space_options={"widths": (8, 16), "max_layers": 2},
    )  # fmt: skip
    assert len(result.completed) == 5 and executor.processes_started >= 3
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.keras"))
    reread = kerasnas.load_search(tmp_path)
    named = sorted(t.info["model_path"] for t in reread.completed if "model_path" in t.info)
    assert [p for p in on_disk if p in named] == on_disk  # no file the journal does not name
    best = reread.best_trial
    assert on_disk == [best.info["model_path"]] and best.metrics["latency_ms"] > 0
    assert "save" in best.info["timing"]
    assert reread.best_model.predict(x[:2], verbose=0).shape[0] == 2
