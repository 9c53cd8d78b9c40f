"""`distribution_strategy=`: train each candidate (and the final model) on several devices.

A `tf.distribute.Strategy` object lives in one process: it cannot be sent to
worker processes or Ray actors. kerasnas therefore also accepts a strategy
by *name* (`"mirrored"`, `"one_device"`) or as a small JSON spec
(`{"name": "mirrored", "devices": ["/gpu:0", "/gpu:1"]}`), and each worker
builds the strategy itself, on its own devices. A strategy object given to
a search is converted to such a spec when trials run elsewhere (its device
list included, so name the strategy instead when the workers' devices
differ from the search process's, e.g. on a Ray cluster with GPUs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Strategy names accepted by `distribution_strategy=`.
STRATEGY_NAMES = ("mirrored", "one_device")

_CLASS_NAMES = {"MirroredStrategy": "mirrored", "OneDeviceStrategy": "one_device"}

# Strategies built from specs in this process, by spec. TensorFlow cannot
# run the collectives of two MirroredStrategy instances over the same
# devices in one process (the second one's all-reduce fails with "Shape
# mismatch in the collective instance"), so a spec is built once and reused.
_BUILT: dict[tuple, Any] = {}


def _short_device(name: str) -> str:
    """`/job:localhost/replica:0/task:0/device:GPU:1` -> `/gpu:1`."""
    tail = name.rsplit("device:", 1)[-1]
    kind, _, index = tail.partition(":")
    return f"/{kind.lower()}:{index or 0}"


def strategy_spec(strategy: Any) -> dict | None:
    """Describes a distribution strategy as JSON so that another process can rebuild it.

    Example:

    ```python
    from kerasnas.distribute import strategy_spec
    strategy_spec("mirrored")  # {'name': 'mirrored', 'devices': None}
    strategy_spec({"name": "mirrored", "devices": ["/gpu:0", "/gpu:1"]})
    ```

    Args:
        strategy: None, a name from `STRATEGY_NAMES`, a spec dict, or a
            `tf.distribute.MirroredStrategy` / `OneDeviceStrategy`.

    Returns:
        A dict `{"name": ..., "devices": [...] or None}`, or None for None.

    Raises:
        ValueError: for unknown names, malformed specs and strategies that
            cannot be described (e.g. TPU or multi-worker strategies).
    """
    if strategy is None:
        return None
    received = strategy
    if isinstance(strategy, str):
        strategy = {"name": strategy}
    if isinstance(strategy, Mapping):
        name = strategy.get("name")
        if name not in STRATEGY_NAMES:
            raise ValueError(
                f"Unknown distribution strategy. Known names: {list(STRATEGY_NAMES)} "
                f"(or pass a tf.distribute.Strategy). Received: distribution_strategy={received!r}"
            )
        unknown = sorted(set(strategy) - {"name", "devices"})
        devices = strategy.get("devices")
        if unknown or (
            devices is not None
            and (
                isinstance(devices, str)
                or not all(isinstance(d, str) for d in devices)
                or (name == "one_device" and len(devices) != 1)
            )
        ):
            raise ValueError(
                "A distribution strategy spec is {'name': NAME, 'devices': [device, ...] or "
                "None} ('one_device' takes exactly one device). "
                f"Received: distribution_strategy={dict(strategy)!r}"
            )
        return {"name": name, "devices": None if devices is None else list(devices)}
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.Strategy):
        raise ValueError(
            "`distribution_strategy` must be a tf.distribute.Strategy, a name "
            f"({list(STRATEGY_NAMES)}) or a spec dict. Received: distribution_strategy={strategy!r}"
        )
    name = _CLASS_NAMES.get(type(strategy).__name__)
    if name is None:
        raise ValueError(
            f"A {type(strategy).__name__} cannot be sent to worker processes or Ray actors; "
            f"only {sorted(_CLASS_NAMES)} can. Use executor='local' to train with it in "
            f"this process. Received: distribution_strategy={strategy!r}"
        )
    devices = [_short_device(d) for d in strategy.extended.worker_devices]
    return {"name": name, "devices": devices}


def strategy_from_spec(spec: Mapping | None):
    """Builds the `tf.distribute.Strategy` a `strategy_spec(...)` describes (None for None).

    `{"name": "mirrored", "devices": None}` mirrors across every device this
    process sees (all its GPUs, or the CPU), which on a Ray worker are the
    GPUs Ray gave the trial. A spec is built once per process and the
    same strategy returned afterwards (TensorFlow cannot run two
    `MirroredStrategy` instances over the same devices in one process; for
    the same reason, reuse one strategy object of your own).

    Example:

    ```python
    from kerasnas.distribute import strategy_from_spec
    strategy = strategy_from_spec({"name": "mirrored", "devices": ["/cpu:0"]})
    strategy.num_replicas_in_sync  # 1
    ```
    """
    if spec is None:
        return None
    import tensorflow as tf

    spec = strategy_spec(spec)  # validates
    key = (spec["name"], None if spec["devices"] is None else tuple(spec["devices"]))
    if key not in _BUILT:
        if spec["name"] == "mirrored":
            _BUILT[key] = tf.distribute.MirroredStrategy(spec["devices"])
        else:
            device = spec["devices"][0] if spec["devices"] else _default_device()
            _BUILT[key] = tf.distribute.OneDeviceStrategy(device)
    return _BUILT[key]


def _default_device() -> str:
    import tensorflow as tf

    return "/gpu:0" if tf.config.list_logical_devices("GPU") else "/cpu:0"


def resolve_strategy(strategy: Any):
    """Returns `(strategy_object_or_None, spec_or_None)` for `distribution_strategy=`.

    A name or spec gives no object yet (it is built where training happens,
    on first use); a strategy object gives itself and its spec, or a None
    spec if it cannot be described (then it only works in-process).

    Raises:
        ValueError: for anything that is not a strategy, a known name or a spec.
    """
    if strategy is None:
        return None, None
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.Strategy):
        try:
            return strategy, strategy_spec(strategy)
        except ValueError:
            return strategy, None
    return None, strategy_spec(strategy)


def describe(strategy) -> dict:
    """`{"strategy": class name, "replicas": n}`, recorded with each trial."""
    return {"strategy": type(strategy).__name__, "replicas": int(strategy.num_replicas_in_sync)}


__all__ = ["STRATEGY_NAMES", "describe", "resolve_strategy", "strategy_from_spec", "strategy_spec"]
