"""Start-up: `import kerasnas`, the CLI's `--help` and `summary`, and a worker's boot.

Each command runs `--repeats` times in a fresh interpreter (wall time,
median), next to `import tensorflow` itself, the floor for anything that
trains:

- `python -c "import kerasnas"`
- `python -c "import tensorflow"`
- `kerasnas --help`, `kerasnas search --help`
- `kerasnas summary DIR` and `kerasnas report DIR` on a 2-trial search
  made first (MNIST-1D, 1 epoch)
- a worker process of `executor="process"`, launch to ready
  (`ProcessExecutor.boot_seconds`), over `--repeats` recycled workers.

    python benchmarks/startup.py --record
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


def wall(command: list[str], repeats: int, cwd=None) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def worker_boots(repeats: int) -> list[float]:
    import numpy as np

    import kerasnas
    from kerasnas.runtime import ProcessExecutor

    x = np.random.default_rng(0).random((64, 40, 1), dtype="float32")
    y = np.arange(64) % 3
    executor = ProcessExecutor(workers=1, recycle_after=1)
    with tempfile.TemporaryDirectory() as tmp:
        kerasnas.search(
            x,
            y,
            max_trials=repeats,
            epochs=1,
            directory=tmp,
            executor=executor,
            verbose=0,
            space_options={"max_layers": 1},
        )
    return executor.boot_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args()
    python = sys.executable
    cli = [python, "-m", "kerasnas.cli"]
    rows = []

    def row(name: str, times: list[float]) -> None:
        rows.append(
            f"| {name} | {statistics.median(times):.2f} | {min(times):.2f} | {max(times):.2f} |"
        )
        print(rows[-1], flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [*cli, "search", "--data", "mnist1d", "--max-trials", "2", "--epochs", "1"]
            + ["--directory", "runs/s", "--quiet"],
            cwd=tmp,
            capture_output=True,
            check=True,
        )
        row("`import kerasnas`", wall([python, "-c", "import kerasnas"], args.repeats))
        row("`import tensorflow`", wall([python, "-c", "import tensorflow"], args.repeats))
        row("`kerasnas --help`", wall([*cli, "--help"], args.repeats))
        row("`kerasnas search --help`", wall([*cli, "search", "--help"], args.repeats))
        row("`kerasnas summary DIR`", wall([*cli, "summary", "runs/s"], args.repeats, cwd=tmp))
        row("`kerasnas report DIR`", wall([*cli, "report", "runs/s"], args.repeats, cwd=tmp))
    row("worker process, launch to ready", worker_boots(args.repeats))
    body = (
        f"Wall seconds over {args.repeats} runs, each in a fresh interpreter. The machine "
        "was shared with other engineers' jobs while this ran.\n\n"
        "| what | median s | min s | max s |\n|---|---|---|---|\n" + "\n".join(rows)
    )
    if args.record:
        from _results import append_section

        append_section("Start-up: import, CLI and workers", body)
    else:
        print(body)


if __name__ == "__main__":
    main()
