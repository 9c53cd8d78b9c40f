"""
Title: Quickstart: search a model for MNIST-1D and export it for TensorFlow Serving
Author: the kerasnas team
Date created: 2026/11/28
Last modified: 2026/11/28
Description: One `kerasnas.search(...)` call finds a chain-structured network,
then the best model is exported as a verified SavedModel.
Accelerator: None (runs in a few minutes on 2 CPU cores)
"""

"""
## Introduction

Neural architecture search (NAS) treats network design as a search problem:
a **search space** says what may be built, a **strategy** decides what to try
next, and every candidate is trained and scored. kerasnas does all three
behind one call and gives back Keras 3 models.

This tutorial:

1. generates MNIST-1D offline (4,000 training and 1,000 test sequences of
   length 40; published test accuracies: logistic regression 32%, MLP 68%,
   CNN 94%);
2. runs a random search over chain-structured networks;
3. inspects the trials and the best architecture;
4. exports the best model for TensorFlow Serving and checks the export.

Set `KERASNAS_TUTORIAL_QUICK=1` to run a shortened version (the test suite
does).
"""

import json
import os

import numpy as np
import tensorflow as tf

import kerasnas
from kerasnas.data import load_mnist1d

QUICK = os.environ.get("KERASNAS_TUTORIAL_QUICK") == "1"
MAX_TRIALS = 2 if QUICK else 12
EPOCHS = 1 if QUICK else 15

"""
## The data

`load_mnist1d` generates the dataset with the `mnist1d` package (no
download) and holds out 10% of the training set for validation. Inputs are
sequences of shape `(40, 1)`; labels are integers 0-9.
"""

data = load_mnist1d()
x_train, y_train = data.train
x_val, y_val = data.validation
x_test, y_test = data.test
print("train", x_train.shape, "validation", x_val.shape, "test", x_test.shape)

"""
## The search

`space="chain"` picks a chain-structured space suited to sequences: up to
four layers, each a convolution, separable convolution, pooling, dense or
identity layer with its own width, kernel size, activation, batch norm and
dropout. `strategy="random"` samples architectures uniformly and never
trains the same one twice. Every trial is written to a journal in
`directory`, so re-running this script resumes instead of starting over.
"""

result = kerasnas.search(
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    test_data=(x_test, y_test),
    space="chain",
    strategy="random",
    objective="val_accuracy",
    max_trials=MAX_TRIALS,
    epochs=EPOCHS,
    directory="runs/quickstart",
    seed=0,
)

"""
## What the search found

`result.trials` holds every trial with its architecture, status, metrics
(including parameter count and FLOPs) and timing. The best architecture is a
plain JSON dict that you can store and rebuild later.
"""

result.summary()
best = result.best_trial
print("best trial:", best.number, "val_accuracy:", round(best.metrics["val_accuracy"], 4))
print(json.dumps(result.best_architecture, indent=2))
print("test metrics of the best model:", result.test_metrics())

"""
## Export for serving

`result.export(path)` writes `path/<version>/` in TensorFlow Serving's
layout, with `architecture.json` and `model_card.json` beside the
SavedModel. The export reloads itself and compares its predictions with the
in-memory model before it is put in place.
"""

info = result.export("exports/quickstart")
print("exported to", info.path, "max |difference| after reload:", info.max_abs_diff)

reloaded = tf.saved_model.load(str(info.path))
serve = reloaded.signatures["serving_default"]
served = serve(inputs=tf.constant(x_test[:5]))
kept = result.best_model.predict(x_test[:5], verbose=0)
assert np.allclose(served["probabilities"].numpy(), kept, atol=1e-5)
print("served classes:", served["probabilities"].numpy().argmax(axis=1), "labels:", y_test[:5])

"""
## Next steps

- `tutorials/02_search_spaces.py`: chain with skips, templates and cells.
- Retrain the best architecture from scratch on training plus validation
  data before exporting it:
  `result.export("exports/quickstart", model=result.train_model(epochs=30, include_validation=True))`.
"""
