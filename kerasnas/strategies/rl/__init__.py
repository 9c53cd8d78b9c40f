"""Reinforcement-learning search: a TF-Agents policy is the NAS controller.

Importing this package loads TF-Agents, which needs legacy Keras 2
(tf-keras); `_legacy_keras.ensure_legacy_keras()` routes `tf.keras` to it
first without affecting Keras 3 (`import keras`). `import kerasnas` never
imports this package: `strategy="rl"` loads it on demand.
"""

from kerasnas.strategies.rl._legacy_keras import ensure_legacy_keras

ensure_legacy_keras()

from kerasnas.strategies.rl.controller import Controller  # noqa: E402
from kerasnas.strategies.rl.environment import (  # noqa: E402
    ArchitectureEnvironment,
    DecisionSequence,
    DecisionTables,
)
from kerasnas.strategies.rl.inspection import (  # noqa: E402
    SavedPolicy,
    decision_probabilities,
    format_probabilities,
    load_policy,
    plot_probabilities,
)
from kerasnas.strategies.rl.rewards import CostPenalty, RewardFunction  # noqa: E402
from kerasnas.strategies.rl.strategy import RLStrategy  # noqa: E402

__all__ = [
    "ArchitectureEnvironment",
    "Controller",
    "CostPenalty",
    "DecisionSequence",
    "DecisionTables",
    "RLStrategy",
    "RewardFunction",
    "SavedPolicy",
    "decision_probabilities",
    "format_probabilities",
    "load_policy",
    "plot_probabilities",
]
