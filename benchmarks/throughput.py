"""Trials per hour: kerasnas next to KerasTuner on the same architectures, and the compute floor.

For each default space (`--spaces`), in `--rounds` rounds, in this one
process and one after the other so both see the same load on the machine:

1. kerasnas: `kerasnas.search(data=<MNIST-1D>, space=..., strategy="random",
   max_trials=--trials, epochs=--epochs)` with the defaults (executor
   "auto"; `--strategy bananas` measures the default strategy, whose
   predictor refits count as proposing); trials per hour = trials / the call's wall time, the
   per-trial breakdown from each record's `info["timing"]`, and the
   overhead outside `fit` per trial = (time between consecutive
   `trial_finished` journal events) - (that trial's time in `model.fit`).
2. KerasTuner (`keras_tuner.GridSearch` over the index of the same
   architectures): each trial built by the same
   `ModelBuilder` (same layers, loss, metrics, optimizer), trained by
   KerasTuner's `model.fit` with the same epochs and batch size;
   trials per hour = trials / `tuner.search` wall time, overhead =
   (time between consecutive trial ends) - (that trial's `fit` time,
   from a callback).
3. The compute floor: each trial's FLOPs (forward FLOPs per sample x 3 for
   training, x 1 for validation, x samples x epochs) at this machine's
   measured float32 matmul rate (`--matmul-size` squared matrices, all
   cores), the time no framework can beat.

Both tools get the same data (MNIST-1D, generated once). Accuracy is the
mean last-epoch `val_accuracy` over the same architectures, for both tools
(KerasTuner's own trial score is its best epoch's); weights are seeded
differently, so single trials differ, the mean should not.

    python benchmarks/throughput.py --record

Needs `keras-tuner` (the `bench` extra).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

NO_COMPARISON = {
    "per_hour": float("nan"),
    "overhead": float("nan"),
    "fit": float("nan"),
    "accuracy": float("nan"),
    "same_archs": False,
}
PARTS = (
    "propose",
    "journal",
    "build",
    "costs",
    "fit",
    "evaluate",
    "latency",
    "save",
    "clear",
    "gc",
)


def matmul_flops_per_second(size: int, repeats: int = 10) -> float:
    """This machine's float32 matmul rate (FLOP/s), median of `repeats` timed calls."""
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    step = tf.function(lambda x, y: tf.linalg.matmul(x, y))
    step(a, b).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(a, b).numpy()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)


def floor_seconds(flops: int, n_train: int, n_val: int, epochs: int, rate: float) -> float:
    """Seconds of pure arithmetic for one trial at `rate` FLOP/s."""
    return flops * (3 * n_train + n_val) * epochs / rate


