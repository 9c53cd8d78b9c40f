"""KerasTuner and AutoKeras with their own defaults on the five data sets of defaults.py.

The other half of `benchmarks/defaults.py`: what a user of each peer gets
at the same budget as kerasnas's default search (the same number of
trials, at most the same epochs per trial), on the same splits, scored
on the same test split. Each (tool, data set, seed) run is its own
process and appends one JSON row to `--out`; rows already there are
skipped, so a stopped run resumes. `python benchmarks/defaults.py
--summarize` pairs these rows with kerasnas's by (data set, seed, trials).

Install the peers (benchmark-only; kerasnas never imports them):

```bash
pip install -e ".[bench]"
python benchmarks/defaults_peers.py --trials 10 --seeds 0,1,2 --parallel 2
```

What each tool runs ("its own defaults", and where we had to choose):

- **KerasTuner** has no search space of its own for arbitrary data, so the
  hypermodel is the one its getting-started guide writes, for the input's
  kind: for vectors, `Flatten` and 1-3 `Dense` layers of 32-512 units
  (relu or tanh), optional dropout 0.25; for sequences and images, 1-3
  convolution + max-pooling blocks of 32-128 filters (kernel 3 or 5)
  before that. Inputs are standardised by a `Normalization` layer adapted
  on the training split; the learning rate of Adam is searched in
  1e-4..1e-2 (log). `kt.RandomSearch` (its default tuner in the guide),
  `max_trials` = the budget, `epochs` = kerasnas's maximum (15), Keras's
  default batch size (32). Regression targets are left in the user's
  units (KerasTuner does nothing about them), loss mean squared error,
  objective `val_mae`. The best model is KerasTuner's own best (weights of
  its best epoch).
- **AutoKeras 3.0** with its task API where it has one: vectors use
  `StructuredDataClassifier` / `StructuredDataRegressor` (greedy tuner
  starting from its known-good MLP). Images use `ak.ImageBlock(
  block_type="vanilla")` with AutoKeras's normalisation and augmentation
  choices: `ImageClassifier`'s defaults start from ResNet50 at ImageNet
  size and a pretrained EfficientNetB7, which needs downloaded weights
  (not possible offline) and hours per trial on this CPU. Sequences
  have no AutoKeras task; they use `Normalization > ConvBlock >
  ClassificationHead` (AutoKeras's block for spatial data; it builds 1-D
  convolutions). `max_trials` = the budget, `epochs` = 15, AutoKeras's
  own early stopping (patience 10) passed explicitly so that it does not
  retrain the winner on more data after the search. AutoKeras 3.0.0
  passes the number of outputs to `Dense` as a NumPy integer, which
  Keras 3.15 refuses; the heads' shapes are coerced to Python ints, the
  only change made to AutoKeras.

Every tool sees the training split for fitting, the validation split for
selection, and the test split only for the final score.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import defaults  # noqa: E402  (the data sets and splits)

TOOLS = ("kerastuner", "autokeras")
DEFAULT_OUT = HERE / "results" / "defaults_peers.jsonl"
EPOCHS = 15  # kerasnas's default maximum epochs per trial


def kind_of(split) -> str:
    """'regression', 'vectors', 'sequences' or 'images' (what picks each tool's model)."""
    x, y = split.train
    if np.issubdtype(y.dtype, np.floating):
        return "regression"
    return {2: "vectors", 3: "sequences", 4: "images"}[x.ndim]


# ---------------------------------------------------------------- KerasTuner
def kerastuner_hypermodel(split, regression: bool):
    """The getting-started hypermodel for this input kind (see the module docstring)."""
    import keras

    x, y = split.train
    spatial = x.ndim > 2
    conv = {3: keras.layers.Conv1D, 4: keras.layers.Conv2D}.get(x.ndim)
    pool = {3: keras.layers.MaxPooling1D, 4: keras.layers.MaxPooling2D}.get(x.ndim)
    num_classes = None if regression else int(y.max()) + 1
    normalizer = keras.layers.Normalization(axis=-1)
    normalizer.adapt(x)
    mean = np.asarray(normalizer.mean).reshape(-1)
    variance = np.asarray(normalizer.variance).reshape(-1)

    def build(hp):
        inputs = keras.Input(shape=x.shape[1:])
        h = keras.layers.Normalization(mean=mean, variance=variance)(inputs)
        if spatial:
            for i in range(hp.Int("conv_layers", 1, 3)):
                h = conv(
                    hp.Int(f"filters_{i}", 32, 128, step=32),
                    hp.Choice(f"kernel_{i}", [3, 5]),
                    padding="same",
                    activation="relu",
                )(h)
                h = pool(2, padding="same")(h)
        h = keras.layers.Flatten()(h)
        activation = hp.Choice("activation", ["relu", "tanh"])
        for i in range(hp.Int("num_layers", 1, 3)):
            h = keras.layers.Dense(hp.Int(f"units_{i}", 32, 512, step=32), activation)(h)
        if hp.Boolean("dropout"):
            h = keras.layers.Dropout(0.25)(h)
        if regression:
            outputs = keras.layers.Dense(1)(h)
            loss, metrics = "mse", ["mae"]
        else:
            outputs = keras.layers.Dense(num_classes, activation="softmax")(h)
            loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
        model = keras.Model(inputs, outputs)
        learning_rate = hp.Float("lr", 1e-4, 1e-2, sampling="log")
        model.compile(keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)
        return model

    return build


def run_kerastuner(split, seed: int, trials: int, workdir: str) -> dict:
    import keras_tuner as kt

    regression = kind_of(split) == "regression"
    objective = kt.Objective("val_mae", "min") if regression else "val_accuracy"
    tuner = kt.RandomSearch(
        kerastuner_hypermodel(split, regression),
        objective=objective,
        max_trials=trials,
        seed=seed,
        directory=workdir,
        project_name="search",
    )
    tuner.search(*split.train, validation_data=split.validation, epochs=EPOCHS, verbose=0)
    best_trial = tuner.oracle.get_best_trials(1)[0]
    model = tuner.get_best_models(1)[0]
    return {
        "test": _test_metric(model.predict(split.test[0], verbose=0), split.test[1], regression),
        "best_val": float(best_trial.score),
        "completed": sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values()),
        "params": int(model.count_params()),
        "best": dict(best_trial.hyperparameters.values),
    }


