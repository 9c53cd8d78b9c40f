"""Worker processes: what they are sent, how they rebuild the evaluator, their loop.

A worker is stateless between trials: it rebuilds the evaluator once from a
spec, then turns `TrialJob` dicts into `TrialOutcome` dicts until told to
stop. An evaluator with a `worker_config()` (the usual `FitEvaluator` on
array data) is sent as plain JSON: the space's and builder's configs, the
training settings, and the paths of the data saved once in the search
directory as `.npy` files (never pickle). Any other evaluator (a user's
callable, a custom class) is sent as a transient pickled message, so it
must be importable by the worker (defined at module level in an importable
module, not in `__main__`). What travels and how: `kerasnas.runtime.wire`.
"""

from __future__ import annotations

import os
import pathlib
import threading
import time
import traceback
from typing import Any

import numpy as np

from kerasnas.runtime import wire
from kerasnas.runtime.directory import SearchDirectory
from kerasnas.runtime.journal import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE

DATA_DIR = "data"
_SPLITS = ("train", "validation")


def save_array(path, array) -> None:
    """Writes a training-data copy atomically, readable by its owner only (it is the user's data)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    os.chmod(path.parent, PRIVATE_DIR_MODE)
    tmp = path.with_name(path.stem + ".tmp.npy")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        np.save(f, np.asarray(array), allow_pickle=False)
    os.replace(tmp, path)


def evaluator_spec(
    evaluator,
    directory: SearchDirectory,
    callbacks=(),
    *,
    inline_data: bool = False,
    executor_name: str = "process",
    check_pickle: bool = True,
) -> dict:
    """Describes `evaluator` so that a worker process can rebuild it.

    A `FitEvaluator` on array data becomes plain data (its arrays are
    written to `<directory>/data/*.npy`, or kept in the spec as arrays with
    `inline_data=True`, for workers that do not share the search's file
    system); anything else is sent as an object.

    Args:
        evaluator: the search's evaluator.
        directory: the search directory.
        callbacks: the search's Keras callbacks.
        inline_data: keep the arrays in the spec instead of writing files.
        executor_name: named in error messages.
        check_pickle: check that the spec pickles (the caller checks
            otherwise, e.g. Ray with cloudpickle).

    Raises:
        ValueError: if the evaluator cannot be sent to another process,
            with what to do instead.
    """
    from kerasnas.spaces import space_from_config

    config = evaluator.worker_config() if hasattr(evaluator, "worker_config") else None
    spec: dict[str, Any]
    if config is None or _not_importable(type(evaluator)):
        spec = {"kind": "object", "evaluator": evaluator}
    else:
        builder = evaluator.builder
        space_config = builder.space.get_config()
        try:
            same = space_from_config(space_config).fingerprint() == builder.space.fingerprint()
        except Exception:  # noqa: BLE001 - a custom space that cannot be rebuilt
            same = False
        _check_distribution(evaluator, config, executor_name)
        spec = {
            "kind": "fit",
            "class": f"{type(evaluator).__module__}:{type(evaluator).__qualname__}",
            "space": space_config if same else None,
            "builder": builder.get_config(),
            "data": _data_spec(evaluator.data, directory, inline_data, executor_name),
            "fit": config,
        }
        if not same:
            spec["space_object"] = builder.space
    spec["callbacks"] = list(callbacks)
    spec["operations"] = _custom_operations()
    if not check_pickle:
        return spec
    _check_importable(spec, evaluator, executor_name)
    try:
        wire.encode_spec(spec)
    except Exception as e:  # noqa: BLE001 - lambdas, local functions, open handles
        raise ValueError(
            f"executor={executor_name!r} must send the evaluator (and callbacks) to worker "
            "processes, and this one cannot be sent: define the function at module "
            "level (not a lambda or a local function) or use executor='local'. "
            f"Received: evaluator={evaluator!r} ({type(e).__name__}: {e})"
        ) from e
    return spec


def _data_spec(data, directory: SearchDirectory, inline_data: bool, executor_name: str) -> dict:
    """How a worker gets the search data: arrays in the spec, `.npy` paths, or a TFDS name."""
    from kerasnas.data import shape_to_json

    data_spec: dict[str, Any] = {
        "name": data.name,
        "input_shape": shape_to_json(data.input_shape),
        "task": data.task.to_json(),
        "normalization": _normalization_json(data.normalization),
    }
    if not data.is_dataset and inline_data:
        data_spec["arrays"] = {split: list(getattr(data, split)) for split in _SPLITS}
        if data.sample_weight is not None:
            data_spec["arrays"]["sample_weight"] = np.asarray(data.sample_weight)
    elif not data.is_dataset:
        folder = directory.path / DATA_DIR
        folder.mkdir(parents=True, exist_ok=True)
        for split in _SPLITS:
            x, y = getattr(data, split)
            data_spec.setdefault("inputs", _save_inputs(folder, split, x))
            save_array(folder / f"{split}_y.npy", y)
        if data.sample_weight is not None:
            save_array(folder / "train_sample_weight.npy", data.sample_weight)
            data_spec["sample_weight"] = True
        data_spec["directory"] = str(folder)
    elif not data.name.startswith("tfds:"):
        raise ValueError(
            f"executor={executor_name!r} sends data to workers as arrays (or by TFDS "
            "name); a custom tf.data.Dataset cannot be sent. Pass numpy arrays, "
            "data='tfds:NAME', or use executor='local'. Received: a tf.data.Dataset"
        )
    return data_spec


def _check_distribution(evaluator, config: dict, executor_name: str) -> None:
    """A distribution strategy object cannot cross to a worker; a name or spec can."""
    if config.get("distribution_strategy") is not None:
        return
    strategy = getattr(evaluator, "distribution_strategy", None)
    if strategy is not None:
        raise ValueError(
            f"executor={executor_name!r} trains candidates in other processes, where "
            "this distribution strategy cannot be sent; pass a strategy name or spec "
            "(see kerasnas.distribute) or use executor='local'. "
            f"Received: distribution_strategy={strategy!r}"
        )


def evaluator_from_spec(spec: dict):
    """Rebuilds `(evaluator, callbacks)` from `evaluator_spec(...)` output."""
    _register_operations(spec.get("operations") or {})
    if spec["kind"] == "object":
        return spec["evaluator"], list(spec.get("callbacks", []))
    from kerasnas.builder.builder import ModelBuilder
    from kerasnas.builder.task import Task
    from kerasnas.data import SearchData, load_tfds
    from kerasnas.spaces import space_from_config

    space = spec.get("space_object") or space_from_config(spec["space"])
    data_spec = spec["data"]
    task = Task.from_json(data_spec["task"])
    normalization = _normalization_from_json(data_spec.get("normalization"))
    input_shape = _shape_from_json(data_spec["input_shape"])
    if "arrays" in data_spec:
        arrays = data_spec["arrays"]
        data = SearchData(
            train=tuple(arrays["train"]),
            validation=tuple(arrays["validation"]),
            input_shape=input_shape,
            task=task,
            name=data_spec["name"],
            normalization=normalization,
            sample_weight=arrays.get("sample_weight"),
        )
    elif "directory" in data_spec:
        folder = data_spec["directory"]

        def load(name):
            return np.load(os.path.join(folder, f"{name}.npy"), allow_pickle=False)

        splits = {
            split: (_load_inputs(load, split, data_spec.get("inputs")), load(f"{split}_y"))
            for split in _SPLITS
        }
        data = SearchData(
            train=splits["train"],
            validation=splits["validation"],
            input_shape=input_shape,
            task=task,
            name=data_spec["name"],
            normalization=normalization,
            sample_weight=load("train_sample_weight") if data_spec.get("sample_weight") else None,
        )
    else:
        data = load_tfds(data_spec["name"][len("tfds:") :], batch_size=spec["fit"]["batch_size"])
    builder_config = spec["builder"]
    builder_norm = builder_config.get("normalization")
    builder = ModelBuilder(
        space,
        _shape_from_json(builder_config["input_shape"]),
        Task.from_json(builder_config["task"]),
        normalization=_normalization_from_json(builder_norm) if builder_norm else None,
        target_scaling=builder_config.get("target_scaling"),
    )
    evaluator_class = _import_class(spec.get("class", "kerasnas.evaluation.fit:FitEvaluator"))
    return evaluator_class.from_config(spec["fit"], builder, data), list(spec.get("callbacks", []))


def _import_class(path: str):
    """The class at `module:qualname`."""
    import importlib

    module, _, qualname = path.partition(":")
    value = importlib.import_module(module)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value


def _save_inputs(folder, split: str, x):
    """Saves one split's inputs as `.npy` files; returns how they are laid out."""
    if isinstance(x, dict):
        names = list(x)
        for i, name in enumerate(names):
            save_array(folder / f"{split}_x{i}.npy", x[name])
        return {"kind": "dict", "names": names}
    if isinstance(x, (list, tuple)):
        for i, part in enumerate(x):
            save_array(folder / f"{split}_x{i}.npy", part)
        return {"kind": "list", "count": len(x)}
    save_array(folder / f"{split}_x.npy", x)
    return {"kind": "single"}


