"""The default search (no options) against classic baselines on five offline data sets.

What a new user gets from `kerasnas.search(x, y, validation_data=..., max_trials=N)`
with every other setting at its default, compared with the model they would
write by hand, on data of different kinds:

| data set | kind | task | classic baselines |
|---|---|---|---|
| `mnist1d` | sequences (40, 1) | 10 classes | small CNN, MLP |
| `mnist1d_shuffled` | sequences, positions permuted (one fixed permutation) | 10 classes | MLP, small CNN |
| `vectors` | vectors (20,), clusters at hypercube vertices, 2% label noise | 4 classes | MLP, logistic regression |
| `friedman` | vectors (10,), Friedman #1 scaled to targets of 100-400 | regression | ridge regression (closed form, lambda tuned on validation), MLP |
| `shapes` | images (16, 16, 1): six kinds of noisy shapes | 6 classes | small CNN, MLP |

Every data set is generated offline (MNIST-1D by the `mnist1d` package).
Each model is selected on a validation split of at least 800 samples and
scored on a separate test split. The neural baselines train with the
same recipe as the search's candidates (Adam, 3e-3 with cosine decay,
best validation epoch kept, the same epochs) and the same seed, so a
row's search-minus-baseline difference is paired.

Usage:

```bash
python benchmarks/defaults.py --trials 10 --seeds 0,1,2        # runs, appends to --out
python benchmarks/defaults.py --summarize                      # medians, paired differences
```

Rows already in `--out` are skipped, so an interrupted run resumes.
`benchmarks/defaults_peers.py` runs KerasTuner and AutoKeras with their
own defaults on the same splits and budgets; `--summarize` then adds a
table of the default search against each of them, paired by seed.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

DATASETS = ("mnist1d", "mnist1d_shuffled", "vectors", "friedman", "shapes")
HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "defaults.jsonl"


# ----------------------------------------------------------------- data sets
@dataclasses.dataclass
class Split:
    train: tuple
    validation: tuple
    test: tuple


def _split(x, y, n_val, n_test, seed) -> Split:
    order = np.random.default_rng(seed).permutation(len(x))
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return Split((x[train], y[train]), (x[val], y[val]), (x[test], y[test]))


def mnist1d(shuffled: bool = False) -> Split:
    """MNIST-1D: 4,000 training sequences (800 held out for validation), 1,000 test."""
    from mnist1d.data import get_dataset_args, make_dataset

    raw = make_dataset(get_dataset_args())
    x = np.asarray(raw["x"], "float32")[..., None]
    x_test = np.asarray(raw["x_test"], "float32")[..., None]
    if shuffled:
        permutation = np.random.default_rng(1234).permutation(x.shape[1])
        x, x_test = x[:, permutation], x_test[:, permutation]
    y, y_test = np.asarray(raw["y"], "int32"), np.asarray(raw["y_test"], "int32")
    order = np.random.default_rng(0).permutation(len(x))
    val, train = order[:800], order[800:]
    return Split((x[train], y[train]), (x[val], y[val]), (x_test, y_test))


def vectors(n: int = 5000, seed: int = 0) -> Split:
    """Like scikit-learn's make_classification: 2 clusters per class at hypercube vertices.

    20 features: 8 informative, 4 linear combinations of them, 8 noise; 4 classes.
    """
    rng = np.random.default_rng(seed)
    classes, clusters, informative = 4, 2, 8
    vertices = rng.choice([-1.0, 1.0], size=(classes * clusters, informative))
    labels = rng.integers(0, classes * clusters, size=n)
    xi = vertices[labels] + rng.normal(size=(n, informative))
    xi = xi @ rng.normal(size=(informative, informative)) * 0.5  # correlated clusters
    redundant = xi @ rng.normal(size=(informative, 4))
    noise = rng.normal(size=(n, 8))
    x = np.concatenate([xi, redundant, noise], axis=1)[:, rng.permutation(20)]
    y = labels % classes
    flip = rng.random(n) < 0.02
    y[flip] = rng.integers(0, classes, size=flip.sum())
    return _split(x.astype("float32"), y.astype("int32"), 1000, 1000, seed)


def friedman(n: int = 4000, seed: int = 0) -> Split:
    """Friedman #1 with 10 features (5 irrelevant), targets scaled to about 100-400."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 10))
    y = (
        10 * np.sin(np.pi * x[:, 0] * x[:, 1])
        + 20 * (x[:, 2] - 0.5) ** 2
        + 10 * x[:, 3]
        + 5 * x[:, 4]
        + rng.normal(size=n)
    )
    return _split(x.astype("float32"), (100 + 10 * y).astype("float32"), 1000, 1000, seed)


