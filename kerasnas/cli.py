"""The `kerasnas` command line: `search`, `export`, `summary`, `report`.

The command imports TensorFlow only for the work that needs it (`--help`
and `summary` never do), and hides TensorFlow's C++ start-up lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

# The names `--space` and `--strategy` accept, listed in --help (the library checks
# them, with the known names in its error). Both modules import no TensorFlow.
from kerasnas.spaces import SPACE_NAMES
from kerasnas.strategies import STRATEGY_NAMES


def _add_search(sub) -> None:
    p = sub.add_parser(
        "search",
        help="run (or resume) a search",
        description="Run a search; running it again on the same --directory resumes it.",
    )
    p.add_argument("--data", required=True, help="'mnist1d' or 'tfds:NAME' (required)")
    p.add_argument(
        "--space",
        default="chain",
        help="search space: " + ", ".join(SPACE_NAMES) + " (default: chain)",
    )
    p.add_argument(
        "--strategy",
        default=None,
        help="strategy: " + ", ".join(STRATEGY_NAMES) + " (default: bananas; nsga2 with "
        "several objectives)",
    )
    p.add_argument(
        "--objective",
        default=None,
        help="metric to optimise (default: val_accuracy); several, comma-separated, for "
        "multi-objective strategies, e.g. val_accuracy,params",
    )
    p.add_argument(
        "--strategy-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a strategy setting, repeatable (e.g. population_size=20); values are JSON "
        "(default: none, the strategy's defaults)",
    )
    p.add_argument(
        "--space-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a space setting, repeatable (e.g. max_layers=6 or widths=[32,64]); values are "
        "JSON (default: none, the space's defaults)",
    )
    p.add_argument(
        "--training-choices",
        action="store_true",
        help="also search learning rate, optimizer, batch size and weight decay (default: off)",
    )
    p.add_argument("--max-trials", type=int, default=10, help="trials to run in all (default: 10)")
    p.add_argument(
        "--epochs",
        type=int,
        default=15,
        help="training epochs per candidate, at most: early stopping keeps the best epoch "
        "(default: 15)",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=None,
        help="stop a candidate after this many epochs without improvement "
        "(default: max(4, epochs // 3); 0: never)",
    )
    p.add_argument(
        "--steps-per-execution",
        type=int,
        default=None,
        help="training steps per call of the compiled training function, as in Keras' "
        "compile (default: 32; 1 with --distribution-strategy)",
    )
    p.add_argument(
        "--no-warm-start",
        action="store_true",
        help="do not try the space's reference architectures first (default: try them)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="training batch size (default: 64, less for small data sets)",
    )
    p.add_argument(
        "--learning-rate",
        type=float,
        default=3e-3,
        help="the optimizer's (Adam) initial learning rate, decayed along a cosine "
        "(default: 0.003)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the strategy and the trials (default: 0)"
    )
    p.add_argument(
        "--max-params",
        type=int,
        default=None,
        help="reject candidates with more parameters, before training (default: no limit)",
    )
    p.add_argument(
        "--max-flops",
        type=int,
        default=None,
        help="reject candidates with more FLOPs per sample, before training (default: no limit)",
    )
    p.add_argument(
        "--directory",
        default=None,
        help="search directory (journal); default kerasnas_runs/<space>-<strategy>-seed<seed>",
    )
    p.add_argument(
        "--export",
        default=None,
        metavar="BASE_PATH",
        help="export the best model to BASE_PATH/<version>/ when done (default: no export)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="discard a previous search in --directory (default: resume it)",
    )
    p.add_argument("--quiet", action="store_true", help="print only the final lines (default: off)")
    p.add_argument(
        "--verbose", action="store_true", help="also print Keras' training progress (default: off)"
    )
    p.add_argument(
        "--executor",
        default="auto",
        choices=("auto", "local", "process", "ray"),
        help="where trials run: in this process (local), in recycled worker processes "
        "(process; hard time and memory limits) or in Ray actors (ray; on this machine or "
        "a Ray cluster). auto: process for more than 20 trials or with --trial-timeout "
        "(default: auto)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (--executor process) or Ray actors (--executor ray) (default: 1)",
    )
    p.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="--executor ray: 'auto' (the cluster of `ray start`) or ray://HOST:10001; "
        "default: a private Ray on 127.0.0.1",
    )
    p.add_argument(
        "--cpus-per-trial",
        type=float,
        default=1,
        help="--executor ray: CPUs each trial reserves (default: 1)",
    )
    p.add_argument(
        "--gpus-per-trial",
        type=float,
        default=0,
        help="--executor ray: GPUs each trial reserves (default: 0)",
    )
    p.add_argument(
        "--distribution-strategy",
        default=None,
        choices=("mirrored", "one_device"),
        help="train each candidate with this tf.distribute strategy (mirrored: across all "
        "the GPUs the trial sees; default: none, one device)",
    )
    p.add_argument(
        "--max-memory-mb",
        type=float,
        default=None,
        help="--executor process: fail a trial whose worker uses more (default: no limit)",
    )
    p.add_argument(
        "--trial-timeout",
        type=float,
        default=None,
        help="fail a trial after this many seconds (default: no limit)",
    )
    p.add_argument(
        "--pruner",
        default=None,
        choices=("successive_halving", "asha", "hyperband", "median"),
        help="stop unpromising trials early (--epochs is the full budget; default: none)",
    )
    p.add_argument(
        "--min-epochs",
        type=int,
        default=None,
        help="first rung of the pruner (default: the pruner's own)",
    )
    p.add_argument(
        "--proxy",
        default=None,
        choices=("synflow", "naswot"),
        help="rank candidates untrained with this zero-cost proxy and train the best "
        "(default: none)",
    )
    p.add_argument(
        "--proxy-candidates",
        type=int,
        default=8,
        help="candidates ranked per trial by --proxy (default: 8)",
    )
    p.add_argument(
        "--tensorboard",
        nargs="?",
        const=True,
        default=None,
        metavar="LOG_DIR",
        help="write TensorBoard logs (default: none; LOG_DIR defaults to DIRECTORY/tensorboard)",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="write DIRECTORY/report/ (plots + summary) at the end (default: off)",
    )


def _add_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a trial of a finished search as a TF Serving SavedModel",
        description="Write ROOT/NAME/VERSION/ (SavedModel + model card) for a trial.",
    )
    p.add_argument("directory", help="the search directory")
    p.add_argument("--trial", default="best", help="'best' or a trial number (default: best)")
    p.add_argument("--name", default=None, help="model name (default: the search directory's name)")
    p.add_argument(
        "--version",
        type=int,
        default=None,
        dest="export_version",
        help="version number to write (default: the next free one)",
    )
    p.add_argument("--output", default="exports", help="export root (default: exports/)")
    p.add_argument(
        "--retrain-epochs",
        type=int,
        default=None,
        help="retrain from scratch on train+validation for this many epochs first "
        "(default: export the model kept by the search)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an existing version (default: off)"
    )
    p.add_argument(
        "--distribution-strategy",
        default=None,
        choices=("mirrored", "one_device"),
        help="with --retrain-epochs: retrain with this tf.distribute strategy (default: none)",
    )
    p.add_argument(
        "--mixed-precision",
        action="store_true",
        help="compute in float16 (float32 inputs/outputs), for GPUs with tensor cores "
        "(default: off, float32)",
    )
    p.add_argument(
        "--xla",
        action="store_true",
        help="compile the serving functions with XLA (default: off)",
    )
    p.add_argument(
        "--formats",
        default="",
        help="extra formats, comma-separated: keras,tflite,onnx (default: none, SavedModel only)",
    )
    p.add_argument(
        "--no-warmup",
        action="store_true",
        help="do not write TF Serving warmup requests (default: write them)",
    )


def _add_report(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write plots and a one-page summary of a search directory",
        description="Write best-so-far, size-vs-objective and architecture plots (PNG) and "
        "report.md / report.html into DIRECTORY/report/ (or --output).",
    )
    p.add_argument("directory", help="the search directory")
    p.add_argument("--output", default=None, help="where to write (default: DIRECTORY/report)")


def _add_summary(sub) -> None:
    p = sub.add_parser(
        "summary",
        help="print the best trials of a search directory",
        description="Print the best trials of a search directory (reads its journal only).",
    )
    p.add_argument("directory", help="the search directory")
    p.add_argument("--top", type=int, default=10, help="trials to list (default: 10)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `kerasnas` command."""
    parser = argparse.ArgumentParser(
        prog="kerasnas",
        description="Neural architecture search for Keras 3 that emits deployable SavedModels.",
    )
    parser.add_argument(
        "--version", action="store_true", dest="show_version", help="print the version and exit"
    )
    sub = parser.add_subparsers(dest="command")
    _add_search(sub)
    _add_export(sub)
    _add_summary(sub)
    _add_report(sub)
    return parser


