"""The supernet's training steps (compiled once) and its evaluation of single paths."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from kerasnas.data import SearchData
from kerasnas.oneshot.supernet import Supernet


def batches(split, batch_size: int, seed: int | None = None) -> tf.data.Dataset:
    """A `tf.data.Dataset` of `(x, y)` batches of a split (arrays or a batched dataset).

    Args:
        split: `(x, y)` arrays or a batched `tf.data.Dataset`.
        batch_size: batch size for arrays.
        seed: shuffle arrays with this seed (None: keep the order).
    """
    if isinstance(split, tuple):
        x, y = split
        dataset = tf.data.Dataset.from_tensor_slices((x, y))
        if seed is not None:
            dataset = dataset.shuffle(len(x), seed=int(seed) % (2**31))
        return dataset.batch(int(batch_size))
    return split


def num_batches(split, batch_size: int) -> int | None:
    """Batches per epoch of a split (None for a dataset of unknown size)."""
    if isinstance(split, tuple):
        return -(-len(split[0]) // int(batch_size))
    n = int(split.cardinality())
    return n if n >= 0 else None


def _batch_specs(split) -> tuple:
    """`TensorSpec`s of `(x, y)` batches of any size."""
    if isinstance(split, tuple):
        x, y = split
        return (
            tf.TensorSpec((None,) + tuple(x.shape[1:]), tf.as_dtype(x.dtype)),
            tf.TensorSpec((None,) + tuple(y.shape[1:]), tf.as_dtype(y.dtype)),
        )
    x_spec, y_spec = split.element_spec
    return (
        tf.TensorSpec((None,) + tuple(x_spec.shape[1:]), x_spec.dtype),
        tf.TensorSpec((None,) + tuple(y_spec.shape[1:]), y_spec.dtype),
    )


class SupernetTrainer:
    """Compiled training and evaluation steps of a supernet.

    Weights are trained with Adam (gradient norm clipped at 5, as DARTS
    does); architecture weights (DARTS) with their own Adam. Steps are
    `tf.function`s traced once per input signature, so a path or the
    mixture weights are tensors and changing them never retraces.

    Args:
        supernet: the `Supernet`.
        data: the `SearchData` (its task gives the loss and metric).
        learning_rate: the weights' learning rate.
        eval_batch_size: batch size for scoring paths on the validation split.
        max_eval_batches: score on at most this many validation batches.
    """

    def __init__(
        self,
        supernet: Supernet,
        data: SearchData,
        learning_rate: float = 1e-3,
        eval_batch_size: int = 500,
        max_eval_batches: int | None = None,
    ):
        self.supernet = supernet
        self.data = data
        self.task = data.task
        self.variables = supernet.trainable_variables
        self.optimizer = keras.optimizers.Adam(learning_rate, clipnorm=5.0)
        self.optimizer.build(self.variables)
        n = len(supernet.choice_points)
        x_spec, y_spec = _batch_specs(data.train)
        self._specs = [x_spec, y_spec]
        path = [x_spec, y_spec, tf.TensorSpec([n], tf.int32)]
        self.path_step = tf.function(self._path_step, input_signature=path)
        self.path_eval = tf.function(self._path_eval, input_signature=path)
        self._val_cache = None
        self.eval_batch_size = int(eval_batch_size)
        self.max_eval_batches = max_eval_batches
        self.arch_variables: list = []
        self.arch_optimizer = None
        self.aux = tf.Variable(0.0, trainable=False, name="aux_skip")

    # ----------------------------------------------------------------- losses
    @property
    def metric_name(self) -> str:
        return "accuracy" if self.task.kind == "classification" else "mae"

    def losses(self, y, logits):
        """Per-sample loss."""
        if self.task.kind == "classification":
            if self.task.label_format == "one_hot":
                return keras.losses.categorical_crossentropy(y, logits, from_logits=True)
            return keras.losses.sparse_categorical_crossentropy(
                tf.reshape(y, [-1]), logits, from_logits=True
            )
        y = tf.reshape(tf.cast(y, logits.dtype), tf.shape(logits))
        return tf.reduce_mean(tf.square(y - logits), axis=-1)

    def metrics(self, y, logits):
        """Per-sample accuracy (0/1) or mean absolute error."""
        if self.task.kind == "classification":
            predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
            if self.task.label_format == "one_hot":
                truth = tf.argmax(y, axis=-1, output_type=tf.int32)
            else:
                truth = tf.cast(tf.reshape(y, [-1]), tf.int32)
            return tf.cast(tf.equal(predicted, truth), tf.float32)
        y = tf.reshape(tf.cast(y, logits.dtype), tf.shape(logits))
        return tf.reduce_mean(tf.abs(y - logits), axis=-1)

    def score(self, metric: float) -> float:
        """Larger is better: accuracy, or minus the error."""
        return float(metric) if self.task.kind == "classification" else -float(metric)

    # ------------------------------------------------------------ single path
    def _path_step(self, x, y, indices):
        with tf.GradientTape() as tape:
            logits = self.supernet.forward_path(x, indices, dropout=True)
            loss = tf.reduce_mean(self.losses(y, logits))
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return loss, tf.reduce_mean(self.metrics(y, logits))

    def train_path(self, x, y, indices):
        """One weight step on the single path `indices`; returns (loss, metric)."""
        loss, metric = self.path_step(x, y, tf.constant(np.asarray(indices, "int32")))
        return float(loss), float(metric)

    def _path_eval(self, x, y, indices):
        logits = self.supernet.forward_path(x, indices, dropout=False)
        return tf.reduce_sum(self.losses(y, logits)), tf.reduce_sum(self.metrics(y, logits))

    def validation_batches(self) -> list:
        """The validation split as a list of batches (cached)."""
        if self._val_cache is None:
            dataset = batches(self.data.validation, self.eval_batch_size)
            if self.max_eval_batches is not None:
                dataset = dataset.take(int(self.max_eval_batches))
            self._val_cache = list(dataset)
        return self._val_cache

    def evaluate_path(self, indices, val_batches: Sequence | None = None) -> dict:
        """Validation loss and metric of one path under the shared weights."""
        indices = tf.constant(np.asarray(indices, "int32"))
        total_loss = total_metric = 0.0
        count = 0
        for x, y in val_batches if val_batches is not None else self.validation_batches():
            loss, metric = self.path_eval(x, y, indices)
            total_loss += float(loss)
            total_metric += float(metric)
            count += int(x.shape[0])
        return {"loss": total_loss / count, self.metric_name: total_metric / count}

    # ------------------------------------------------------------ DARTS
    def setup_architecture(self, learning_rate: float, weight_decay: float, seed: int) -> None:
        """Creates the architecture logits (near zero) and their Adam optimizer."""
        rng = np.random.default_rng(seed)
        self.arch_variables = [
            tf.Variable(1e-3 * rng.standard_normal(p.size).astype("float32"), name=f"alpha_{i}")
            for i, p in enumerate(self.supernet.choice_points)
        ]
        self.arch_optimizer = keras.optimizers.Adam(
            learning_rate, beta_1=0.5, beta_2=0.999, weight_decay=weight_decay or None
        )
        self.arch_optimizer.build(self.arch_variables)
        self._mixed = {}

    def _compiled(self, kind: str, use_aux: bool):
        key = (kind, bool(use_aux))
        if key not in self._mixed:
            fn = {"step": self._mixed_step, "arch": self._arch_step, "eval": self._mixed_eval}[kind]
            self._mixed[key] = tf.function(
                lambda x, y: fn(x, y, bool(use_aux)), input_signature=self._specs
            )
        return self._mixed[key]

    def mixed_step(self, x, y, use_aux: bool):
        """One weight step of the weighted supernet; returns (loss, metric) tensors."""
        return self._compiled("step", use_aux)(x, y)

    def arch_step(self, x, y, use_aux: bool):
        """One architecture step (on validation data); returns (loss, metric) tensors."""
        return self._compiled("arch", use_aux)(x, y)

    def architecture_weights(self) -> list[np.ndarray]:
        """Softmax of each choice point's logits."""
        return [tf.nn.softmax(a).numpy() for a in self.arch_variables]

    def _mixture(self):
        return [tf.nn.softmax(a) for a in self.arch_variables]

    def _aux(self, use_aux):
        return self.aux if use_aux else None

    def _mixed_step(self, x, y, use_aux: bool):
        with tf.GradientTape() as tape:
            logits = self.supernet.forward_mixed(x, self._mixture(), self._aux(use_aux))
            loss = tf.reduce_mean(self.losses(y, logits))
        grads = tape.gradient(loss, self.variables)
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return loss, tf.reduce_mean(self.metrics(y, logits))

    def _arch_step(self, x, y, use_aux: bool):
        with tf.GradientTape() as tape:
            logits = self.supernet.forward_mixed(x, self._mixture(), self._aux(use_aux))
            loss = tf.reduce_mean(self.losses(y, logits))
        grads = tape.gradient(loss, self.arch_variables)
        self.arch_optimizer.apply_gradients(zip(grads, self.arch_variables))
        return loss, tf.reduce_mean(self.metrics(y, logits))

    def _mixed_eval(self, x, y, use_aux: bool):
        logits = self.supernet.forward_mixed(x, self._mixture(), self._aux(use_aux), dropout=False)
        return tf.reduce_sum(self.losses(y, logits)), tf.reduce_sum(self.metrics(y, logits))

    def evaluate_mixed(self, use_aux: bool) -> dict:
        """Validation loss and metric of the whole weighted supernet."""
        total_loss = total_metric = 0.0
        count = 0
        for x, y in self.validation_batches():
            loss, metric = self._compiled("eval", use_aux)(x, y)
            total_loss += float(loss)
            total_metric += float(metric)
            count += int(x.shape[0])
        return {"loss": total_loss / count, self.metric_name: total_metric / count}
