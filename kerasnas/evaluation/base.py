"""The `Evaluator` interface and the callable evaluator."""

from __future__ import annotations

import dataclasses
import math
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

from kerasnas.errors import TrialFailure
from kerasnas.evaluation.constraints import Constraints
from kerasnas.spaces.space import Architecture


@dataclasses.dataclass
class TrialContext:
    """What an evaluator knows about the trial it runs.

    Attributes:
        number: the trial number.
        seed: seed for weights and shuffling.
        directory: a folder the trial may write to (created on demand).
        epochs: the training budget asked by the search, or None for the
            evaluator's default (multi-fidelity schedules set it).
        callbacks: extra Keras callbacks from the search (e.g. TensorBoard).
    """

    number: int
    seed: int
    directory: pathlib.Path | None = None
    epochs: int | None = None
    callbacks: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Evaluation:
    """What an evaluator returns.

    Attributes:
        metrics: final metrics, e.g. `{"val_accuracy": 0.9, "params": 1234}`.
        model: the trained `keras.Model`, if the evaluator trained one.
        info: anything else worth recording (epochs run, per-epoch history).
    """

    metrics: dict
    model: Any = None
    info: dict = dataclasses.field(default_factory=dict)


class Evaluator:
    """Scores an architecture. Subclasses implement `evaluate`.

    `FitEvaluator` trains with `model.fit`; `CallableEvaluator` wraps any
    function (a benchmark table lookup, an analytic score). Raise
    `kerasnas.errors.ConstraintViolation` to reject a candidate before
    training and `kerasnas.errors.TrialFailure` (or any exception) to fail
    it; the search records either and goes on.
    """

    #: Whether `evaluate` returns a trained model worth keeping on disk.
    produces_models = False

    def evaluate(self, architecture: Architecture, context: TrialContext) -> Evaluation:
        """Evaluates one architecture.

        Args:
            architecture: a validated architecture.
            context: the trial's number, seed, directory and budget.

        Returns:
            An `Evaluation`.
        """
        raise NotImplementedError

    def get_config(self) -> dict:
        """Parameters that define the evaluator (stored with the search)."""
        return {"class": type(self).__name__}

    def worker_config(self) -> dict | None:
        """Settings a worker process rebuilds this evaluator from, or None to send the object.

        An evaluator that returns a dict also has `builder` and `data`
        attributes; a worker rebuilds it as
        `type(self).from_config(config, builder, data)`, with the data sent
        as files (never pickled). The default, None, sends the evaluator
        itself (pickled), so it must be importable by the worker.
        """
        return None

    def reported_metrics(self) -> set[str] | None:
        """The metric names every completed trial reports, or None if unknown.

        A search refuses an objective outside this set before the first
        trial. The default (None) means "cannot tell": a callable may
        return anything.
        """
        return None


def check_reported_objectives(evaluator: Evaluator, objectives) -> None:
    """Refuses objectives that `evaluator` can say it never reports.

    Raises:
        ValueError: naming the objective and the metrics that are reported.
    """
    reported = evaluator.reported_metrics()
    if reported is None:
        return
    for objective in objectives:
        if objective.name not in reported:
            raise ValueError(
                f"The objective '{objective.name}' is not a metric this search's trials "
                f"report. Reported metrics: {sorted(reported)}. "
                f"Received: objective={objective.name!r}"
            )


class CallableEvaluator(Evaluator):
    """Scores architectures with a function: `fn(architecture) -> float | dict`.

    Nothing is trained. A float result is stored under the objective's name.

    With `constraints`, the costs the function returns (`params`, `flops`,
    `latency_ms`) are checked against the limits: a candidate over a limit
    is recorded as rejected (a tabular benchmark knows the costs without
    training, so nothing is wasted), and a function that does not return a
    constrained cost fails the trial with a message saying which.

    Example:

    ```python
    from kerasnas.evaluation import CallableEvaluator, TrialContext
    evaluator = CallableEvaluator(lambda arch: arch["num_layers"] / 10, "score")
    evaluator.evaluate({"num_layers": 3}, TrialContext(0, 0)).metrics  # {'score': 0.3}
    ```

    Args:
        fn: the scoring function.
        metric_name: the key for float results (the objective's name).
        constraints: optional `Constraints` to check the returned costs against.

    Raises:
        TypeError: at evaluation, if `fn` returns something else than a
            number or a dict of numbers.
    """

    def __init__(
        self,
        fn: Callable[[Mapping[str, Any]], Any],
        metric_name: str,
        constraints: Constraints | None = None,
    ):
        if not callable(fn):
            raise TypeError(f"`evaluator` must be callable. Received: {fn!r}")
        self.fn = fn
        self.metric_name = metric_name
        self.constraints = constraints or Constraints()

    def evaluate(self, architecture: Architecture, context: TrialContext) -> Evaluation:
        result = self.fn(architecture)
        if isinstance(result, Mapping):
            metrics = dict(result)
        elif isinstance(result, (int, float)) and not isinstance(result, bool):
            metrics = {self.metric_name: float(result)}
        elif hasattr(result, "item"):  # numpy scalar
            metrics = {self.metric_name: float(result.item())}
        else:
            raise TypeError(
                "The evaluator callable must return a number or a dict of metrics. "
                f"Received: {result!r}"
            )
        for key, value in metrics.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise TrialFailure(f"the evaluator returned {key}={value}")
        if self.constraints.active:
            for name, limit in self.constraints.to_json().items():
                metric = name[len("max_") :]
                if metric not in metrics:
                    raise TrialFailure(
                        f"{name}={limit} is set but the evaluator returned no '{metric}' "
                        f"metric to check it against (it returned {sorted(metrics)})"
                    )
            # A rejected trial keeps its costs only, as if nothing else were known.
            costs = ("params", "flops", "latency_ms")
            self.constraints.check({k: v for k, v in metrics.items() if k in costs})
        return Evaluation(metrics=metrics)

    def get_config(self) -> dict:
        config = {"class": type(self).__name__, "fn": getattr(self.fn, "__name__", repr(self.fn))}
        if self.constraints.active:
            config["constraints"] = self.constraints.to_json()
        return config