def _print_export(info, record, objective) -> None:
    retrained = (info.card or {}).get("retrained")
    if info.reused:
        what = f"Trial #{record.number} was already exported with these options: {info.path}"
    elif retrained:
        test = retrained.get("test_metrics") or {}
        measured = (
            ", ".join(f"{k}={v:.4f}" for k, v in test.items())
            if test
            else "no held-out data to measure it on"
        )
        what = (
            f"Exported trial #{record.number} retrained for {retrained['epochs']} epochs on "
            f"{retrained['data']} ({measured}) to {info.path}"
        )
    else:
        value = objective.value(record.metrics)
        what = f"Exported trial #{record.number} ({objective.name}={value:.4f}) to {info.path}"
    if not info.reused:
        what += f" (reloaded and verified: max |difference| {info.max_abs_diff:.2g})"
    print(what)
    for warning in info.warnings:
        print(f"Warning: {warning}.")


def parse_options(pairs, flag: str) -> dict:
    """Turns `["k=v", ...]` into a dict, reading each value as JSON when it parses.

    Raises:
        ValueError: for an item without `=`, naming the flag.
    """
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} takes KEY=VALUE. Received: {flag} {pair!r}")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def parse_objective(text):
    """`"a,b"` → `["a", "b"]`; a single name stays a string; None stays None."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    return names[0] if len(names) == 1 else names


def run_search(args) -> int:
    import kerasnas

    verbose = 0 if args.quiet else (2 if args.verbose else 1)
    executor, workers = args.executor, args.workers
    if executor == "ray":
        from kerasnas.runtime.ray_executor import RayExecutor

        executor = RayExecutor(
            workers=workers or 1,
            address=args.ray_address,
            num_cpus=args.cpus_per_trial,
            num_gpus=args.gpus_per_trial,
        )
        workers = None
    elif args.ray_address is not None:
        raise ValueError(
            f"--ray-address is for --executor ray. Received: --executor {args.executor}"
        )
    result = kerasnas.search(
        data=args.data,
        space=args.space,
        strategy=args.strategy,
        objective=parse_objective(args.objective),
        strategy_options=parse_options(args.strategy_option, "--strategy-option") or None,
        space_options=parse_options(args.space_option, "--space-option") or None,
        training_choices=True if args.training_choices else None,
        max_trials=args.max_trials,
        epochs=args.epochs,
        patience=args.patience,
        steps_per_execution=args.steps_per_execution,
        warm_start=not args.no_warm_start,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        max_params=args.max_params,
        max_flops=args.max_flops,
        directory=args.directory,
        overwrite=args.overwrite,
        verbose=verbose,
        executor=executor,
        workers=workers,
        max_memory_mb=args.max_memory_mb,
        distribution_strategy=args.distribution_strategy,
        trial_timeout=args.trial_timeout,
        pruner=args.pruner,
        pruner_options={"min_epochs": args.min_epochs} if args.min_epochs else None,
        proxy=args.proxy,
        proxy_candidates=args.proxy_candidates,
        tensorboard=args.tensorboard,
    )
    best = result.best_trial
    result.summary(top=5)
    test = result.test_metrics()
    if test:
        print("Best model on test data: " + ", ".join(f"{k}={v:.4f}" for k, v in test.items()))
    print(f"Search directory (resume by running the same command): {result.directory}")
    if args.report:
        from kerasnas.report import write_report

        paths = write_report(result.directory)
        print(f"Report: {paths['html']} and {paths['markdown']}")
    if args.export:
        info = result.export(args.export)
        _print_export(info, best, result.objective)
        print(f"Serve it with TensorFlow Serving: --model_base_path={os.path.abspath(args.export)}")
    return 0


def export_options(args) -> dict:
    """The `export` flags as `SearchResult.export` options."""
    formats = tuple(name.strip() for name in args.formats.split(",") if name.strip())
    return {
        "mixed_precision": args.mixed_precision,
        "jit_compile": args.xla,
        "warmup": False if args.no_warmup else "auto",
        "formats": formats,
    }


def run_export(args) -> int:
    import kerasnas

    result = kerasnas.load_search(args.directory)
    record = result.select(args.trial)
    name = args.name or os.path.basename(os.path.normpath(args.directory))
    if args.retrain_epochs:
        print(
            f"Retraining trial #{record.number} on training + validation data "
            f"for {args.retrain_epochs} epochs..."
        )
    info = result.export(
        os.path.join(args.output, name),
        trial=record.number,
        version=args.export_version,
        overwrite=args.overwrite,
        retrain_epochs=args.retrain_epochs,
        distribution_strategy=args.distribution_strategy,
        **export_options(args),
    )
    _print_export(info, record, result.objective)
    return 0


def run_report(args) -> int:
    from kerasnas._native_logs import filtered_stderr
    from kerasnas.report import write_report

    # TensorFlow loads only to draw the layers of a search that built models.
    with filtered_stderr():
        paths = write_report(args.directory, args.output)
    for key in ("best_so_far", "size", "architecture", "markdown", "html"):
        if key in paths:
            print(f"{key:>13}: {paths[key]}")
    return 0


def run_summary(args) -> int:
    import kerasnas

    kerasnas.load_search(args.directory).summary(top=args.top)
    return 0


#: Commands that train or export models, so import TensorFlow up front (quietly).
_NEEDS_TENSORFLOW = ("search", "export")


def main(argv=None) -> int:
    """Entry point of the `kerasnas` command."""
    # Before TensorFlow is imported (here or in worker processes, which inherit it):
    # hide its C++ info and warning lines. A user's own setting wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.show_version:
        from kerasnas.version import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    handlers = {
        "search": run_search,
        "export": run_export,
        "summary": run_summary,
        "report": run_report,
    }
    from kerasnas.errors import KerasNASError

    try:
        if args.command in _NEEDS_TENSORFLOW:
            from kerasnas._native_logs import import_tensorflow_quietly

            import_tensorflow_quietly()
        return handlers[args.command](args)
    except (
        KerasNASError,
        ValueError,
        FileNotFoundError,
        FileExistsError,
        PermissionError,
        NotADirectoryError,
    ) as e:
        print(f"kerasnas {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
