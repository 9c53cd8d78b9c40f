"""Zero-cost proxies: rank untrained architectures in a fraction of a second.

`kerasnas.search(..., proxy="naswot", proxy_candidates=8)` asks the strategy
for 8 architectures per trial, scores each untrained model with the proxy,
and trains only the best-ranked one (the scores are recorded in the trial's
`info["zero_cost"]`). It works with any strategy: candidates that are not
chosen are never told to it.
"""

from __future__ import annotations

import numpy as np

from kerasnas._lazy import keras
from kerasnas.proxies.naswot import naswot
from kerasnas.proxies.synflow import synflow

#: Names accepted by `kerasnas.search(proxy=...)`.
PROXY_NAMES = ("synflow", "naswot")


class ZeroCostProxy:
    """Scores architectures by building them untrained and applying a proxy.

    Example:

    ```python
    import numpy as np
    import kerasnas
    from kerasnas.builder import ModelBuilder, Task
    from kerasnas.proxies import ZeroCostProxy
    space = kerasnas.spaces.ChainSpace(max_layers=2)
    builder = ModelBuilder(space, (16, 1), Task.infer(np.arange(3)))
    proxy = ZeroCostProxy("synflow", builder)
    proxy.score(space.sample(0), seed=0)
    ```

    Args:
        name: `"synflow"` or `"naswot"`.
        builder: the `ModelBuilder`.
        inputs: a batch of training inputs (needed by `"naswot"`).

    Raises:
        ValueError: for an unknown name, or `"naswot"` without inputs.
    """

    def __init__(self, name: str, builder, inputs=None):
        if name not in PROXY_NAMES:
            raise ValueError(
                f"Unknown zero-cost proxy. Known proxies: {list(PROXY_NAMES)}. "
                f"Received: proxy={name!r}"
            )
        if name == "naswot" and (inputs is None or len(inputs) < 2):
            raise ValueError(
                "The 'naswot' proxy needs a batch of at least 2 training inputs. "
                f"Received: inputs={None if inputs is None else np.shape(inputs)}"
            )
        self.name = name
        self.builder = builder
        self.inputs = None if inputs is None else np.asarray(inputs, dtype="float32")

    def score(self, architecture, seed: int = 0) -> float:
        """Builds `architecture` with seeded initial weights and returns its score."""
        keras.utils.set_random_seed(int(seed) % (2**31))
        model = self.builder.build(architecture)
        try:
            if self.name == "synflow":
                return synflow(model)
            return naswot(model, self.inputs)
        finally:
            del model
            keras.backend.clear_session(free_memory=True)


def _input_batch(data, size: int = 64):
    if data is None:
        return None
    if not data.is_dataset:
        return data.train[0][:size]
    for batch in data.train.take(1):
        return np.asarray(batch[0])[:size]
    return None


def get(proxy, builder=None, data=None) -> ZeroCostProxy:
    """Returns a proxy from a name (bound to a builder and data) or passes one through.

    Raises:
        ValueError: for an unknown name, or a search that builds no models.
    """
    if isinstance(proxy, ZeroCostProxy):
        return proxy
    if isinstance(proxy, str) and proxy in PROXY_NAMES and builder is None:
        raise ValueError(
            "Zero-cost proxies score built models, so they need a search that trains "
            "models on data (not evaluator=callable). Received: proxy=" + repr(proxy)
        )
    if not isinstance(proxy, str):
        raise ValueError(
            f"`proxy` must be one of {list(PROXY_NAMES)} or a ZeroCostProxy. Received: proxy={proxy!r}"
        )
    return ZeroCostProxy(proxy, builder, _input_batch(data))


__all__ = ["PROXY_NAMES", "ZeroCostProxy", "get", "naswot", "synflow"]
