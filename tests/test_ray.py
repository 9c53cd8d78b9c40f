"""executor="ray": trials in Ray actors on a private local Ray bound to 127.0.0.1.

One Ray instance serves the whole module (it is started in this test
process, with its own temporary directory, so parallel test processes do
not share it) and every search here reuses it.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from conftest import make_data

import kerasnas
from kerasnas.runtime import RayExecutor, get_executor
from kerasnas.spaces import Categorical

ray = pytest.importorskip("ray")

REPO = pathlib.Path(kerasnas.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def local_ray():
    if ray.is_initialized():
        ray.shutdown()
    context = kerasnas.runtime.init_local_ray(num_cpus=2)
    yield context
    ray.shutdown()


def _events(directory):
    lines = (pathlib.Path(directory) / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _ray_processes():
    import psutil

    return [p for p in psutil.Process().children(recursive=True)]


def test_local_ray_listens_on_loopback_only(local_ray):
    import psutil

    assert local_ray.address_info["node_ip_address"] == "127.0.0.1"
    assert local_ray.address_info["address"].startswith("127.0.0.1:")
    pids = {p.pid for p in _ray_processes()} | {os.getpid()}
    listening = [
        c.laddr.ip
        for c in psutil.net_connections("inet")
        if c.pid in pids and c.status == psutil.CONN_LISTEN
    ]
    assert listening, "found no listening Ray socket to check"
    assert all(ip in ("127.0.0.1", "::ffff:127.0.0.1") for ip in listening), listening
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"


class InOrder(kerasnas.strategies.Strategy):
    """Proposes a fixed list of architectures, one per ask."""

    name = "in_order"

    def __init__(self, architectures):
        self.architectures = list(architectures)
        self.asked = 0

    def ask(self, history, rng):
        self.asked += 1
        return self.architectures[self.asked - 1]


def _behaviour_space():
    return kerasnas.SearchSpace(
        [
            Categorical("behaviour", ["ok", "nap", "crash", "crash_once"]),
            Categorical("x", list(range(8))),
        ],
        name="behaviours",
    )


def test_a_local_ray_cluster_requires_a_token_and_says_nothing_about_it(tmp_path):
    # Ray 2.60 turns token authentication on for a new local cluster and logs a
    # warning about it when RAY_AUTH_MODE is unset; kerasnas keeps the token, not the note.
    script = (
        "import os, kerasnas, ray\n"
        "kerasnas.runtime.init_local_ray(num_cpus=1)\n"
        "print('mode', os.environ.get('RAY_AUTH_MODE'))\n"
        "ray.shutdown()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    env["HOME"] = str(tmp_path)  # Ray writes the cluster's token under ~/.ray
    started = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert started.returncode == 0, started.stderr
    assert "mode token" in started.stdout
    assert "Token authentication" not in started.stderr, started.stderr
    assert (tmp_path / ".ray" / "auth_token").exists()


def test_dead_worker_reschedules_its_trial_once_then_fails_it(local_ray, tmp_path):
    from runtime_helpers import DieOnce

    behaviours = ["nap", "crash_once", "ok", "crash", "ok"]
    archs = [{"behaviour": b, "x": i} for i, b in enumerate(behaviours)]
    executor = RayExecutor(workers=2)
    result = kerasnas.Search(
        _behaviour_space(),
        InOrder(archs),
        kerasnas.CallableEvaluator(DieOnce(tmp_path / "markers"), "score"),
        objective="score",
        directory=tmp_path / "run",
        max_trials=len(archs),
        verbose=0,
        executor=executor,
    )
    (tmp_path / "markers").mkdir()
    result = result.run()
    trials = {t.number: t for t in result.trials}
    assert [trials[n].status for n in range(5)] == [
        "completed",
        "completed",
        "completed",
        "failed",
        "completed",
    ]
    # Killed once: run again on a fresh actor, and it says so.
    assert trials[1].attempt == 2 and "WorkerDied" in trials[1].info["retried_after"]
    # Killed twice: failed, after its second attempt.
    assert trials[3].attempt == 2 and "WorkerDied" in trials[3].error
    assert "died once already" in trials[3].error
    assert all(trials[n].attempt == 1 for n in (0, 2, 4))
    assert sorted(executor.retried) == [1, 3]
    starts = [e for e in _events(tmp_path / "run") if e["event"] == "trial_started"]
    # Each killed trial started twice, attempt 1 then 2 (how the two interleave
    # depends on which worker Ray frees first).
    assert [(n, e["attempt"]) for n in (1, 3) for e in starts if e["trial"] == n] == [
        (1, 1),
        (1, 2),
        (3, 1),
        (3, 2),
    ]
    assert len({t.metrics["pid"] for t in result.trials if t.ok}) >= 2
    # Reopened from the journal: the same story.
    reopened = {t.number: t for t in kerasnas.load_search(tmp_path / "run").trials}
    assert reopened[1].attempt == 2 and reopened[3].status == "failed"


@pytest.mark.parametrize("strategy", ["random", "evolution"])
def test_asynchronous_strategies_hand_out_work_as_soon_as_a_worker_is_free(
    local_ray, tmp_path, strategy
):
    from runtime_helpers import slow_layers

    options = {"population_size": 3, "sample_size": 2} if strategy == "evolution" else {}
    result = kerasnas.search(
        space="chain",
        evaluator=slow_layers,
        strategy=strategy,
        strategy_options=options,
        max_trials=8,
        seed=1,
        executor="ray",
        workers=2,
        directory=tmp_path,
        verbose=0,
    )
    assert len(result.trials) == 8 and all(t.ok for t in result.trials)
    assert len({t.key for t in result.trials}) == 8
    events = [e["event"] for e in _events(tmp_path) if e["event"].startswith("trial_")]
    in_flight, most = 0, 0
    for i, event in enumerate(events):
        in_flight += 1 if event == "trial_started" else -1
        most = max(most, in_flight)
        if event == "trial_finished" and events[i + 1 :].count("trial_started"):
            # A free worker gets the next architecture before anything else finishes.
            assert events[i + 1] == "trial_started", events
    assert most == 2
    assert len({t.info["worker"]["pid"] for t in result.trials}) == 2


def test_rl_controller_proposes_batches_with_ray_workers(local_ray, tmp_path):
    pytest.importorskip("kerasnas.strategies.rl")
    from runtime_helpers import sleepy_layers

    result = kerasnas.search(
        space="chain",
        evaluator=sleepy_layers,
        strategy="rl",
        strategy_options={"batch_size": 2, "lstm_units": (8,), "embedding_dim": 4},
        max_trials=6,
        seed=0,
        executor="ray",
        workers=2,
        directory=tmp_path,
        verbose=0,
    )
    assert len(result.trials) == 6 and all(t.ok for t in result.trials)
    assert len({t.key for t in result.trials}) == 6  # in-flight-aware: no duplicates
    events = [e["event"] for e in _events(tmp_path) if e["event"].startswith("trial_")]
    assert events[:2] == ["trial_started", "trial_started"]


def test_training_search_on_ray_keeps_models_and_uses_one_thread_per_cpu(local_ray, tmp_path):
    x, y = make_data("sequence", n=160)
    executor = RayExecutor(workers=2, num_cpus=1, logical_cpus=2)
    result = kerasnas.search(
        x,
        y,
        space="chain",
        space_options={"widths": (4, 8), "max_layers": 2},
        max_trials=3,
        epochs=1,
        seed=2,
        executor=executor,
        keep_best_models=1,
        directory=tmp_path,
        verbose=0,
        distribution_strategy={"name": "mirrored", "devices": ["/cpu:0", "/cpu:1"]},
    )
    assert all(t.ok for t in result.trials)
    # Each candidate trained with both logical CPUs of its actor.
    assert all(
        t.info["distribution"] == {"strategy": "MirroredStrategy", "replicas": 2}
        for t in result.trials
    )
    # The best model came back from the actor as bytes and loads here.
    model = result.best_model
    assert model.predict(x[:2], verbose=0).shape == (2, 3)
    assert len(list(tmp_path.glob("trials/*/model.keras"))) == 1
    assert not (tmp_path / "data").exists()  # arrays went through Ray's object store
    assert executor.worker_setup()["intra_op_threads"] == 1


def test_cli_runs_a_search_on_ray(local_ray, tmp_path, capsys):
    from kerasnas.cli import main

    code = main(
        [
            "search",
            "--data",
            "mnist1d",
            "--executor",
            "ray",
            "--workers",
            "2",
            "--max-trials",
            "2",
            "--epochs",
            "1",
            "--directory",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    result = kerasnas.load_search(tmp_path)
    assert len(result.trials) == 2 and all(t.ok for t in result.trials)
    assert len({t.info["worker"]["pid"] for t in result.trials}) == 2


def test_bad_ray_options_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="Received: workers=0"):
        RayExecutor(workers=0)
    with pytest.raises(ValueError, match="Received: num_gpus=-1"):
        RayExecutor(num_gpus=-1)
    with pytest.raises(ValueError, match="max_memory_mb"):
        get_executor("ray", max_memory_mb=100)
    with pytest.raises(ValueError, match="Received: ray_address='auto' with executor='process'"):
        kerasnas.search(
            space="chain",
            evaluator=len,
            max_trials=1,
            executor="process",
            ray_address="auto",
            directory=tmp_path,
        )


DRIVER_SCRIPT = """
import sys
import kerasnas
from runtime_helpers import sleepy_layers

