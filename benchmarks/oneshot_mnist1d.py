"""One-shot NAS on MNIST-1D: cost and quality against aging evolution, and DARTS collapse.

Measures, in one run and one space (NAS-Bench-201 cells on MNIST-1D
sequences: 3 stages of 1 cell, 16 channels, the 5 NB201 operations):

1. For SPOS, DARTS (with the DARTS- mitigation) and ENAS: the one-shot search
   time (supernet construction and training plus derivation, from the
   journal's `oneshot_finished.search_time_s`) against the time to train the
   derived model once (the retraining trial's duration), and the retrained
   model's validation and test accuracy.
2. Aging evolution in the same space, every candidate trained like the final
   models, until its trials have used `--budget-factor` (10) times the
   longest one-shot search time. For each one-shot method, the best
   evolution model (by validation accuracy) found within 10 times *that
   method's* search time is compared on test accuracy.
3. DARTS collapse: plain DARTS against DARTS- (auxiliary skip), both searched
   `--collapse-epochs` epochs, tracking the share of edges whose strongest
   operation is parameter-free (none, skip, pooling), then retrained.

Run: `python benchmarks/oneshot_mnist1d.py --record` (about 30-40 minutes on 2
shared cores); `--quick` for a smoke run of a minute or two.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from _results import append_section  # noqa: E402

import kerasnas  # noqa: E402
from kerasnas.builder import ModelBuilder  # noqa: E402
from kerasnas.data import load_mnist1d  # noqa: E402
from kerasnas.evaluation import FitEvaluator  # noqa: E402
from kerasnas.runtime.journal import Journal  # noqa: E402
from kerasnas.spaces import NB201_OPERATIONS, EdgeCellSpace  # noqa: E402
from kerasnas.strategies import RegularizedEvolution  # noqa: E402

PARAMETER_FREE = ("none", "skip_connect", "avg_pool_3x3")


def make_space(quick: bool) -> EdgeCellSpace:
    return EdgeCellSpace(
        NB201_OPERATIONS,
        channels=8 if quick else 16,
        cells_per_stage=1,
        num_stages=2 if quick else 3,
        name="nb201_mnist1d",
    )


def events(directory, kind):
    return [e for e in Journal(directory).events() if e["event"] == kind]


def parameter_free_share(space, arch) -> float:
    """Share of the cell's edges whose operation is parameter-free."""
    values = [arch[d.name] for d in space.decisions]
    return float(np.mean([v in PARAMETER_FREE for v in values]))


def run_one_shot(name, strategy, options, space, data, args, root):
    directory = root / name
    start = time.time()
    result = kerasnas.search(
        data.train[0],
        data.train[1],
        validation_data=data.validation,
        test_data=data.test,
        space=space,
        strategy=strategy,
        strategy_options=options,
        epochs=args.final_epochs,
        batch_size=args.batch_size,
        directory=directory,
        seed=args.seed,
        overwrite=True,
        verbose=args.verbose,
    )
    wall = time.time() - start
    (finished,) = events(directory, "oneshot_finished")
    epochs = events(directory, "oneshot_epoch")
    trial = result.best_trial
    test = result.test_metrics()["test_accuracy"]
    arch = result.best_architecture
    row = {
        "name": name,
        "search_s": float(finished["search_time_s"]),
        "final_s": float(trial.duration_s),
        "fit_s": float(trial.metrics["train_time_s"]),
        "val": float(trial.metrics["val_accuracy"]),
        "test": float(test),
        "params": int(trial.metrics["params"]),
        "cell": space.to_string(arch),
        "free": parameter_free_share(space, arch),
        "wall_s": wall,
        "share_by_epoch": [e["metrics"].get("parameter_free_share") for e in epochs],
        "mixed_val": [e["metrics"].get("val_accuracy") for e in epochs],
    }
    row["ratio"] = row["search_s"] / row["final_s"]
    print(
        f"{name}: search {row['search_s']:.1f}s, final model {row['final_s']:.1f}s "
        f"(ratio {row['ratio']:.2f}), val {row['val']:.4f}, test {row['test']:.4f}, "
        f"cell {row['cell']}",
        flush=True,
    )
    return row


