"""Evaluators (how a candidate is scored), constraints and costs."""

from kerasnas.evaluation.base import CallableEvaluator, Evaluation, Evaluator, TrialContext
from kerasnas.evaluation.constraints import Constraints
from kerasnas.evaluation.costs import (
    architecture_costs,
    count_flops,
    count_params,
    measure_latency,
)
from kerasnas.evaluation.fit import FitEvaluator, evaluate_model

__all__ = [
    "CallableEvaluator",
    "Constraints",
    "Evaluation",
    "Evaluator",
    "FitEvaluator",
    "TrialContext",
    "architecture_costs",
    "count_flops",
    "count_params",
    "evaluate_model",
    "measure_latency",
]
