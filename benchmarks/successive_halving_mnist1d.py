"""Successive halving against full training on MNIST-1D: same quality, less compute?

For each seed, a random search of `--pool` architectures trains every
candidate for the full `--epochs` on MNIST-1D (generated offline); the
first `--trials` of them are the full-training search. In a
sequential search a pruner's decisions depend only on the learning curves,
so replaying these curves through a pruner (`kerasnas.runtime.simulate_pruner`)
gives exactly what the search would have done with it: which trials stop
where, the epochs it trains, and the architecture it selects. For
`--validate-seeds`, the search is also run for real with the pruner, and the
script checks that the simulation matches it trial by trial.

Two comparisons: the pruned search on the same `--trials` architectures,
and the pruned search given at most `--fraction` of full training's epochs
(it then tries more architectures, from the same seeded sequence). Quality
is the validation accuracy of the architecture each method selects, and its
test accuracy after training it for the full budget (as the final model
would be). Compute is counted in training epochs. The script also
reports how well two zero-cost proxies (NASWOT, SynFlow) rank the untrained
architectures, and how well the validation accuracy after 1, 2 and 3 epochs
does (Spearman correlation with the final validation accuracy).

    PYTHONPATH=. python benchmarks/successive_halving_mnist1d.py --seeds 0 1 2 3 4 5 6 7 8 9 \\
        --trials 20 --pool 30 --fraction 0.5 --validate-seeds 0 1 --workdir /tmp/sh-bench

Full-training searches already in `--workdir` are resumed (nothing is
retrained). Prints JSON lines and a summary; benchmarks/RESULTS.md has the figures.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

import kerasnas
from kerasnas.data import load_mnist1d
from kerasnas.evaluation.fit import FitEvaluator, evaluate_model
from kerasnas.runtime import Hyperband, MedianStopping, SuccessiveHalving, simulate_pruner

PRUNERS = {
    "asha(1,3)": lambda epochs: SuccessiveHalving(1, 3),
    "asha(2,3)": lambda epochs: SuccessiveHalving(2, 3),
    "asha(1,2)": lambda epochs: SuccessiveHalving(1, 2),
    "asha(3,4)": lambda epochs: SuccessiveHalving(3, 4),
    "hyperband(1,3)": lambda epochs: Hyperband(1, epochs, 3),
    "median(2,5)": lambda epochs: MedianStopping(2, 5),
}


def search(data, seed, args, directory, pruner=None):
    return kerasnas.search(
        data=data,
        space="chain",
        strategy="random",
        max_trials=args.trials,
        epochs=args.epochs,
        seed=seed,
        directory=directory,
        keep_best_models=0,
        verbose=0,
        executor="local",
        pruner=pruner,
    )


def test_accuracy(result, data, number, epochs, cache):
    """Test accuracy of trial `number`'s architecture trained for the full budget."""
    key = (str(result.directory), number)
    if key not in cache:
        record = result.trial(number)
        evaluator = FitEvaluator(result.builder, data, epochs=epochs)
        model = evaluator.build(record.architecture, record.seed)
        evaluator.fit(model, record.architecture, epochs)
        cache[key] = evaluate_model(model, data.test)["test_accuracy"]
        import keras

        keras.backend.clear_session()
    return cache[key]