def run_evolution(space, data, args, root, budget_s):
    builder = ModelBuilder(space, data.input_shape, data.task, data.normalization)
    evaluator = FitEvaluator(builder, data, epochs=args.final_epochs, batch_size=args.batch_size)
    strategy = RegularizedEvolution(population_size=args.population, sample_size=args.tournament)
    directory = root / "evolution"
    search = kerasnas.Search(
        space,
        strategy,
        evaluator,
        "val_accuracy",
        directory,
        max_trials=1,
        seed=args.seed,
        builder=builder,
        data=data,
        overwrite=True,
        keep_best_models=10_000,
        verbose=0,
    )
    used = 0.0
    result = None
    while used < budget_s:
        result = search.run()
        used = sum(t.duration_s for t in result.trials)
        last = result.trials[-1]
        print(
            f"evolution trial {last.number}: val {last.metrics.get('val_accuracy', 0):.4f} "
            f"{last.duration_s:.1f}s, used {used:.0f}/{budget_s:.0f}s, best {result.best_value:.4f}",
            flush=True,
        )
        search.max_trials += 1
    return result


def best_within(result, seconds):
    """The best trial (by validation accuracy) among the first trials that fit in `seconds`.

    Returns `(trial, number of trials that fit)`.
    """
    used, best, count = 0.0, None, 0
    for trial in result.trials:
        used += trial.duration_s
        if used > seconds + 1e-9:
            break
        count += 1
        if trial.ok and (
            best is None or trial.metrics["val_accuracy"] > best.metrics["val_accuracy"]
        ):
            best = trial
    return best, count


MITIGATIONS = (
    ("plain DARTS", "none"),
    ("DARTS- (auxiliary skip)", "auxiliary_skip"),
    ("DARTS+ (early stop)", "early_stop"),
    ("DARTS- and DARTS+ (default)", "auxiliary_skip+early_stop"),
)


