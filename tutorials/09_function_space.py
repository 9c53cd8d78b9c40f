"""
Title: Your own model code as a search space: porting a KerasTuner hypermodel
Author: the kerasnas team
Date created: 2026/12/01
Last modified: 2026/12/01
Description: Write the model with Keras's functional API and ask `hp` for
its choices; kerasnas turns the function into a declarative space that every
strategy searches, then exports the winner for TF Serving.
Accelerator: None (a few minutes on 2 CPU cores; quick mode under two minutes)
"""

"""
## Introduction

Many Keras users already have a *hypermodel*: a function that builds a
model and asks a tuner for its hyperparameters. In KerasTuner it looks like
this (written out here, not run: kerasnas does not need KerasTuner):

```python
import keras_tuner

def build_model(hp):
    inputs = keras.Input(shape=(40, 1))
    x = inputs
    for i in range(hp.Int("conv_layers", 1, 3)):
        x = keras.layers.Conv1D(
            hp.Choice(f"filters_{i}", [16, 32, 64]),
            hp.Choice(f"kernel_{i}", [3, 5]),
            padding="same", activation="relu")(x)
        if hp.Boolean(f"pool_{i}"):
            x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    if hp.Choice("head", ["plain", "mlp"]) == "mlp":
        with hp.conditional_scope("head", ["mlp"]):
            x = keras.layers.Dense(hp.Choice("units", [32, 64]), activation="relu")(x)
    x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.4, step=0.2))(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
        loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

tuner = keras_tuner.RandomSearch(build_model, objective="val_accuracy", max_trials=20)
tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=10)
```

The kerasnas version is the same function with four differences:

| KerasTuner | kerasnas `FunctionSpace` |
| --- | --- |
| `build_model(hp)` creates `keras.Input` | `build(hp, inputs)` receives the inputs (normalised for you) |
| it ends with the output layer and `compile` | it returns the features; kerasnas adds the task's head and compiles |
| `hp.Int`, `hp.Choice`, `hp.Float`, `hp.Boolean` | `hp.int`, `hp.choice`, `hp.float`, `hp.boolean` |
| `hp.conditional_scope(parent, values)` | `hp.conditional(parent, values)` or `when={parent: values}` |

Floats are discretised (`num=` values, or every `step`), so every strategy,
including the RL controller and local search, sees a finite set of
choices. A learning rate is searched with `training_choices=` (see
`02_search_spaces.py`), because the optimizer belongs to kerasnas.

Set `KERASNAS_TUTORIAL_QUICK=1` for a shortened run (the test suite does).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np

import kerasnas
from kerasnas.data import load_mnist1d

QUICK = os.environ.get("KERASNAS_TUTORIAL_QUICK") == "1"
MAX_TRIALS = 2 if QUICK else 12
EPOCHS = 1 if QUICK else 8

data = load_mnist1d()
(x_train, y_train), (x_val, y_val) = data.train, data.validation
if QUICK:
    x_train, y_train, x_val, y_val = x_train[:600], y_train[:600], x_val[:200], y_val[:200]

"""
## The ported function

The body is KerasTuner's, line for line, from the inputs to the features.
"""


def build(hp, inputs):
    x = inputs
    for i in range(hp.int("conv_layers", 1, 3)):
        x = keras.layers.Conv1D(
            hp.choice(f"filters_{i}", [16, 32, 64]),
            hp.choice(f"kernel_{i}", [3, 5]),
            padding="same",
            activation="relu",
        )(x)
        if hp.boolean(f"pool_{i}"):
            x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    if hp.choice("head", ["plain", "mlp"]) == "mlp":
        with hp.conditional("head", "mlp"):
            x = keras.layers.Dense(hp.choice("units", [32, 64]), activation="relu")(x)
    return keras.layers.Dropout(hp.float("dropout", 0.0, 0.4, step=0.2))(x)


"""
## What kerasnas found in it

Creating the space runs `build` on symbolic inputs: once with every choice at
its default, then with each choice changed in turn. Choices that appear or
disappear when another one changes get that condition: `filters_1` exists
only with 2 or 3 layers, `units` only with the `mlp` head. The space is now
an ordinary declarative space: JSON architectures, a size, mutations.
"""

space = kerasnas.spaces.FunctionSpace(build, input_shape=(40, 1), name="ported_cnn")
for decision in space.decisions:
    conditions = [f"{c.decision} in {list(c.values)}" for c in decision.conditions]
    print(f"{decision.name:12s} {decision.values()}  {' and '.join(conditions)}")
print("architectures in the space:", space.size())
example = space.sample(0)
print("one of them, as JSON:", json.dumps(example))
print("a mutation:", json.dumps(space.mutate(example, 0)))

"""
## Three strategies on the same space

Random search, aging evolution and NSGA-II (accuracy against parameter
count) all work on the function's space, as would the RL controller
(`strategy="rl"`). Each search directory stores the discovered decisions;
running the same call again, with the same function, resumes it.
"""

results = {}
for strategy, objective in (
    ("random", "val_accuracy"),
    ("evolution", "val_accuracy"),
    ("nsga2", ["val_accuracy", "params"]),
):
    options = {"population_size": 4} if strategy != "random" else {}
    if strategy == "evolution":
        options["sample_size"] = 2
    results[strategy] = kerasnas.search(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        space=space,
        strategy=strategy,
        strategy_options=options,
        objective=objective,
        max_trials=MAX_TRIALS,
        epochs=EPOCHS,
        directory=f"runs/function-{strategy}",
        keep_best_models=1,
        seed=0,
        verbose=1,
    )
    best = results[strategy].best_trial
    print(
        f"{strategy}: best val_accuracy {best.metrics['val_accuracy']:.3f},",
        space.describe(best.architecture),
    )

best_name = max(results, key=lambda name: results[name].best_trial.metrics["val_accuracy"])
result = results[best_name]
result.summary()

"""
## Export and serve without kerasnas

The exported SavedModel holds only Keras layers and TensorFlow ops: a
serving process needs TensorFlow, not kerasnas. We load it in a fresh
Python process that never imports kerasnas, and check that its predictions
match the model's.
"""

info = result.export("exports/function_space_tutorial", measure_latency=not QUICK)
sample = x_val[:4]
expected = result.best_model.predict(sample, verbose=0)
np.save("serving_sample.npy", sample)
serving_script = f"""
import sys
import numpy as np
import tensorflow as tf

serve = tf.saved_model.load({str(info.path)!r}).signatures["serving_default"]
probabilities = serve(inputs=tf.constant(np.load("serving_sample.npy")))["probabilities"]
assert not [name for name in sys.modules if name.startswith("kerasnas")]
print(probabilities.numpy().tolist())
"""
served = subprocess.run(
    [sys.executable, "-c", serving_script],
    capture_output=True,
    text=True,
    check=True,
    env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
)
served_probabilities = np.asarray(json.loads(served.stdout.strip().splitlines()[-1]))
assert np.allclose(served_probabilities, expected, atol=1e-5)
print("served without kerasnas; predicted classes:", served_probabilities.argmax(axis=1))

"""
## Where to go next

- Several inputs: give `input_shape` a dict (`{"meta": (3,), "signal": (40, 1)}`)
  and pass `x` as a dict of arrays with the same keys; `build` receives a
  dict of Keras tensors.
- Your own loss and metrics: `kerasnas.search(..., loss=..., metrics=[...],
  objective="val_<metric>")`.
- Worker processes (`executor="process"`) import `build` by name: define it
  in an importable module, not in `__main__`.
"""