kerasnas.search(space="chain", evaluator=sleepy_layers, max_trials=8, seed=5,
                executor=sys.argv[2], workers=1 if sys.argv[2] == "ray" else None,
                directory=sys.argv[1], verbose=0)
"""


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "tests")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


@pytest.mark.slow
def test_killed_driver_resumes_from_the_journal_like_the_local_executor(tmp_path):
    import psutil

    script = tmp_path / "search.py"
    script.write_text(DRIVER_SCRIPT)
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, str(script), str(killed), "ray"],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline, children = time.time() + 240, []
    try:
        while time.time() < deadline and process.poll() is None:
            journal = killed / "journal.jsonl"
            events = _events(killed) if journal.exists() else []
            trial_events = [e for e in events if e["event"].startswith("trial_")]
            done = sum(e["event"] == "trial_finished" for e in trial_events)
            if done >= 3 and trial_events[-1]["event"] == "trial_started":
                children = psutil.Process(process.pid).children(recursive=True)
                process.send_signal(signal.SIGKILL)
                process.wait()
                break
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-3000:]
    assert children, "the search started no Ray processes"
    # The private Ray instance (and its actors) ends with the search.
    core = [p for p in children if "Agent" not in _name(p)]
    _, alive = psutil.wait_procs(core, timeout=30)
    assert not alive, [_name(p) for p in alive]
    resumed = subprocess.run(
        [sys.executable, str(script), str(killed), "ray"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    straight = tmp_path / "straight"
    local = subprocess.run(
        [sys.executable, str(script), str(straight), "local"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert local.returncode == 0, local.stderr[-3000:]

    def trials(directory):
        return [
            (t.number, t.status, dict(t.architecture), t.metrics)
            for t in kerasnas.load_search(directory).trials
        ]

    assert trials(killed) == trials(straight)
    retried = [t for t in kerasnas.load_search(killed).trials if t.attempt == 2]
    assert len(retried) == 1 and retried[0].ok
    # Ray's agents leave last (they first try to report to the dead head).
    _, alive = psutil.wait_procs(children, timeout=150)
    assert not alive, [_name(p) for p in alive]


def _name(process):
    try:
        return process.name()
    except Exception:  # noqa: BLE001 - gone meanwhile
        return "?"