def shapes(n: int = 5000, size: int = 16, seed: int = 0) -> Split:
    """16x16 grey images of six shapes at random places and sizes, with noise.

    Classes: filled square, hollow square, filled disc, ring, cross, triangle.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.zeros((n, size, size), "float32")
    labels = rng.integers(0, 6, size=n)
    for i, label in enumerate(labels):
        r = rng.uniform(2.5, 5.0)
        cy, cx = rng.uniform(r, size - r, size=2)
        dy, dx = np.abs(yy - cy), np.abs(xx - cx)
        dist = np.hypot(yy - cy, xx - cx)
        if label == 0:
            mask = (dy <= r) & (dx <= r)
        elif label == 1:
            mask = (np.maximum(dy, dx) <= r) & (np.maximum(dy, dx) >= r - 1.2)
        elif label == 2:
            mask = dist <= r
        elif label == 3:
            mask = (dist <= r) & (dist >= r - 1.2)
        elif label == 4:
            mask = ((dy <= 0.8) & (dx <= r)) | ((dx <= 0.8) & (dy <= r))
        else:
            mask = (yy - cy <= r) & (yy - cy >= -r) & (dx <= (yy - cy + r) / 2)
        images[i][mask] = rng.uniform(0.5, 1.0)
    images += rng.normal(scale=0.35, size=images.shape).astype("float32")
    return _split(images[..., None], labels.astype("int32"), 1000, 1000, seed)


def load(name: str) -> Split:
    return {
        "mnist1d": lambda: mnist1d(False),
        "mnist1d_shuffled": lambda: mnist1d(True),
        "vectors": vectors,
        "friedman": friedman,
        "shapes": shapes,
    }[name]()


# ----------------------------------------------------------------- baselines
def _layers(*specs):
    arch = {"num_layers": len(specs), "head.pooling": "global_avg"}
    for i, spec in enumerate(specs):
        for key, value in spec.items():
            arch[f"layer_{i}.{key}"] = value
    return arch


def _conv(width):
    return {
        "op": "conv",
        "width": width,
        "kernel_size": 5,
        "activation": "relu",
        "batch_norm": False,
        "dropout": 0.0,
    }


def _dense(width):
    return {
        "op": "dense",
        "width": width,
        "activation": "relu",
        "batch_norm": False,
        "dropout": 0.0,
    }


_POOL = {"op": "maxpool", "dropout": 0.0}
_FLAT = {"op": "flatten", "dropout": 0.0}

#: The hand-written models: the classic Keras CNN and MLP, and a linear model.
BASELINES = {
    "small_cnn": _layers(_conv(32), _POOL, _conv(64), _POOL, _FLAT, _dense(128)),
    "mlp": _layers(_FLAT, _dense(256), _dense(128)),
    "linear": _layers({"op": "identity"}),
}
DATASET_BASELINES = {
    "mnist1d": ("small_cnn", "mlp"),
    "mnist1d_shuffled": ("mlp", "small_cnn"),
    "vectors": ("mlp", "linear"),
    "friedman": ("ridge", "mlp"),
    "shapes": ("small_cnn", "mlp"),
}


def train_baseline(name: str, split: Split, seed: int, epochs: int) -> float:
    """Trains a hand-written model with the search's recipe; returns its test metric."""
    if name == "ridge":
        return ridge(split)
    import keras

    import kerasnas
    from kerasnas.builder import ModelBuilder
    from kerasnas.data import from_arrays
    from kerasnas.evaluation import FitEvaluator, TrialContext, evaluate_model
    from kerasnas.evaluation.recipe import auto_batch_size

    data = from_arrays(*split.train, validation_data=split.validation, test_data=split.test)
    space = kerasnas.spaces.ChainSpace(
        max_layers=6,
        operations=("conv", "maxpool", "dense", "flatten", "identity"),
        widths=(32, 64, 128, 256),
        kernel_sizes=(5,),
        activations=("relu",),
        batch_norm=(False,),
        dropout=(0.0,),
        head_pooling=("global_avg",),
    )
    builder = ModelBuilder(
        space, data.input_shape, data.task, data.normalization, data.target_scaling
    )
    evaluator = FitEvaluator(
        builder, data, epochs=epochs, batch_size=auto_batch_size(data.num_train())
    )
    evaluation = evaluator.evaluate(space.validate(BASELINES[name]), TrialContext(0, seed))
    metrics = evaluate_model(evaluation.model, data.test)
    keras.backend.clear_session()
    return metrics["test_mae"] if data.task.kind == "regression" else metrics["test_accuracy"]


