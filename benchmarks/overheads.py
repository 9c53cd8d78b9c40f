"""kerasnas's own costs around training: proposals, model building, export, per-trial overhead.

Four measurements, each in this one process unless said otherwise:

1. Proposal latency per strategy (`proposal_latency.time_strategy`): the
   median `ask()` after `--history` simulated trials on NAS-Bench-Macro,
   for random search, aging evolution, NSGA-II and the RL controller.
2. Model build time per candidate for each kind of space: `--builds` random
   architectures of every named space (`kerasnas.spaces.SPACE_NAMES`), each
   built and compiled by `ModelBuilder` (the Keras functional model with the
   normalisation layer and the head), on MNIST-1D's input shape (40, 1)
   except the image-only presets (NAS-Bench-Macro, NAS-Bench-201, DARTS) on
   (32, 32, 3). Median and 90th percentile.
3. Export time: one trained MNIST-1D chain model exported `--exports` times
   with `SearchResult.export` (SavedModel write, warmup requests, model card,
   reload and verification).
4. Per-trial overhead outside `fit`, for the local and the worker-process
   executor: `--trials` small MNIST-1D trials (one epoch), and per trial
   (search wall time - time inside `model.fit`) / trials, plus the part of it
   inside the trial itself (record duration - fit time: build, cost counting,
   latency measurement, saving the model). The process executor's figure
   includes starting its worker (importing TensorFlow), spread over the trials.

    python benchmarks/overheads.py --record
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

IMAGE_ONLY = ("nas_bench_macro", "nas_bench_201", "darts")


def proposal_rows(history: int, calls: int) -> list[str]:
    from nas_bench_macro_strategies import STRATEGIES
    from proposal_latency import time_strategy

    from kerasnas.tabular import NasBenchMacro

    table = NasBenchMacro()
    rows = []
    for name, factory in STRATEGIES.items():
        median, p90, cold = time_strategy(
            factory, table.space, table.evaluator(), ["accuracy"], history, calls
        )
        rows.append(f"| {name} | {median:.3f} | {p90:.3f} | {cold:.1f} |")
        print(rows[-1], flush=True)
    return rows


def build_rows(builds: int) -> list[str]:
    import keras

    import kerasnas
    from kerasnas.builder import ModelBuilder
    from kerasnas.builder.task import Task

    task = Task.infer(np.arange(20) % 10)  # 10 classes, integer labels
    rows = []
    for name in kerasnas.spaces.SPACE_NAMES:
        shape = (32, 32, 3) if name in IMAGE_ONLY else (40, 1)
        space = kerasnas.spaces.get(name, input_shape=shape)
        builder = ModelBuilder(space, shape, task)
        rng = np.random.default_rng(0)
        times, params = [], []
        for i in range(builds + 1):
            arch = space.sample(rng)
            start = time.perf_counter()
            model = builder.compile(builder.build(arch), arch)
            elapsed = time.perf_counter() - start
            if i:  # the first build pays one-time imports and tracing
                times.append(elapsed * 1000)
                params.append(model.count_params())
            keras.backend.clear_session()
        rows.append(
            f"| {name} | {space.kind} | {shape} | {np.median(times):.0f} | "
            f"{np.percentile(times, 90):.0f} | {int(np.median(params)):,} |"
        )
        print(rows[-1], flush=True)
    return rows


def search_mnist1d(directory, executor, trials, data):
    import kerasnas

    space = kerasnas.spaces.ChainSpace(max_layers=3, widths=(16, 32))
    start = time.perf_counter()
    result = kerasnas.search(
        data.train[0],
        data.train[1],
        validation_data=data.validation,
        space=space,
        strategy="random",
        max_trials=trials,
        epochs=1,
        directory=directory,
        executor=executor,
        keep_best_models=1,
        overwrite=True,
        verbose=0,
    )
    return result, time.perf_counter() - start


def export_rows(exports: int, data) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        result, _ = search_mnist1d(f"{tmp}/search", "local", 1, data)
        times = []
        for i in range(exports):
            start = time.perf_counter()
            result.export(f"{tmp}/export", version=i + 1)
            times.append(time.perf_counter() - start)
    params = int(result.best_trial.metrics["params"])
    row = (
        f"| {params:,} | {times[0]:.2f} | {np.median(times[1:] or times):.2f} | "
        f"{', '.join(f'{t:.2f}' for t in times)} |"
    )
    print(row, flush=True)
    return [row]


def trial_rows(trials: int, data) -> list[str]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for executor in ("local", "process"):
            result, wall = search_mnist1d(f"{tmp}/{executor}", executor, trials, data)
            done = [t for t in result.trials if t.ok]
            fit = np.array([t.metrics["train_time_s"] for t in done])
            inside = np.array([t.duration_s for t in done]) - fit
            outside_all = (wall - fit.sum()) / len(done)
            rows.append(
                f"| {executor} | {len(done)} | {wall:.1f} | {np.median(fit):.2f} | "
                f"{outside_all:.2f} | {np.median(inside):.2f} |"
            )
            print(rows[-1], flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--builds", type=int, default=10)
    parser.add_argument("--exports", type=int, default=3)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if min(args.history, args.calls, args.builds, args.exports, args.trials) < 1:
        parser.error(f"every count must be >= 1. Received: {vars(args)}")
    from kerasnas.data import load_mnist1d

    began = time.time()
    load = os.getloadavg()[0]
    data = load_mnist1d()
    proposals = proposal_rows(args.history, args.calls)
    builds = build_rows(args.builds)
    exports = export_rows(args.exports, data)
    trials = trial_rows(args.trials, data)
    body = "\n".join(
        [
            f"Load average (1 min) at the start: {load:.1f}; whole run "
            f"{(time.time() - began) / 60:.1f} min.",
            "",
            f"Proposal latency on NAS-Bench-Macro after {args.history} trials ({args.calls} "
            "`ask()` calls each, then evaluated and told; cold = the first `ask` of a fresh "
            "strategy object on the whole history, as after a resume; the RL strategy keeps "
            "its compiled controller between searches, so its cold figure excludes tracing, "
            "about 10 s once per process):",
            "",
            "| strategy | median ms | p90 ms | cold ms |",
            "|---|---|---|---|",
            *proposals,
            "",
            f"Model build + compile time per candidate ({args.builds} random architectures "
            "per space after one warm-up build; `keras.backend.clear_session()` between):",
            "",
            "| space | kind | input | median ms | p90 ms | median params |",
            "|---|---|---|---|---|---|",
            *builds,
            "",
            "Export time of a trained MNIST-1D chain model (`SearchResult.export`: SavedModel, "
            "warmup requests, model card with CPU latency at batch 1/32/256, reload and check), "
            "seconds:",
            "",
            "| params | first export s | median of the others s | each s |",
            "|---|---|---|---|",
            *exports,
            "",
            f"Per-trial overhead outside `fit` ({args.trials} random chain trials, 1 epoch on "
            "MNIST-1D, `keep_best_models=1`, default latency measurement): search wall time "
            "minus the time inside `model.fit`, per trial; and the part spent building the model "
            "and counting its parameters and FLOPs (the rest: latency measurement, saving the "
            "kept model, journal writes, proposing, clearing the session):",
            "",
            "| executor | trials | search wall s | median fit s | overhead per trial s | "
            "of which build + cost counting s |",
            "|---|---|---|---|---|---|",
            *trials,
        ]
    )
    print(body)
    if args.record:
        from _results import append_section

        append_section("Overheads: proposals, model building, export, per-trial", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
