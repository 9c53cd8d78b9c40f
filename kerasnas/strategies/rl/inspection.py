"""Look inside a trained controller, and sample from a saved one."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from kerasnas.errors import IncompatibleSearchError
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.strategies.rl.controller import SPACE_FILE, Controller, _seed_pair
from kerasnas.strategies.rl.environment import DecisionSequence


def decision_probabilities(
    controller: Controller, architecture: Mapping | None = None
) -> list[dict]:
    """The controller's outcome probabilities at every flat step.

    The controller decides step by step, so each step's probabilities
    depend on the choices before it; they are reported along one
    architecture: `architecture`, or by default the controller's most likely
    one (the greedy decoding).

    Example:

    ```python
    import kerasnas
    from kerasnas.strategies.rl import Controller
    from kerasnas.strategies.rl.inspection import decision_probabilities, format_probabilities
    controller = Controller(kerasnas.spaces.nas_bench_macro())
    print(format_probabilities(decision_probabilities(controller)))
    ```

    Args:
        controller: a `Controller`.
        architecture: the architecture to condition on (default: greedy).

    Returns:
        One dict per flat step: `step` (its name), `decision`, `active`
        (whether the decision applies), `chosen` (the label along the
        architecture) and `probabilities` (`{label: probability}`).
    """
    space = controller.space
    if architecture is None:
        indices = controller.most_likely()
    else:
        indices = np.asarray(space.encode_flat(architecture), np.int32)
    probabilities = controller.probabilities(indices)
    arch = space.decode_flat(indices)
    rows = []
    for t, choice in enumerate(space.flat_choices()):
        mask = space.flat_mask(list(indices[:t]))
        active = choice.decision in arch
        rows.append(
            {
                "step": choice.name,
                "decision": choice.decision,
                "active": active,
                "chosen": choice.labels[int(indices[t])],
                "probabilities": {
                    label: float(probabilities[t, i])
                    for i, label in enumerate(choice.labels)
                    if mask[i]
                },
            }
        )
    return rows


def format_probabilities(rows: Sequence[Mapping], show_inactive: bool = False) -> str:
    """A readable table of `decision_probabilities` output.

    Args:
        rows: `decision_probabilities(...)` output.
        show_inactive: also list steps whose decision does not apply.
    """
    lines = []
    width = max((len(r["step"]) for r in rows), default=4)
    for row in rows:
        if not row["active"] and not show_inactive:
            continue
        ranked = sorted(row["probabilities"].items(), key=lambda kv: -kv[1])
        text = "  ".join(f"{label}={p:.2f}" for label, p in ranked)
        lines.append(f"{row['step'].ljust(width)}  -> {row['chosen']:<10} {text}")
    return "\n".join(lines)


def plot_probabilities(
    rows: Sequence[Mapping], path: str | os.PathLike | None = None, title: str | None = None
):
    """A heat map of the probabilities of every active step.

    Args:
        rows: `decision_probabilities(...)` output.
        path: save the figure here (PNG, SVG, ... by extension).
        title: the figure's title.

    Returns:
        The matplotlib `Figure`.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["active"]]
    labels = sorted({label for r in rows for label in r["probabilities"]}, key=str)
    if len(labels) > 12:  # many distinct labels: show ranks instead
        columns = max(len(r["probabilities"]) for r in rows)
        grid = np.zeros((len(rows), columns))
        for i, r in enumerate(rows):
            values = sorted(r["probabilities"].values(), reverse=True)
            grid[i, : len(values)] = values
        labels = [f"#{k + 1}" for k in range(columns)]
    else:
        grid = np.array([[r["probabilities"].get(label, np.nan) for label in labels] for r in rows])
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(labels), 0.8 + 0.35 * len(rows)))
    image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), [f"{r['step']} -> {r['chosen']}" for r in rows])
    fig.colorbar(image, ax=ax, label="probability")
    ax.set_title(title or "Controller probabilities along its most likely architecture")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


class SavedPolicy:
    """A controller policy saved with `Controller.save_policy`, loaded for sampling.

    Example:

    ```python
    import kerasnas
    from kerasnas.strategies.rl import Controller, load_policy
    space = kerasnas.spaces.nas_bench_macro()
    Controller(space).save_policy("runs/policy")
    policy = load_policy("runs/policy", space)
    policy.sample(3, seed=0)   # three Architectures
    ```

    Args:
        path: the directory written by `save_policy`.
        space: the space the policy was trained on.

    Raises:
        IncompatibleSearchError: if `space` is not the policy's space.
        FileNotFoundError: if `path` holds no saved policy.
    """

    def __init__(self, path: str | os.PathLike, space: SearchSpace):
        path = pathlib.Path(path)
        meta_path = path / SPACE_FILE
        if not meta_path.exists():
            raise FileNotFoundError(
                f"No kerasnas controller policy in this directory (missing {SPACE_FILE}). "
                f"Received: path='{path}'"
            )
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if self.meta.get("space_fingerprint") != space.fingerprint():
            raise IncompatibleSearchError(
                f"The policy in '{path}' was trained on another space (fingerprint "
                f"{self.meta.get('space_fingerprint')}). Received: space with fingerprint "
                f"{space.fingerprint()}"
            )
        self.path = path
        self.space = space
        self.sequence = DecisionSequence(space)
        self.policy = tf.saved_model.load(str(path))

    def sample_indices(self, n: int, seed=0, greedy: bool = False) -> np.ndarray:
        """Samples `[n, T]` flat encodings (stateless: same seed, same result)."""
        seq = self.sequence
        seed = _seed_pair(seed)
        actions, active = seq.initial_state(n)
        state = self.policy.get_initial_state(n)
        for t in range(seq.num_steps):
            observation, step_active = seq.observation(actions, active, tf.constant(t))
            step_type = ts.StepType.FIRST if t == 0 else ts.StepType.MID
            time_step = ts.TimeStep(
                tf.fill([n], tf.constant(step_type, tf.int32)),
                tf.zeros([n]),
                tf.ones([n]),
                observation,
            )
            step = self.policy.distribution(time_step, state)
            logits = step.action.logits_parameter()
            if greedy:
                action = tf.argmax(logits, axis=-1, output_type=tf.int32)
            else:
                action = tf.random.stateless_categorical(
                    logits,
                    1,
                    seed=tf.random.experimental.stateless_fold_in(seed, t),
                    dtype=tf.int32,
                )[:, 0]
            state = step.state
            actions, active = seq.record(actions, active, t, action, step_active)
        return actions[:, : seq.num_steps].numpy()

    def sample(self, n: int = 1, seed=0, greedy: bool = False) -> list[Architecture]:
        """Samples `n` architectures from the saved policy."""
        return [self.space.decode_flat(row) for row in self.sample_indices(n, seed, greedy)]


def load_policy(path: str | os.PathLike, space: SearchSpace) -> SavedPolicy:
    """Loads a policy saved with `Controller.save_policy` (see `SavedPolicy`)."""
    return SavedPolicy(path, space)