def ridge(split: Split) -> float:
    """Ridge regression in closed form on standardised inputs, lambda picked on validation."""
    (x, y), (xv, yv), (xt, yt) = split.train, split.validation, split.test
    mean, std = x.mean(0), x.std(0) + 1e-8

    def design(a):
        return np.c_[(a - mean) / std, np.ones(len(a))]

    a, av, at = design(x), design(xv), design(xt)
    best = None
    for lam in 10.0 ** np.arange(-3, 4):
        penalty = lam * np.eye(a.shape[1])
        penalty[-1, -1] = 0.0
        coef = np.linalg.solve(a.T @ a + penalty, a.T @ y)
        val = np.abs(av @ coef - yv).mean()
        if best is None or val < best[0]:
            best = (val, coef)
    return float(np.abs(at @ best[1] - yt).mean())


# -------------------------------------------------------------------- search
def run_search(split: Split, seed: int, trials: int) -> dict:
    """The default search; returns its best model's test metric and what it was."""
    import kerasnas

    start = time.time()
    with tempfile.TemporaryDirectory() as folder:
        result = kerasnas.search(
            *split.train,
            validation_data=split.validation,
            test_data=split.test,
            max_trials=trials,
            seed=seed,
            directory=os.path.join(folder, "run"),
            keep_best_models=1,
            executor="local",
            verbose=0,
        )
        test = result.test_metrics()
        best = result.best_trial
        regression = "test_mae" in test
        return {
            "search": test["test_mae"] if regression else test["test_accuracy"],
            "best_trial": best.number,
            "best_architecture": result.space.describe(best.architecture),
            "best_val": best.metrics[result.objective.name],
            "search_time_s": round(time.time() - start, 1),
            "epochs_trained": sum(t.info.get("epochs", 0) for t in result.trials),
            "metric": "test_mae" if regression else "test_accuracy",
        }


def run(datasets, seeds, trials, epochs, out: pathlib.Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            done.add((row["dataset"], row["seed"], row["trials"]))
    for seed in seeds:
        for name in datasets:
            if (name, seed, trials) in done:
                continue
            split = load(name)
            row = {"dataset": name, "seed": seed, "trials": trials, "epochs": epochs}
            row.update(run_search(split, seed, trials))
            for baseline in DATASET_BASELINES[name]:
                row[baseline] = train_baseline(baseline, split, seed, epochs)
            row["time"] = time.strftime("%Y-%m-%d %H:%M:%S")
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


# ------------------------------------------------------------------- summary
def _t_interval(diffs) -> tuple:
    """Mean and 95% t-interval of paired differences (None for fewer than 2)."""
    d = np.asarray(diffs, "float64")
    if len(d) < 2:
        return float(d.mean()), None, None
    t = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36, 9: 2.31, 10: 2.26}
    half = t.get(len(d), 2.0) * d.std(ddof=1) / math.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def _most_frequent(designs: list) -> tuple:
    """The most frequent design and its count; ties go to the earliest row."""
    design, count = collections.Counter(designs).most_common(1)[0]
    return design, count


