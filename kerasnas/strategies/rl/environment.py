"""The architecture environment: one flat decision per step, masks from tables.

A search space is a fixed sequence of small categorical steps
(`SearchSpace.flat_choices()`). Which outcomes a step allows depends on
earlier steps: a decision whose conditions fail allows only outcome 0, and the
yes/no steps of a `Subset` must respect its sizes. Conditions are always "an
earlier decision takes one of these values", so all of this fits in a few
integer tables. `DecisionTables` builds them from the space once; the TF
functions of `DecisionSequence` evaluate them with gathers and comparisons,
so the masks work inside a compiled (`tf.function`) rollout and agree with
`SearchSpace.flat_mask` (tested on every built-in space).

`ArchitectureEnvironment` wraps the same logic as a TF-Agents
`TFEnvironment`: each step takes one decision, and the episode ends after the
last one with the reward of a `reward_fn` (or 0 when rewards arrive later,
as in a search where architectures are trained elsewhere). It never trains a
model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from tf_agents.environments import tf_environment
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from kerasnas.spaces.decisions import Categorical, Subset
from kerasnas.spaces.space import SearchSpace

#: Logit of outcomes a mask forbids: finite, so that entropies and PPO ratios
#: stay finite, and far enough below any real logit that softmax gives 0.
MASKED_LOGIT = -1e9

_WILDCARD = -1  # pattern entry that matches any outcome (padding)
_NEVER = -2  # pattern entry that matches no outcome (padding rows)


class DecisionTables:
    """Integer tables that describe a space's flat decision sequence.

    Built once from a `SearchSpace` with numpy; `DecisionSequence` turns them
    into TF constants. Step `T` (one past the last decision) is a terminal
    step with a single allowed outcome.

    Example:

    ```python
    import kerasnas
    from kerasnas.strategies.rl.environment import DecisionTables
    tables = DecisionTables(kerasnas.spaces.nas_bench_macro())
    tables.num_steps, tables.max_choices  # (8, 3)
    ```

    Args:
        space: the search space.

    Raises:
        ValueError: if the space has no flat steps.
    """

    def __init__(self, space: SearchSpace):
        steps = space.flat_choices()
        if not steps:
            raise ValueError(f"The space has no decisions. Received: space={space!r}")
        self.space = space
        self.steps = steps
        self.num_steps = len(steps)
        self.max_choices = max(s.num_choices for s in steps)
        T = self.num_steps
        self.num_choices = np.array([s.num_choices for s in steps] + [1], np.int32)
        self.offsets = np.concatenate([[0], np.cumsum(self.num_choices[:-1])]).astype(np.int32)
        total = int(self.num_choices[:T].sum())
        # Token 0 starts an episode; active outcomes and skipped steps get
        # their own tokens so the controller sees what came before.
        self.active_token_base = 1
        self.skip_token_base = 1 + total
        self.vocab_size = 1 + total + T

        layout = space._flat_layout()
        first_step = {d.name: start for d, start, _ in layout}
        self.is_subset = np.zeros(T + 1, bool)
        self.subset_min = np.zeros(T + 1, np.int32)
        self.subset_max = np.zeros(T + 1, np.int32)
        self.subset_remaining = np.zeros(T + 1, np.int32)
        self.within = np.zeros((T + 1, T + 1), np.int32)
        conditions: list[tuple[list[int], list[list[int]]]] = []
        step_conditions: list[list[int]] = [[] for _ in range(T + 1)]
        for decision, start, n in layout:
            ids = []
            for condition in decision.conditions:
                ids.append(len(conditions))
                conditions.append(self._condition_table(space, condition, first_step))
            for inner in range(n):
                t = start + inner
                step_conditions[t] = ids
                if isinstance(decision, Subset):
                    self.is_subset[t] = True
                    self.subset_min[t] = decision.min_size
                    self.subset_max[t] = decision.max_size
                    self.subset_remaining[t] = n - inner
                    self.within[t, start:t] = 1
                elif not isinstance(decision, Categorical):  # pragma: no cover
                    raise ValueError(
                        "The RL controller supports Categorical and Subset decisions. "
                        f"Received: {decision!r}"
                    )
        width = max([len(s) for s, _ in conditions] + [1])
        rows = max([len(p) for _, p in conditions] + [1])
        C = len(conditions)
        # Condition C is a padding condition that always holds.
        self.cond_steps = np.zeros((C + 1, width), np.int32)
        self.cond_patterns = np.full((C + 1, rows, width), _NEVER, np.int32)
        self.cond_real = np.zeros(C + 1, bool)
        for c, (cond_steps, patterns) in enumerate(conditions):
            self.cond_real[c] = True
            self.cond_steps[c, : len(cond_steps)] = cond_steps
            for r, pattern in enumerate(patterns):
                self.cond_patterns[c, r, :] = _WILDCARD
                self.cond_patterns[c, r, : len(pattern)] = pattern
        self.cond_patterns[C, 0, :] = _WILDCARD
        per_step = max([len(ids) for ids in step_conditions] + [1])
        self.step_conditions = np.full((T + 1, per_step), C, np.int32)
        for t, ids in enumerate(step_conditions):
            self.step_conditions[t, : len(ids)] = ids

    @staticmethod
    def _condition_table(space, condition, first_step):
        """(steps of the controlling decision, allowed outcome patterns)."""
        controlling = space._by_name[condition.decision]
        start = first_step[controlling.name]
        n = len(controlling.flat_choices())
        patterns = []
        for value in condition.values:
            if isinstance(controlling, Categorical):
                index = controlling.index(value)
                if index >= 0:
                    patterns.append([index])
            else:
                try:
                    canonical = controlling.check(value)
                except ValueError:
                    continue
                # Condition.is_met compares lists in order: only the
                # canonical spelling of a subset can ever match.
                if list(value) == canonical:
                    patterns.append(controlling.encode_flat(canonical))
        if not patterns:
            patterns = [[_NEVER] * n]
        return list(range(start, start + n)), patterns


class DecisionSequence:
    """Pure TF functions that walk a space's flat decision sequence.

    The state of a batch of partial architectures is `(actions, active)`, two
    `[batch, T + 1]` tensors (outcomes and whether each step's decision was
    active), filled up to the current step. Everything is computed from the
    tables, so it runs inside `tf.function` with any batch size.

    Example:

    ```python
    import tensorflow as tf
    import kerasnas
    from kerasnas.strategies.rl.environment import DecisionSequence
    seq = DecisionSequence(kerasnas.spaces.nas_bench_macro())
    actions, active = seq.initial_state(2)
    active_0, mask_0, token_0 = seq.step_info(actions, active, tf.constant(0))
    mask_0.numpy()  # all three operations allowed for both rows
    ```

    Args:
        space: the search space (or its `DecisionTables`).
    """

    def __init__(self, space: SearchSpace | DecisionTables):
        tables = space if isinstance(space, DecisionTables) else DecisionTables(space)
        self.tables = tables
        self.num_steps = tables.num_steps
        self.max_choices = tables.max_choices
        self.vocab_size = tables.vocab_size
        self._np = {
            "num_choices": tables.num_choices,
            "offsets": tables.offsets,
            "is_subset": tables.is_subset,
            "subset_min": tables.subset_min,
            "subset_max": tables.subset_max,
            "subset_remaining": tables.subset_remaining,
            "within": tables.within,
            "cond_steps": tables.cond_steps,
            "cond_patterns": tables.cond_patterns,
            "cond_real": tables.cond_real,
            "step_conditions": tables.step_conditions,
        }

    def _t(self, name):
        # Constants are created in the graph being traced (never captured
        # across graphs).
        return tf.constant(self._np[name])

    def observation_spec(self) -> dict:
        """The observation: step index, previous token and allowed outcomes."""
        return {
            "step": tensor_spec.BoundedTensorSpec([], tf.int32, 0, self.num_steps, name="step"),
            "previous": tensor_spec.BoundedTensorSpec(
                [], tf.int32, 0, self.vocab_size - 1, name="previous"
            ),
            "mask": tensor_spec.TensorSpec([self.max_choices], tf.bool, name="mask"),
        }

    def action_spec(self):
        """One outcome per step, padded to the widest step (masks remove the rest)."""
        return tensor_spec.BoundedTensorSpec([], tf.int32, 0, self.max_choices - 1, name="outcome")

    def initial_state(self, batch_size):
        """Empty `(actions, active)` for `batch_size` architectures."""
        shape = tf.stack([batch_size, self.num_steps + 1])
        return tf.zeros(shape, tf.int32), tf.zeros(shape, tf.bool)

    def step_info(self, actions, active, t):
        """Whether step `t` is active, its mask `[batch, A]` and the previous token.

        Args:
            actions: `[batch, T + 1]` outcomes of steps before `t`.
            active: `[batch, T + 1]` activity of steps before `t`.
            t: scalar int32 step (0..T; T is the terminal step).
        """
        A = self.max_choices
        ids = tf.gather(self._t("step_conditions"), t)  # [Cs]
        steps = tf.gather(self._t("cond_steps"), ids)  # [Cs, K]
        patterns = tf.gather(self._t("cond_patterns"), ids)  # [Cs, M, K]
        real = tf.gather(self._t("cond_real"), ids)  # [Cs]
        values = tf.gather(actions, steps, axis=1)  # [B, Cs, K]
        equal = tf.equal(values[:, :, None, :], patterns[None]) | tf.equal(
            patterns[None], _WILDCARD
        )
        match = tf.reduce_any(tf.reduce_all(equal, axis=-1), axis=-1)  # [B, Cs]
        controlling_active = tf.gather(active, steps[:, 0], axis=1)  # [B, Cs]
        holds = (match & controlling_active) | tf.logical_not(real)[None]
        step_active = tf.reduce_all(holds, axis=-1)  # [B]

        outcomes = tf.range(A)
        base = outcomes < tf.gather(self._t("num_choices"), t)  # [A]
        picked = tf.reduce_sum(actions * tf.gather(self._t("within"), t)[None], axis=1)  # [B]
        remaining = tf.gather(self._t("subset_remaining"), t)
        allow_no = picked + remaining - 1 >= tf.gather(self._t("subset_min"), t)
        allow_yes = picked < tf.gather(self._t("subset_max"), t)
        subset_mask = (tf.equal(outcomes, 0)[None] & allow_no[:, None]) | (
            tf.equal(outcomes, 1)[None] & allow_yes[:, None]
        )
        mask = tf.where(tf.gather(self._t("is_subset"), t), subset_mask, base[None])
        only_first = tf.broadcast_to(tf.equal(outcomes, 0)[None], tf.shape(mask))
        mask = tf.where(step_active[:, None], mask, only_first)

        previous = tf.maximum(t - 1, 0)
        previous_action = tf.gather(actions, previous, axis=1)
        previous_active = tf.gather(active, previous, axis=1)
        token = tf.where(
            previous_active,
            self.tables.active_token_base
            + tf.gather(self._t("offsets"), previous)
            + previous_action,
            self.tables.skip_token_base + previous,
        )
        token = tf.where(t > 0, token, tf.zeros_like(token))
        return step_active, mask, token

    def observation(self, actions, active, t):
        """The observation at step `t` and whether the step is active."""
        step_active, mask, token = self.step_info(actions, active, t)
        batch = tf.shape(actions)[0]
        observation = {"step": tf.fill([batch], t), "previous": token, "mask": mask}
        return observation, step_active

    def record(self, actions, active, t, action, step_active):
        """Writes step `t`'s outcome and activity into the state."""
        column = tf.one_hot(t, self.num_steps + 1, on_value=True, off_value=False, dtype=tf.bool)
        actions = tf.where(column[None], action[:, None], actions)
        active = tf.where(column[None], step_active[:, None], active)
        return actions, active

    def observations_of(self, indices):
        """Observations `[batch, T + 1]` of complete flat index sequences.

        Used to turn proposals (or architectures read back from a journal)
        into training trajectories.

        Args:
            indices: `[batch, T]` int32 outcomes.
        """
        T = self.num_steps
        A = self.max_choices
        batch = tf.shape(indices)[0]
        actions = tf.concat([indices, tf.zeros([batch, 1], tf.int32)], axis=1)

        def body(t, active, steps, previous, masks):
            observation, step_active = self.observation(actions, active, t)
            steps = steps.write(t, observation["step"])
            previous = previous.write(t, observation["previous"])
            masks = masks.write(t, observation["mask"])
            _, active = self.record(actions, active, t, tf.gather(actions, t, axis=1), step_active)
            return t + 1, active, steps, previous, masks

        # A graph loop (not a Python one): the traced graph stays the same
        # size however many steps the space has.
        _, _, steps, previous, masks = tf.while_loop(
            lambda t, *_: t < T + 1,
            body,
            (
                tf.constant(0),
                tf.zeros_like(actions, tf.bool),
                tf.TensorArray(tf.int32, size=T + 1, element_shape=[None]),
                tf.TensorArray(tf.int32, size=T + 1, element_shape=[None]),
                tf.TensorArray(tf.bool, size=T + 1, element_shape=[None, A]),
            ),
        )
        return {
            "step": tf.transpose(steps.stack()),
            "previous": tf.transpose(previous.stack()),
            "mask": tf.transpose(masks.stack(), [1, 0, 2]),
        }


