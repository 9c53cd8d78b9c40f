"""kerasnas against KerasTuner and AutoKeras on MNIST-1D under one wall-clock budget.

Every (tool, configuration, seed) run searches MNIST-1D for the same
wall-clock budget, in its own Python process, and writes one JSON file;
`--aggregate` turns the JSON files into a table, a plot and (with
`--record`) a dated section of benchmarks/RESULTS.md.

Install the peers (benchmark-only; not needed by kerasnas itself):

```bash
pip install -e ".[bench]"          # keras-tuner and autokeras
```

Run (each run is skipped if its JSON file exists, so a stopped run resumes):

```bash
# The pipeline end to end with a tiny budget (about 20-40 s per run):
python benchmarks/peers_mnist1d.py --smoke
# The real comparison: 15 minutes per run, two runs side by side (1 core each):
python benchmarks/peers_mnist1d.py --budget 900 --seeds 0 1 --parallel 2 \\
    --configs kerasnas-evolution kerastuner-random kerastuner-hyperband \\
    kerastuner-bayesian autokeras-conv --workdir runs/peers
python benchmarks/peers_mnist1d.py --aggregate --workdir runs/peers --record
```

Fairness protocol (the same for every tool):

- Data: `kerasnas.data.load_mnist1d()` (seed 0): the same 3,600 training,
  400 validation and 1,000 test sequences for everyone. Searches fit on the
  training split and select on the validation split (`val_accuracy` for
  every tool); the test split is never given to a tool.
- Budget: the same wall-clock seconds for the whole search (model building,
  fitting, the tool's own bookkeeping). No trial starts after the deadline,
  and the trial running at the deadline stops at its next epoch end (one
  Keras callback shared by all tools); its result stays with the tool.
- Training during the search: Adam at 1e-3 (AutoKeras searches its own
  optimizer and learning rate, as it does by default), batch 64,
  `--epochs` epochs per trial (Hyperband: `max_epochs=--epochs`; AutoKeras
  keeps its default early stopping, patience 10, which we pass explicitly
  so that it skips its own final retraining).
- Search spaces: kerasnas searches a conv-heavy `ChainSpace` (see
  `kerasnas_space`); the KerasTuner hypermodel (`kerastuner_hypermodel`)
  writes the very same choices (depth, per-layer operation, width, kernel,
  activation, batch norm, dropout, head pooling) in plain Keras with
  `hp.Choice`, with the same input normalisation and softmax head.
  AutoKeras searches its own space: `autokeras-conv` is
  `Input -> Normalization -> ConvBlock -> ClassificationHead` (its block for
  spatial data, which builds 1-D convolutions here); `autokeras-default`
  uses the `GeneralBlock` AutoKeras picks for a plain `ak.Input` (flatten +
  dense layers).
- AutoKeras 3.0.0 with Keras 3.15 fails in its classification head
  ("Received an invalid value for `units` ... Received: units=10": the
  number of classes reaches `Dense` as a numpy integer). The benchmark
  coerces the head's shape to Python ints before AutoKeras builds it
  (`_IntShapeClassificationHead`); nothing else in AutoKeras is changed.
- Final model: each tool's own best (by its own record of validation
  accuracy) is rebuilt from scratch `--final-repeats` times (weight seeds
  0, 1, ...), trained on training + validation (4,000 sequences) for
  `--final-epochs` epochs, batch 64, with the optimizer the tool chose,
  and evaluated once on test. Reported: the mean over those repeats.
- Time to 94%: after each trial a shared callback measures the trained
  model's validation and test accuracy (never shown to the tool). The
  incumbent is the trial with the best validation accuracy so far; "time to
  94% test" is the search time when the incumbent's test accuracy first
  reaches 94% (the published MNIST-1D CNN's figure), "time to 94% val" the
  same on validation accuracy. Selection never uses test.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = pathlib.Path(__file__).resolve().parent
TARGET = 0.94  # The published MNIST-1D CNN's test accuracy (Greydanus, 2020).

#: name -> (tool, options). Options were set before any run, from the budget
#: (about 30 trials of 20 epochs in 15 minutes), never from test results.
CONFIGS = {
    # Aging evolution with a population and tournament sized for ~30 trials.
    "kerasnas-evolution": (
        "kerasnas",
        {"strategy": "evolution", "population_size": 10, "sample_size": 3},
    ),
    "kerasnas-random": ("kerasnas", {"strategy": "random"}),
    # The RL controller updates after every `batch_size` trials.
    "kerasnas-rl": ("kerasnas", {"strategy": "rl", "batch_size": 4}),
    # Two objectives (validation accuracy first, then size): the best is the most accurate.
    "kerasnas-nsga2": ("kerasnas", {"strategy": "nsga2", "population_size": 10}),
    "kerastuner-random": ("kerastuner", {"tuner": "random"}),
    "kerastuner-hyperband": ("kerastuner", {"tuner": "hyperband"}),
    "kerastuner-bayesian": ("kerastuner", {"tuner": "bayesian"}),
    "autokeras-conv": ("autokeras", {"block": "conv"}),
    "autokeras-default": ("autokeras", {"block": "default"}),
}

# ------------------------------------------------------------------ search space
OPERATIONS = ("conv", "sepconv", "maxpool", "avgpool", "identity")
WIDTHS = (16, 32, 64, 128)
KERNELS = (3, 5, 7)
ACTIVATIONS = ("relu", "gelu", "swish")
DROPOUTS = (0.0, 0.1, 0.25)
POOLING = ("flatten", "global_avg", "global_max")
MIN_LAYERS, MAX_LAYERS = 2, 6


def kerasnas_space():
    """The conv-heavy chain space searched by kerasnas (and mirrored for KerasTuner)."""
    from kerasnas.spaces import ChainSpace

    return ChainSpace(
        max_layers=MAX_LAYERS,
        min_layers=MIN_LAYERS,
        operations=OPERATIONS,
        widths=WIDTHS,
        kernel_sizes=KERNELS,
        activations=ACTIVATIONS,
        batch_norm=(False, True),
        dropout=DROPOUTS,
        head_pooling=POOLING,
        name="mnist1d_chain",
    )


def kerastuner_hypermodel(input_shape, normalization, num_classes):
    """The same choices as `kerasnas_space()`, written as a KerasTuner user would."""
    import keras

    mean, variance = normalization

    def build(hp):
        inputs = keras.Input(shape=input_shape)
        x = keras.layers.Normalization(mean=mean, variance=variance)(inputs)
        for i in range(hp.Int("num_layers", MIN_LAYERS, MAX_LAYERS)):
            op = hp.Choice(f"op_{i}", list(OPERATIONS))
            if op in ("conv", "sepconv"):
                layer = keras.layers.Conv1D if op == "conv" else keras.layers.SeparableConv1D
                batch_norm = hp.Boolean(f"batch_norm_{i}")
                x = layer(
                    hp.Choice(f"width_{i}", list(WIDTHS)),
                    hp.Choice(f"kernel_{i}", list(KERNELS)),
                    padding="same",
                    use_bias=not batch_norm,
                )(x)
                if batch_norm:
                    x = keras.layers.BatchNormalization()(x)
                x = keras.layers.Activation(hp.Choice(f"activation_{i}", list(ACTIVATIONS)))(x)
            elif op in ("maxpool", "avgpool"):
                layer = (
                    keras.layers.MaxPooling1D if op == "maxpool" else keras.layers.AveragePooling1D
                )
                x = layer(2, padding="same")(x)
            if op != "identity":
                rate = hp.Choice(f"dropout_{i}", list(DROPOUTS))
                if rate > 0:
                    x = keras.layers.Dropout(rate)(x)
        pooling = hp.Choice("head_pooling", list(POOLING))
        if pooling == "flatten":
            x = keras.layers.Flatten()(x)
        elif pooling == "global_avg":
            x = keras.layers.GlobalAveragePooling1D()(x)
        else:
            x = keras.layers.GlobalMaxPooling1D()(x)
        outputs = keras.layers.Softmax()(keras.layers.Dense(num_classes)(x))
        model = keras.Model(inputs, outputs)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    return build


# ------------------------------------------------------------ shared callback
def make_recorder(t0, deadline, validation, test, one_hot=False):
    """A Keras callback that stops training at the deadline and records each trial.

    After every `fit` it measures the model's validation and test accuracy
    and appends them (with the search time) to `recorder.trials`; the tool
    never sees these numbers. Deep copies return the same object (KerasTuner
    deep-copies callbacks for every trial).
    """
    import keras
    import numpy as np

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.trials = []
            self.stopped_at_deadline = 0

        def __deepcopy__(self, memo):
            return self

        def on_train_begin(self, logs=None):
            self._start = time.time()
            self._epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            self._epochs += 1
            if time.time() >= deadline:
                self.model.stop_training = True
                self.stopped_at_deadline += 1

        def accuracy(self, split):
            x, y = split
            p = self.model.predict(x, batch_size=1000, verbose=0)
            return float(np.mean(np.argmax(p, axis=-1) == y))

        def on_train_end(self, logs=None):
            self.trials.append(
                {
                    "t": round(time.time() - t0, 2),
                    "fit_s": round(time.time() - self._start, 2),
                    "epochs": self._epochs,
                    "val_accuracy": self.accuracy(validation),
                    "test_accuracy": self.accuracy(test),
                    "params": int(self.model.count_params()),
                }
            )

    return Recorder()


# ---------------------------------------------------------------- the tools
def run_kerasnas(options, seed, data, args, recorder, deadline, workdir):
    """Searches with kerasnas; returns (description, build_fn, trials, params)."""
    import kerasnas
    from kerasnas.errors import SpaceExhaustedError
    from kerasnas.strategies.base import Strategy

    options = dict(options)
    name = options.pop("strategy")
    inner = kerasnas.strategies.get(name, **options)

    class UntilDeadline(Strategy):
        """Proposes the inner strategy's architectures until the deadline."""

        def __init__(self, strategy):
            self.inner = strategy
            self.name = strategy.name
            self.batch_size = getattr(strategy, "batch_size", 1)

        def setup(self, space, objectives):
            super().setup(space, objectives)
            self.inner.setup(space, objectives)

        def ask(self, history, rng):
            if time.time() >= deadline:
                raise SpaceExhaustedError("the wall-clock budget is spent")
            return self.inner.ask(history, rng)

        def tell(self, record):
            self.inner.tell(record)

        def get_config(self):
            return self.inner.get_config()

    objective = ["val_accuracy", "params"] if name == "nsga2" else "val_accuracy"
    (x, y), validation = data.train, data.validation
    result = kerasnas.search(
        x,
        y,
        validation_data=validation,
        space=kerasnas_space(),
        strategy=UntilDeadline(inner),
        objective=objective,
        max_trials=100_000,
        epochs=args.epochs,
        batch_size=64,
        directory=workdir,
        seed=seed,
        callbacks=[recorder],
        executor="local",
        keep_best_models=1,
        overwrite=True,
        verbose=0,
    )
    best = result.best_trial
    arch = best.architecture
    evaluator = result_evaluator(result, args)

    def build(weight_seed):
        return evaluator.build(arch, weight_seed)

    completed = sum(1 for t in result.trials if t.ok)
    description = {"architecture": dict(arch), "summary": result.space.describe(arch)}
    return description, build, completed, int(best.metrics["params"])


