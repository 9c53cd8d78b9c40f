"""Stopping bad trials early: successive halving (ASHA), Hyperband, median stopping.

A `Pruner` looks at a trial's objective at the end of each epoch and
compares it with the learning curves of the trials that finished before
it (they are in the journal: every record of a trained model keeps its
per-epoch `history`). A trial that is not promising stops training; it is
recorded as completed with the metrics of the epoch it reached and
`info["stopped_early"] = {"epoch": ..., "reason": ...}`, and `info["budget"]`
says how many epochs it used. Nothing is checkpointed: a trial that is
"promoted" simply keeps training in the same `fit` call, so the rules work
with any strategy and any executor.

This is the asynchronous successive-halving rule (ASHA, Li et al. 2018) in
its stopping form: at a rung of `min_epochs * reduction_factor**k` epochs a
trial continues only if it is in the top `1/reduction_factor` of the trials
that reached that rung (itself included).

Example:

```python
import kerasnas
result = kerasnas.search(
    data="mnist1d", max_trials=20, epochs=9,
    pruner=kerasnas.runtime.SuccessiveHalving(min_epochs=1, reduction_factor=3),
    directory="runs/asha")
sum(t.info["budget"] for t in result.trials if t.ok)  # epochs actually trained
```
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kerasnas._lazy import keras
from kerasnas.objective import Objective
from kerasnas.trial import TrialRecord
from kerasnas.validation import accepted_keywords, check_option_keys


class Pruner:
    """Decides, at the end of an epoch, whether a trial should stop training.

    Subclasses implement `should_stop` and may restrict which epochs and
    which earlier trials matter (`epochs_of_interest`, `competes_with`).
    """

    name = "pruner"

    def should_stop(
        self, number: int, epoch: int, score: float, others: Sequence[float]
    ) -> str | None:
        """Returns a reason to stop trial `number` after `epoch`, or None.

        Args:
            number: the trial number.
            epoch: epochs trained so far (from 1).
            score: the trial's objective at `epoch`, larger is better.
            others: scores of the earlier competing trials at `epoch`.
        """
        raise NotImplementedError

    def epochs_of_interest(self, number: int, max_epoch: int) -> list[int]:
        """The epochs at which `should_stop` may stop trial `number`."""
        return list(range(1, max_epoch + 1))

    def competes_with(self, number: int, other: int) -> bool:
        """Whether trial `other`'s curve counts when judging trial `number`."""
        return True

    def get_config(self) -> dict:
        return {"name": self.name}

    # ----------------------------------------------------------- plumbing
    def job_spec(self, number: int, history: Sequence[TrialRecord], objective: Objective) -> dict:
        """The plain-data spec a worker needs to apply this rule to trial `number`."""
        curves = learning_curves(
            [r for r in history if self.competes_with(number, r.number)], objective
        )
        longest = max((len(c) for c in curves), default=0)
        wanted = set(self.epochs_of_interest(number, max(longest, 1)))
        table: dict[str, list[float]] = {}
        for curve in curves:
            for epoch, score in enumerate(curve, start=1):
                if epoch in wanted:
                    table.setdefault(str(epoch), []).append(score)
        return {"pruner": self.get_config(), "objective": objective.to_json(), "table": table}


def learning_curves(history: Sequence[TrialRecord], objective: Objective) -> list[list[float]]:
    """Per-epoch objective scores (larger is better) of the completed trials."""
    curves = []
    for record in history:
        if not record.ok:
            continue
        values = record.info.get("history", {}).get(objective.name)
        if not values:
            continue
        curve = [objective.score({objective.name: v}) for v in values]
        if all(math.isfinite(v) for v in curve):
            curves.append(curve)
    return curves


