"""kerasnas: neural architecture search for Keras 3 that emits deployable SavedModels."""

# Public names load on first use (PEP 562), so `import kerasnas` does not import
# TensorFlow. `search` is both a module and the function: it is bound eagerly
# (kerasnas.search imports no TensorFlow) so that importing the module
# `kerasnas.search` can never shadow the function.
from kerasnas import _lazy
from kerasnas.search import Search, search
from kerasnas.version import __version__

__getattr__, __dir__ = _lazy.attach(
    __name__,
    {
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