# ----------------------------------------------------------------- AutoKeras
def _patch_autokeras_heads() -> None:
    """Coerces the heads' output shapes to Python ints (AutoKeras 3.0.0 with Keras 3.15)."""
    import autokeras as ak

    for head in (ak.ClassificationHead, ak.RegressionHead):
        original = head.build

        def build(self, hp, inputs=None, _original=original):
            if self.shape is not None:
                self.shape = tuple(None if d is None else int(d) for d in self.shape)
            return _original(self, hp, inputs)

        head.build = build


def autokeras_model(kind: str, seed: int, trials: int, workdir: str):
    """The AutoKeras model for this input kind (see the module docstring)."""
    import autokeras as ak

    common = dict(max_trials=trials, directory=workdir, project_name="search", seed=seed)
    if kind == "regression":
        return ak.StructuredDataRegressor(metrics=["mae"], objective="val_mae", **common)
    if kind == "vectors":
        return ak.StructuredDataClassifier(**common)
    if kind == "images":
        inputs = ak.ImageInput()
        outputs = ak.ClassificationHead()(ak.ImageBlock(block_type="vanilla")(inputs))
    else:
        inputs = ak.Input()
        outputs = ak.ClassificationHead()(ak.ConvBlock()(ak.Normalization()(inputs)))
    return ak.AutoModel(inputs=inputs, outputs=outputs, objective="val_accuracy", **common)


