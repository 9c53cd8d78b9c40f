"""The README's main job, run as written, over several seeds.

The first command a new user runs (README, "Set up on a fresh machine") is

```bash
kerasnas search --data mnist1d --space chain --strategy random --max-trials 12 \
    --epochs 15 --directory runs/mnist1d --export exports/mnist1d
```

This script runs exactly that command in a fresh process per seed, adding
only `--seed N` and a fresh search directory and export path under a
temporary directory (so nothing resumes from an earlier run). Each row
records the test accuracy the command prints for the best (exported) model,
the best trial's validation accuracy and architecture, and the command's
wall time, start-up and export included.

Usage:

```bash
python benchmarks/readme_main_job.py --seeds 1,2,3,4     # runs, appends to --out
python benchmarks/readme_main_job.py --summarize          # per seed, median and min
python benchmarks/readme_main_job.py --trials 30 --seeds 1,2 \
    --out benchmarks/results/readme_main_job_30.jsonl       # the same job at 30 trials
```

Rows already in `--out` are skipped, so an interrupted run resumes. The
command runs this checkout's code (`python -m kerasnas.cli`, with the
repository root first on `PYTHONPATH`).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "readme_main_job.jsonl"
README_ARGS = (
    "search --data mnist1d --space chain --strategy random --max-trials {trials} --epochs 15"
)
TEST_LINE = re.compile(r"Best model on test data: (.*)")


def command(seed: int, workdir: pathlib.Path, trials: int = 12) -> list[str]:
    """The README's command for one seed, with directories under `workdir`."""
    return [
        sys.executable,
        "-m",
        "kerasnas.cli",
        *README_ARGS.format(trials=trials).split(),
        "--directory",
        str(workdir / "runs" / "mnist1d"),
        "--export",
        str(workdir / "exports" / "mnist1d"),
        "--seed",
        str(seed),
    ]


def parse_test_metrics(stdout: str) -> dict:
    """The `Best model on test data: k=v, ...` line the CLI prints, as floats."""
    match = TEST_LINE.search(stdout)
    if not match:
        return {}
    pairs = (item.split("=", 1) for item in match.group(1).split(", "))
    return {key.strip(): float(value) for key, value in pairs}


def test_accuracy(test: dict) -> float | None:
    """The accuracy in the CLI's test metrics (named `test_accuracy` or `accuracy`)."""
    return test.get("test_accuracy", test.get("accuracy"))


def best_trial(directory: pathlib.Path) -> dict:
    """The best trial's number, validation metrics and architecture."""
    import kerasnas

    result = kerasnas.load_search(directory)
    best = result.best_trial
    return {
        "best_trial": best.number,
        "best_val_accuracy": best.metrics.get("val_accuracy"),
        "best_params": best.metrics.get("params"),
        "best_architecture": result.space.describe(best.architecture),
        "completed_trials": len(result.completed),
    }


def run_seed(seed: int, trials: int = 12) -> dict:
    """Runs the README command for one seed; returns its row."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAY_USAGE_STATS_ENABLED="0")
    with tempfile.TemporaryDirectory(prefix=f"readme_main_job_{seed}_") as tmp:
        workdir = pathlib.Path(tmp)
        argv = command(seed, workdir, trials)
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"seed {seed} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        test = parse_test_metrics(done.stdout)
        row = {
            "seed": seed,
            "command": "kerasnas " + README_ARGS.format(trials=trials) + f" --seed {seed}",
            "trials": trials,
            "test_accuracy": test_accuracy(test),
            "test_metrics": test,
            "wall_s": round(wall, 1),
            **best_trial(workdir / "runs" / "mnist1d"),
            "exported": (workdir / "exports" / "mnist1d" / "1").is_dir(),
            "load_average_1m": os.getloadavg()[0],
        }
    return row


def load_rows(path: pathlib.Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def summarize(rows: list[dict]) -> str:
    """A Markdown table per seed, then the median and min over seeds."""
    rows = sorted(rows, key=lambda r: r["seed"])
    for r in rows:
        r["test_accuracy"] = test_accuracy(r["test_metrics"])
    lines = [
        "| seed | test accuracy | best val accuracy | wall time | best trial | best architecture |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        minutes, seconds = divmod(round(r["wall_s"]), 60)
        lines.append(
            f"| {r['seed']} | {100 * r['test_accuracy']:.2f} % | "
            f"{100 * r['best_val_accuracy']:.2f} % | {minutes}m{seconds:02d}s | "
            f"#{r['best_trial']} | `{r['best_architecture'].replace(' | ', ', head ')}` |"
        )
    accuracies = [r["test_accuracy"] for r in rows]
    walls = [r["wall_s"] for r in rows]
    lines.append("")
    lines.append(
        f"{len(rows)} seeds ({', '.join(str(r['seed']) for r in rows)}): test accuracy median "
        f"{100 * statistics.median(accuracies):.2f} %, min {100 * min(accuracies):.2f} %, "
        f"max {100 * max(accuracies):.2f} %; wall time median {statistics.median(walls):.0f} s, "
        f"max {max(walls):.0f} s."
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    parser.add_argument(
        "--trials", type=int, default=12, help="--max-trials (the README's is 12)"
    )
    parser.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    parser.add_argument("--summarize", action="store_true", help="print the table and exit")
    args = parser.parse_args(argv)
    if args.summarize:
        rows = load_rows(args.out)
        if not rows:
            raise ValueError(f"No rows to summarize. Received: out={args.out}")
        print(summarize(rows))
        return 0
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    done = {r["seed"] for r in load_rows(args.out)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        if seed in done:
            print(f"seed {seed}: already in {args.out}, skipped")
            continue
        row = run_seed(seed, args.trials)
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