def result_evaluator(result, args):
    from kerasnas.evaluation import FitEvaluator
    from kerasnas.retrain import merged_training_data

    return FitEvaluator(result.builder, merged_training_data(result.data), epochs=args.final_epochs)


def run_kerastuner(options, seed, data, args, recorder, deadline, workdir):
    """Searches with a KerasTuner tuner over the mirrored hypermodel."""
    import keras_tuner as kt

    build_hp = kerastuner_hypermodel(data.input_shape, data.normalization, data.task.num_classes)
    common = dict(
        objective="val_accuracy",
        seed=seed,
        directory=str(workdir),
        project_name="search",
        overwrite=True,
    )
    tuner_name = options["tuner"]
    if tuner_name == "random":
        base = kt.RandomSearch
        common["max_trials"] = 100_000
    elif tuner_name == "bayesian":
        base = kt.BayesianOptimization
        common["max_trials"] = 100_000
    else:
        base = kt.Hyperband
        common.update(max_epochs=args.epochs, factor=3, hyperband_iterations=1000)

    class UntilDeadline(base):
        def pre_create_trial(self):
            if time.time() >= deadline:
                # The oracle stops the search once it has max_trials trials.
                self.oracle.max_trials = len(self.oracle.trials)

    tuner = UntilDeadline(build_hp, **common)
    (x, y), validation = data.train, data.validation
    tuner.search(
        x,
        y,
        validation_data=validation,
        epochs=args.epochs,
        batch_size=64,
        callbacks=[recorder],
        verbose=0,
    )
    best_hp = tuner.get_best_hyperparameters(1)[0]
    import keras

    def build(weight_seed):
        keras.utils.set_random_seed(weight_seed)
        return build_hp(best_hp)

    trials = tuner.oracle.trials.values()
    completed = sum(1 for t in trials if t.status == "COMPLETED")
    description = {"hyperparameters": dict(best_hp.values)}
    return description, build, completed, int(build(0).count_params())


