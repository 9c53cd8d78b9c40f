"""Paired A/B: kerasnas trials with TensorFlow's graph optimiser (Grappler) on or off.

`--reps` times, the same `--trials`-trial random search of the default
chain space on MNIST-1D (1 epoch, local executor, seed = rep) runs twice,
in alternating order: with TensorFlow's defaults (Grappler on) and with
`tf.config.optimizer.set_experimental_options({"disable_meta_optimizer":
True})` (off). Same seed, so the same architectures and weights; reported:
the median time in `model.fit` per trial and the mean final
`val_accuracy`, per variant. (The first search of the process also pays
TensorFlow's one-time start: compare seeds after the first.)

    python benchmarks/graph_optimizer_ab.py --record
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args()

    import tensorflow as tf

    import kerasnas
    from kerasnas.data import resolve_data

    data = resolve_data(data="mnist1d", seed=0)
    rows = []
    for rep in range(args.reps):
        order = ("off", "on") if rep % 2 else ("on", "off")
        for variant in order:
            tf.config.optimizer.set_experimental_options(
                {"disable_meta_optimizer": variant == "off"}
            )
            with tempfile.TemporaryDirectory() as tmp:
                result = kerasnas.search(
                    data=data,
                    max_trials=args.trials,
                    epochs=1,
                    seed=rep,
                    directory=tmp,
                    verbose=0,
                    executor="local",
                )
            fit = statistics.median(t.info["timing"]["fit"] for t in result.completed)
            accuracy = statistics.mean(t.metrics["val_accuracy"] for t in result.completed)
            rows.append(f"| {rep} | {variant} | {fit:.2f} | {accuracy:.3f} |")
            print(rows[-1], flush=True)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False})
    body = (
        f"{args.trials} trials x {args.reps} seeds, 1 epoch, local executor; runs in "
        "alternating order. The machine was shared with other engineers' jobs while this "
        "ran.\n\n| seed | Grappler | median fit s | mean val_accuracy |\n|---|---|---|---|\n"
        + "\n".join(rows)
    )
    if args.record:
        from _results import append_section

        append_section("Graph optimiser off vs on during trials (CPU)", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
