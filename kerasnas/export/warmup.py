"""TF Serving warmup requests and an example REST request/response."""

from __future__ import annotations

import json
import pathlib

import numpy as np

WARMUP_FILE = "tf_serving_warmup_requests"
REST_REQUEST_FILE = "rest_request.json"
REST_RESPONSE_FILE = "rest_response.json"


def _serving_apis():
    try:
        from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
    except ImportError as e:  # pragma: no cover - the [serving] extra is in [all]
        raise ImportError(
            "Writing TF Serving warmup requests needs the tensorflow-serving-api "
            "package: pip install 'kerasnas[serving]' (or export with warmup=False)."
        ) from e
    return predict_pb2, prediction_log_pb2


def write_warmup_requests(
    version_dir: pathlib.Path,
    model_name: str,
    inputs,
    input_name: str = "inputs",
    signature_name: str = "serving_default",
    batch_sizes=(1, 8),
) -> pathlib.Path:
    """Writes `assets.extra/tf_serving_warmup_requests` (PredictionLog TFRecords).

    TensorFlow Serving replays these requests when it loads the version, so
    the first client request does not pay for graph warm-up (notably on GPU).

    Args:
        version_dir: the exported version directory.
        model_name: the model name clients use (the base path's name).
        inputs: float32 samples to build requests from: one array (sent as
            `input_name`), or `{serving input name: array}`.
        input_name: the input name of a single array.
        signature_name: the signature the requests call.
        batch_sizes: one request per batch size (capped at the samples given).

    Returns:
        The path of the warmup file.
    """
    import tensorflow as tf

    predict_pb2, prediction_log_pb2 = _serving_apis()
    named = dict(inputs) if isinstance(inputs, dict) else {input_name: inputs}
    available = len(next(iter(named.values())))
    extra = version_dir / "assets.extra"
    extra.mkdir(parents=True, exist_ok=True)
    path = extra / WARMUP_FILE
    with tf.io.TFRecordWriter(str(path)) as writer:
        for size in batch_sizes:
            count = max(1, min(size, available))
            request = predict_pb2.PredictRequest()
            request.model_spec.name = model_name
            request.model_spec.signature_name = signature_name
            for name, values in named.items():
                batch = np.asarray(values[:count], dtype="float32")
                request.inputs[name].CopyFrom(tf.make_tensor_proto(batch))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(path: pathlib.Path) -> list:
    """Parses a warmup file back into `(signature_name, {input: ndarray})` pairs."""
    import tensorflow as tf

    _, prediction_log_pb2 = _serving_apis()
    requests = []
    for record in tf.data.TFRecordDataset(str(path)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        requests.append((request.model_spec.signature_name, inputs))
    return requests


def write_rest_example(
    version_dir: pathlib.Path,
    inputs,
    outputs: dict,
    signature_name: str = "serving_default",
) -> tuple:
    """Writes an example REST request body and the response TF Serving returns.

    The request uses TF Serving's row format, `{"instances": [...]}`: each
    instance is a sample, or for a model with several inputs an object
    `{input name: sample, ...}`. The response of a signature with several
    outputs is `{"predictions": [{name: value, ...}, ...]}` (one object per
    instance).

    Args:
        version_dir: the exported version directory.
        inputs: one array, or `{serving input name: array}` (a dict with the
            one key `"inputs"` is written like one array).
        outputs: `{output name: array}` that the signature returned for them.
        signature_name: the signature the request names.

    Returns:
        The request and response paths.
    """
    extra = version_dir / "assets.extra"
    extra.mkdir(parents=True, exist_ok=True)
    named = dict(inputs) if isinstance(inputs, dict) else {"inputs": inputs}
    count = len(next(iter(named.values())))
    if len(named) == 1:
        instances = np.asarray(next(iter(named.values()))).tolist()
    else:
        instances = [
            {name: np.asarray(values)[i].tolist() for name, values in named.items()}
            for i in range(count)
        ]
    request = {"signature_name": signature_name, "instances": instances}
    names = sorted(outputs)
    if len(names) == 1:
        predictions = np.asarray(outputs[names[0]]).tolist()
    else:
        predictions = [
            {name: np.asarray(outputs[name])[i].tolist() for name in names} for i in range(count)
        ]
    request_path = extra / REST_REQUEST_FILE
    response_path = extra / REST_RESPONSE_FILE
    request_path.write_text(json.dumps(request), encoding="utf-8")
    response_path.write_text(json.dumps({"predictions": predictions}), encoding="utf-8")
    return request_path, response_path
