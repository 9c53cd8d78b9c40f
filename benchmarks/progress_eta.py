"""How good the progress line's first remaining-time estimate is.

Runs a small MNIST-1D search (`--trials` trials, 2 epochs, 1,500 training
sequences) with the local and the worker-process executor, reads the
printed progress lines, and compares the first "~... left" estimate with
the time the remaining trials actually took. The estimate kerasnas printed
before (elapsed time since the search started / trials done × trials to
go) is computed from the same line for comparison: it spreads start-up
(TensorFlow's first tracing, the worker process's boot) over every trial.

    python benchmarks/progress_eta.py --trials 6
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _seconds(text: str) -> float:
    minutes = re.match(r"(?:(\d+)m)?([\d.]+)s", text)
    return int(minutes.group(1) or 0) * 60 + float(minutes.group(2))


def run(executor: str, trials: int, seed: int) -> dict:
    import kerasnas
    from kerasnas.data import load_mnist1d

    data = load_mnist1d()
    (x, y), validation = data.train, data.validation
    out = io.StringIO()
    with contextlib.redirect_stdout(out), tempfile.TemporaryDirectory() as directory:
        kerasnas.search(
            x[:1500],
            y[:1500],
            validation_data=validation,
            max_trials=trials,
            epochs=2,
            directory=directory,
            seed=seed,
            verbose=1,
            progress_bar=False,
            executor=executor,
            **({"workers": 1} if executor == "process" else {}),
        )
    lines = [line for line in out.getvalue().splitlines() if line.startswith("Trial")]
    clock = [re.search(r"\[(\S+)", line).group(1) for line in lines]
    first_elapsed, last_elapsed = _seconds(clock[0]), _seconds(clock[-1])
    estimate = _seconds(re.search(r"~(\S+) left", lines[0]).group(1))
    actual = last_elapsed - first_elapsed
    return {
        "executor": executor,
        "first_trial_done_s": first_elapsed,
        "actual_remaining_s": actual,
        "estimate_s": estimate,
        "ratio": estimate / actual,
        "old_estimate_s": first_elapsed * (trials - 1),
        "old_ratio": first_elapsed * (trials - 1) / actual,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for executor in ("local", "process"):
        row = run(executor, args.trials, args.seed)
        print(
            f"{row['executor']:8s} first trial done at {row['first_trial_done_s']:.1f}s; "
            f"remaining took {row['actual_remaining_s']:.1f}s; first estimate "
            f"{row['estimate_s']:.1f}s ({row['ratio']:.2f}x); before this change "
            f"{row['old_estimate_s']:.1f}s ({row['old_ratio']:.2f}x)"
        )


if __name__ == "__main__":
    main()