class ArchitectureEnvironment(tf_environment.TFEnvironment):
    """A batched TF-Agents environment whose episodes spell architectures.

    Each `step(action)` takes one flat decision of the space; the observation
    carries the step, the previous decision's token and the mask of allowed
    outcomes for the next step (actions outside the mask are replaced by the
    first allowed outcome, so every episode spells a valid encoding). After
    the last decision the episode ends with `reward_fn(indices)` as its
    reward, or 0 if there is none: in a search the reward arrives later,
    when the architecture has been evaluated, and the controller adds it to
    the trajectory itself. The environment never trains a model.

    Example:

    ```python
    import tensorflow as tf
    import kerasnas
    from kerasnas.strategies.rl import ArchitectureEnvironment
    space = kerasnas.spaces.nas_bench_macro()
    env = ArchitectureEnvironment(space, batch_size=2)
    step = env.reset()
    while not bool(step.is_last()[0]):
        step = env.step(tf.zeros([2], tf.int32))
    space.decode_flat(env.indices()[0].numpy())   # all-identity network
    ```

    Args:
        space: the search space.
        batch_size: architectures built side by side.
        reward_fn: optional TF function `[batch, T] int32 -> [batch] float32`
            giving the final reward.
    """

    def __init__(
        self,
        space: SearchSpace,
        batch_size: int = 1,
        reward_fn: Callable | None = None,
    ):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be an int >= 1. Received: batch_size={batch_size!r}"
            )
        self.space = space
        self.sequence = DecisionSequence(space)
        self.reward_fn = reward_fn
        T = self.sequence.num_steps
        time_step_spec = ts.time_step_spec(self.sequence.observation_spec())
        super().__init__(time_step_spec, self.sequence.action_spec(), batch_size=batch_size)
        self._actions = tf.Variable(tf.zeros([batch_size, T + 1], tf.int32), trainable=False)
        self._active = tf.Variable(tf.zeros([batch_size, T + 1], tf.bool), trainable=False)
        self._t = tf.Variable(0, dtype=tf.int32, trainable=False)

    def indices(self):
        """The flat outcomes chosen so far, `[batch, T]`."""
        return self._actions[:, : self.sequence.num_steps]

    def _time_step(self, step_type, reward):
        observation, _ = self.sequence.observation(self._actions, self._active, self._t)
        batch = self.batch_size
        done = tf.equal(step_type, ts.StepType.LAST)
        return ts.TimeStep(
            step_type=tf.fill([batch], step_type),
            reward=reward,
            discount=tf.fill([batch], tf.where(done, 0.0, 1.0)),
            observation=observation,
        )

    def _current_time_step(self):
        T = self.sequence.num_steps
        step_type = tf.where(
            tf.equal(self._t, 0),
            ts.StepType.FIRST,
            tf.where(tf.equal(self._t, T), ts.StepType.LAST, ts.StepType.MID),
        )
        return self._time_step(tf.cast(step_type, tf.int32), tf.zeros([self.batch_size]))

    def _reset(self):
        self._actions.assign(tf.zeros_like(self._actions))
        self._active.assign(tf.zeros_like(self._active))
        self._t.assign(0)
        return self._time_step(
            tf.constant(ts.StepType.FIRST, tf.int32), tf.zeros([self.batch_size])
        )

    def _step(self, action):
        T = self.sequence.num_steps
        seq = self.sequence
        zeros = tf.zeros([self.batch_size])

        def advance():
            chosen = tf.convert_to_tensor(action, tf.int32)
            step_active, mask, _ = seq.step_info(self._actions, self._active, self._t)
            clipped = tf.clip_by_value(chosen, 0, seq.max_choices - 1)
            allowed = tf.gather(mask, clipped[:, None], batch_dims=1)[:, 0]
            first_allowed = tf.argmax(tf.cast(mask, tf.int32), axis=1, output_type=tf.int32)
            chosen = tf.where(allowed, chosen, first_allowed)
            actions, active = seq.record(self._actions, self._active, self._t, chosen, step_active)
            with tf.control_dependencies(
                [self._actions.assign(actions), self._active.assign(active)]
            ):
                t = self._t.assign_add(1)
            ended = tf.equal(t, T)
            if self.reward_fn is None:
                reward = zeros
            else:
                reward = tf.cond(
                    ended,
                    lambda: tf.cast(self.reward_fn(self.indices()), tf.float32),
                    lambda: zeros,
                )
            step_type = tf.where(ended, ts.StepType.LAST, ts.StepType.MID)
            return self._time_step(tf.cast(step_type, tf.int32), reward)

        return tf.cond(tf.equal(self._t, T), self._reset, advance)
