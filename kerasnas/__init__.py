"""kerasnas: neural architecture search for Keras 3 that emits deployable SavedModels."""

# Public names load on first use (PEP 562), so `import kerasnas` imports neither
# TensorFlow nor the rest of kerasnas until a name is used.
import sys
import types

from kerasnas import _lazy
from kerasnas.version import __version__


class _Package(types.ModuleType):
    # `kerasnas.search` is the front-door function (kerasnas.api), and also the name
    # of the loop's module: importing that module would set the package attribute
    # to the module and hide the function, so the attribute is left to __getattr__.
    def __setattr__(self, name, value):
        if name == "search" and isinstance(value, types.ModuleType):
            return  # the loop's module: `kerasnas.search` stays the front door (api.search)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__getattr__, __dir__ = _lazy.attach(
    __name__,
    {
        "Search": "kerasnas.search",
        "search": "kerasnas.api",
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
        "api",
        "builder",
        "errors",
        "evaluation",
        "export",
        "ops",
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
    "ops",
    "proxies",
    "report",
    "runtime",
    "search",
    "spaces",
    "strategies",
]
