"""Steps per execution for short fits: 1 against 32, by the number of training steps.

Several training steps per call of the compiled function make later epochs
faster, but tracing the multi-step loop makes the first call slower. For a
fit of few steps the second cost wins. This benchmark runs the same
searches (same seed, same architectures) with `steps_per_execution=1` and
`32`, alternating, at 1, 2 and 3 epochs on MNIST-1D (57 steps an epoch at
batch 64), and prints the median `fit` seconds per trial of each and the
paired ratio: whether kerasnas's default of 32 costs short trials time.

```bash
python benchmarks/short_fits.py --epochs 1,2,3 --trials 4 --rounds 3
```
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def fit_seconds(x, y, epochs: int, steps: int, seed: int, trials: int) -> list[float]:
    """`fit` seconds of each trial of a random search compiled with `steps` steps per call."""
    import kerasnas

    with tempfile.TemporaryDirectory() as directory:
        result = kerasnas.search(
            x, y, max_trials=trials, epochs=epochs, seed=seed, steps_per_execution=steps,
            strategy="random", warm_start=False, directory=directory, verbose=0,
        )  # fmt: skip
        return [t.info["timing"]["fit"] for t in result.completed]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", default="1,2,3", help="epochs per trial, comma-separated")
    parser.add_argument("--trials", type=int, default=4, help="trials per search")
    parser.add_argument("--rounds", type=int, default=3, help="seeds (one search per setting each)")
    args = parser.parse_args(argv)
    from kerasnas.data import load_mnist1d

    x, y = load_mnist1d().train
    fit_seconds(x, y, 1, 1, 0, 1)  # warm up TensorFlow outside the measurement
    print("| epochs | steps in all | seed | spe=1 fit s/trial | spe=32 fit s/trial | 32 / 1 |")
    print("|---|---|---|---|---|---|")
    for epochs in [int(e) for e in args.epochs.split(",")]:
        ratios = []
        for seed in range(args.rounds):
            started = time.perf_counter()
            one = statistics.median(fit_seconds(x, y, epochs, 1, seed, args.trials))
            many = statistics.median(fit_seconds(x, y, epochs, 32, seed, args.trials))
            ratios.append(many / one)
            print(
                f"| {epochs} | {epochs * 57} | {seed} | {one:.2f} | {many:.2f} | "
                f"{many / one:.2f} |  ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        print(f"| {epochs} | median | | | | **{statistics.median(ratios):.2f}** |", flush=True)


if __name__ == "__main__":
    main()