def _check_int(name: str, value: Any, minimum: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return int(value)


class SuccessiveHalving(Pruner):
    """Asynchronous successive halving (ASHA) as a stopping rule.

    Rungs are at `min_epochs * reduction_factor**k` epochs. At a rung, a
    trial keeps training only if its objective is among the best
    `max(1, n // reduction_factor)` of the `n` trials that reached the rung
    (itself included); ties continue.

    Example:

    ```python
    from kerasnas.runtime import SuccessiveHalving
    rule = SuccessiveHalving(min_epochs=1, reduction_factor=3)
    rule.should_stop(5, 1, score=0.4, others=[0.9, 0.8, 0.3])  # a reason: not top 1/3
    ```

    Args:
        min_epochs: epochs every trial gets (the first rung).
        reduction_factor: keep the top `1/reduction_factor` at each rung.

    Raises:
        ValueError: for a non-positive `min_epochs` or `reduction_factor < 2`.
    """

    name = "successive_halving"

    def __init__(self, min_epochs: int = 1, reduction_factor: int = 3):
        self.min_epochs = _check_int("min_epochs", min_epochs, 1)
        self.reduction_factor = _check_int("reduction_factor", reduction_factor, 2)

    def rungs(self, max_epoch: int) -> list[int]:
        rungs, epoch = [], self.min_epochs
        while epoch <= max_epoch:
            rungs.append(epoch)
            epoch *= self.reduction_factor
        return rungs

    def epochs_of_interest(self, number: int, max_epoch: int) -> list[int]:
        return self.rungs(max(max_epoch, self.min_epochs))

    def should_stop(self, number, epoch, score, others):
        if epoch not in self.rungs(epoch):
            return None
        scores = sorted([*others, score], reverse=True)
        keep = max(1, len(scores) // self.reduction_factor)
        threshold = scores[keep - 1]
        if score < threshold:
            return (
                f"successive halving: at epoch {epoch}, not in the top {keep} of "
                f"{len(scores)} trials that reached this rung"
            )
        return None

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "min_epochs": self.min_epochs,
            "reduction_factor": self.reduction_factor,
        }


class Hyperband(Pruner):
    """Hyperband: successive halving in several brackets of growing `min_epochs`.

    Bracket `b` (of `0..s`, `s = floor(log(max_epochs / min_epochs) /
    log(reduction_factor))`) runs successive halving with first rung
    `min_epochs * reduction_factor**b`; the last bracket trains every trial
    fully. Trials go to brackets in turn (`number % (s + 1)`) and compete
    only within their bracket, which hedges against rules that stop slow
    starters too early.

    Example:

    ```python
    from kerasnas.runtime import Hyperband
    rule = Hyperband(min_epochs=1, max_epochs=9)
    [rule.bracket_min_epochs(n) for n in range(3)]  # [1, 3, 9]
    ```

    Args:
        min_epochs: the first rung of the most aggressive bracket.
        max_epochs: the full budget (the evaluator's epochs).
        reduction_factor: keep the top `1/reduction_factor` at each rung.
    """

    name = "hyperband"

    def __init__(self, min_epochs: int = 1, max_epochs: int = 9, reduction_factor: int = 3):
        self.min_epochs = _check_int("min_epochs", min_epochs, 1)
        self.max_epochs = _check_int("max_epochs", max_epochs, self.min_epochs)
        self.reduction_factor = _check_int("reduction_factor", reduction_factor, 2)
        ratio = self.max_epochs / self.min_epochs
        self.num_brackets = int(math.floor(math.log(ratio) / math.log(reduction_factor) + 1e-9)) + 1

    def bracket(self, number: int) -> int:
        return int(number) % self.num_brackets

    def bracket_min_epochs(self, number: int) -> int:
        return self.min_epochs * self.reduction_factor ** self.bracket(number)

    def _halving(self, number: int) -> SuccessiveHalving:
        return SuccessiveHalving(self.bracket_min_epochs(number), self.reduction_factor)

    def competes_with(self, number, other):
        return self.bracket(number) == self.bracket(other)

    def epochs_of_interest(self, number, max_epoch):
        return self._halving(number).epochs_of_interest(number, max_epoch)

    def should_stop(self, number, epoch, score, others):
        reason = self._halving(number).should_stop(number, epoch, score, others)
        if reason is not None:
            reason = f"hyperband bracket {self.bracket(number)}, {reason}"
        return reason

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "min_epochs": self.min_epochs,
            "max_epochs": self.max_epochs,
            "reduction_factor": self.reduction_factor,
        }


class MedianStopping(Pruner):
    """Stops a trial whose objective is worse than the median of earlier trials at that epoch.

    Example:

    ```python
    from kerasnas.runtime import MedianStopping
    rule = MedianStopping(warmup_epochs=1, min_trials=3)
    rule.should_stop(9, 2, score=0.2, others=[0.5, 0.6, 0.7])  # a reason
    ```

    Args:
        warmup_epochs: never stop before this many epochs.
        min_trials: compare only once this many earlier trials reached the epoch.
    """

    name = "median"

    def __init__(self, warmup_epochs: int = 1, min_trials: int = 5):
        self.warmup_epochs = _check_int("warmup_epochs", warmup_epochs, 1)
        self.min_trials = _check_int("min_trials", min_trials, 1)

    def epochs_of_interest(self, number, max_epoch):
        return list(range(self.warmup_epochs, max_epoch + 1))

    def should_stop(self, number, epoch, score, others):
        if epoch < self.warmup_epochs or len(others) < self.min_trials:
            return None
        median = float(np.median(others))
        if score < median:
            return f"median stopping: at epoch {epoch}, below the median of {len(others)} trials"
        return None

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "warmup_epochs": self.warmup_epochs,
            "min_trials": self.min_trials,
        }