def _load_inputs(load, split: str, layout):
    layout = layout or {"kind": "single"}
    if layout["kind"] == "dict":
        return {name: load(f"{split}_x{i}") for i, name in enumerate(layout["names"])}
    if layout["kind"] == "list":
        return [load(f"{split}_x{i}") for i in range(layout["count"])]
    return load(f"{split}_x")


def _normalization_json(normalization):
    if normalization is None:
        return None
    if isinstance(normalization, dict):
        return {k: [np.asarray(v).tolist() for v in pair] for k, pair in normalization.items()}
    if isinstance(normalization, list):
        return [[np.asarray(v).tolist() for v in pair] for pair in normalization]
    return [np.asarray(v).tolist() for v in normalization]


def _normalization_from_json(data):
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: tuple(np.asarray(v, dtype="float32") for v in pair) for k, pair in data.items()}
    if data and isinstance(data[0], list) and data[0] and isinstance(data[0][0], list):
        return [tuple(np.asarray(v, dtype="float32") for v in pair) for pair in data]
    return tuple(np.asarray(v, dtype="float32") for v in data)


def _shape_from_json(shape):
    if isinstance(shape, dict):
        return {k: tuple(v) for k, v in shape.items()}
    if shape and isinstance(shape[0], list):
        return [tuple(v) for v in shape]
    return tuple(shape)


