"""Deferred imports: TensorFlow and Keras load on first use, not on `import kerasnas`.

Importing TensorFlow takes seconds. kerasnas modules that only call Keras
inside functions import the stand-in `keras` from here instead of the real
module, and packages list their public names with `attach`, so
`import kerasnas` (and a CLI that only reads a journal) never pays for
TensorFlow.

Example:

```python
import sys
import kerasnas
space = kerasnas.spaces.get("chain", input_shape=(40, 1))
"tensorflow" in sys.modules  # False until a model is built
```
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterable, Mapping


class LazyModule(types.ModuleType):
    """A stand-in for a module that imports the real one on first attribute access.

    Args:
        name: the module to import, e.g. `"keras"`.
    """

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_lazy_target"] = None

    def _load(self) -> types.ModuleType:
        target = self.__dict__["_lazy_target"]
        if target is None:
            target = importlib.import_module(self.__name__)
            self.__dict__["_lazy_target"] = target
        return target

    def __getattr__(self, attribute: str):
        return getattr(self._load(), attribute)

    def __dir__(self):
        return dir(self._load())

    def __repr__(self) -> str:
        loaded = "loaded" if self.__dict__["_lazy_target"] is not None else "not loaded yet"
        return f"<lazy module {self.__name__!r} ({loaded})>"


#: Keras, imported when a kerasnas function first touches it.
keras = LazyModule("keras")


def attach(
    package: str,
    names: Mapping[str, str],
    submodules: Iterable[str] = (),
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Returns a package's `__getattr__` and `__dir__` (PEP 562) for lazy public names.

    Args:
        package: the package's `__name__`.
        names: public name -> the module (absolute) that defines it, or
            `"module:attribute"` when the public name is an alias.
        submodules: subpackages or modules reachable as attributes.

    Returns:
        `(__getattr__, __dir__)` to assign in the package's namespace.
    """
    names = dict(names)
    submodules = frozenset(submodules)

    def __getattr__(name: str):
        if name in names:
            module, _, attribute = names[name].partition(":")
            value = getattr(importlib.import_module(module), attribute or name)
        elif name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names) | submodules)

    return __getattr__, __dir__