_PRUNERS = {
    "successive_halving": SuccessiveHalving,
    "asha": SuccessiveHalving,
    "hyperband": Hyperband,
    "median": MedianStopping,
}

#: Names accepted by `kerasnas.search(pruner=...)`.
PRUNER_NAMES = tuple(_PRUNERS)


def get_pruner(
    pruner, max_epochs: int | None = None, evaluator=None, **options
) -> Pruner | None:
    """Returns a pruner from a name (with options), an object, or None.

    Example:

    ```python
    from kerasnas.runtime import get_pruner
    get_pruner("asha", min_epochs=2)
    ```

    Args:
        pruner: a name from `PRUNER_NAMES`, a `Pruner`, or None.
        max_epochs: the full budget, used by `"hyperband"`.
        evaluator: the search's evaluator, if known: a pruner needs one
            that trains for epochs.
        **options: constructor arguments for a pruner given by name.

    Raises:
        ValueError: for an unknown name.
    """
    if pruner is not None and evaluator is not None and not evaluator.produces_models:
        raise ValueError(
            "A pruner stops training early, so it needs an evaluator that trains for "
            f"epochs (e.g. FitEvaluator). Received: pruner={pruner!r} with "
            f"evaluator={type(evaluator).__name__}"
        )
    if pruner is None or isinstance(pruner, Pruner):
        if options and pruner is not None:
            raise ValueError(
                f"pruner_options apply to pruners given by name. Received: pruner={pruner!r}"
            )
        return pruner
    if not isinstance(pruner, str) or pruner not in _PRUNERS:
        raise ValueError(
            f"Unknown pruner. Known pruners: {list(PRUNER_NAMES)}. Received: pruner={pruner!r}"
        )
    check_option_keys(
        "pruner_options", options, accepted_keywords(_PRUNERS[pruner]), f"pruner {pruner!r}"
    )
    if _PRUNERS[pruner] is Hyperband and max_epochs is not None:
        options.setdefault("max_epochs", max_epochs)
    return _PRUNERS[pruner](**options)


def pruner_from_config(config: Mapping[str, Any]) -> Pruner:
    """Rebuilds a pruner from `get_config()`."""
    config = dict(config)
    name = config.pop("name")
    return _PRUNERS[name](**config)


def make_pruning_callback(spec: Mapping[str, Any], number: int) -> keras.callbacks.Callback:
    """The callback for a job's pruning spec (see `Pruner.job_spec`)."""
    from kerasnas.runtime.trial_callbacks import PruningCallback

    return PruningCallback(
        pruner_from_config(spec["pruner"]),
        Objective.from_json(spec["objective"]),
        number,
        spec.get("table", {}),
    )


def simulate(pruner: Pruner, history: Sequence[TrialRecord], objective: Objective) -> list[dict]:
    """Replays the learning curves of fully trained trials through a pruner.

    In a sequential search the pruner's decisions depend only on the
    curves, so replaying a search that trained every trial fully tells
    exactly what the pruner would have stopped and what it would have
    saved, without training anything again: a cheap way to choose
    `min_epochs` and `reduction_factor` for a space and data set.

    Example:

    ```python
    import kerasnas
    from kerasnas.runtime.pruning import SuccessiveHalving, simulate
    # result = kerasnas.load_search("runs/full-training")
    # rows = simulate(SuccessiveHalving(1, 3), result.trials, result.objective)
    # sum(r["epochs"] for r in rows)  # epochs with the pruner
    ```

    Args:
        pruner: the `Pruner`.
        history: completed trials with a per-epoch `history`, in the order
            they finished.
        objective: the objective the pruner compares.

    Returns:
        One dict per trial with a curve: `number`, `epochs` trained under
        the pruner, `value` (the objective at that epoch), and `stopped`.
    """
    rows: list[dict] = []
    seen: list[TrialRecord] = []
    for record in history:
        curves = learning_curves([record], objective)
        if not curves:
            continue
        curve = curves[0]
        spec = pruner.job_spec(record.number, seen, objective)
        table = {int(k): v for k, v in spec["table"].items()}
        epochs = len(curve)
        for epoch in range(1, len(curve)):  # the last epoch is never cut
            if pruner.should_stop(record.number, epoch, curve[epoch - 1], table.get(epoch, [])):
                epochs = epoch
                break
        values = record.info["history"][objective.name][:epochs]
        truncated = TrialRecord(
            number=record.number,
            architecture=record.architecture,
            status=record.status,
            metrics={objective.name: values[-1]},
            info={"history": {objective.name: values}},
        )
        seen.append(truncated)
        rows.append(
            {
                "number": record.number,
                "epochs": epochs,
                "value": float(values[-1]),
                "stopped": epochs < len(curve),
            }
        )
    return rows