def _not_importable(fn) -> bool:
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    return module == "__main__" or "<locals>" in qualname or "<lambda>" in qualname


def _check_importable(spec: dict, evaluator, executor_name: str) -> None:
    """Functions sent by name must be importable in a fresh worker process."""
    functions = {f"operation '{k}'": v.fn for k, v in spec["operations"].items()}
    space = spec.get("space_object")
    if space is not None and hasattr(space, "build_fn"):
        functions["FunctionSpace build function"] = space.build_fn
    for label, fn in functions.items():
        if _not_importable(fn):
            raise ValueError(
                f"executor={executor_name!r} rebuilds models in worker processes, which "
                f"import the {label} by name, and "
                f"{getattr(fn, '__qualname__', fn)!r} (module "
                f"{getattr(fn, '__module__', None)!r}) cannot be imported there: define it "
                "at module level in an importable module, or use executor='local'. "
                f"Received: evaluator={evaluator!r}"
            )


def _custom_operations() -> dict:
    """The operations registered with `kerasnas.ops.register`, to re-register in workers."""
    from kerasnas.layers.ops import custom_operations

    return custom_operations()


def _register_operations(operations: dict) -> None:
    from kerasnas.layers.ops import OPERATIONS

    for name, info in operations.items():
        OPERATIONS.setdefault(name, info)


def _watch_parent(parent_pid: int, interval: float = 1.0) -> None:
    """Ends this worker when the search process is gone (e.g. killed with -9)."""
    while True:
        time.sleep(interval)
        if os.getppid() != parent_pid:
            os._exit(3)


