"""JSON in and out, strict: numpy values and non-finite floats made plain.

Example:

```python
import numpy as np
from kerasnas.jsonio import dumps
dumps({"a": np.float32(1.5), "b": float("nan")})  # '{"a":1.5,"b":"nan"}'
```
"""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Converts numpy values and non-finite floats into strict JSON values."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf": readable, and strict JSON
    return value


def dumps(value: Any) -> str:
    """JSON text of `value` (numpy and NaN safe) on one line."""
    return json.dumps(to_jsonable(value), allow_nan=False, separators=(",", ":"))


def write_json(path: pathlib.Path, value: Any) -> None:
    """Writes JSON with sorted keys and indentation."""
    path.write_text(json.dumps(to_jsonable(value), indent=2, sort_keys=True), encoding="utf-8")
