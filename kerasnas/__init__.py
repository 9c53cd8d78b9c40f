"""kerasnas: neural architecture search for Keras 3 that emits deployable SavedModels."""

# Public names load on first use (PEP 562), so `import kerasnas` imports neither
# TensorFlow nor the rest of kerasnas until a name is used.
import sys
import types

from kerasnas import _lazy
from kerasnas.version import __version__


class _Package(types.ModuleType):
    # `kerasnas.search` is the function, and also the name of its module: importing
    # the module sets the package attribute to the module, which would hide the
    # function, so the function is kept instead.
    def __setattr__(self, name, value):
        if name == "search" and isinstance(value, types.ModuleType):
            value = value.search
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__getattr__, __dir__ = _lazy.attach(
    __name__,
    {
        "Search": "kerasnas.search",
        "search": "kerasnas.search",
        "ModelBuilder": "kerasnas.builder",
        "Task": "kerasnas.builder",
        "CallableEvaluator": "kerasnas.evaluation",
        "Evaluator": "kerasnas.evaluation",
        "FitEvaluator": "kerasnas.evaluation",
        "Objective": "kerasnas.objective",
        "SearchResult": "kerasnas.result",
        "load_search": "kerasnas.result",
        "Journal": "kerasnas.runtime",
        "TrialRecord": "kerasnas.runtime",
        "Architecture": "kerasnas.spaces",
        "SearchSpace": "kerasnas.spaces",
        "Strategy": "kerasnas.strategies",
    },
    submodules=(
        "builder",
        "errors",
        "evaluation",
        "export",
        "proxies",
        "report",
        "runtime",
        "spaces",
        "strategies",
    ),
)

__all__ = [
    "Architecture",
    "CallableEvaluator",
    "Evaluator",
    "FitEvaluator",
    "Journal",
    "ModelBuilder",
    "Objective",
    "Search",
    "SearchResult",
    "SearchSpace",
    "Strategy",
    "Task",
    "TrialRecord",
    "__version__",
    "builder",
    "errors",
    "evaluation",
    "export",
    "load_search",
    "proxies",
    "report",
    "runtime",
    "search",
    "spaces",
    "strategies",
]