def autokeras_head():
    """AutoKeras' ClassificationHead with the shape coerced to Python ints.

    AutoKeras 3.0.0 passes the number of classes to `keras.layers.Dense` as a
    numpy integer, which Keras 3.15 refuses ("Received an invalid value for
    `units` ... Received: units=10"). This is the only change made to AutoKeras.
    """
    import autokeras as ak

    class _IntShapeClassificationHead(ak.ClassificationHead):
        def build(self, hp, inputs=None):
            if self.shape is not None:
                self.shape = tuple(None if d is None else int(d) for d in self.shape)
            return super().build(hp, inputs)

    return _IntShapeClassificationHead()


def run_autokeras(options, seed, data, args, recorder, deadline, workdir):
    """Searches with AutoKeras (its default greedy tuner)."""
    import autokeras as ak
    import keras
    import numpy as np

    inputs = ak.Input()
    if options["block"] == "conv":
        outputs = autokeras_head()(ak.ConvBlock()(ak.Normalization()(inputs)))
    else:
        # A head object (not a node): AutoKeras picks the block for the input
        # type itself, `GeneralBlock` (flatten + dense layers) for `ak.Input`.
        outputs = autokeras_head()
    auto_model = ak.AutoModel(
        inputs=inputs,
        outputs=outputs,
        objective="val_accuracy",
        max_trials=100_000,
        directory=str(workdir),
        project_name="search",
        overwrite=True,
        seed=seed,
    )
    num_classes = data.task.num_classes
    (x, y), (x_val, y_val) = data.train, data.validation
    # One-hot labels: AutoKeras then keeps the class order (no label encoder).
    y1 = keras.utils.to_categorical(y, num_classes)
    y1_val = keras.utils.to_categorical(y_val, num_classes)

    tuner = auto_model.tuner
    original = type(tuner).pre_create_trial

    def pre_create_trial(self):
        if time.time() >= deadline:
            self.oracle.max_trials = len(self.oracle.trials)
        return original(self)

    tuner.pre_create_trial = pre_create_trial.__get__(tuner)
    auto_model.fit(
        x,
        y1,
        validation_data=(x_val, y1_val),
        epochs=args.epochs,
        batch_size=64,
        # AutoKeras' own default early stopping, passed explicitly so that it
        # does not retrain the best model itself after the search.
        callbacks=[recorder, keras.callbacks.EarlyStopping(patience=10, min_delta=1e-4)],
        verbose=0,
    )
    best_hp = tuner.oracle.get_best_trials(1)[0].hyperparameters
    x_all = np.concatenate([x, x_val])
    y_all = np.concatenate([y1, y1_val])

    def build(weight_seed):
        keras.utils.set_random_seed(weight_seed)
        _, (xa, _), _ = tuner._prepare_model_build(best_hp, x=x_all, y=y_all)
        model = tuner._try_build(best_hp)
        tuner.adapt(model, xa)
        return model

    trials = tuner.oracle.trials.values()
    completed = sum(1 for t in trials if t.status == "COMPLETED")
    description = {"hyperparameters": dict(best_hp.values), "one_hot_labels": True}
    return description, build, completed, int(build(0).count_params())


