"""Argument checks shared by every public constructor: one wording for every error.

Example:

```python
from kerasnas.validation import check_int
check_int("max_trials", 10, minimum=1)  # 10
```
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


def check_int(
    name: str,
    value: Any,
    minimum: int | None = None,
    maximum: int | None = None,
    why: str = "",
) -> int:
    """Returns `value` as an int if it is an int within `[minimum, maximum]`.

    Args:
        name: the parameter's name, for the message.
        value: what the caller passed.
        minimum: the smallest accepted value (None: no bound).
        maximum: the largest accepted value (None: no bound).
        why: a sentence on why the bound exists, added to the message.

    Returns:
        `int(value)`.

    Raises:
        ValueError: naming the parameter, the bounds and the value received.
    """
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    low_ok = minimum is None or (is_int and value >= minimum)
    high_ok = maximum is None or (is_int and value <= maximum)
    if is_int and low_ok and high_ok:
        return int(value)
    if minimum is not None and maximum is not None:
        bounds = f"an int between {minimum} and {maximum}"
    elif minimum is not None:
        bounds = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    elif maximum is not None:
        bounds = f"an int <= {maximum}"
    else:
        bounds = "an int"
    reason = f" {why}" if why and is_int and not high_ok else ""
    raise ValueError(f"`{name}` must be {bounds}.{reason} Received: {name}={value!r}")


def accepted_keywords(factory: Callable) -> list[str] | None:
    """The keyword names `factory` accepts, or None if it takes `**kwargs`."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return None
    names = []
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if parameter.name != "self" and parameter.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            names.append(parameter.name)
    return names


def check_option_keys(
    parameter: str, options: Mapping[str, Any], accepted: list[str] | None, owner: str
) -> None:
    """Refuses option names that `owner` does not accept, listing the accepted ones.

    Args:
        parameter: the argument that carried the options (e.g. `space_options`).
        options: the options received.
        accepted: the names accepted (None: anything goes).
        owner: what the options are for (e.g. `space 'chain'`).

    Raises:
        ValueError: for unknown names.
    """
    if accepted is None:
        return
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"Unknown {parameter} {unknown} for {owner}. Accepted: {sorted(accepted)}. "
            f"Received: {parameter}={dict(options)!r}"
        )


def check_instance(name: str, value: Any, kind: type) -> Any:
    """Returns `value` if it is a `kind`.

    Raises:
        ValueError: naming the parameter, the type expected and the value received.
    """
    if not isinstance(value, kind):
        raise ValueError(f"`{name}` must be a {kind.__name__}. Received: {name}={value!r}")
    return value


def check_positive(value: Any, name: str, unit: str = "", allow_none: bool = True):
    """Returns `value` as a float if it is a positive number (or None when allowed).

    Raises:
        ValueError: naming the parameter and the value received.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        what = f"a positive number of {unit}" if unit else "a positive number"
        none = " or None" if allow_none else ""
        raise ValueError(f"`{name}` must be {what}{none}. Received: {name}={value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices) -> Any:
    """Returns `value` if it is one of `choices`.

    Raises:
        ValueError: naming the parameter, the choices and the value received.
    """
    if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
        raise ValueError(
            f"`{name}` must be one of {list(choices)}. Received: {name}={value!r}"
        )
    return value