def run_autokeras(split, seed: int, trials: int, workdir: str) -> dict:
    import keras

    _patch_autokeras_heads()
    kind = kind_of(split)
    regression = kind == "regression"
    auto_model = autokeras_model(kind, seed, trials, workdir)
    (x, y), (xv, yv) = split.train, split.validation
    if not regression:  # one-hot labels: AutoKeras keeps the class order
        classes = int(y.max()) + 1
        y, yv = keras.utils.to_categorical(y, classes), keras.utils.to_categorical(yv, classes)
    auto_model.fit(
        x,
        y,
        validation_data=(xv, yv),
        epochs=EPOCHS,
        callbacks=[keras.callbacks.EarlyStopping(patience=10, min_delta=1e-4)],
        verbose=0,
    )
    tuner = auto_model.tuner
    best_trial = tuner.oracle.get_best_trials(1)[0]
    model = auto_model.export_model()
    return {
        "test": _test_metric(model.predict(split.test[0], verbose=0), split.test[1], regression),
        "best_val": float(best_trial.score),
        "completed": sum(t.status == "COMPLETED" for t in tuner.oracle.trials.values()),
        "params": int(model.count_params()),
        "best": dict(best_trial.hyperparameters.values),
    }


def _test_metric(predictions, y_test, regression: bool) -> float:
    predictions = np.asarray(predictions)
    if regression:
        return float(np.abs(predictions.reshape(-1) - y_test.reshape(-1)).mean())
    return float((predictions.argmax(-1) == y_test).mean())


RUNNERS = {"kerastuner": run_kerastuner, "autokeras": run_autokeras}


# -------------------------------------------------------------------- driver
def run_one(tool: str, dataset: str, seed: int, trials: int) -> dict:
    """One search in this process; returns its row."""
    import keras

    keras.utils.set_random_seed(seed)
    split = defaults.load(dataset)
    start = time.time()
    with tempfile.TemporaryDirectory() as workdir:
        result = RUNNERS[tool](split, seed, trials, workdir)
    return {
        "tool": tool,
        "dataset": dataset,
        "seed": seed,
        "trials": trials,
        "epochs": EPOCHS,
        "metric": "test_mae" if kind_of(split) == "regression" else "test_accuracy",
        **result,
        "search_time_s": round(time.time() - start, 1),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def pending(args) -> list:
    out = pathlib.Path(args.out)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            done.add((row["tool"], row["dataset"], row["seed"], row["trials"]))
    jobs = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for dataset in args.datasets.split(","):
            for tool in args.tools.split(","):
                if (tool, dataset, seed, args.trials) not in done:
                    jobs.append((tool, dataset, seed))
    return jobs


def drive(args) -> None:
    """Runs the pending jobs, `--parallel` at a time, each in its own process."""
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if args.parallel > 1:  # one core each
        env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    jobs, running = pending(args), []
    while jobs or running:
        while jobs and len(running) < args.parallel:
            tool, dataset, seed = jobs.pop(0)
            command = [
                sys.executable,
                __file__,
                "--one",
                tool,
                dataset,
                str(seed),
                "--trials",
                str(args.trials),
                "--epochs",
                str(args.epochs),
                "--out",
                str(out),
            ]
            log = open(
                pathlib.Path(tempfile.gettempdir()) / f"peers.{tool}-{dataset}-{seed}.log", "w"
            )
            running.append((subprocess.Popen(command, env=env, stdout=log, stderr=log), log))
        time.sleep(2)
        for process, log in list(running):
            if process.poll() is not None:
                log.close()
                running.remove((process, log))
                print(f"{' '.join(process.args[3:6])}: exit {process.returncode}", flush=True)


def main(argv=None) -> None:
    global EPOCHS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--datasets", default=",".join(defaults.DATASETS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="15: kerasnas's default")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--one", nargs=3, metavar=("TOOL", "DATASET", "SEED"))
    args = parser.parse_args(argv)
    EPOCHS = args.epochs
    if args.one:
        tool, dataset, seed = args.one
        row = run_one(tool, dataset, int(seed), args.trials)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
        return
    drive(args)


if __name__ == "__main__":
    main()