RUNNERS = {"kerasnas": run_kerasnas, "kerastuner": run_kerastuner, "autokeras": run_autokeras}


# ----------------------------------------------------------------- one run
def load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def versions():
    found = {}
    for module in ("tensorflow", "keras", "numpy", "kerasnas", "keras_tuner", "autokeras"):
        try:
            found[module] = __import__(module).__version__
        except Exception:  # not installed: the run of that tool fails with its own error
            found[module] = None
    return found


def run_one(config: str, seed: int, args) -> dict:
    """One search plus the final training protocol; returns the JSON result."""
    import resource

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    import numpy as np

    from kerasnas.data import load_mnist1d

    tool, options = CONFIGS[config]
    data = load_mnist1d()
    keras.utils.set_random_seed(seed)
    load_start = load_average()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.time()
    deadline = t0 + args.budget
    recorder = make_recorder(t0, deadline, data.validation, data.test)
    workdir = pathlib.Path(args.workdir) / "searches" / f"{config}-seed{seed}"
    description, build, completed, params = RUNNERS[tool](
        options, seed, data, args, recorder, deadline, workdir
    )
    search_s = time.time() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    load_end = load_average()

    # Final protocol: retrain the tool's best from scratch on train + validation.
    x_all = np.concatenate([data.train[0], data.validation[0]])
    y_all = np.concatenate([data.train[1], data.validation[1]])
    finals = []
    final_start = time.time()
    for repeat in range(args.final_repeats):
        model = build(repeat)
        targets = y_all
        if tool == "autokeras":
            targets = keras.utils.to_categorical(y_all, data.task.num_classes)
        model.fit(x_all, targets, epochs=args.final_epochs, batch_size=64, verbose=0, shuffle=True)
        predictions = model.predict(data.test[0], batch_size=1000, verbose=0)
        finals.append(float(np.mean(np.argmax(predictions, axis=-1) == data.test[1])))
        print(f"{config} seed {seed}: final repeat {repeat}: test {finals[-1]:.4f}", flush=True)
    return {
        "config": config,
        "tool": tool,
        "options": options,
        "seed": seed,
        "budget_s": args.budget,
        "epochs": args.epochs,
        "final_epochs": args.final_epochs,
        "threads": args.threads,
        "parallel": args.parallel,
        "search_s": round(search_s, 1),
        "search_cpu_s": round((cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime), 1),
        "fit_s_total": round(sum(t["fit_s"] for t in recorder.trials), 1),
        "load_average_start": load_start,
        "load_average_end": load_end,
        "trials_completed": completed,
        "fits_recorded": len(recorder.trials),
        "stopped_at_deadline": recorder.stopped_at_deadline,
        "trials": recorder.trials,
        "best": description,
        "params": params,
        "final_test_accuracy": finals,
        "final_test_mean": float(np.mean(finals)),
        "final_train_s": round(time.time() - final_start, 1),
        "versions": versions(),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


# ------------------------------------------------------------------ driver
def result_path(workdir, config, seed) -> pathlib.Path:
    return pathlib.Path(workdir) / "results" / f"{config}-seed{seed}.json"


def drive(args) -> int:
    """Runs every missing (config, seed) in subprocesses, `--parallel` at a time."""
    jobs = [
        (config, seed)
        for seed in args.seeds
        for config in args.configs
        if not result_path(args.workdir, config, seed).exists()
    ]
    (pathlib.Path(args.workdir) / "logs").mkdir(parents=True, exist_ok=True)
    running, failures = [], []
    print(
        f"{len(jobs)} runs to do, {args.parallel} at a time, budget {args.budget} s each",
        flush=True,
    )
    while jobs or running:
        while jobs and len(running) < args.parallel:
            config, seed = jobs.pop(0)
            log = pathlib.Path(args.workdir) / "logs" / f"{config}-seed{seed}.log"
            command = [
                sys.executable,
                __file__,
                "--run",
                config,
                "--seed",
                str(seed),
                *forwarded(args),
            ]
            handle = open(log, "w", encoding="utf-8")
            process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
            running.append((process, handle, config, seed, time.time()))
            print(f"started {config} seed {seed} (pid {process.pid}, log {log})", flush=True)
        time.sleep(2)
        for entry in list(running):
            process, handle, config, seed, started = entry
            if process.poll() is None:
                continue
            handle.close()
            running.remove(entry)
            status = "done" if process.returncode == 0 else f"FAILED ({process.returncode})"
            if process.returncode != 0:
                failures.append((config, seed))
            print(f"{status}: {config} seed {seed} in {time.time() - started:.0f} s", flush=True)
    if failures:
        print(f"failed runs (see their logs): {failures}", flush=True)
    return 1 if failures else 0


def forwarded(args) -> list:
    return [
        "--budget",
        str(args.budget),
        "--epochs",
        str(args.epochs),
        "--final-epochs",
        str(args.final_epochs),
        "--final-repeats",
        str(args.final_repeats),
        "--threads",
        str(args.threads),
        "--parallel",
        str(args.parallel),
        "--workdir",
        str(args.workdir),
    ]


# --------------------------------------------------------------- aggregate
def incumbent_times(trials, threshold=TARGET):
    """Search seconds until the incumbent (best validation so far) reaches the threshold.

    Returns `(time to threshold on test, time to threshold on validation)`,
    None where it never does.
    """
    best_val, to_test, to_val = -1.0, None, None
    for trial in sorted(trials, key=lambda t: t["t"]):
        if trial["val_accuracy"] > best_val:
            best_val = trial["val_accuracy"]
            if to_test is None and trial["test_accuracy"] >= threshold:
                to_test = trial["t"]
            if to_val is None and trial["val_accuracy"] >= threshold:
                to_val = trial["t"]
    return to_test, to_val


def aggregate(args) -> int:
    import numpy as np

    folder = pathlib.Path(args.workdir) / "results"
    results = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    if not results:
        print(f"no results in {folder}", file=sys.stderr)
        return 1
    by_config = {}
    for r in results:
        by_config.setdefault(r["config"], []).append(r)
    order = [c for c in CONFIGS if c in by_config]
    rows = []
    for config in order:
        runs = sorted(by_config[config], key=lambda r: r["seed"])
        finals = [r["final_test_mean"] for r in runs]
        times = [incumbent_times(r["trials"]) for r in runs]
        to_test = [t for t, _ in times]
        to_val = [v for _, v in times]
        overhead = [(r["search_s"] - r["fit_s_total"]) / max(r["fits_recorded"], 1) for r in runs]
        rows.append(
            {
                "config": config,
                "seeds": [r["seed"] for r in runs],
                "budget_s": sorted({r["budget_s"] for r in runs}),
                "final_mean": float(np.mean(finals)),
                "final_each": finals,
                "final_all": [a for r in runs for a in r["final_test_accuracy"]],
                "best_search_test": [
                    max(r["trials"], key=lambda t: t["val_accuracy"])["test_accuracy"]
                    if r["trials"]
                    else None
                    for r in runs
                ],
                "params": [r["params"] for r in runs],
                "trials": [r["trials_completed"] for r in runs],
                "to_test": to_test,
                "to_val": to_val,
                "overhead_s": float(np.median(overhead)),
                "load": [r["load_average_start"] for r in runs]
                + [r["load_average_end"] for r in runs],
                "search_s": [r["search_s"] for r in runs],
            }
        )
    table = format_table(rows)
    print(table)
    (pathlib.Path(args.workdir) / "summary.json").write_text(json.dumps(rows, indent=2))
    plot_path = (
        pathlib.Path(args.plot) if args.plot else pathlib.Path(args.workdir) / "peers_mnist1d.png"
    )
    plot(by_config, order, plot_path)
    if args.record:
        from _results import append_section

        first = results[0]
        loads = [v for r in rows for v in r["load"] if v]
        body = "\n".join(
            [
                f"Runs: {len(results)} (tool, configuration, seed) searches, each in its own "
                f"process with {first['threads']} TensorFlow thread(s), "
                f"{first['parallel']} run(s) side by side. "
                f"Per trial {first['epochs']} epochs, batch 64; final model: the tool's best "
                f"retrained from scratch on train + validation for {first['final_epochs']} "
                f"epochs, {len(first['final_test_accuracy'])} weight seed(s), tested once. "
                "Protocol details: the docstring of `benchmarks/peers_mnist1d.py`. "
                f"Load average (1 min) at the starts and ends of the runs: "
                f"{min(v[0] for v in loads):.1f}-{max(v[0] for v in loads):.1f}. "
                f"Versions: {json.dumps(first['versions'])}.",
                "",
                table,
                "",
                f"Plot (incumbent test accuracy against search time): `{plot_path.name}`.",
            ]
        )
        append_section(args.title, body)
    return 0


def fmt_time(values):
    done = [v for v in values if v is not None]
    if not done:
        return f"never (0/{len(values)})"
    text = "/".join("-" if v is None else f"{v / 60:.1f}" for v in values)
    return f"{text} min ({len(done)}/{len(values)})"


def format_table(rows) -> str:
    lines = [
        "| configuration | budget | seeds | final test acc (mean) | per seed | params | "
        "trials completed | time to 94% test (incumbent) | time to 94% val | overhead per "
        "trial outside fit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        budget = "/".join(f"{b / 60:.3g} min" for b in r["budget_s"])
        lines.append(
            f"| {r['config']} | {budget} | {len(r['seeds'])} | **{r['final_mean']:.4f}** | "
            + ", ".join(f"{v:.4f}" for v in r["final_each"])
            + f" | {', '.join(f'{p:,}' for p in r['params'])} | "
            + ", ".join(str(t) for t in r["trials"])
            + f" | {fmt_time(r['to_test'])} | {fmt_time(r['to_val'])} | {r['overhead_s']:.2f} s |"
        )
    return "\n".join(lines)


def plot(by_config, order, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, config in enumerate(order):
        for j, run in enumerate(sorted(by_config[config], key=lambda r: r["seed"])):
            best_val, xs, ys = -1.0, [], []
            for trial in sorted(run["trials"], key=lambda t: t["t"]):
                if trial["val_accuracy"] > best_val:
                    best_val = trial["val_accuracy"]
                    xs.append(trial["t"] / 60)
                    ys.append(trial["test_accuracy"])
            if xs:
                xs.append(run["search_s"] / 60)
                ys.append(ys[-1])
                ax.step(
                    xs,
                    ys,
                    where="post",
                    color=colours[i % len(colours)],
                    alpha=0.9 if j == 0 else 0.55,
                    label=config if j == 0 else None,
                )
    ax.axhline(TARGET, color="k", ls="--", lw=0.8, label="published CNN (94%)")
    ax.set_xlabel("search time (minutes)")
    ax.set_ylabel("test accuracy of the incumbent (best validation so far)")
    ax.set_ylim(0.5, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("MNIST-1D: kerasnas vs KerasTuner vs AutoKeras, same budget", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"plot: {path}")


# ------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--budget", type=float, default=900.0, help="search seconds per run")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial")
    parser.add_argument("--final-epochs", type=int, default=40)
    parser.add_argument("--final-repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads per run")
    parser.add_argument("--parallel", type=int, default=1, help="runs side by side")
    parser.add_argument("--workdir", default="runs/peers")
    parser.add_argument("--smoke", action="store_true", help="every config, tiny budget")
    parser.add_argument("--aggregate", action="store_true", help="only aggregate the JSON files")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    parser.add_argument("--plot", default=None, help="PNG path (default: in --workdir)")
    parser.add_argument(
        "--title", default="kerasnas vs KerasTuner vs AutoKeras on MNIST-1D, same wall-clock budget"
    )
    parser.add_argument("--run", default=None, choices=list(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.budget, args.epochs, args.final_epochs, args.final_repeats = 25.0, 2, 2, 1
        args.seeds = [0]
        if args.workdir == "runs/peers":
            args.workdir = "runs/peers-smoke"
    if args.budget <= 0 or args.epochs < 1 or args.final_epochs < 1 or args.final_repeats < 1:
        parser.error(
            "need a positive --budget, --epochs, --final-epochs and --final-repeats. Received: "
            f"{args.budget}, {args.epochs}, {args.final_epochs}, {args.final_repeats}"
        )
    if args.run:
        result = run_one(args.run, args.seed, args)
        path = result_path(args.workdir, args.run, args.seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(path)
        print(f"wrote {path}", flush=True)
        return 0
    if args.aggregate:
        return aggregate(args)
    status = drive(args)
    aggregate(args)
    return status


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
