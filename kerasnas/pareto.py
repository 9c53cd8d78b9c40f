"""Pareto utilities: dominance, non-dominated sorting, crowding distance.

Every function works on *scores*, where larger is better for every column
(`Objective.score` turns a minimised metric into its negative), so
`"max"` and `"min"` objectives are handled alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kerasnas.objective import Objective
from kerasnas.trial import TrialRecord


def score_matrix(records: Sequence[TrialRecord], objectives: Sequence[Objective]) -> np.ndarray:
    """Returns an `(n_records, n_objectives)` array of scores (larger is better).

    A missing or non-finite metric scores `-inf`.

    Example:

    ```python
    import kerasnas
    from kerasnas.pareto import score_matrix
    record = kerasnas.TrialRecord(0, {"a": 1}, "completed", {"acc": 0.9, "params": 10})
    score_matrix([record], [kerasnas.Objective("acc"), kerasnas.Objective("params")])
    # array([[  0.9, -10. ]])
    ```

    Args:
        records: trial records.
        objectives: the objectives, one column each.
    """
    scores = np.full((len(records), len(objectives)), -np.inf)
    for i, record in enumerate(records):
        for j, objective in enumerate(objectives):
            scores[i, j] = objective.score(record.metrics)
    return scores


def dominates(first: Sequence[float], second: Sequence[float]) -> bool:
    """Whether score vector `first` Pareto-dominates `second` (larger is better).

    `first` dominates `second` when it is at least as good in every
    objective and strictly better in at least one.

    Example:

    ```python
    from kerasnas.pareto import dominates
    dominates([0.9, -10], [0.8, -10])   # True
    dominates([0.9, -20], [0.8, -10])   # False: a trade-off
    ```
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    return bool(np.all(a >= b) and np.any(a > b))


def _domination_matrix(scores: np.ndarray) -> np.ndarray:
    """`m[i, j]` is True when row i dominates row j."""
    left = scores[:, None, :]
    right = scores[None, :, :]
    return np.all(left >= right, axis=2) & np.any(left > right, axis=2)


def non_dominated_sort(scores: np.ndarray | Sequence[Sequence[float]]) -> list[list[int]]:
    """Splits rows into Pareto fronts: front 0 is non-dominated, and so on.

    Example:

    ```python
    from kerasnas.pareto import non_dominated_sort
    non_dominated_sort([[1, 0], [0, 1], [0, 0]])   # [[0, 1], [2]]
    ```

    Args:
        scores: an `(n, m)` array, larger is better in every column.

    Returns:
        A list of fronts, each a sorted list of row indices; every row is in
        exactly one front.

    Raises:
        ValueError: if `scores` is not two-dimensional.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(
            f"`scores` must be a 2-D array (n_points, n_objectives). Received: shape={scores.shape}"
        )
    n = scores.shape[0]
    if n == 0:
        return []
    dominated_by = _domination_matrix(scores)
    counts = dominated_by.sum(axis=0)  # how many rows dominate each row
    remaining = np.ones(n, dtype=bool)
    fronts = []
    while remaining.any():
        front = np.flatnonzero(remaining & (counts == 0))
        fronts.append([int(i) for i in front])
        remaining[front] = False
        counts = counts - dominated_by[front].sum(axis=0)
    return fronts


def pareto_ranks(scores: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Returns each row's front number (0 for non-dominated rows)."""
    fronts = non_dominated_sort(scores)
    ranks = np.zeros(sum(len(f) for f in fronts), dtype=int)
    for rank, front in enumerate(fronts):
        ranks[front] = rank
    return ranks


def crowding_distance(scores: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """NSGA-II crowding distance of each row within its set (usually one front).

    The extreme rows of every objective get `inf`; the others the sum over
    objectives of the normalised gap between their two neighbours. A larger
    distance means a less crowded, more valuable point.

    Example:

    ```python
    from kerasnas.pareto import crowding_distance
    crowding_distance([[0, 3], [1, 2], [3, 0]])   # array([inf, 2., inf])
    ```

    Args:
        scores: an `(n, m)` array of finite scores.

    Returns:
        A float array of length n.
    """
    scores = np.asarray(scores, dtype=float)
    n = scores.shape[0]
    distance = np.zeros(n)
    if n <= 2:
        distance[:] = np.inf
        return distance
    for j in range(scores.shape[1]):
        column = scores[:, j]
        order = np.argsort(column, kind="stable")
        span = column[order[-1]] - column[order[0]]
        distance[order[0]] = distance[order[-1]] = np.inf
        if span <= 0 or not np.isfinite(span):
            continue
        gaps = (column[order[2:]] - column[order[:-2]]) / span
        distance[order[1:-1]] += gaps
    return distance


def pareto_front(
    records: Sequence[TrialRecord], objectives: Sequence[Objective]
) -> list[TrialRecord]:
    """Returns the completed trials that no other completed trial dominates.

    Only trials that completed and report a finite value for every
    objective take part. Two trials with equal values are both kept.

    Example:

    ```python
    import kerasnas
    from kerasnas.pareto import pareto_front
    records = [
        kerasnas.TrialRecord(0, {"a": 0}, "completed", {"acc": 0.9, "params": 100}),
        kerasnas.TrialRecord(1, {"a": 1}, "completed", {"acc": 0.8, "params": 10}),
        kerasnas.TrialRecord(2, {"a": 2}, "completed", {"acc": 0.7, "params": 50}),
    ]
    objectives = [kerasnas.Objective("acc"), kerasnas.Objective("params")]
    [r.number for r in pareto_front(records, objectives)]   # [0, 1]
    ```

    Args:
        records: trial records (any status; only completed ones count).
        objectives: the objectives.

    Returns:
        The non-dominated records, in their original order.
    """
    candidates = [
        r for r in records if r.ok and all(o.value(r.metrics) is not None for o in objectives)
    ]
    if not candidates:
        return []
    scores = score_matrix(candidates, objectives)
    dominated = _domination_matrix(scores).any(axis=0)
    return [r for r, d in zip(candidates, dominated) if not d]


__all__ = [
    "crowding_distance",
    "dominates",
    "non_dominated_sort",
    "pareto_front",
    "pareto_ranks",
    "score_matrix",
]
