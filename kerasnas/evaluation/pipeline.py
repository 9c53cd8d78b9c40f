"""In-memory training data as `tf.data` pipelines, built once per search and reused by every trial.

Given NumPy arrays, `model.fit` converts them to tensors and builds a new
input pipeline on every call: once per trial. `ArrayPipeline` converts
the arrays once; each trial then gets a pipeline over the same tensors
that shuffles sample indices with the trial's seed, gathers each batch
and prefetches the next one while the current one trains. Only indices
are shuffled, so no copy of the data is made beyond the one conversion.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kerasnas.data import SearchData, num_samples


def _as_structure(x):
    """Inputs as tf.data takes them: a dict stays a dict, a list of arrays becomes a tuple."""
    if isinstance(x, dict):
        return dict(x)
    if isinstance(x, (list, tuple)):
        return tuple(x)
    return x


class ArrayPipeline:
    """Training and validation batches of a `SearchData` that holds arrays.

    Example:

    ```python
    import numpy as np
    from kerasnas.data import from_arrays
    from kerasnas.evaluation.pipeline import ArrayPipeline

    data = from_arrays(np.random.rand(100, 8), np.arange(100) % 2)
    pipeline = ArrayPipeline(data)
    batches = pipeline.train(batch_size=32, seed=0)
    x, y = next(iter(batches))
    x.shape  # TensorShape([32, 8])
    ```

    Args:
        data: a `SearchData` whose splits are arrays (a dict or list of
            arrays for several inputs); its `sample_weight`, if any, goes
            into each training batch.

    Raises:
        ValueError: if `data` holds `tf.data` datasets (they are used as given).
    """

    def __init__(self, data: SearchData):
        import tensorflow as tf

        if data.is_dataset:
            raise ValueError(
                "ArrayPipeline takes array data; datasets are used as given. Received: "
                f"data with train={type(data.train).__name__}"
            )
        x, y = data.train
        self.num_train = num_samples(x)
        parts: tuple = (_as_structure(x), y)
        if data.sample_weight is not None:
            parts += (np.asarray(data.sample_weight, dtype="float32"),)
        # One conversion to tensors, kept for the whole search.
        self._train = tf.nest.map_structure(tf.convert_to_tensor, parts)
        self._validation_arrays = data.validation
        xv, yv = data.validation
        self._validation_tensors = tf.nest.map_structure(
            tf.convert_to_tensor, (_as_structure(xv), yv)
        )
        self._validation: dict[int, Any] = {}

    def train(self, batch_size: int, seed: int | None = None, passes: int = 1):
        """One trial's training batches: shuffled indices, gathered, prefetched.

        Args:
            batch_size: samples per batch (the last batch may be smaller).
            seed: the shuffle seed (each epoch is a new permutation).
            passes: passes over the training set per epoch (each its own
                permutation), for small data sets.

        Returns:
            A `tf.data.Dataset` of `(x, y)` or `(x, y, sample_weight)` batches.
        """
        import tensorflow as tf

        tensors = self._train
        indices = tf.data.Dataset.range(self.num_train).shuffle(
            self.num_train, seed=seed, reshuffle_each_iteration=True
        )
        if passes > 1:
            indices = indices.repeat(passes)

        def gather(index):
            return tf.nest.map_structure(lambda t: tf.gather(t, index), tensors)

        return indices.batch(batch_size).map(gather).prefetch(tf.data.AUTOTUNE)

    def validation(self, batch_size: int):
        """Validation batches in a fixed order (built once per batch size, then reused)."""
        import tensorflow as tf

        if batch_size not in self._validation:
            tensors = self._validation_tensors
            count = num_samples(self._validation_arrays[0])

            def gather(index):
                return tf.nest.map_structure(lambda t: tf.gather(t, index), tensors)

            dataset = tf.data.Dataset.range(count).batch(batch_size).map(gather)
            self._validation[batch_size] = dataset.prefetch(tf.data.AUTOTUNE)
        return self._validation[batch_size]