def _rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except Exception:  # noqa: BLE001 - psutil missing or restricted
        return float("nan")


def main(fd: int, parent_pid: int) -> None:
    """Entry point of a worker process: talks over the inherited socket `fd`."""
    import multiprocessing.connection

    conn = multiprocessing.connection.Connection(fd)
    try:
        payload = conn.recv_bytes()
    except (EOFError, OSError):
        return
    worker_main(conn, payload, parent_pid)


def worker_main(conn, payload: bytes, parent_pid: int) -> None:
    """The loop of a worker process.

    Messages in: `{"type": "job", "job": TrialJob-json}` or `{"type": "stop"}`.
    Messages out: `{"type": "ready"}`, `{"type": "error", ...}` if the
    evaluator cannot be rebuilt, and `{"type": "outcome", "outcome": ...}`.
    """
    from kerasnas.runtime.trial import freeze_long_lived_objects

    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    try:
        spec = wire.decode_spec(payload)
        evaluator, callbacks = evaluator_from_spec(spec)
        from kerasnas._native_logs import import_tensorflow_quietly

        # Ready means warm: TensorFlow is imported (its start-up notes hidden; the
        # search process shows its own) before the worker says so, so the first
        # trial's time is its own work (also for evaluators that use TensorFlow
        # without building models, as before imports were lazy).
        import_tensorflow_quietly()
        if getattr(evaluator, "produces_models", False):
            # What exists now lives as long as the worker: collect between trials
            # only what the trials made.
            freeze_long_lived_objects()
    except Exception as e:  # noqa: BLE001 - report any setup error to the search
        wire.send(
            conn,
            {
                "type": "error",
                "error": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(limit=8)[-4000:],
            },
        )
        return
    wire.send(conn, {"type": "ready", "pid": os.getpid()})
    serve_jobs(conn, evaluator, callbacks)


def serve_jobs(conn, evaluator, callbacks=()) -> None:
    """Runs the jobs that arrive on `conn`, one by one, until told to stop.

    The worker sends each outcome as soon as the trial's metrics are known.
    When the model is to be kept or its latency measured, the outcome says
    so (`artefacts_pending`) and a `{"type": "artefacts", ...}` message
    follows once that is done: the search meanwhile tells its strategy and
    proposes the next trial. After a trial that built models, clearing
    Keras' session and collecting the trial's garbage (0.03-0.1 s) also
    happen after the messages are sent; their seconds come with this
    worker's next outcome, as `timing["clear"]` and `timing["gc"]`.
    `rss_mb` in an outcome message is the worker's resident memory as that
    trial ended, before its clean-up.

    Args:
        conn: the connection to the search process (`wire` messages).
        evaluator: the evaluator, rebuilt in this process.
        callbacks: the search's extra Keras callbacks.
    """
    from kerasnas.runtime.artefacts import artefacts_due, make_artefacts
    from kerasnas.runtime.trial import TrialJob, evaluate_job, release_keras_memory

    produces_models = getattr(evaluator, "produces_models", False)
    cleanup: dict = {}
    while True:
        try:
            message = wire.recv(conn)
        except (EOFError, OSError, ValueError):
            return
        if not isinstance(message, dict) or message.get("type") != "job":
            return
        job = TrialJob.from_json(message["job"])
        outcome, model = evaluate_job(evaluator, job, callbacks)
        keep, measure = artefacts_due(job, outcome.metrics, model)
        outcome.artefacts_pending, outcome.model_saved = keep or measure, keep
        if cleanup:
            outcome.info.setdefault("timing", {}).update(cleanup)
        try:
            wire.send(conn, {"type": "outcome", "outcome": outcome.to_json(), "rss_mb": _rss_mb()})
            if outcome.artefacts_pending:
                artefacts = make_artefacts(job, model, keep, measure)
                wire.send(conn, {"type": "artefacts", "artefacts": artefacts.to_json()})
        except (BrokenPipeError, OSError):
            return
        del model, outcome
        if produces_models:
            cleanup = {k: round(v, 4) for k, v in release_keras_memory().items()}
