"""Checks run on every export before it is put in place."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np

from kerasnas.errors import KerasNASError


class ExportVerificationError(KerasNASError):
    """The written SavedModel does not reproduce the Keras model or is malformed."""


def compare_with_keras(
    path: pathlib.Path, serving_model, sample_inputs: np.ndarray, input_name: str, tolerance: float
):
    """Reloads the SavedModel and compares every serving output with Keras.

    Returns:
        `(max_abs_diff, signatures, served_outputs)`.

    Raises:
        ExportVerificationError: for a missing output or a difference over
            `tolerance`.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    if "serving_default" not in loaded.signatures:
        raise ExportVerificationError(
            f"The SavedModel in '{path}' has no serving_default signature."
        )
    signature = loaded.signatures["serving_default"]
    served = signature(**{input_name: tf.constant(sample_inputs)})
    expected = serving_model(sample_inputs, training=False)
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


def check_with_saved_model_cli(
    path: pathlib.Path, input_name: str, sample_shape: tuple, output_names
) -> str:
    """Runs `saved_model_cli show` on the export and checks the serving signature.

    Checks that `serving_default` has the named float input with a dynamic
    batch axis and every named output.

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
    expected_shape = "(-1, " + ", ".join(str(d) for d in sample_shape) + ")"
    if len(sample_shape) == 1:
        expected_shape = f"(-1, {sample_shape[0]})"
    needed = [f"inputs['{input_name}']", "DT_FLOAT", f"shape: {expected_shape}"]
    needed += [f"outputs['{name}']" for name in output_names]
    missing = [item for item in needed if item not in shown]
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
