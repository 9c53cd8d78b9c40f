"""SavedModel export in TensorFlow Serving's layout, verified after writing."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
from typing import Any

import numpy as np

from kerasnas.errors import KerasNASError
from kerasnas.export.model_card import render_markdown
from kerasnas.result import write_json

INPUT_NAME = "inputs"
ARCHITECTURE_FILE = "architecture.json"
MODEL_CARD_FILE = "model_card.json"


class ExportVerificationError(KerasNASError):
    """The written SavedModel does not reproduce the Keras model."""


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
    """

    path: pathlib.Path
    base_path: pathlib.Path
    version: int
    signatures: dict
    max_abs_diff: float
    tolerance: float

    def __str__(self) -> str:
        return str(self.path)


def existing_versions(base_path: str | os.PathLike) -> list[int]:
    """The numeric version directories under a model base path, sorted."""
    base = pathlib.Path(base_path)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())


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


def export_saved_model(
    model,
    base_path: str | os.PathLike,
    version: int | None = None,
    overwrite: bool = False,
    architecture: dict | None = None,
    model_card: dict | None = None,
    task=None,
    sample_inputs=None,
    verify: bool = True,
    tolerance: float = 1e-5,
) -> ExportInfo:
    """Writes `model` as a SavedModel that TensorFlow Serving can load.

    Layout: `base_path/<version>/saved_model.pb`, `variables/`, and beside
    them `architecture.json` and `model_card.json`. Signatures:
    `serving_default` (input `inputs` with a dynamic batch axis; outputs
    `logits` and `probabilities` for classifiers, `predictions` for
    regressors) and, for classifiers, `classes` (the class index). The
    version directory appears only once complete and verified: written
    aside, reloaded with `tf.saved_model.load`, its serving signature
    compared with the Keras model, then moved into place.

    Example:

    ```python
    import keras
    from kerasnas.export import export_saved_model
    inputs = keras.Input((4,), name="inputs")
    model = keras.Model(inputs, keras.layers.Dense(1, name="predictions")(inputs))
    info = export_saved_model(model, "exports/doc_example", overwrite=True, version=1)
    info.path  # exports/doc_example/1
    ```

    Args:
        model: a Keras model with one input.
        base_path: the model base path.
        version: version number; default the next free one (1 at first).
        overwrite: replace an existing version.
        architecture: the encoding, written to `architecture.json`.
        model_card: a dict written to `model_card.json`.
        task: the `Task` (unused when the output layers are named as
            kerasnas names them).
        sample_inputs: inputs for the verification (random if None).
        verify: reload and compare after writing.
        tolerance: the largest allowed absolute difference.

    Returns:
        An `ExportInfo`.

    Raises:
        FileExistsError: if the version exists and `overwrite` is False.
        ExportVerificationError: if the reloaded model disagrees.
    """
    import keras
    import tensorflow as tf

    if len(model.inputs) != 1:
        raise ValueError(
            f"export_saved_model supports models with one input. Received: a model with "
            f"{len(model.inputs)} inputs"
        )
    base = pathlib.Path(base_path)
    version = _next_version(base, version, overwrite)
    base.mkdir(parents=True, exist_ok=True)
    final = base / str(version)
    staging = base / f".staging-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)

    outputs = output_layers(model)
    serving_model = keras.Model(model.inputs[0], outputs, name=f"{model.name}_serving")
    sample_shape = tuple(model.inputs[0].shape[1:])
    spec = tf.TensorSpec((None,) + sample_shape, tf.float32, name=INPUT_NAME)

    archive = keras.export.ExportArchive()
    archive.track(serving_model)

    @tf.function(input_signature=[spec])
    def serve(inputs):
        result = serving_model(inputs, training=False)
        return {name: tf.identity(value, name=name) for name, value in result.items()}

    archive.add_endpoint("serving_default", serve)
    if "probabilities" in outputs:

        @tf.function(input_signature=[spec])
        def classes(inputs):
            result = serving_model(inputs, training=False)
            probabilities = result["probabilities"]
            return {
                "classes": tf.argmax(probabilities, axis=-1, name="classes"),
                "scores": tf.reduce_max(probabilities, axis=-1, name="scores"),
            }

        archive.add_endpoint("classes", classes)
    try:
        archive.write_out(str(staging), verbose=False)
        if architecture is not None:
            write_json(staging / ARCHITECTURE_FILE, dict(architecture))
        if model_card is not None:
            write_json(staging / MODEL_CARD_FILE, model_card)
            (staging / "MODEL_CARD.md").write_text(render_markdown(model_card), encoding="utf-8")
        if sample_inputs is None:
            rng = np.random.default_rng(0)
            sample_inputs = rng.normal(size=(4,) + sample_shape).astype("float32")
        sample_inputs = np.asarray(sample_inputs, dtype="float32")
        max_diff, signatures = _verify(staging, serving_model, sample_inputs)
        if verify and max_diff > tolerance:
            raise ExportVerificationError(
                f"The reloaded SavedModel differs from the Keras model by {max_diff:.3g} "
                f"(tolerance {tolerance:.1g}); the export was not written."
            )
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportInfo(
        path=final,
        base_path=base,
        version=version,
        signatures=signatures,
        max_abs_diff=max_diff,
        tolerance=tolerance,
    )


def _verify(path: pathlib.Path, serving_model, sample_inputs: np.ndarray):
    """Reloads the SavedModel and compares every serving output with Keras."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    signature = loaded.signatures["serving_default"]
    served = signature(**{INPUT_NAME: tf.constant(sample_inputs)})
    expected = serving_model(sample_inputs, training=False)
    max_diff = 0.0
    for name, value in expected.items():
        if name not in served:
            raise ExportVerificationError(
                f"The serving signature lacks output '{name}'. It has: {sorted(served)}"
            )
        diff = float(np.max(np.abs(np.asarray(served[name]) - np.asarray(value))))
        max_diff = max(max_diff, diff)
    signatures = {}
    for sig_name, fn in loaded.signatures.items():
        _, kwargs = fn.structured_input_signature
        signatures[sig_name] = {
            "inputs": {k: _spec_json(v) for k, v in kwargs.items()},
            "outputs": {k: _spec_json(v) for k, v in fn.structured_outputs.items()},
        }
    return max_diff, signatures


def _spec_json(spec) -> dict:
    return {"shape": [None if d is None else int(d) for d in spec.shape], "dtype": spec.dtype.name}


def load_exported(path: str | os.PathLike) -> Any:
    """Loads an exported version directory with `tf.saved_model.load`."""
    import tensorflow as tf

    return tf.saved_model.load(str(path))