def spearman(a, b):
    ra = np.argsort(np.argsort(a))
    rb = np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def proxy_correlations(result, data, trials):
    from kerasnas.proxies import ZeroCostProxy

    finals = [t.metrics["val_accuracy"] for t in trials]
    out = {}
    for name in ("naswot", "synflow"):
        proxy = ZeroCostProxy(name, result.builder, data.train[0][:64])
        scores = [proxy.score(t.architecture, seed=t.seed) for t in trials]
        scores = [s if np.isfinite(s) else -1e9 for s in scores]
        out[name] = {
            "spearman": round(spearman(scores, finals), 3),
            "top1_val": float(finals[int(np.argmax(scores))]),
        }
    for epoch in (1, 2, 3):  # what a few epochs of training tell, for comparison
        early = [t.info["history"]["val_accuracy"][epoch - 1] for t in trials]
        out[f"epoch{epoch}"] = {"spearman": round(spearman(early, finals), 3)}
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20, help="trials of full training")
    parser.add_argument("--pool", type=int, default=30, help="trials a pruned search may use")
    parser.add_argument("--fraction", type=float, default=0.5, help="compute of the pruned search")
    parser.add_argument("--epochs", type=int, default=9)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--validate-seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--workdir", default="sh-bench")
    args = parser.parse_args()
    data = load_mnist1d()
    objective = kerasnas.Objective("val_accuracy")
    cache: dict = {}
    summary = {name: [] for name in PRUNERS}
    proxies = []
    for seed in args.seeds:
        pool_args = argparse.Namespace(**{**vars(args), "trials": args.pool})
        full = search(data, seed, pool_args, os.path.join(args.workdir, f"full_s{seed}"))
        pool = sorted(full.completed, key=lambda t: t.number)
        trials = pool[: args.trials]
        best_full = max(trials, key=lambda t: (t.metrics["val_accuracy"], -t.number))
        full_epochs = sum(len(t.info["history"]["val_accuracy"]) for t in trials)
        full_test = test_accuracy(full, data, best_full.number, args.epochs, cache)
        for name, make in PRUNERS.items():
            # The same trials as full training...
            rows = simulate_pruner(make(args.epochs), trials, objective)
            chosen = max(rows, key=lambda r: (r["value"], -r["number"]))
            # ...and as many trials as fit in `fraction` of full training's epochs.
            budget_rows, spent = [], 0
            for r in simulate_pruner(make(args.epochs), pool, objective):
                if spent + r["epochs"] > args.fraction * full_epochs:
                    break
                spent += r["epochs"]
                budget_rows.append(r)
            matched = max(budget_rows, key=lambda r: (r["value"], -r["number"]))
            row = {
                "seed": seed,
                "pruner": name,
                "compute_ratio": round(sum(r["epochs"] for r in rows) / full_epochs, 3),
                "same_best": chosen["number"] == best_full.number,
                "val_full": round(best_full.metrics["val_accuracy"], 4),
                "val_pruned": round(full.trial(chosen["number"]).metrics["val_accuracy"], 4),
                "test_full": round(full_test, 4),
                "test_pruned": round(
                    test_accuracy(full, data, chosen["number"], args.epochs, cache), 4
                ),
                "budget_trials": len(budget_rows),
                "budget_ratio": round(spent / full_epochs, 3),
                "val_budget": round(full.trial(matched["number"]).metrics["val_accuracy"], 4),
                "test_budget": round(
                    test_accuracy(full, data, matched["number"], args.epochs, cache), 4
                ),
            }
            if name == "asha(1,3)" and seed in args.validate_seeds:
                real = search(
                    data,
                    seed,
                    args,
                    os.path.join(args.workdir, f"asha_s{seed}"),
                    pruner=make(args.epochs),
                )
                budgets = [t.info["budget"] for t in sorted(real.completed, key=lambda t: t.number)]
                row["simulation_matches_real_run"] = budgets == [r["epochs"] for r in rows]
            summary[name].append(row)
            print(json.dumps(row), flush=True)
        proxies.append({"seed": seed, **proxy_correlations(full, data, trials)})
        print(json.dumps(proxies[-1]), flush=True)

    def stats(rows, key):
        values = [r[key] for r in rows]
        return f"{np.median(values):.4f} / {np.mean(values):.4f} / {min(values):.4f}"

    print(
        f"\nfull training, {args.trials} trials: val acc median / mean / min "
        f"{stats(summary['asha(1,3)'], 'val_full')}, test {stats(summary['asha(1,3)'], 'test_full')}"
    )
    for name, rows in summary.items():
        print(
            f"{name:<15} same {args.trials} trials: compute {np.median([r['compute_ratio'] for r in rows]):.3f}, "
            f"same best {sum(r['same_best'] for r in rows)}/{len(rows)}, "
            f"val {stats(rows, 'val_pruned')}, test {stats(rows, 'test_pruned')}\n"
            f"{'':<15} <= {args.fraction:g} compute: trials {np.median([r['budget_trials'] for r in rows]):.0f}, "
            f"compute {np.median([r['budget_ratio'] for r in rows]):.3f}, "
            f"val {stats(rows, 'val_budget')}, test {stats(rows, 'test_budget')}, "
            f"test >= full in {sum(r['test_budget'] >= r['test_full'] for r in rows)}/{len(rows)}"
        )
    for name in ("naswot", "synflow", "epoch1", "epoch2", "epoch3"):
        values = [p[name]["spearman"] for p in proxies]
        print(f"{name}: median Spearman with final val accuracy {np.median(values):.3f} {values}")


if __name__ == "__main__":
    main()
