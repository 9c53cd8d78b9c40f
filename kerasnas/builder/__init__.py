"""Model building: operations with stable names, tasks, and the `ModelBuilder`."""

from kerasnas.builder.builder import ModelBuilder, make_optimizer
from kerasnas.builder.ops import OPERATIONS, get_operation
from kerasnas.builder.plot import plot_architecture, plot_model
from kerasnas.builder.task import Task

__all__ = [
    "ModelBuilder",
    "OPERATIONS",
    "Task",
    "get_operation",
    "make_optimizer",
    "plot_architecture",
    "plot_model",
]
