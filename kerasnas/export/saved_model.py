"""SavedModel export in TensorFlow Serving's layout, verified before it appears."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import shutil
from typing import Any

import numpy as np

from kerasnas.export import formats as formats_lib
from kerasnas.export.inputs import (
    INPUT_NAME,
    keras_inputs,
    sample_batch,
    serving_input_shapes,
    take,
)
from kerasnas.export.model_card import render_markdown
from kerasnas.export.precision import mixed_precision_copy
from kerasnas.export.verify import (
    ExportVerificationError,
    check_signature_def,
    check_with_saved_model_cli,
    compare_with_keras,
    hard_coded_devices,
)
from kerasnas.export.warmup import (
    read_warmup_requests,
    write_rest_example,
    write_warmup_requests,
)
from kerasnas.jsonio import write_json

ARCHITECTURE_FILE = "architecture.json"
MODEL_CARD_FILE = "model_card.json"
LATENCY_BATCH_SIZES = (1, 32, 256)

__all__ = ["ExportInfo", "ExportVerificationError", "export_saved_model", "existing_versions"]


@dataclasses.dataclass
class ExportInfo:
    """Where an export went and how it was verified.

    Attributes:
        path: the version directory (`<base>/<version>`).
        base_path: the model base path (TF Serving's `--model_base_path`).
        version: the version number.
        signatures: `{name: {"inputs": {...}, "outputs": {...}}}` specs.
        max_abs_diff: largest difference between the reloaded serving
            signature and the Keras model on the check inputs.
        tolerance: the allowed difference.
        latency: serving-signature CPU latency per batch size (median, p99 ms).
        formats: extra formats written (`keras`, `tflite`, `onnx`) and their checks.
        options: the export options (mixed precision, XLA, warmup).
        reused: True when an identical earlier export was returned instead
            of writing a new version.
        warnings: what the model card warns about (e.g. a retrained model
            worse than its search trial).
        card: the model card written (None for a bare `export_saved_model`).
    """

    path: pathlib.Path
    base_path: pathlib.Path
    version: int
    signatures: dict
    max_abs_diff: float
    tolerance: float
    latency: list = dataclasses.field(default_factory=list)
    formats: dict = dataclasses.field(default_factory=dict)
    options: dict = dataclasses.field(default_factory=dict)
    reused: bool = False
    warnings: list = dataclasses.field(default_factory=list)
    card: dict | None = None

    def __str__(self) -> str:
        return str(self.path)


def existing_versions(base_path: str | os.PathLike) -> list[int]:
    """The numeric version directories under a model base path, sorted."""
    base = pathlib.Path(base_path)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


def remove_stale_staging(base: pathlib.Path) -> list[pathlib.Path]:
    """Removes `.staging-VERSION-PID` folders whose exporting process is gone.

    An export killed mid-way leaves its staging folder behind; TF Serving
    ignores it, but it holds a whole SavedModel. Folders of a live process
    (another export in progress) are left alone.

    Returns:
        The folders removed.
    """
    removed = []
    if not base.is_dir():
        return removed
    for folder in base.glob(".staging-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if folder.is_dir() and pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftovers from an earlier, failed export
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_identical_export(base: pathlib.Path, fingerprint: str | None) -> ExportInfo | None:
    """The version under `base` written from the same source with the same options, if any."""
    if fingerprint is None:
        return None
    for version in reversed(existing_versions(base)):
        card_path = base / str(version) / MODEL_CARD_FILE
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        export = card.get("export") or {}
        if export.get("source_fingerprint") == fingerprint:
            return ExportInfo(
                path=base / str(version),
                base_path=base,
                version=version,
                signatures=export.get("signatures", {}),
                max_abs_diff=float(export.get("max_abs_diff", 0.0)),
                tolerance=float(export.get("tolerance", 0.0)),
                latency=card.get("latency", []),
                formats=export.get("formats", {}),
                options={k: export[k] for k in ("mixed_precision", "jit_compile") if k in export},
                reused=True,
            )
    return None


def output_layers(model) -> dict:
    """Maps serving output names to the model's tensors.

    Classification models built by kerasnas give `logits` and
    `probabilities`; regression models `predictions`; other models one
    output per model output, named after it.
    """
    names = {layer.name for layer in model.layers}
    if {"logits", "probabilities"} <= names:
        return {
            "logits": model.get_layer("logits").output,
            "probabilities": model.get_layer("probabilities").output,
        }
    if "predictions" in names:
        return {"predictions": model.get_layer("predictions").output}
    outputs = model.outputs
    if len(outputs) == 1:
        return {"outputs": outputs[0]}
    return {f"output_{i}": t for i, t in enumerate(outputs)}


def _next_version(base: pathlib.Path, version: int | None, overwrite: bool) -> int:
    versions = existing_versions(base)
    if version is None:
        return (versions[-1] + 1) if versions else 1
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise ValueError(
            f"`version` must be a positive int (TF Serving versions are numbers). "
            f"Received: version={version!r}"
        )
    if int(version) in versions and not overwrite:
        raise FileExistsError(
            f"Version {version} already exists in '{base}'. Pass overwrite=True "
            f"(CLI: --overwrite) to replace it, or omit the version to write "
            f"{(versions[-1] + 1)}."
        )
    return int(version)


def _serving_functions(serving_model, shapes: dict, jit_compile: bool):
    """The exported functions; each takes `{serving input name: float32 tensor}`."""
    import tensorflow as tf

    outputs = serving_model.output
    specs = {n: tf.TensorSpec((None,) + shape, tf.float32, name=n) for n, shape in shapes.items()}
    functions = {}

    @tf.function(input_signature=[specs], jit_compile=jit_compile)
    def serve(inputs):
        result = serving_model(keras_inputs(inputs), training=False)
        return {k: tf.cast(v, tf.float32, name=k) for k, v in result.items()}

    functions["serving_default"] = serve
    if "probabilities" in outputs:

        @tf.function(input_signature=[specs], jit_compile=jit_compile)
        def classes(inputs):
            probabilities = tf.cast(
                serving_model(keras_inputs(inputs), training=False)["probabilities"], tf.float32
            )
            return {
                "classes": tf.argmax(probabilities, axis=-1, name="classes"),
                "scores": tf.reduce_max(probabilities, axis=-1, name="scores"),
            }

        functions["classes"] = classes
    return functions


def serving_latency(
    path: pathlib.Path, sample_shape, batch_sizes=LATENCY_BATCH_SIZES, repeats: int = 20
) -> list[dict]:
    """Times the reloaded `serving_default` signature on CPU (median and p99 ms).

    Args:
        path: the version directory.
        sample_shape: the shape of one sample, or `{serving input name: shape}`
            for a model with several inputs.
        batch_sizes: the batch sizes timed.
        repeats: timed calls per batch size (after 3 untimed ones).

    Returns:
        One `{"batch_size", "median_ms", "p99_ms"}` row per batch size.
    """
    import time

    import tensorflow as tf

    shapes = dict(sample_shape) if isinstance(sample_shape, dict) else {INPUT_NAME: sample_shape}
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    rng = np.random.default_rng(0)
    rows = []
    for size in batch_sizes:
        feed = {
            n: tf.constant(rng.normal(size=(size,) + tuple(s)).astype("float32"))
            for n, s in shapes.items()
        }
        for _ in range(3):
            signature(**feed)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = signature(**feed)
            next(iter(out.values())).numpy()
            times.append((time.perf_counter() - start) * 1000.0)
        rows.append(
            {
                "batch_size": size,
                "median_ms": float(np.median(times)),
                "p99_ms": float(np.percentile(times, 99)),
            }
        )
    return rows


def export_saved_model(
    model,
    base_path: str | os.PathLike,
    version: int | None = None,
    overwrite: bool = False,
    architecture: dict | None = None,
    model_card: dict | None = None,
    task: Any = None,
    sample_inputs=None,
    verify: bool = True,
    tolerance: float | None = None,
    mixed_precision: bool = False,
    jit_compile: bool = False,
    warmup: bool | str = "auto",
    formats=(),
    measure_latency: bool = True,
    check_cli: bool = False,
    source_fingerprint: str | None = None,
    serving_config: bool = True,
    version_policy="latest",
) -> ExportInfo:
    """Writes `model` as a SavedModel that TensorFlow Serving can load.

    Layout: `base_path/<version>/saved_model.pb` and `variables/`, beside
    them `architecture.json`, `model_card.json` and `MODEL_CARD.md`, and
    `assets.extra/` with TF Serving warmup requests and an example REST
    request and response. Signatures: `serving_default` (input `inputs`,
    float32 with a dynamic batch axis, or for a model with several inputs
    one such input per Keras input, under its name; outputs `logits` and `probabilities`
    for classifiers, `predictions` for regressors) and, for classifiers,
    `classes` (class index and its probability). No device is pinned in the
    graph, so the same export serves on CPU or GPU.

    The version directory appears only once complete and verified: it is
    written aside, reloaded with `tf.saved_model.load`, its serving outputs
    compared with the Keras model, its `serving_default` SignatureDef
    checked (names, dtypes, shapes: what `saved_model_cli show` lists), its
    graph checked for hard-coded devices, and its
    warmup requests replayed; then it is moved into place. Any failed check
    raises and leaves nothing behind.

    Example:

    ```python
    import keras
    from kerasnas.export import export_saved_model
    inputs = keras.Input((4,), name="inputs")
    model = keras.Model(inputs, keras.layers.Dense(1, name="predictions")(inputs))
    info = export_saved_model(model, "exports/doc_example", version=1, overwrite=True)
    info.path  # exports/doc_example/1
    ```

    Args:
        model: a Keras model (one input, or several with distinct names).
        base_path: the model base path (its last folder is the model name).
        version: version number; default the next free one (1 at first).
        overwrite: replace an existing version.
        architecture: the encoding, written to `architecture.json`.
        model_card: a dict written to `model_card.json` and `MODEL_CARD.md`
            (latency and export details are added).
        task: unused; kept for callers that pass the `Task`.
        sample_inputs: inputs for the checks and examples (random if None):
            an array, or for several inputs a dict keyed by input name or a
            list in the model's input order.
        verify: run the checks (strongly recommended).
        tolerance: largest allowed difference between the reloaded SavedModel
            and the Keras model it was written from (default 1e-5). With
            mixed precision, the float16 outputs must also stay within 2e-2
            of the float32 model's (recorded as `float16_max_abs_diff`).
        mixed_precision: compute in float16 (weights float32; input and
            outputs float32) — for GPUs with tensor cores.
        jit_compile: compile the serving functions with XLA.
        warmup: write `assets.extra/tf_serving_warmup_requests`: `True`
            requires the `tensorflow-serving-api` package (the `serving`
            extra); `"auto"` writes them when it is installed and warns
            otherwise; `False` skips them.
        formats: extra formats to write: `"keras"` (`model.keras`),
            `"tflite"` (`model.tflite`), `"onnx"` (`model.onnx`, optional
            extra). TFLite and ONNX are written for single-input models only.
        measure_latency: time the serving signature at batch 1, 32 and 256.
        check_cli: also run TensorFlow's `saved_model_cli show` in a
            subprocess and check what it prints. The signature it shows is
            always checked in process from `saved_model.pb`; the subprocess
            adds about 10 s here, most of it TensorFlow's import.
        source_fingerprint: identifies what is exported (the kept model's
            bytes and the options). When a version under `base_path` carries
            the same fingerprint and no `version` is asked for, that version
            is returned (`info.reused`) instead of writing a duplicate that
            TF Serving would then serve as "new".
        serving_config: also write, in the base path, TF Serving's
            `models.config`, a `batching_parameters.txt` chosen from the
            measured latency, and a `README.md` with the exact
            `tensorflow_model_server` command (see
            `kerasnas.export.serving_config`).
        version_policy: the `models.config` version policy: `"latest"`,
            `"all"`, a version number or a list of them.

    Returns:
        An `ExportInfo`.

    Raises:
        FileExistsError: if the version exists and `overwrite` is False.
        ValueError: if `sample_inputs` do not match the model's inputs.
        ExportVerificationError: if a check fails.
        ExportFormatError: if a requested extra format cannot be written.
    """
    import keras

    del task
    shapes = serving_input_shapes(model)
    formats = formats_lib.check_formats(formats, num_inputs=len(shapes))
    if serving_config:
        from kerasnas.export.serving_config import _check_policy

        _check_policy(version_policy)
    if tolerance is None:
        # XLA fuses and reorders arithmetic: float32 3e-5 apart on this CPU, and
        # float16 (mixed precision) carries only about three decimal digits.
        tolerance = FLOAT16_TOLERANCE if mixed_precision else XLA_TOLERANCE if jit_compile else 1e-5
    base = pathlib.Path(base_path)
    remove_stale_staging(base)
    if version is None:
        identical = find_identical_export(base, source_fingerprint)
        if identical is not None:
            return identical
    version = _next_version(base, version, overwrite)
    base.mkdir(parents=True, exist_ok=True)
    final = base / str(version)
    staging = base / f".staging-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)

    served_model = mixed_precision_copy(model) if mixed_precision else model
    outputs = output_layers(served_model)
    model_inputs = served_model.inputs[0] if len(shapes) == 1 else served_model.inputs
    serving_model = keras.Model(model_inputs, outputs, name=f"{model.name}_serving")
    samples = sample_batch(sample_inputs, shapes)

    archive = keras.export.ExportArchive()
    archive.track(serving_model)
    for name, fn in _serving_functions(serving_model, shapes, jit_compile).items():
        archive.add_endpoint(name, fn)
    options = {
        "mixed_precision": mixed_precision,
        "jit_compile": jit_compile,
        "warmup": warmup,
        "tolerance": tolerance,
    }
    try:
        archive.write_out(str(staging), verbose=False)
        max_diff, signatures, served = compare_with_keras(
            staging, serving_model, samples, tolerance if verify else float("inf")
        )
        if mixed_precision:
            options["float16_max_abs_diff"] = _float16_deviation(model, samples, served)
        if verify:
            pinned = hard_coded_devices(staging)
            if pinned:
                raise ExportVerificationError(
                    f"The graph pins nodes to devices, which breaks GPU serving: {pinned[:5]}"
                )
            check_signature_def(staging, shapes, sorted(outputs))
            if check_cli:
                check_with_saved_model_cli(staging, shapes, sorted(outputs))
        options["warmup"] = _resolve_warmup(warmup)
        if options["warmup"]:
            write_warmup_requests(staging, base.resolve().name, samples)
            if verify:
                _replay_warmup(staging)
        write_rest_example(staging, take(samples, 2), {k: v[:2] for k, v in served.items()})
        latency = serving_latency(staging, shapes) if measure_latency else []
        extra_formats = _write_formats(formats, model, staging, samples, served)
        if architecture is not None:
            write_json(staging / ARCHITECTURE_FILE, dict(architecture))
        if model_card is not None:
            card = dict(model_card)
            card["latency"] = latency
            card["diagram_file"] = _draw_diagram(model, staging)
            card["export"] = dict(
                options,
                signatures=signatures,
                max_abs_diff=max_diff,
                formats=extra_formats,
                version=version,
                source_fingerprint=source_fingerprint,
            )
            write_json(staging / MODEL_CARD_FILE, card)
            (staging / "MODEL_CARD.md").write_text(render_markdown(card), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if serving_config:
        from kerasnas.export.serving_config import write_serving_config

        written = write_serving_config(base, latency, version_policy=version_policy)
        options["serving_config"] = {
            k: str(v) for k, v in written.items() if isinstance(v, pathlib.Path)
        }
    return ExportInfo(
        path=final,
        base_path=base,
        version=version,
        signatures=signatures,
        max_abs_diff=max_diff,
        tolerance=tolerance,
        latency=latency,
        formats=extra_formats,
        options=options,
    )


FLOAT16_TOLERANCE = 2e-2
#: Default largest difference for `jit_compile=True` exports.
XLA_TOLERANCE = 1e-4


def _float16_deviation(model, samples: dict, served) -> float:
    """Largest difference between the float16 export and the float32 model."""
    import keras

    inputs = model.inputs[0] if len(samples) == 1 else model.inputs
    reference = keras.Model(inputs, output_layers(model))(keras_inputs(samples), training=False)
    diff = max(
        float(np.max(np.abs(np.asarray(served[k], "float64") - np.asarray(v, "float64"))))
        for k, v in reference.items()
    )
    if diff > FLOAT16_TOLERANCE:
        raise ExportVerificationError(
            f"The float16 export differs from the float32 model by {diff:.3g} (tolerance "
            f"{FLOAT16_TOLERANCE}); export without mixed_precision."
        )
    return diff


def _resolve_warmup(warmup) -> bool:
    if warmup not in (True, False, "auto"):
        raise ValueError(f"`warmup` must be True, False or 'auto'. Received: warmup={warmup!r}")
    if warmup != "auto":
        return bool(warmup)
    try:
        import tensorflow_serving.apis  # noqa: F401
    except ImportError:
        import warnings

        warnings.warn(
            "No TF Serving warmup requests written: install the tensorflow-serving-api "
            "package (pip install 'kerasnas[serving]') to get them.",
            stacklevel=3,
        )
        return False
    return True


def _draw_diagram(model, version_dir: pathlib.Path) -> str | None:
    """Draws `diagram.png` for the model card; a drawing problem never blocks an export."""
    from kerasnas.builder.plot import plot_model

    try:
        plot_model(model, version_dir / "diagram.png")
    except Exception as e:  # noqa: BLE001
        import warnings

        warnings.warn(f"No diagram in the model card: {e}", stacklevel=3)
        return None
    return "diagram.png"


def _replay_warmup(version_dir: pathlib.Path) -> None:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(version_dir))
    requests = read_warmup_requests(version_dir / "assets.extra" / "tf_serving_warmup_requests")
    if not requests:
        raise ExportVerificationError("The warmup file holds no requests.")
    for signature_name, inputs in requests:
        loaded.signatures[signature_name](**{k: tf.constant(v) for k, v in inputs.items()})


def _write_formats(formats, model, staging, samples: dict, served) -> dict:
    written = {}
    sample_inputs = keras_inputs(samples)  # one array: TFLite and ONNX take one input
    expected = served.get("probabilities", next(iter(served.values())))
    for name in formats:
        if name == "keras":
            written[name] = formats_lib.write_keras(model, staging)
        elif name == "tflite":
            written[name] = formats_lib.write_tflite(
                staging, staging, sample_inputs, expected, 1e-4
            )
        elif name == "onnx":
            written[name] = formats_lib.write_onnx(model, staging, sample_inputs, expected, 1e-4)
    return written


def load_exported(path: str | os.PathLike) -> Any:
    """Loads an exported version directory with `tf.saved_model.load`."""
    import tensorflow as tf

    return tf.saved_model.load(str(path))