def collapse_section(space, data, args, root):
    """Plain DARTS against each mitigation, same epochs and architecture learning rate."""
    began = time.time()
    rows = []
    for label, mitigation in MITIGATIONS:
        options = {
            "epochs": args.collapse_epochs,
            "mitigation": mitigation,
            "arch_learning_rate": args.collapse_arch_lr,
        }
        rows.append(run_one_shot(label, "darts", options, space, data, args, root))
        (finished,) = events(root / label, "oneshot_finished")
        rows[-1]["stopped"] = finished["scores"][0].get("early_stopped_at_epoch")
    lines = [
        f"Space and data as in the section above (`EdgeCellSpace(NB201_OPERATIONS, channels="
        f"{space.channels}, cells_per_stage=1, num_stages={space.num_stages})` on MNIST-1D). "
        f"Each search: {args.collapse_epochs} supernet epochs, architecture learning rate "
        f"{args.collapse_arch_lr:g} (DARTS uses 3e-4; the larger rate stands in for a search "
        f"about ten times longer), seed {args.seed}; each derived cell retrained "
        f"{args.final_epochs} epochs. The parameter-free share is the share of the 6 edges "
        "whose strongest operation is none, skip or average pooling, after each epoch. "
        "Machine shared with other benchmarks (load about 3.5-4 on 2 cores). Whole "
        f"comparison: {(time.time() - began) / 60:.1f} min.",
        "",
        "| search | parameter-free share by epoch | stopped at epoch | derived cell | "
        "parameter-free edges | retrained val | retrained test | search s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        shares = ", ".join(f"{v:.2f}" for v in r["share_by_epoch"])
        lines.append(
            f"| {r['name']} | {shares} | {r['stopped'] or '-'} | `{r['cell']}` | "
            f"{r['free']:.2f} | {r['val']:.4f} | {r['test']:.4f} | {r['search_s']:.0f} |"
        )
    body = "\n".join(lines)
    print(body)
    if args.record:
        append_section("DARTS collapse on MNIST-1D: plain DARTS against each mitigation", body)


def reseed_section(space, data, args, source: pathlib.Path):
    """Retrains the architectures a finished run compared with more weight seeds."""
    from kerasnas.evaluation.fit import evaluate_model
    from kerasnas.result import load_search

    began = time.time()
    builder = ModelBuilder(space, data.input_shape, data.task, data.normalization)
    evaluator = FitEvaluator(builder, data, epochs=args.final_epochs, batch_size=args.batch_size)
    evolution = load_search(source / "evolution", data=data)
    rows = []
    for name in ("SPOS", "DARTS- (auxiliary skip)", "ENAS"):
        folder = source / name
        (finished,) = events(folder, "oneshot_finished")
        original = load_search(folder, data=data)
        best, trials = best_within(evolution, args.budget_factor * finished["search_time_s"])
        rows.append((name, original.best_trial.architecture, original.test_metrics()))
        rows.append(
            (
                f"evolution best within 10x {name} ({trials} trials)",
                best.architecture,
                evolution.test_metrics(best.number),
            )
        )
    results = {}
    for label, arch, first in rows:
        key = space.canonical_key(arch)
        if key not in results:
            tests = [first["test_accuracy"]]
            for seed in range(1, args.retrain_seeds + 1):
                model = evaluator.build(arch, seed)
                evaluator.fit(model, arch, args.final_epochs)
                tests.append(evaluate_model(model, data.test)["test_accuracy"])
                print(f"{label}: seed {seed} test {tests[-1]:.4f}", flush=True)
            results[key] = tests
    lines = [
        f"The architectures compared in the section above (read from its run directory), "
        f"each retrained {args.retrain_seeds} more times from scratch with weight seeds 1-"
        f"{args.retrain_seeds} ({args.final_epochs} epochs, as before), to separate the "
        "architectures' quality from the noise of one training run. Test accuracy on the "
        f"1,000 MNIST-1D test sequences; mean of {args.retrain_seeds + 1} runs (the original "
        f"one and the new ones). {(time.time() - began) / 60:.1f} min, same shared machine.",
        "",
        "| model | cell | test accuracy per run | mean | std |",
        "|---|---|---|---|---|",
    ]
    means = {}
    for label, arch, _ in rows:
        tests = results[space.canonical_key(arch)]
        means[label] = float(np.mean(tests))
        lines.append(
            f"| {label} | `{space.to_string(arch)}` | {', '.join(f'{t:.3f}' for t in tests)} | "
            f"{np.mean(tests):.4f} | {np.std(tests, ddof=1):.4f} |"
        )
    lines.append("")
    for i in range(0, len(rows), 2):
        gap = 100 * (means[rows[i][0]] - means[rows[i + 1][0]])
        lines.append(
            f"- {rows[i][0]}: mean test gap to evolution {gap:+.2f} points (target >= -1)."
        )
    body = "\n".join(lines)
    print(body)
    if args.record:
        append_section("One-shot NAS on MNIST-1D: retraining seeds", body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--final-epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--spos-epochs", type=int, default=20)
    parser.add_argument("--darts-epochs", type=int, default=8)
    parser.add_argument("--enas-epochs", type=int, default=15)
    parser.add_argument("--collapse-epochs", type=int, default=24)
    parser.add_argument("--collapse-arch-lr", type=float, default=3e-3)
    parser.add_argument("--budget-factor", type=float, default=10.0)
    parser.add_argument("--population", type=int, default=10)
    parser.add_argument("--tournament", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument(
        "--collapse-only",
        action="store_true",
        help="only the DARTS collapse comparison, with every mitigation",
    )
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    parser.add_argument("--root", default="runs/bench_oneshot")
    parser.add_argument(
        "--reseed-from",
        default=None,
        help="retrain the architectures of a finished run (its --root) with more seeds",
    )
    parser.add_argument("--retrain-seeds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.quick:
        args.final_epochs, args.spos_epochs, args.darts_epochs = 2, 2, 1
        args.enas_epochs, args.collapse_epochs, args.budget_factor = 1, 2, 1.0
        args.population, args.tournament = 2, 2
    data = load_mnist1d(seed=args.seed)
    if args.quick:
        x, y = data.train
        data.train = (x[:600], y[:600])
    space = make_space(args.quick)
    if args.reseed_from:
        reseed_section(space, data, args, pathlib.Path(args.reseed_from))
        return
    root = pathlib.Path(args.root)
    shutil.rmtree(root, ignore_errors=True)
    began = time.time()

    methods = [
        ("SPOS", "spos", {"epochs": args.spos_epochs, "candidates": 100}),
        (
            "DARTS- (auxiliary skip)",
            "darts",
            {"epochs": args.darts_epochs, "mitigation": "auxiliary_skip"},
        ),
        ("ENAS", "enas", {"epochs": args.enas_epochs, "controller_steps": 5}),
    ]
    if args.collapse_only:
        collapse_section(space, data, args, root)
        return
    rows = [run_one_shot(n, s, o, space, data, args, root) for n, s, o in methods]

    collapse = []
    for label, mitigation in (
        ("plain DARTS", "none"),
        ("DARTS- (auxiliary skip)", "auxiliary_skip"),
    ):
        options = {
            "epochs": args.collapse_epochs,
            "mitigation": mitigation,
            "arch_learning_rate": args.collapse_arch_lr,
        }
        collapse.append(
            run_one_shot(
                f"{label}, {args.collapse_epochs} epochs", "darts", options, space, data, args, root
            )
        )

    budget = args.budget_factor * max(r["search_s"] for r in rows)
    evolution = run_evolution(space, data, args, root, budget)
    for row in rows:
        best, row["evo_trials"] = best_within(evolution, args.budget_factor * row["search_s"])
        row["evo_val"] = best.metrics["val_accuracy"]
        row["evo_test"] = evolution.test_metrics(best.number)["test_accuracy"]
        row["evo_cell"] = space.to_string(best.architecture)
        row["gap"] = 100 * (row["test"] - row["evo_test"])
    total = time.time() - began

    lines = [
        f"Space: NAS-Bench-201 cells on MNIST-1D (`EdgeCellSpace(NB201_OPERATIONS, channels="
        f"{space.channels}, cells_per_stage=1, num_stages={space.num_stages})`, "
        f"{space.size():,} cells); {len(data.train[0]):,} training / {len(data.validation[0]):,} "
        f"validation / {len(data.test[0]):,} test sequences; "
        f"every final model and every evolution candidate is trained {args.final_epochs} "
        f"epochs, batch {args.batch_size}, Adam 1e-3; seed {args.seed}; one run, one seed "
        f"per method. Whole benchmark: {total / 60:.1f} min. The machine was shared with "
        "other helpers' benchmarks while this ran (load average about 3.5-4 on 2 cores), so "
        "absolute times are inflated and noisy; each ratio compares times taken minutes apart.",
        "",
        "| method | one-shot search s | final model once s | ratio (target <= 3) | retrained val | "
        f"retrained test | evolution best test within {args.budget_factor:g}x search (trials) | "
        "test gap, points (target >= -1) | derived cell |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['search_s']:.1f} | {r['final_s']:.1f} | {r['ratio']:.2f} | "
            f"{r['val']:.4f} | {r['test']:.4f} | {r['evo_test']:.4f} ({r['evo_trials']}) | "
            f"{r['gap']:+.1f} | `{r['cell']}` |"
        )
    lines += [
        "",
        f"Evolution (population {args.population}, tournament {args.tournament}): "
        f"{len(evolution.trials)} trials in {sum(t.duration_s for t in evolution.trials):.0f}s; "
        f"best val {evolution.best_value:.4f} "
        f"(test {evolution.test_metrics()['test_accuracy']:.4f}), cell "
        f"`{space.to_string(evolution.best_architecture)}`.",
        "",
        f"DARTS collapse ({args.collapse_epochs} supernet epochs each, architecture learning "
        f"rate {args.collapse_arch_lr:g} (DARTS uses 3e-4; the larger rate stands in for a "
        "search about ten times longer); share of the 6 edges whose strongest operation is "
        "parameter-free (none, skip, average pooling), after each epoch):",
        "",
        "| search | parameter-free share by epoch | mixed supernet val acc (last) | derived cell | "
        "parameter-free edges | retrained val | retrained test |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in collapse:
        shares = ", ".join(f"{s:.2f}" for s in r["share_by_epoch"])
        lines.append(
            f"| {r['name']} | {shares} | {r['mixed_val'][-1]:.4f} | `{r['cell']}` | "
            f"{r['free']:.2f} | {r['val']:.4f} | {r['test']:.4f} |"
        )
    body = "\n".join(lines)
    print(body)
    if args.record:
        append_section("One-shot NAS on MNIST-1D: cost, quality, DARTS collapse", body)


if __name__ == "__main__":
    main()