def journal_gaps(directory) -> list[tuple[float, dict]]:
    """(seconds since the previous trial finished, record) for every trial but the first."""
    import json

    finished = []
    with open(pathlib.Path(directory) / "journal.jsonl", encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            if event.get("event") == "trial_finished":
                finished.append((event["time"], event["record"]))
    return [(t - finished[i][0], record) for i, (t, record) in enumerate(finished[1:])]


def run_kerasnas(
    data,
    space: str,
    trials: int,
    epochs: int,
    seed: int,
    workdir,
    executor: str = "auto",
    strategy: str = "random",
) -> dict:
    import kerasnas

    start = time.perf_counter()
    result = kerasnas.search(
        data=data,
        space=space,
        strategy=strategy,
        max_trials=trials,
        epochs=epochs,
        seed=seed,
        directory=workdir,
        overwrite=True,
        verbose=0,
        executor=executor,
    )
    wall = time.perf_counter() - start
    gaps = journal_gaps(workdir)
    timed = [(gap, r) for gap, r in gaps if "timing" in r["info"]]
    overheads = [gap - r["info"]["timing"]["fit"] for gap, r in timed]
    kept = [_kind(r["info"]["timing"]) for _, r in timed]
    parts = {
        part: statistics.median(r["info"]["timing"].get(part, 0.0) for _, r in gaps)
        for part in PARTS
    }
    # What the records cannot hold (the trial_finished append, progress, model pruning),
    # per trial: its overhead less its itemised parts.
    parts["other"] = statistics.median(
        gap - sum(r["info"]["timing"].values()) for gap, r in gaps if "timing" in r["info"]
    )
    completed = result.completed
    return {
        "result": result,
        "architectures": [t.architecture for t in result.trials],
        "wall": wall,
        "trials": len(result.trials),
        "per_hour": 3600 * len(result.trials) / wall,
        "overhead": statistics.median(overheads),
        "overheads": list(zip(overheads, kept)),
        "parts": parts,
        "fit": statistics.median(t.info["timing"]["fit"] for t in completed),
        "accuracy": statistics.mean(t.metrics["val_accuracy"] for t in completed),
        "flops": [int(t.metrics["flops"]) for t in completed],
    }


def run_kerastuner(builder, data, architectures, epochs: int, seed: int, workdir) -> dict:
    import keras
    import keras_tuner as kt

    fits: list[tuple[float, float]] = []  # (fit seconds, time the trial's fit ended)
    last_scores: list[float] = []  # the last epoch's val_accuracy, as kerasnas records it

    class FitTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.last = float((logs or {}).get("val_accuracy", float("nan")))

        def on_train_end(self, logs=None):
            now = time.perf_counter()
            fits.append((now - self.started, now))
            last_scores.append(self.last)

    def hypermodel(hp):
        index = hp.Choice("architecture", list(range(len(architectures))))
        arch = architectures[index]
        return builder.compile(builder.build(arch), arch)

    tuner = kt.GridSearch(
        hypermodel,
        objective="val_accuracy",
        max_trials=len(architectures),
        seed=seed,
        directory=str(workdir),
        project_name="throughput",
        overwrite=True,
    )
    (x, y), validation = data.train, data.validation
    start = time.perf_counter()
    tuner.search(
        x,
        y,
        validation_data=validation,
        epochs=epochs,
        batch_size=64,
        callbacks=[FitTimer()],
        verbose=0,
    )
    wall = time.perf_counter() - start
    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    ends = [end for _, end in fits]
    overheads = [ends[i] - ends[i - 1] - fits[i][0] for i in range(1, len(fits))]
    return {
        "wall": wall,
        "trials": len(trials),
        "per_hour": 3600 * len(trials) / wall,
        "overhead": statistics.median(overheads),
        "fit": statistics.median(f for f, _ in fits),
        # KerasTuner's own score is the best epoch's; compare like with like.
        "accuracy": statistics.mean(last_scores),
        # KerasTuner builds once more to read the search space; the trials cover every index.
        "same_archs": sorted(t.hyperparameters.values["architecture"] for t in trials)
        == list(range(len(architectures))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", default="chain,chain_skips", help="comma-separated")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--matmul-size", type=int, default=1024)
    parser.add_argument(
        "--executor", default="auto", help="kerasnas's executor (default: auto, its default)"
    )
    parser.add_argument(
        "--strategy",
        default="random",
        help="kerasnas's strategy (default: random; KerasTuner trains whatever it chose)",
    )
    parser.add_argument(
        "--no-kerastuner", action="store_true", help="measure kerasnas only (no comparison)"
    )
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args()

    from kerasnas.data import resolve_data

    data = resolve_data(data="mnist1d", seed=0)
    n_train, n_val = len(data.train[0]), len(data.validation[0])
    rate = matmul_flops_per_second(args.matmul_size)
    print(f"matmul rate: {rate / 1e9:.1f} GFLOP/s", flush=True)
    rows, parts_rows, every_overhead = [], [], []
    load_before = os.getloadavg()[0]
    for space in args.spaces.split(","):
        for round_ in range(args.rounds):
            seed = round_
            with tempfile.TemporaryDirectory() as tmp:
                ours = run_kerasnas(
                    data,
                    space,
                    args.trials,
                    args.epochs,
                    seed,
                    f"{tmp}/kn",
                    args.executor,
                    args.strategy,
                )
                theirs = NO_COMPARISON
                if not args.no_kerastuner:
                    theirs = run_kerastuner(
                        ours["result"].builder,
                        data,
                        ours["architectures"],
                        args.epochs,
                        seed,
                        f"{tmp}/kt",
                    )
            floor = statistics.median(
                floor_seconds(f, n_train, n_val, args.epochs, rate) for f in ours["flops"]
            )
            ratio = ours["per_hour"] / theirs["per_hour"]
            rows.append(
                f"| {space} | {seed} | {ours['per_hour']:.0f} | {theirs['per_hour']:.0f} | "
                f"{ratio:.2f}x | {ours['overhead']:.3f} | {theirs['overhead']:.3f} | "
                f"{ours['fit']:.2f} | {theirs['fit']:.2f} | {floor:.3f} | "
                f"{ours['accuracy']:.3f} | {theirs['accuracy']:.3f} | "
                f"{'yes' if theirs['same_archs'] else 'NO'} |"
            )
            parts_rows.append(
                f"| {space} | {seed} | "
                + " | ".join(f"{ours['parts'][p]:.3f}" for p in (*PARTS, "other"))
                + " |"
            )
            every_overhead += ours["overheads"]
            print(rows[-1], flush=True)
            print(parts_rows[-1], flush=True)
    load_after = os.getloadavg()[0]
    body = (
        f"{args.trials} trials of {args.epochs} epoch(s) per space and round, MNIST-1D "
        f"({n_train} training / {n_val} validation samples, batch 64), strategy "
        f"{args.strategy!r} and kerasnas's other defaults (executor {args.executor!r}); KerasTuner {_version('keras_tuner')} trains the same "
        "architectures. Machine rate for the floor: "
        f"{rate / 1e9:.1f} GFLOP/s (float32 {args.matmul_size}^2 matmul). "
        f"Load average (1 min) {load_before:.1f} before and {load_after:.1f} after the run "
        "(this benchmark alone keeps it near 1): compare the two tools within a row (same "
        "round, back to back), not rows with each other.\n\n"
        "| space | seed | kerasnas trials/h | KerasTuner trials/h | ratio | kerasnas overhead "
        "s/trial | KerasTuner overhead s/trial | kerasnas fit s | KerasTuner fit s | floor s "
        "| kerasnas mean val_acc | KerasTuner mean val_acc | same archs |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nkerasnas per-trial breakdown (median seconds, `info['timing']`):\n\n"
        "| space | seed | " + " | ".join(PARTS) + " | other |\n"
        "|---|---|"
        + "---|" * (len(PARTS) + 1)
        + "\n"
        + "\n".join(parts_rows)
        + "\n\n"
        + overhead_summary(every_overhead)
    )
    if args.record:
        from _results import append_section

        append_section("Throughput: trials per hour against KerasTuner", body)
    else:
        print(body)


def _kind(timing: dict) -> str:
    """What a trial did besides training: measured latency (and saved), saved, or neither."""
    if "latency" in timing:
        return "latency"
    return "save" if "save" in timing else ""


def overhead_summary(overheads: list[tuple[float, str]]) -> str:
    """kerasnas's overhead outside `fit` over every trial of every round, kept models apart."""

    def median(values):
        return f"{statistics.median(values):.3f} s" if values else "-"

    groups = {k: [o for o, kind in overheads if kind == k] for k in ("latency", "save", "")}
    return (
        f"kerasnas overhead outside `fit` over all {len(overheads)} timed trials of all "
        f"rounds: median {median([o for o, _ in overheads])}; "
        f"{len(groups['latency'])} trials that measured a model's latency and saved it: "
        f"median {median(groups['latency'])}; {len(groups['save'])} that saved a model only: "
        f"median {median(groups['save'])}; the other {len(groups[''])}: "
        f"median {median(groups[''])}."
    )


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return "?"


if __name__ == "__main__":
    main()
