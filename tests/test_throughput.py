"""Per-trial overhead: where a trial's time goes is recorded, and latency is measured when it is used."""

import gc

import pytest
from conftest import make_data

import kerasnas

PARTS = {"propose", "journal", "build", "costs", "fit", "evaluate", "clear", "gc"}


@pytest.fixture(scope="module")
def small_search(tmp_path_factory):
    x, y = make_data("sequence", n=128)
    return kerasnas.search(
        x,
        y,
        max_trials=4,
        epochs=1,
        keep_best_models=1,
        seed=0,
        directory=tmp_path_factory.mktemp("timing"),
        verbose=0,
        executor="local",
        space_options={"widths": (8,), "max_layers": 2},
    )


def test_every_part_of_a_trial_is_timed(small_search):
    for trial in small_search.completed:
        timing = trial.info["timing"]
        assert PARTS <= set(timing), timing
        assert all(seconds >= 0 for seconds in timing.values())
        assert timing["fit"] > 0
    reread = kerasnas.load_search(small_search.directory)
    assert reread.completed[0].info["timing"] == small_search.completed[0].info["timing"]


def test_latency_is_measured_for_the_best_models_only_by_default(small_search):
    kept = [t for t in small_search.completed if "model_path" in t.info]
    assert kept, "the search kept no model"
    assert all(t.metrics["latency_ms"] > 0 and "latency" in t.info["timing"] for t in kept)
    # The first trial is always saved (nothing to beat); a model that did not beat the
    # best so far is not saved and not measured.
    unsaved = [t for t in small_search.trials if t.ok and "save" not in t.info["timing"]]
    assert all("latency_ms" not in t.metrics for t in unsaved)
    assert small_search.completed[0].info["timing"]["save"] > 0


def test_the_search_leaves_garbage_collection_as_it_found_it(small_search):
    assert gc.get_freeze_count() == 0


class _ScoredModel:
    """An evaluator whose trained model scores what the architecture says."""

    produces_models = True

    def evaluate(self, architecture, context):
        import keras

        from kerasnas.evaluation import Evaluation

        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        return Evaluation({"val_accuracy": architecture["score"]}, model=model)


@pytest.mark.parametrize(
    "policy, score, best, measured",
    [
        ("best", 0.9, 0.8, True),  # a new best: the model the search will return
        ("best", 0.7, 0.8, False),  # kept (one of the three best) but not the best
        ("best", 0.7, None, True),  # the first trial to complete
        ("kept", 0.7, 0.8, True),
        (False, 0.9, 0.8, False),
    ],
)
def test_latency_is_measured_for_the_models_the_policy_names(
    tmp_path, policy, score, best, measured
):
    # Measuring traces the trained model a second time (0.04-0.09 s on a small
    # candidate): the default measures only models that beat every earlier trial.
    from kerasnas.objective import Objective
    from kerasnas.runtime import TrialJob
    from kerasnas.runtime.trial import run_trial_job

    job = TrialJob(
        number=3, attempt=1, architecture={"score": score}, seed=0,
        objective=Objective("val_accuracy", "max").to_json(), keep_model_above=0.5,
        model_file=str(tmp_path / "model.keras"), measure_latency=policy, best_score=best,
    )  # fmt: skip
    outcome = run_trial_job(_ScoredModel(), TrialJob.from_json(job.to_json()))
    assert outcome.model_saved
    assert ("latency_ms" in outcome.metrics) is measured, outcome.metrics


def test_a_search_measures_latency_of_each_new_best_and_of_no_other(tmp_path):
    x, y = make_data("vector", n=64)
    result = kerasnas.search(
        x, y, max_trials=5, epochs=1, seed=1, directory=tmp_path, verbose=0,
        executor="local", space_options={"widths": (8,), "max_layers": 2},
    )  # fmt: skip
    best_so_far = -1.0
    for trial in result.trials:
        if not trial.ok:
            continue
        score = trial.metrics["val_accuracy"]
        assert ("latency_ms" in trial.metrics) is (score > best_so_far), trial.number
        best_so_far = max(best_so_far, score)
    assert result.best_trial.metrics["latency_ms"] > 0
    runners_up = [t for t in result.completed if "model_path" in t.info and t != result.best_trial]
    assert any("latency_ms" not in t.metrics for t in runners_up), "no kept runner-up to check"


