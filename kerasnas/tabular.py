"""Tabular benchmarks: score architectures by looking them up, without training."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from kerasnas.spaces.nas_bench_macro import NasBenchMacroSpace

_TABLES = pathlib.Path(__file__).resolve().parent / "tables"


class NasBenchMacro:
    """NAS-Bench-Macro on CIFAR-10: 6,561 architectures with measured accuracies.

    The table ships with kerasnas (Apache-2.0, Su et al., CVPR 2021). Test
    accuracies are in percent; `flops` are the table's multiply-accumulates.
    The benchmark has no validation split: searches use the mean test
    accuracy (or one of the three training seeds, to simulate noise) as the
    reward and report regret against the best mean, 93.13%.

    Example:

    ```python
    import kerasnas
    from kerasnas.tabular import NasBenchMacro
    table = NasBenchMacro()
    result = kerasnas.search(space=table.space, evaluator=table.evaluator(),
                             objective="accuracy", max_trials=50, verbose=0,
                             directory="runs/nbm-example", overwrite=True)
    table.regret(result.best_value)   # percentage points below the optimum
    ```

    Args:
        path: another copy of the table's JSON file.
    """

    def __init__(self, path: str | pathlib.Path | None = None):
        path = pathlib.Path(path) if path else _TABLES / "nas_bench_macro_cifar10.json"
        with open(path, encoding="utf-8") as f:
            self.table: dict[str, dict] = json.load(f)
        self.space = NasBenchMacroSpace()
        self.best_string = max(self.table, key=lambda k: self.table[k]["mean_acc"])
        self.optimum = float(self.table[self.best_string]["mean_acc"])

    def __len__(self) -> int:
        return len(self.table)

    def _string(self, architecture: Mapping[str, Any] | str) -> str:
        if isinstance(architecture, str):
            self.space.from_string(architecture)  # validates
            return architecture
        return self.space.to_string(architecture)

    def query(self, architecture: Mapping[str, Any] | str) -> dict:
        """Returns the table row of an architecture (or its 8-digit string).

        Raises:
            InvalidArchitectureError: for an encoding outside the space.
        """
        return dict(self.table[self._string(architecture)])

    def evaluator(self, noisy: bool = False, seed: int = 0) -> Callable[[Mapping[str, Any]], dict]:
        """Returns `fn(architecture) -> {"accuracy", "params", "flops"}` for `evaluator=`.

        Args:
            noisy: report one of the three training runs, drawn at random,
                instead of their mean (simulates evaluation noise).
            seed: seed of that draw.
        """
        rng = np.random.default_rng(seed)

        def lookup(architecture: Mapping[str, Any]) -> dict:
            row = self.query(architecture)
            accuracy = row["test_acc"][int(rng.integers(3))] if noisy else row["mean_acc"]
            return {
                "accuracy": float(accuracy),
                "mean_accuracy": float(row["mean_acc"]),
                "params": int(row["params"]),
                "flops": int(row["flops"]),
            }

        lookup.__name__ = "nas_bench_macro_noisy" if noisy else "nas_bench_macro"
        return lookup

    def regret(self, accuracy: float) -> float:
        """Percentage points between `accuracy` and the table's best mean accuracy."""
        return self.optimum - float(accuracy)
