"""Other formats beside the SavedModel: `.keras`, TFLite and ONNX."""

from __future__ import annotations

import pathlib

import numpy as np

from kerasnas.errors import KerasNASError

FORMATS = ("keras", "tflite", "onnx")


class ExportFormatError(KerasNASError):
    """A requested format could not be written or does not reproduce the model."""


#: Formats whose converters and checks here take a model with one input.
SINGLE_INPUT_FORMATS = ("tflite", "onnx")


def check_formats(formats, num_inputs: int = 1) -> tuple:
    """Validates the `formats=` argument before anything is written.

    Args:
        formats: the format names asked for.
        num_inputs: how many inputs the exported model has.

    Returns:
        The formats as a tuple.

    Raises:
        ValueError: naming unknown formats, or TFLite/ONNX for a model with
            several inputs.
    """
    formats = tuple(formats or ())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(
            f"Unknown export formats {unknown}; known: {list(FORMATS)} (the SavedModel is "
            f"always written). Received: formats={formats!r}"
        )
    single = [f for f in formats if f in SINGLE_INPUT_FORMATS]
    if single and num_inputs > 1:
        raise ValueError(
            f"Formats {single} are written for models with one input; this model has "
            f"{num_inputs}. The SavedModel serves every input; ask for formats=('keras',) "
            f"or none. Received: formats={formats!r}"
        )
    return formats


def write_keras(model, version_dir: pathlib.Path) -> dict:
    """Saves the Keras model as `model.keras` (Keras 3 format)."""
    path = version_dir / "model.keras"
    model.save(path)
    return {"path": path.name}


def write_tflite(
    saved_model_dir: pathlib.Path,
    version_dir: pathlib.Path,
    sample_inputs: np.ndarray,
    expected: np.ndarray,
    tolerance: float,
) -> dict:
    """Converts the SavedModel to `model.tflite` and checks its predictions.

    Uses TFLite built-in ops, falling back to TensorFlow ops (Flex) for
    layers that need them (recurrent layers, attention).

    Raises:
        ExportFormatError: if conversion fails or the outputs differ.
    """
    import tensorflow as tf

    def convert(select_ops: bool):
        converter = tf.lite.TFLiteConverter.from_saved_model(
            str(saved_model_dir), signature_keys=["serving_default"]
        )
        if select_ops:
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.TFLITE_BUILTINS,
                tf.lite.OpsSet.SELECT_TF_OPS,
            ]
        return converter.convert()

    flex = False
    try:
        flat = convert(select_ops=False)
    except Exception:  # noqa: BLE001 - retry with TF ops, report the final error
        try:
            flat = convert(select_ops=True)
            flex = True
        except Exception as e:  # noqa: BLE001
            raise ExportFormatError(f"TFLite conversion failed: {e}") from e
    path = version_dir / "model.tflite"
    path.write_bytes(flat)
    info = {"path": path.name, "uses_tf_ops": flex}
    if flex:
        info["note"] = "needs the TFLite Flex delegate (TensorFlow ops)"
        return info
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        interpreter = tf.lite.Interpreter(model_content=flat)
    runner = interpreter.get_signature_runner("serving_default")
    got = None
    for i in range(len(sample_inputs)):
        out = runner(inputs=sample_inputs[i : i + 1])
        key = "probabilities" if "probabilities" in out else sorted(out)[0]
        got = out[key] if got is None else np.concatenate([got, out[key]])
    diff = float(np.max(np.abs(got - expected)))
    if diff > tolerance:
        raise ExportFormatError(
            f"The TFLite model differs from the Keras model by {diff:.3g} "
            f"(tolerance {tolerance:.1g})."
        )
    info["max_abs_diff"] = diff
    return info


_SQRT_HALF = 0.7071067811865476


def gelu_erf(x):
    """Exact GELU written with `erf`: `0.5 * x * (1 + erf(x / sqrt(2)))`.

    The same function as Keras's `gelu` (TensorFlow computes it with `erfc`,
    which ONNX lacks; ONNX has `Erf`), so models with gelu convert to ONNX
    without approximation.
    """
    import keras

    return 0.5 * x * (1.0 + keras.ops.erf(x * _SQRT_HALF))


def _is_gelu(activation) -> bool:
    if isinstance(activation, str):
        return activation == "gelu"
    if isinstance(activation, dict):
        return activation.get("config") == "gelu" or activation.get("class_name") == "gelu"
    return getattr(activation, "__name__", None) == "gelu"


def onnx_compatible_copy(model):
    """A copy of `model` (same weights) whose gelu activations use `Erf` instead of `Erfc`.

    Returns `model` itself when it has no gelu.
    """
    import keras

    if not any(_is_gelu(layer.get_config().get("activation")) for layer in model.layers):
        return model

    def clone(layer):
        config = layer.get_config()
        if _is_gelu(config.get("activation")):
            config["activation"] = gelu_erf
        return type(layer).from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def write_onnx(
    model,
    version_dir: pathlib.Path,
    sample_inputs: np.ndarray,
    expected: np.ndarray,
    tolerance: float,
) -> dict:
    """Converts the model to `model.onnx` with tf2onnx, where its ops allow.

    GELU activations are converted in their exact `erf` form (`gelu_erf`):
    TensorFlow's own gelu uses `Erfc`, which ONNX does not have. The ONNX
    model is checked against the Keras model with onnxruntime (when
    installed) before the export appears.

    ONNX support is an optional extra (`pip install 'kerasnas[onnx]'`):
    `onnx` and `tf2onnx` need a newer `typing-extensions` than TF-Agents
    pins, so they are not part of `[all]`.

    Raises:
        ExportFormatError: if the packages are missing or conversion fails.
    """
    try:
        import tensorflow as tf
        import tf2onnx
    except ImportError as e:
        raise ExportFormatError(
            "ONNX export needs the optional packages onnx and tf2onnx: pip install "
            "'kerasnas[onnx]' in an environment without the [rl] extra (TF-Agents pins "
            "typing-extensions==4.5.0, which tf2onnx cannot use)."
        ) from e
    spec = (tf.TensorSpec((None,) + tuple(sample_inputs.shape[1:]), tf.float32, name="inputs"),)
    path = version_dir / "model.onnx"
    try:
        tf2onnx.convert.from_keras(
            onnx_compatible_copy(model), input_signature=spec, output_path=str(path)
        )
    except Exception as e:  # noqa: BLE001
        raise ExportFormatError(
            f"ONNX conversion failed; the model's operations may have no ONNX "
            f"equivalent ({type(e).__name__}: {e})."
        ) from e
    info = {"path": path.name}
    try:
        import onnxruntime
    except ImportError:
        info["note"] = "not checked: onnxruntime is not installed"
        return info
    try:
        session = onnxruntime.InferenceSession(str(path))
        got = session.run(None, {session.get_inputs()[0].name: sample_inputs})[0]
    except Exception as e:  # noqa: BLE001
        raise ExportFormatError(
            "The ONNX conversion produced a model that onnxruntime cannot run; an "
            f"operation of this model has no ONNX equivalent here ({str(e)[:300]}). "
            "The SavedModel export works without formats=('onnx',)."
        ) from e
    diff = float(np.max(np.abs(got - expected)))
    if diff > tolerance:
        raise ExportFormatError(f"The ONNX model differs from Keras by {diff:.3g}.")
    info["max_abs_diff"] = diff
    return info
