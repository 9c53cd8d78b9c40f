"""How fast one small candidate trains on this machine, by way of feeding and compiling it.

A small MNIST-1D CNN (two Conv1D layers of 32 filters, kernel 5, global
average pooling, softmax; batch 64; Adam), trained from fresh weights in
each of these settings, `--repeats` times each, in rotation (so the
shared machine's load falls on all of them alike):

- `plain`: `model.fit(x, y, validation_data=...)` on NumPy arrays
  (Keras' defaults; `FitEvaluator(input_pipeline="arrays",
  steps_per_execution=1)`).
- `spe32`: the same with `compile(steps_per_execution=32)`.
- `dataset`: the arrays as a cached `tf.data` dataset built once (as a
  search would build it once), shuffled with each model's own seed,
  batched and prefetched.
- `pipeline`: kerasnas's own `ArrayPipeline` (what `FitEvaluator` uses
  by default): the arrays converted to tensors once, shuffled indices
  gathered per batch, prefetched.
- `pipeline_spe8`, `pipeline_spe16`, `pipeline_spe32`: the
  `ArrayPipeline` with `compile(steps_per_execution=8)`, `16` or `32`
  (several training steps per call of the compiled function; 32 is
  `FitEvaluator`'s default).
- `jit`: `compile(jit_compile=True)` (XLA).
- `no_grappler`: plain, with TensorFlow's graph optimiser (Grappler) off,
  which spends time on each new function's first call.

Reported: the first epoch (with tracing, what a 1-epoch trial pays) and
the median later epoch (steady state), in seconds, median over repeats.
Thread settings: `--threads intra,inter` runs the same in a child
process with `tf.config.threading` set before TensorFlow starts.

    python benchmarks/fit_speed.py --record
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

VARIANTS = (
    "plain",
    "spe32",
    "dataset",
    "pipeline",
    "pipeline_spe8",
    "pipeline_spe16",
    "pipeline_spe32",
    "jit",
    "no_grappler",
)


def make_model(keras, input_shape, classes, **compile_options):
    model = keras.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Conv1D(32, 5, padding="same", activation="relu"),
            keras.layers.Conv1D(32, 5, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        **compile_options,
    )
    return model


class EpochTimer:
    def __init__(self, keras):
        outer = self
        self.times: list[float] = []

        class _Timer(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                outer.last = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                now = time.perf_counter()
                outer.times.append(now - outer.last)
                outer.last = now

        self.callback = _Timer()


def measure(epochs: int, repeats: int, variants=VARIANTS) -> dict:
    import keras
    import tensorflow as tf

    from kerasnas.data import resolve_data
    from kerasnas.evaluation.pipeline import ArrayPipeline

    data = resolve_data(data="mnist1d", seed=0)
    pipeline = ArrayPipeline(data)
    (x, y), (xv, yv) = data.train, data.validation
    classes = int(y.max()) + 1
    base = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    val_ds = tf.data.Dataset.from_tensor_slices((xv, yv)).batch(64).cache().prefetch(2)
    results: dict = {v: {"first": [], "later": []} for v in variants}
    for repeat in range(repeats):
        for variant in variants:
            keras.backend.clear_session()
            keras.utils.set_random_seed(repeat)
            tf.config.optimizer.set_experimental_options(
                {"disable_meta_optimizer": variant == "no_grappler"}
            )
            options = {
                "spe32": {"steps_per_execution": 32},
                "pipeline_spe8": {"steps_per_execution": 8},
                "pipeline_spe16": {"steps_per_execution": 16},
                "pipeline_spe32": {"steps_per_execution": 32},
                "jit": {"jit_compile": True},
            }
            model = make_model(keras, x.shape[1:], classes, **options.get(variant, {}))
            timer = EpochTimer(keras)
            if variant == "dataset":
                train_ds = (
                    base.shuffle(len(x), seed=repeat, reshuffle_each_iteration=True)
                    .batch(64)
                    .prefetch(tf.data.AUTOTUNE)
                )
                model.fit(
                    train_ds,
                    validation_data=val_ds,
                    epochs=epochs,
                    verbose=0,
                    callbacks=[timer.callback],
                )
            elif variant.startswith("pipeline"):
                model.fit(
                    pipeline.train(64, seed=repeat),
                    validation_data=pipeline.validation(64),
                    epochs=epochs,
                    verbose=0,
                    shuffle=False,
                    callbacks=[timer.callback],
                )
            else:
                model.fit(
                    x,
                    y,
                    batch_size=64,
                    validation_data=(xv, yv),
                    epochs=epochs,
                    verbose=0,
                    shuffle=True,
                    callbacks=[timer.callback],
                )
            results[variant]["first"].append(timer.times[0])
            results[variant]["later"].append(statistics.median(timer.times[1:]))
    return {v: {k: statistics.median(r[k]) for k in ("first", "later")} for v, r in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="", help="intra,inter (child process)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated; 'plain' always runs"
    )
    args = parser.parse_args()
    if args.child:
        import tensorflow as tf

        if args.threads:
            intra, inter = (int(v) for v in args.threads.split(","))
            tf.config.threading.set_intra_op_parallelism_threads(intra)
            tf.config.threading.set_inter_op_parallelism_threads(inter)
        variants = ["plain", *(v for v in args.variants.split(",") if v and v != "plain")]
        unknown = sorted(set(variants) - set(VARIANTS))
        if unknown:
            parser.error(f"--variants: unknown {unknown}; choose from {list(VARIANTS)}")
        print(json.dumps(measure(args.epochs, args.repeats, variants)))
        return
    settings = ["", *([args.threads] if args.threads else ["2,1", "1,1"])]
    rows = []
    for threads in settings:
        command = [sys.executable, __file__, "--child", "--epochs", str(args.epochs)]
        command += ["--repeats", str(args.repeats), "--threads", threads]
        command += ["--variants", args.variants]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        base = measured["plain"]["later"]
        for variant, m in measured.items():
            rows.append(
                f"| {threads or 'TF default'} | {variant} | {m['first']:.2f} | {m['later']:.2f} "
                f"| {base / m['later']:.2f}x |"
            )
            print(rows[-1], flush=True)
    body = (
        f"Small MNIST-1D CNN (2 Conv1D x 32, kernel 5; batch 64; 3600 training samples), "
        f"{args.epochs} epochs, median of {args.repeats} rotations. The machine was shared "
        "with other engineers' jobs while this ran.\n\n"
        "| threads (intra,inter) | variant | first epoch s | later epoch s | speed vs plain |\n"
        "|---|---|---|---|---|\n" + "\n".join(rows)
    )
    if args.record:
        from _results import append_section

        append_section("Training speed of one small candidate", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
