"""Checks run on every export before it is put in place."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np

from kerasnas.errors import KerasNASError


class ExportVerificationError(KerasNASError):
    """The written SavedModel does not reproduce the Keras model or is malformed."""


def compare_with_keras(path: pathlib.Path, serving_model, samples: dict, tolerance: float):
    """Reloads the SavedModel and compares every serving output with Keras.

    Args:
        path: the written SavedModel.
        serving_model: the Keras model the signature wraps.
        samples: `{serving input name: array}` (see `kerasnas.export.inputs`).
        tolerance: the largest allowed absolute difference.

    Returns:
        `(max_abs_diff, signatures, served_outputs)`.

    Raises:
        ExportVerificationError: for a missing output or a difference over
            `tolerance`.
    """
    import tensorflow as tf

    from kerasnas.export.inputs import keras_inputs

    loaded = tf.saved_model.load(str(path))
    if "serving_default" not in loaded.signatures:
        raise ExportVerificationError(
            f"The SavedModel in '{path}' has no serving_default signature."
        )
    signature = loaded.signatures["serving_default"]
    served = signature(**{name: tf.constant(v) for name, v in samples.items()})
    expected = serving_model(keras_inputs(samples), training=False)
    max_diff = 0.0
    for name, value in expected.items():
        if name not in served:
            raise ExportVerificationError(
                f"The serving signature lacks output '{name}'. It has: {sorted(served)}"
            )
        got = np.asarray(served[name], dtype="float64")
        want = np.asarray(value, dtype="float64")
        max_diff = max(max_diff, float(np.max(np.abs(got - want))))
    if max_diff > tolerance:
        raise ExportVerificationError(
            f"The reloaded SavedModel differs from the Keras model by {max_diff:.3g} "
            f"(tolerance {tolerance:.1g}); the export was not written."
        )
    signatures = {}
    for sig_name, fn in loaded.signatures.items():
        _, kwargs = fn.structured_input_signature
        signatures[sig_name] = {
            "inputs": {k: _spec_json(v) for k, v in kwargs.items()},
            "outputs": {k: _spec_json(v) for k, v in fn.structured_outputs.items()},
        }
    outputs = {k: np.asarray(v) for k, v in served.items()}
    return max_diff, signatures, outputs


def _spec_json(spec) -> dict:
    return {"shape": [None if d is None else int(d) for d in spec.shape], "dtype": spec.dtype.name}


def check_signature_def(path: pathlib.Path, input_shapes: dict, output_names) -> dict:
    """Checks `serving_default` in `saved_model.pb`, the proto TF Serving reads.

    The same SignatureDef that `saved_model_cli show` prints, read in
    process: every named input float32 with a dynamic batch axis and the
    sample shape, and every named output present.

    Args:
        path: the written SavedModel.
        input_shapes: `{serving input name: sample shape}`.
        output_names: the outputs the signature must list.

    Returns:
        `{"inputs": {name: shape}, "outputs": [names]}` as the proto holds them.

    Raises:
        ExportVerificationError: if the signature is missing or differs.
    """
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    served = [g for g in proto.meta_graphs if "serve" in g.meta_info_def.tags]
    if not served or "serving_default" not in served[0].signature_def:
        raise ExportVerificationError(
            f"'{path}' has no 'serve' meta graph with a serving_default signature."
        )
    signature = served[0].signature_def["serving_default"]
    found = {
        name: tuple(d.size for d in info.tensor_shape.dim)
        for name, info in signature.inputs.items()
        if info.dtype == types_pb2.DT_FLOAT
    }
    problems = [
        f"input '{name}' float32 with shape {(-1, *shape)} (found {found.get(name)})"
        for name, shape in input_shapes.items()
        if found.get(name) != (-1, *shape)
    ]
    problems += [f"output '{n}'" for n in output_names if n not in signature.outputs]
    if problems:
        raise ExportVerificationError(
            f"The serving_default signature in '{path}' lacks {problems}."
        )
    return {"inputs": found, "outputs": sorted(signature.outputs)}


def check_with_saved_model_cli(path: pathlib.Path, input_shapes: dict, output_names) -> str:
    """Runs `saved_model_cli show` on the export and checks the serving signature.

    Checks that `serving_default` has every named float input with a
    dynamic batch axis and every named output.

    Args:
        path: the written SavedModel.
        input_shapes: `{serving input name: sample shape}`.
        output_names: the outputs the signature must list.

    Returns:
        The tool's output.

    Raises:
        ExportVerificationError: if the tool fails or the signature differs.
    """
    command = [
        sys.executable,
        "-m",
        "tensorflow.python.tools.saved_model_cli",
        "show",
        "--dir",
        str(path),
        "--tag_set",
        "serve",
        "--signature_def",
        "serving_default",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise ExportVerificationError(
            f"saved_model_cli show failed on '{path}': {done.stderr.strip()[-1000:]}"
        )
    shown = done.stdout
    needed = ["DT_FLOAT"] + [f"outputs['{name}']" for name in output_names]
    missing = [item for item in needed if item not in shown]
    for name, shape in input_shapes.items():
        expected_shape = "(-1, " + ", ".join(str(d) for d in shape) + ")"
        block = shown.split(f"inputs['{name}'] tensor_info:", 1)
        if len(block) < 2:
            missing.append(f"inputs['{name}']")
        elif f"shape: {expected_shape}" not in block[1].split("tensor_info:", 1)[0]:
            missing.append(f"inputs['{name}'] with shape {expected_shape}")
    if missing:
        raise ExportVerificationError(
            f"saved_model_cli show does not list {missing} for serving_default in '{path}':\n"
            + shown[-2000:]
        )
    return shown


def hard_coded_devices(path: pathlib.Path) -> list[str]:
    """Lists nodes of the SavedModel's functions pinned to a device (should be empty).

    TensorFlow always places the checkpoint save/restore machinery on the CPU
    (that is how TF Serving restores variables on any device); those
    functions are left out. Every other function — the serving signatures
    and what they call — must leave placement to the server.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    pinned = []
    for meta_graph in proto.meta_graphs:
        for function in meta_graph.graph_def.library.function:
            name = function.signature.name
            if "_traced_save" in name or "_traced_restore" in name:
                continue
            pinned += [f"{name}/{n.name}@{n.device}" for n in function.node_def if n.device]
    return pinned