def summarize(out: pathlib.Path) -> str:
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    lines = [
        "| data set | trials | seeds | default search (median) | baseline (median) | "
        "search - baseline, mean [95% CI] | best design (most frequent, seeds) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in DATASETS:
        for trials in sorted({r["trials"] for r in rows}):
            group = [r for r in rows if r["dataset"] == name and r["trials"] == trials]
            if not group:
                continue
            regression = group[0]["metric"] == "test_mae"
            scale = 1.0 if regression else 100.0
            for baseline in DATASET_BASELINES[name]:
                diffs = [(r["search"] - r[baseline]) * scale for r in group]
                if regression:
                    diffs = [-d for d in diffs]  # positive: the search's error is lower
                mean, low, high = _t_interval(diffs)
                ci = f"[{low:+.2f}, {high:+.2f}]" if low is not None else ""
                design, count = _most_frequent([r["best_architecture"] for r in group])
                common = f"`{design.replace(' | ', ', head ')}` ({count} of {len(group)})"
                unit = "MAE" if regression else "%"
                lines.append(
                    f"| {name} | {trials} | {len(group)} | "
                    f"{np.median([r['search'] for r in group]) * scale:.2f} {unit} | "
                    f"{baseline} {np.median([r[baseline] for r in group]) * scale:.2f} {unit} | "
                    f"{mean:+.2f} {ci} | {common} |"
                )
    peers = out.with_name("defaults_peers.jsonl")
    if peers.exists():
        lines += [
            "",
            summarize_peers(rows, [json.loads(x) for x in peers.read_text().splitlines()]),
        ]
    return "\n".join(lines)


def summarize_peers(rows: list, peer_rows: list) -> str:
    """The default search against each peer, paired by (data set, seed, trials)."""
    ours = {(r["dataset"], r["seed"], r["trials"]): r["search"] for r in rows}
    lines = [
        "| data set | trials | peer | seeds | default search (median) | peer (median) | "
        "search - peer, mean [95% CI] | search ahead-tied-behind |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in DATASETS:
        for trials in sorted({r["trials"] for r in peer_rows}):
            for tool in ("kerastuner", "autokeras"):
                group = [
                    r
                    for r in peer_rows
                    if (r["dataset"], r["trials"], r["tool"]) == (name, trials, tool)
                    and (name, r["seed"], trials) in ours
                ]
                if not group:
                    continue
                regression = group[0]["metric"] == "test_mae"
                scale, unit = (1.0, "MAE") if regression else (100.0, "%")
                mine = [ours[(name, r["seed"], trials)] * scale for r in group]
                theirs = [r["test"] * scale for r in group]
                sign = -1.0 if regression else 1.0  # positive: the search is better
                diffs = [sign * (a - b) for a, b in zip(mine, theirs)]
                mean, low, high = _t_interval(diffs)
                ci = f"[{low:+.2f}, {high:+.2f}]" if low is not None else ""
                record = "-".join(
                    str(sum(test(d) for d in diffs))
                    for test in (lambda d: d > 0, lambda d: d == 0, lambda d: d < 0)
                )
                lines.append(
                    f"| {name} | {trials} | {tool} | {len(group)} | "
                    f"{np.median(mine):.2f} {unit} | {np.median(theirs):.2f} {unit} | "
                    f"{mean:+.2f} {ci} | {record} |"
                )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=15, help="the search's default")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    if args.summarize:
        print(summarize(out))
        return
    datasets = [d for d in args.datasets.split(",") if d]
    unknown = [d for d in datasets if d not in DATASETS]
    if unknown:
        raise SystemExit(f"Unknown data sets {unknown}; known: {list(DATASETS)}")
    run(datasets, [int(s) for s in args.seeds.split(",")], args.trials, args.epochs, out)


if __name__ == "__main__":
    main()
