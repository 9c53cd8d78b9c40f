"""
Title: Export a searched model for TensorFlow Serving on GPU
Author: the kerasnas team
Date created: 2026/11/28
Last modified: 2026/11/28
Description: Export the winner of a search as a verified SavedModel with
warmup requests, a REST example, a model card, and optional float16, XLA and
TFLite variants.
Accelerator: None
"""

"""
## Introduction

A search is only useful if its result can be deployed. `result.export(...)`
writes TensorFlow Serving's layout, `<base_path>/<version>/`, and only puts a
version in place after checking it: reloaded with `tf.saved_model.load`, its
serving signature compared with the Keras model, its SignatureDef checked
(the names, dtypes and shapes `saved_model_cli show` lists), its graph free
of pinned devices, and its warmup requests replayed.

TensorFlow Serving itself is not installed here, so this tutorial exercises
the exported model in process exactly the way the server calls it.
"""

import json
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

import kerasnas
from kerasnas.data import load_mnist1d

QUICK = os.environ.get("KERASNAS_TUTORIAL_QUICK") == "1"

"""
## A model to export

A short search on MNIST-1D gives us a trained model (see
`01_quickstart.py` for the search itself).
"""

data = load_mnist1d()
result = kerasnas.search(
    data=data,
    max_trials=2 if QUICK else 8,
    epochs=1 if QUICK else 15,
    directory="runs/export_tutorial",
    seed=0,
    verbose=1,
)
result.summary(top=3)

"""
## Export

The model base path is `exports/mnist1d_tutorial`; the first export is
version 1 and every later one takes the next number. Exporting to an existing
version is refused unless `overwrite=True`.
"""

info = result.export("exports/mnist1d_tutorial")
print("exported to", info.path)
print("signatures:", json.dumps(info.signatures, indent=1))
print("max |difference| to Keras after reload:", info.max_abs_diff)
for row in info.latency:
    print(
        f"CPU latency, batch {row['batch_size']}: median {row['median_ms']:.2f} ms, "
        f"p99 {row['p99_ms']:.2f} ms"
    )

"""
## What TF Serving sees

`saved_model_cli show` is the tool TF Serving users reach for; the export
checked the same SignatureDef in process (`check_cli=True` also runs the
tool). Its output lists the named input `inputs` with a
dynamic batch axis (-1) and the named outputs.
"""

shown = subprocess.run(
    [
        sys.executable,
        "-m",
        "tensorflow.python.tools.saved_model_cli",
        "show",
        "--dir",
        str(info.path),
        "--tag_set",
        "serve",
        "--signature_def",
        "serving_default",
    ],
    capture_output=True,
    text=True,
    check=True,
).stdout
print(shown)

"""
## A REST request, as a client would send it

`assets.extra/rest_request.json` holds a request body in TF Serving's row
format, and `rest_response.json` the response the server returns for it. We
replay the request through the serving signature.
"""

body = json.loads((info.path / "assets.extra" / "rest_request.json").read_text())
expected = json.loads((info.path / "assets.extra" / "rest_response.json").read_text())
serve = tf.saved_model.load(str(info.path)).signatures[body["signature_name"]]
answer = serve(inputs=tf.constant(np.asarray(body["instances"], dtype="float32")))
got = answer["probabilities"].numpy()
want = np.asarray([row["probabilities"] for row in expected["predictions"]])
assert np.allclose(got, want, atol=1e-6)
print("REST example reproduced; predicted classes:", got.argmax(axis=1))

"""
## Variants for GPUs and devices

- `mixed_precision=True`: float16 compute with float32 inputs and outputs,
  checked to stay within 2e-2 of the float32 model.
- `jit_compile=True`: serving functions compiled with XLA (the server needs
  XLA JIT support for the device).
- `formats=("keras", "tflite")`: also `model.keras` and a TFLite model,
  checked against Keras. ONNX (`"onnx"`) needs the optional `onnx` extra.
"""

half = result.export("exports/mnist1d_tutorial", mixed_precision=True, measure_latency=False)
print(
    "float16 version", half.version, "deviation from float32:", half.options["float16_max_abs_diff"]
)
lite = result.export("exports/mnist1d_tutorial", formats=("keras", "tflite"), measure_latency=False)
print("version", lite.version, "extra formats:", lite.formats)

"""
## The model card

`model_card.json` (and the readable `MODEL_CARD.md`) records the architecture
and a layer diagram, parameters, FLOPs, validation and test metrics, CPU
latency, the search that produced the model and library versions.
"""

card = json.loads((info.path / "model_card.json").read_text())
print("params:", card["params"], "test metrics:", card["metrics"]["test"])
print((info.path / "MODEL_CARD.md").read_text()[:600])

"""
## Serving it

See `exports/README.md` for the exact `docker run ... tensorflow/serving:latest-gpu`
command line (ports 8500 for gRPC and 8501 for REST, the model base path
mounted under `/models/<name>`).
"""