def test_measure_latency_takes_true_false_kept_or_best(tmp_path):
    x, y = make_data("vector", n=32)
    with pytest.raises(ValueError, match=r"Received: measure_latency='always'"):
        kerasnas.search(x, y, max_trials=1, directory=tmp_path, measure_latency="always")


def test_every_finished_trial_is_fsynced_and_started_lines_are_flushed(tmp_path, monkeypatch):
    import json
    import os

    from kerasnas.runtime import journal as journal_module

    synced_after = []  # the last journal event at each fsync
    real_fsync = os.fsync

    def fsync(fd):
        with open(tmp_path / "journal.jsonl", encoding="utf-8") as f:
            synced_after.append(json.loads(f.read().splitlines()[-1])["event"])
        return real_fsync(fd)

    monkeypatch.setattr(journal_module.os, "fsync", fsync)
    result = kerasnas.search(
        space="chain",
        evaluator=lambda arch: arch["num_layers"],
        objective="score",
        max_trials=3,
        directory=tmp_path,
        verbose=0,
    )
    assert len(result.trials) == 3
    assert synced_after.count("trial_finished") == 3
    assert "trial_started" not in synced_after  # flushed (kill -9 safe), synced with its record
    events = [json.loads(line)["event"] for line in open(tmp_path / "journal.jsonl")]
    assert events.count("trial_started") == 3


def test_what_survives_a_trial_is_not_scanned_again_by_the_next_collection():
    from kerasnas.runtime.trial import (
        freeze_long_lived_objects,
        release_keras_memory,
        thaw_long_lived_objects,
    )

    assert freeze_long_lived_objects()
    try:
        survivors = [[i] for i in range(1000)]  # made during a "trial", still alive after it
        assert any(obj is survivors[0] for obj in gc.get_objects())
        release_keras_memory()
        # Frozen with the long-lived objects: later collections skip them.
        assert not any(obj is survivors[0] for obj in gc.get_objects())
        assert survivors[999] == [999]
    finally:
        thaw_long_lived_objects()


