"""What travels between the search and its worker processes: JSON, pickle only for objects.

Messages (jobs, outcomes, ready and stop notes) are JSON on the socket. The
evaluator's spec is JSON when it is plain data (the usual `FitEvaluator` on
arrays: configs, settings and file paths); it is pickled only when it holds
objects the user passed (a callable evaluator, a loss or metric object,
Keras callbacks, a custom space or operation), which the worker must import
by name anyway.

Example:

```python
from kerasnas.runtime import wire
payload = wire.encode_spec({"kind": "fit", "fit": {"epochs": 3}})
payload.startswith(b"json\\n")  # True
wire.decode_spec(payload)["fit"]["epochs"]  # 3
```
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import numpy as np

_JSON, _PICKLE = b"json\n", b"pickle\n"


def is_plain(value: Any) -> bool:
    """True if `value` is made of JSON types only (dicts keyed by strings)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    return False


def encode_spec(spec: dict) -> bytes:
    """The evaluator spec as bytes: JSON if plain, else a pickle (see the module notes)."""
    if is_plain(spec):
        return _JSON + json.dumps(spec).encode("utf-8")
    return _PICKLE + pickle.dumps(spec)


def decode_spec(payload: bytes) -> dict:
    """Reads what `encode_spec` wrote.

    Raises:
        ValueError: for bytes `encode_spec` did not write.
    """
    if payload.startswith(_JSON):
        return json.loads(payload[len(_JSON) :].decode("utf-8"))
    if payload.startswith(_PICKLE):
        return pickle.loads(payload[len(_PICKLE) :])
    raise ValueError(f"Not an evaluator spec. Received: {payload[:16]!r}...")


def _numpy_default(value):
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON: {value!r}")


def send(conn, message: dict) -> None:
    """Sends `message` as JSON (numpy values made plain; NaN kept as NaN)."""
    conn.send_bytes(json.dumps(message, default=_numpy_default).encode("utf-8"))


def recv(conn) -> dict:
    """Receives one message sent with `send`.

    Raises:
        EOFError, OSError: when the other side is gone.
    """
    return json.loads(conn.recv_bytes().decode("utf-8"))
