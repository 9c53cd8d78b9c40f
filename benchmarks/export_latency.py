"""Latency of the exported serving signature versus `model.predict`, in process.

Trains one fixed chain model on MNIST-1D briefly, exports it, then times, side
by side and interleaved, at batch 1 and 256:

- the reloaded SavedModel's `serving_default` signature (what TF Serving runs),
- `model.predict(x)` (what Keras users call),
- `model(x)` in a `tf.function` (the Keras model without predict's loop).

Run: python benchmarks/export_latency.py [--repeats 200] [--no-record]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
from _results import append_section

import kerasnas
from kerasnas.data import load_mnist1d

ARCHITECTURE = {
    "num_layers": 3,
    "layer_0.op": "conv",
    "layer_0.width": 32,
    "layer_0.kernel_size": 5,
    "layer_0.activation": "relu",
    "layer_0.batch_norm": True,
    "layer_0.dropout": 0.0,
    "layer_1.op": "maxpool",
    "layer_1.dropout": 0.0,
    "layer_2.op": "conv",
    "layer_2.width": 64,
    "layer_2.kernel_size": 3,
    "layer_2.activation": "relu",
    "layer_2.batch_norm": True,
    "layer_2.dropout": 0.1,
    "head.pooling": "flatten",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    data = load_mnist1d()
    space = kerasnas.spaces.ChainSpace(max_layers=3)
    work = tempfile.mkdtemp(prefix="kerasnas-export-bench-")
    result = kerasnas.search(
        data=data,
        space=space,
        evaluator=None,
        max_trials=1,
        epochs=3,
        directory=os.path.join(work, "search"),
        verbose=0,
        strategy=_Fixed(ARCHITECTURE),
    )
    start = time.perf_counter()
    info = result.export(os.path.join(work, "export"), measure_latency=False)
    export_seconds = time.perf_counter() - start
    model = result.best_model
    serve = tf.saved_model.load(str(info.path)).signatures["serving_default"]
    forward = tf.function(lambda t: model(t, training=False))

    rows = []
    rng = np.random.default_rng(0)
    for batch in (1, 256):
        x = rng.normal(size=(batch, 40, 1)).astype("float32")
        tx = tf.constant(x)
        calls = {
            "serving signature": lambda tx=tx: serve(inputs=tx)["probabilities"].numpy(),
            "model.predict": lambda x=x, b=batch: model.predict(x, batch_size=b, verbose=0),
            "tf.function(model)": lambda tx=tx: forward(tx).numpy(),
        }
        for fn in calls.values():  # warm up (tracing, caches)
            for _ in range(5):
                fn()
        times = {name: [] for name in calls}
        for _ in range(args.repeats):  # interleaved: the same machine state for each
            for name, fn in calls.items():
                t0 = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t0) * 1000)
        medians = {name: float(np.median(v)) for name, v in times.items()}
        for name, median in medians.items():
            rows.append(
                (
                    batch,
                    name,
                    median,
                    float(np.percentile(times[name], 99)),
                    medians["model.predict"] / median,
                )
            )
    lines = [
        "| batch | call | median ms | p99 ms | speed-up vs model.predict |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {b} | {n} | {m:.3f} | {p:.3f} | {r:.1f}x |" for b, n, m, p, r in rows]
    body = (
        f"Model: a 3-layer chain CNN on MNIST-1D "
        f"({result.best_trial.metrics['params']:,} parameters); {args.repeats} interleaved "
        f"calls per variant after 5 warm-up calls. One export (write + all checks) took "
        f"{export_seconds:.1f} s.\n\n" + "\n".join(lines)
    )
    if args.no_record:
        print(body)
    else:
        append_section("Exported serving signature vs model.predict latency", body)


class _Fixed(kerasnas.strategies.Strategy):
    """Proposes one given architecture (the benchmark times a fixed model)."""

    name = "fixed"

    def __init__(self, architecture):
        self.architecture = architecture

    def ask(self, history, rng):
        return self.space.validate(self.architecture)


if __name__ == "__main__":
    main()