def test_young_objects_are_collected_rarely_while_candidates_train(tmp_path):
    import keras

    thresholds = []

    class RecordThreshold(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            thresholds.append(gc.get_threshold()[0])

    before = gc.get_threshold()
    x, y = make_data("vector", n=64)
    kerasnas.search(
        x,
        y,
        max_trials=2,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        executor="local",
        callbacks=[RecordThreshold()],
        space_options={"widths": (8,), "max_layers": 1},
    )
    # Tracing a candidate allocates hundreds of thousands of objects; at Python's
    # default (700) that is a young collection every few hundred of them.
    assert thresholds and min(thresholds) >= 10_000, thresholds
    assert gc.get_threshold() == before


def test_the_collection_between_trials_does_not_walk_the_frozen_objects(tmp_path, monkeypatch):
    # `gc.get_freeze_count()` walks the whole frozen generation (TensorFlow, Keras,
    # the data: over a million objects), which took ~0.04 s per trial, more than the
    # collection itself, and grew with every trial's refrozen survivors.
    real_count = gc.get_freeze_count
    calls = []

    def counting():
        calls.append(1)
        return real_count()

    monkeypatch.setattr(gc, "get_freeze_count", counting)
    x, y = make_data("vector", n=64)
    result = kerasnas.search(
        x,
        y,
        max_trials=4,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        executor="local",
        space_options={"widths": (8,), "max_layers": 1},
    )
    assert len(result.completed) == 4
    assert len(calls) <= 1, f"{len(calls)} walks of the frozen objects for 4 trials"
    assert real_count() == 0  # and the search still unfreezes at the end


def test_a_worker_sends_each_outcome_before_cleaning_up_after_the_trial(monkeypatch):
    # Clearing the session and collecting a trial's garbage (0.03-0.1 s) overlap with
    # the search journaling that trial and proposing the next one, and their seconds
    # still reach the journal, with the worker's next outcome.
    import json

    from kerasnas.evaluation import Evaluation, Evaluator
    from kerasnas.runtime import TrialJob
    from kerasnas.runtime import trial as trial_module
    from kerasnas.runtime.worker import serve_jobs

    events = []

    class ModelMaker(Evaluator):
        produces_models = True

        def evaluate(self, architecture, context):
            return Evaluation({"score": float(architecture["n"])})

    class Connection:
        def __init__(self, jobs):
            self.incoming = [json.dumps(m).encode() for m in jobs]

        def recv_bytes(self):
            if not self.incoming:
                raise EOFError
            return self.incoming.pop(0)

        def send_bytes(self, data):
            message = json.loads(data)
            events.append(("sent", message["outcome"]["number"]))
            self.outcomes.append(message["outcome"])

    def release():
        events.append(("cleaned",))
        return {"clear": 0.001, "gc": 0.002}

    monkeypatch.setattr(trial_module, "release_keras_memory", release)
    jobs = [
        {
            "type": "job",
            "job": TrialJob(number=i, attempt=1, architecture={"n": i}, seed=0).to_json(),
        }
        for i in range(2)
    ]
    conn = Connection([*jobs, {"type": "stop"}])
    conn.outcomes = []
    serve_jobs(conn, ModelMaker())
    assert events == [("sent", 0), ("cleaned",), ("sent", 1), ("cleaned",)]
    assert [o["metrics"]["score"] for o in conn.outcomes] == [0.0, 1.0]
    assert "gc" not in conn.outcomes[0]["info"].get("timing", {})
    assert conn.outcomes[1]["info"]["timing"]["gc"] == 0.002


def test_a_worker_sends_the_outcome_before_it_saves_the_kept_model(monkeypatch, tmp_path):
    # The search tells the strategy and proposes the next trial while the worker saves
    # (30-50 ms) and measures latency: the outcome goes first and says what follows.
    import json

    import keras

    from kerasnas.evaluation import Evaluation, Evaluator
    from kerasnas.runtime import TrialJob
    from kerasnas.runtime import trial as trial_module
    from kerasnas.runtime.worker import serve_jobs

    model_file = tmp_path / "trial" / "model.keras"
    sent = []

    class ModelMaker(Evaluator):
        produces_models = True

        def evaluate(self, architecture, context):
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            return Evaluation({"score": 1.0}, model=model)

    class Connection:
        incoming = [
            json.dumps(m).encode()
            for m in (
                {"type": "job", "job": TrialJob(
                    number=0, attempt=1, architecture={}, seed=0, objective={"name": "score"},
                    keep_model_above=0.5, model_file=str(model_file), measure_latency="best",
                ).to_json()},
                {"type": "stop"},
            )
        ]  # fmt: skip

        def recv_bytes(self):
            return self.incoming.pop(0)

        def send_bytes(self, data):
            sent.append((json.loads(data), model_file.exists()))

    monkeypatch.setattr(trial_module, "release_keras_memory", lambda: {})
    serve_jobs(Connection(), ModelMaker())
    (outcome, saved_then), (artefacts, saved_after) = sent
    assert outcome["type"] == "outcome" and artefacts["type"] == "artefacts"
    assert outcome["outcome"]["artefacts_pending"] and outcome["outcome"]["model_saved"]
    assert not saved_then and saved_after
    assert artefacts["artefacts"]["model_saved"] is True
    # The first model is the best so far, so its latency is measured too, after the outcome.
    assert set(artefacts["artefacts"]["timing"]) == {"latency", "save"}
    assert "latency_ms" not in outcome["outcome"]["metrics"]
    assert artefacts["artefacts"]["metrics"]["latency_ms"] > 0
    assert keras.models.load_model(model_file).output_shape == (None, 2)
    assert not list(model_file.parent.glob("*.partial*"))


class _SlowSavingExecutor(kerasnas.runtime.Executor):
    """A stand-in for worker processes: each outcome first, its artefacts on the next wait."""

    artefacts_first = True

    def __init__(self, save_error=None):
        self.jobs, self.owed, self.save_error, self.events = [], [], save_error, []

    def submit(self, job):
        self.events.append(("submit", job.number))
        self.jobs.append(job)

    def wait(self):
        from kerasnas.runtime.artefacts import TrialArtefacts
        from kerasnas.runtime.trial import TrialOutcome

        if self.owed and (self.artefacts_first or not self.jobs):
            number = self.owed.pop(0)
            self.events.append(("artefacts", number))
            info = {"save_error": self.save_error} if self.save_error else {}
            return [TrialArtefacts(number, metrics={"latency_ms": 1.5}, info=info,
                                   timing={"save": 0.04}, model_saved=not self.save_error)]  # fmt: skip
        if not self.jobs:
            return []
        job = self.jobs.pop(0)
        self.owed.append(job.number)
        self.events.append(("outcome", job.number))
        metrics = {"score": float(job.architecture["num_layers"])}
        return [TrialOutcome(job.number, "completed", metrics, model_saved=True,
                             artefacts_pending=True)]  # fmt: skip

    def shutdown(self):
        self.events.append(("shutdown",))


def _search_with(executor, tmp_path, max_trials=3, **options):
    return kerasnas.Search(
        kerasnas.spaces.ChainSpace(max_layers=4), kerasnas.strategies.RandomSearch(),
        kerasnas.evaluation.CallableEvaluator(lambda a: a["num_layers"], "score"),
        objective="score", directory=tmp_path, max_trials=max_trials, verbose=0,
        executor=executor, **options)  # fmt: skip


def _journal(tmp_path):
    import json

    events = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    return [e["record"] for e in events if e["event"] == "trial_finished"]


def test_the_next_trial_starts_before_the_last_ones_model_is_saved(tmp_path):
    executor = _SlowSavingExecutor()
    result = _search_with(executor, tmp_path).run()
    assert executor.events[:4] == [("submit", 0), ("outcome", 0), ("submit", 1), ("artefacts", 0)]
    assert ("shutdown",) == executor.events[-1] and ("artefacts", 2) in executor.events
    # Every trial is journaled once, whole: with its latency and its model.
    finished = _journal(tmp_path)
    assert [e["number"] for e in finished] == [0, 1, 2]
    for event in finished:
        assert event["metrics"]["latency_ms"] == 1.5
        assert event["info"]["timing"]["save"] == 0.04
    assert [t.metrics["latency_ms"] for t in result.trials] == [1.5] * 3
    assert result.trials[0].info["model_path"]


def test_a_model_that_could_not_be_saved_is_not_named_in_the_journal(tmp_path):
    messages = []

    class Listen(kerasnas.runtime.callbacks.SearchCallback):
        def on_message(self, search, message):
            messages.append(message)

    executor = _SlowSavingExecutor(save_error="OSError: No space left on device")
    result = _search_with(executor, tmp_path, max_trials=2, search_callbacks=[Listen()]).run()
    assert [t.status for t in result.trials] == ["completed", "completed"]
    assert all("model_path" not in t.info for t in result.trials)
    assert all("model_path" not in e["info"] for e in _journal(tmp_path))
    assert any("No space left on device" in m and "Trial 0" in m for m in messages), messages


def test_a_search_that_stops_still_journals_the_trials_it_was_told(tmp_path):
    from kerasnas.errors import SearchAborted

    class Failing(_SlowSavingExecutor):  # trial 1 fails before trial 0's model is saved
        artefacts_first = False

        def wait(self):
            results = super().wait()
            for item in results:
                if getattr(item, "status", None) and item.number == 1:
                    item.status, item.error, item.artefacts_pending = "failed", "boom", False
                    self.owed.remove(1)
            return results

    executor = Failing()
    search = _search_with(executor, tmp_path, max_trials=5, max_consecutive_failures=1)
    with pytest.raises(SearchAborted):
        search.run()
    assert executor.events.index(("outcome", 1)) < executor.events.index(("artefacts", 0))
    finished = {e["number"]: e for e in _journal(tmp_path)}
    assert finished[0]["metrics"]["latency_ms"] == 1.5 and finished[1]["status"] == "failed"
