"""Does the garbage collection between trials get slower as an in-process search goes on?

Runs one search of `--trials` small trials (toy sequences, one epoch, the
local executor, no warm start) and reads each trial's `info["timing"]["gc"]`
(the full collection after the trial). Prints the median of the first and
of the last ten trials, and their ratio: a ratio near 1 means a trial's
collection costs the same late in the search as early on.

    python benchmarks/gc_growth.py --trials 40
    PYTHONPATH=<older checkout> python benchmarks/gc_growth.py --trials 40   # before a change
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def run(trials: int, seed: int) -> list[float]:
    import numpy as np

    import kerasnas

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 16, 2)).astype("float32")
    y = (np.abs(x[:, :3, 0]).argmax(axis=1)).astype("int32")
    with tempfile.TemporaryDirectory() as directory:
        result = kerasnas.search(
            x,
            y,
            max_trials=trials,
            epochs=1,
            seed=seed,
            directory=directory,
            verbose=0,
            executor="local",
            warm_start=False,
            space_options={"widths": (8, 16), "max_layers": 3},
        )
        return [t.info["timing"]["gc"] for t in result.completed if "timing" in t.info]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import kerasnas

    times = run(args.trials, args.seed)
    first, last = statistics.median(times[:10]), statistics.median(times[-10:])
    print(f"kerasnas from {os.path.dirname(kerasnas.__file__)}")
    print(
        f"{len(times)} trials: gc median first 10 {first:.4f} s, last 10 {last:.4f} s, "
        f"ratio {last / first:.2f}"
    )


if __name__ == "__main__":
    main()
