"""kerasnas: neural architecture search for Keras 3 that emits deployable SavedModels."""

from kerasnas import (
    builder,
    errors,
    evaluation,
    export,
    ops,
    proxies,
    report,
    runtime,
    spaces,
    strategies,
)
from kerasnas.api import search
from kerasnas.builder import ModelBuilder, Task
from kerasnas.evaluation import CallableEvaluator, Evaluator, FitEvaluator
from kerasnas.objective import Objective
from kerasnas.result import SearchResult, load_search
from kerasnas.runtime import Journal, TrialRecord
from kerasnas.search import Search
from kerasnas.spaces import Architecture, SearchSpace
from kerasnas.strategies import Strategy
from kerasnas.version import __version__

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
