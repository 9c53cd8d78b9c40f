"""Model building: tasks and the `ModelBuilder` (operations live in `kerasnas.layers`)."""

from kerasnas.builder.builder import ModelBuilder, make_optimizer
from kerasnas.builder.plot import plot_architecture, plot_model
from kerasnas.builder.task import Task
from kerasnas.layers.ops import OPERATIONS, get_operation

__all__ = [
    "ModelBuilder",
    "OPERATIONS",
    "Task",
    "get_operation",
    "make_optimizer",
    "plot_architecture",
    "plot_model",
]
