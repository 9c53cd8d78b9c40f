"""Routes TensorFlow's `tf.keras` to legacy Keras 2 (tf-keras) for TF-Agents.

TF-Agents 0.19 is written against Keras 2. TensorFlow picks the Keras behind
`tf.keras` from `TF_USE_LEGACY_KERAS` in two places: when `tensorflow` is
first imported (the search path of the `tensorflow.keras` submodule) and when
the lazy `tf.keras` attribute is first touched. kerasnas imports TensorFlow
long before an RL search starts, and TF-Agents does `from tensorflow.keras
import layers`, which would then load Keras 3. So setting the variable is not
enough: this module points `tensorflow.keras` (attribute and submodule) and
`tf.compat.v1/v2.keras` at tf-keras, then restores the variable, so that
child processes and the user's own code are not switched over.

Keras 3 itself (`import keras`) is a separate package and is untouched: a
user's Keras 3 models keep working before and after an RL search.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys

_DONE = False


def _resolve(loader) -> None:
    """Forces a TensorFlow lazy Keras loader to load its module now."""
    try:
        loader.__name__  # noqa: B018 - attribute access triggers loading
        dir(loader)
    except Exception:  # noqa: BLE001 - a loader that cannot load is left alone
        pass


def ensure_legacy_keras() -> None:
    """Makes `tf.keras` legacy Keras 2 so that TF-Agents can be imported.

    Safe to call many times; only the first call does work.

    Raises:
        ImportError: if tf-keras or TF-Agents is not installed, with the
            install command.
    """
    global _DONE
    if _DONE:
        return
    try:
        import tf_keras  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError(
            "strategy='rl' needs TF-Agents and legacy Keras: "
            "pip install 'kerasnas[rl]' (or '.[all]' from a checkout)."
        ) from e
    previous = os.environ.get("TF_USE_LEGACY_KERAS")
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    try:
        import tensorflow as tf

        legacy = importlib.import_module("tf_keras.api._v2.keras")
        sys.modules["tensorflow.keras"] = legacy
        tf.__dict__["keras"] = legacy
        # The compat loaders read the variable when first touched: touch
        # them while it is set (TF-Agents uses tf.compat.v1.keras).
        for compat in (tf.compat.v1, tf.compat.v2):
            loader = compat.__dict__.get("keras")
            if loader is not None and type(loader).__name__ == "KerasLazyLoader":
                if not getattr(loader, "_tfll_initialized", True):
                    _resolve(loader)
        # Gym (a TF-Agents dependency) prints a notice to stderr on import.
        with contextlib.redirect_stderr(io.StringIO()):
            import tf_agents  # noqa: F401
            from tf_agents.networks import network  # noqa: F401
    finally:
        if previous is None:
            os.environ.pop("TF_USE_LEGACY_KERAS", None)
        else:
            os.environ["TF_USE_LEGACY_KERAS"] = previous
    _DONE = True
