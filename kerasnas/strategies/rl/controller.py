"""The controller: a TF-Agents agent that samples flat encodings and learns from rewards.

`Controller` is deliberately small so other strategies (the one-shot ENAS
strategy) can reuse it:

* `sample(n, seed)` -> `[n, T]` flat outcome indices (decode them with
  `space.decode_flat`), drawn with stateless random ops: same controller
  weights and seed, same proposals;
* `update(indices, rewards)` -> one policy update from a batch of encodings
  and their rewards (REINFORCE with a moving-average baseline and an entropy
  bonus, or PPO).

Both run as `tf.function`s traced once (any batch size), so after the
one-time tracing cost a proposal costs well under a millisecond.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pathlib
import warnings
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
import tf_keras
from absl import logging as absl_logging
from tf_agents.agents.ppo import ppo_clip_agent
from tf_agents.agents.reinforce import reinforce_agent
from tf_agents.policies import policy_saver
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from kerasnas.spaces.space import SearchSpace
from kerasnas.strategies.rl.environment import DecisionSequence
from kerasnas.strategies.rl.network import ControllerNetwork

ALGORITHMS = ("reinforce", "ppo")
SPACE_FILE = "kerasnas_space.json"


def _check_number(name, value, low=None, high=None, integer=False, low_open=False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if integer:
        ok = ok and isinstance(value, (int, np.integer))
    if ok and not math.isfinite(float(value)):
        ok = False
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if low_open else '>='} {low}")
        if high is not None:
            bounds.append(f"<= {high}")
        kind = "an int" if integer else "a number"
        raise ValueError(
            f"`{name}` must be {kind} {' and '.join(bounds)}. Received: {name}={value!r}"
        )


def check_options(
    algorithm="reinforce",
    learning_rate=0.01,
    embedding_dim=32,
    lstm_units=(64,),
    entropy_weight=0.01,
    baseline_decay=0.9,
    gradient_clipping=None,
    ppo_epochs=4,
    ppo_clip=0.2,
    seed=0,
    **_,
) -> None:
    """Validates controller options (see `Controller`), naming the bad one.

    Raises:
        ValueError: for an unknown algorithm or an out-of-range number.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"`algorithm` must be one of {list(ALGORITHMS)}. Received: algorithm={algorithm!r}"
        )
    _check_number("learning_rate", learning_rate, 0, low_open=True)
    _check_number("embedding_dim", embedding_dim, 1, integer=True)
    if isinstance(lstm_units, (int, str)) or not lstm_units:
        raise ValueError(
            f"`lstm_units` must be a non-empty list of ints. Received: lstm_units={lstm_units!r}"
        )
    for units in lstm_units:
        _check_number("lstm_units", units, 1, integer=True)
    _check_number("entropy_weight", entropy_weight, 0)
    _check_number("baseline_decay", baseline_decay, 0, 1)
    if gradient_clipping is not None:
        _check_number("gradient_clipping", gradient_clipping, 0, low_open=True)
    _check_number("ppo_epochs", ppo_epochs, 1, integer=True)
    _check_number("ppo_clip", ppo_clip, 0, low_open=True)
    _check_number("seed", seed, 0, integer=True)


class Controller:
    """An LSTM policy (TF-Agents) over a space's flat decisions, trained from rewards.

    Example:

    ```python
    import numpy as np
    import kerasnas
    from kerasnas.strategies.rl import Controller
    space = kerasnas.spaces.nas_bench_macro()
    controller = Controller(space)
    indices = controller.sample(4, seed=0)          # [4, 8] flat outcomes
    archs = [space.decode_flat(row) for row in indices]
    controller.update(indices, rewards=np.array([1.0, 0.0, 0.5, 0.2]))
    ```

    Args:
        space: the search space.
        algorithm: `"reinforce"` (default) or `"ppo"`.
        learning_rate: Adam's learning rate.
        embedding_dim: size of the decision and step embeddings.
        lstm_units: units of the stacked LSTM layers.
        entropy_weight: weight of the entropy bonus (keeps exploring).
        baseline_decay: decay of the moving-average reward baseline.
        normalize_advantages: divide `reward - baseline` by a moving
            estimate of its standard deviation, which makes the learning
            rate and entropy weight independent of the objective's scale.
        gradient_clipping: clip the gradient norm (None: no clipping).
        ppo_epochs: PPO passes over each batch.
        ppo_clip: PPO's importance-ratio clipping.
        seed: seed of the initial weights.

    Raises:
        ValueError: for unknown algorithms and out-of-range numbers, naming
            the parameter.
    """

    def __init__(
        self,
        space: SearchSpace,
        algorithm: str = "reinforce",
        learning_rate: float = 0.01,
        embedding_dim: int = 32,
        lstm_units: Sequence[int] = (64,),
        entropy_weight: float = 0.01,
        baseline_decay: float = 0.9,
        normalize_advantages: bool = True,
        gradient_clipping: float | None = None,
        ppo_epochs: int = 4,
        ppo_clip: float = 0.2,
        seed: int = 0,
    ):
        check_options(
            algorithm=algorithm,
            learning_rate=learning_rate,
            embedding_dim=embedding_dim,
            lstm_units=lstm_units,
            entropy_weight=entropy_weight,
            baseline_decay=baseline_decay,
            gradient_clipping=gradient_clipping,
            ppo_epochs=ppo_epochs,
            ppo_clip=ppo_clip,
            seed=seed,
        )
        self.space = space
        self.algorithm = algorithm
        self.learning_rate = float(learning_rate)
        self.entropy_weight = float(entropy_weight)
        self.baseline_decay = float(baseline_decay)
        self.normalize_advantages = bool(normalize_advantages)
        self.sequence = DecisionSequence(space)
        self.num_steps = self.sequence.num_steps
        observation_spec = self.sequence.observation_spec()
        action_spec = self.sequence.action_spec()
        time_step_spec = ts.time_step_spec(observation_spec)
        network_args = dict(
            num_steps=self.num_steps,
            vocab_size=self.sequence.vocab_size,
            embedding_dim=int(embedding_dim),
            lstm_units=tuple(lstm_units),
        )
        actor = ControllerNetwork(observation_spec, action_spec, seed=seed, **network_args)
        optimizer = tf_keras.optimizers.Adam(learning_rate=self.learning_rate)
        counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="train_step")
        if algorithm == "reinforce":
            self.agent = reinforce_agent.ReinforceAgent(
                time_step_spec,
                action_spec,
                actor_network=actor,
                optimizer=optimizer,
                gamma=1.0,
                normalize_returns=False,
                entropy_regularization=self.entropy_weight or None,
                gradient_clipping=gradient_clipping,
                train_step_counter=counter,
            )
        else:
            value = ControllerNetwork(
                observation_spec,
                action_spec,
                value_head=True,
                seed=seed + 1000,
                name="ControllerValueNetwork",
                **network_args,
            )
            self.agent = ppo_clip_agent.PPOClipAgent(
                time_step_spec,
                action_spec,
                optimizer=optimizer,
                actor_net=actor,
                value_net=value,
                importance_ratio_clipping=float(ppo_clip),
                entropy_regularization=self.entropy_weight,
                num_epochs=int(ppo_epochs),
                discount_factor=1.0,
                lambda_value=0.95,
                use_gae=True,
                normalize_rewards=False,
                normalize_observations=False,
                gradient_clipping=gradient_clipping,
                greedy_eval=False,
                train_step_counter=counter,
            )
        self.agent.initialize()
        self._optimizer = optimizer
        self._networks = [actor] + ([value] if algorithm == "ppo" else [])
        self._initial_weights = [[w.numpy() for w in net.variables] for net in self._networks]
        self.options = dict(
            algorithm=algorithm,
            learning_rate=learning_rate,
            embedding_dim=embedding_dim,
            lstm_units=tuple(lstm_units),
            entropy_weight=entropy_weight,
            baseline_decay=baseline_decay,
            normalize_advantages=normalize_advantages,
            gradient_clipping=gradient_clipping,
            ppo_epochs=ppo_epochs,
            ppo_clip=ppo_clip,
            seed=seed,
        )
        self.policy = self.agent.collect_policy
        self._needs_info = bool(tf.nest.flatten(self.policy.info_spec))
        T = self.num_steps
        self._sample_fn = tf.function(
            self._sample,
            input_signature=[
                tf.TensorSpec([], tf.int32),
                tf.TensorSpec([2], tf.int32),
                tf.TensorSpec([], tf.bool),
            ],
        )
        self._train_fn = tf.function(
            self._train,
            input_signature=[tf.TensorSpec([None, T], tf.int32), tf.TensorSpec([None], tf.float32)],
        )
        self._probabilities_fn = None
        # Moving statistics of the rewards (plain floats: replayed exactly).
        self.baseline: float | None = None
        self.variance: float | None = None
        self.updates = 0

    def reset(self) -> None:
        """Returns to the initial weights, a fresh optimizer and no baseline.

        The compiled functions are kept, so a controller can serve many
        searches (seeds of a benchmark, a resumed search) while paying the
        tracing cost once. The state afterwards equals a new `Controller`
        with the same options.
        """
        for net, weights in zip(self._networks, self._initial_weights):
            for variable, value in zip(net.variables, weights):
                variable.assign(value)
        for variable in self._optimizer.variables:
            variable.assign(tf.zeros_like(variable))
        self.agent.train_step_counter.assign(0)
        self.baseline = None
        self.variance = None
        self.updates = 0

    def state(self) -> dict:
        """The learnable state as numpy arrays and floats (for comparisons and tests)."""
        return {
            "weights": [w.numpy() for net in self._networks for w in net.variables],
            "optimizer": [v.numpy() for v in self._optimizer.variables],
            "baseline": self.baseline,
            "variance": self.variance,
            "updates": self.updates,
        }

    # ------------------------------------------------------------ sampling
    def _time_step(self, observation, step_type):
        batch = tf.shape(observation["step"])[0]
        return ts.TimeStep(
            step_type=tf.fill([batch], tf.cast(step_type, tf.int32)),
            reward=tf.zeros([batch]),
            discount=tf.ones([batch]),
            observation=observation,
        )

    def _sample(self, batch_size, seed, greedy):
        seq = self.sequence
        T = self.num_steps
        actions, active = seq.initial_state(batch_size)
        state = self.policy.get_initial_state(batch_size)
        probabilities = tf.TensorArray(tf.float32, size=T)
        for t in tf.range(T):
            observation, step_active = seq.observation(actions, active, t)
            step_type = tf.where(tf.equal(t, 0), ts.StepType.FIRST, ts.StepType.MID)
            step = self.policy.distribution(self._time_step(observation, step_type), state)
            logits = step.action.logits_parameter()
            sampled = tf.random.stateless_categorical(
                logits,
                1,
                seed=tf.random.experimental.stateless_fold_in(seed, t),
                dtype=tf.int32,
            )[:, 0]
            best = tf.argmax(logits, axis=-1, output_type=tf.int32)
            action = tf.where(greedy, best, sampled)
            probabilities = probabilities.write(t, tf.nn.softmax(logits))
            state = step.state
            actions, active = seq.record(actions, active, t, action, step_active)
        probabilities = tf.transpose(probabilities.stack(), [1, 0, 2])
        return actions[:, :T], probabilities

    def sample(self, n: int, seed: int | Sequence[int] = 0, greedy: bool = False) -> np.ndarray:
        """Samples `n` flat encodings from the current policy.

        Args:
            n: how many.
            seed: an int or two ints; the same seed and weights give the same
                encodings.
            greedy: take the most likely outcome at every step instead.

        Returns:
            An int array `[n, T]`; `space.decode_flat(row)` is a valid
            architecture (unless the space has constraints beyond its
            decisions).
        """
        _check_number("n", n, 1, integer=True)
        with _quiet_tracing():
            indices, _ = self._sample_fn(
                tf.constant(int(n), tf.int32), _seed_pair(seed), tf.constant(greedy)
            )
        return indices.numpy()

    # ------------------------------------------------------------ learning
    def _experience(self, indices, rewards):
        T = self.num_steps
        batch = tf.shape(indices)[0]
        observation = self.sequence.observations_of(indices)

        def per_step(values):
            return tf.tile(tf.constant(values, tf.int32)[None], [batch, 1])

        first, mid, last = (int(ts.StepType.FIRST), int(ts.StepType.MID), int(ts.StepType.LAST))
        step_type = per_step([first] + [mid] * (T - 1) + [last])
        next_step_type = per_step([mid] * (T - 1) + [last] + [first])
        action = tf.concat([indices, tf.zeros([batch, 1], tf.int32)], axis=1)
        final = tf.one_hot(T - 1, T + 1)[None]
        reward = final * rewards[:, None]
        discount = tf.tile(1.0 - final, [batch, 1])
        policy_info = ()
        if self._needs_info:
            time_steps = ts.TimeStep(step_type, tf.zeros_like(reward), discount, observation)
            state = self.policy.get_initial_state(batch)
            policy_info = self.policy.distribution(time_steps, state).info
        return trajectory.Trajectory(
            step_type=step_type,
            observation=observation,
            action=action,
            policy_info=policy_info,
            next_step_type=next_step_type,
            reward=reward,
            discount=discount,
        )

    def _train(self, indices, advantages):
        experience = self._experience(indices, advantages)
        return self.agent.train(experience).loss

    def advantages(self, rewards: np.ndarray) -> np.ndarray:
        """`reward - baseline` (scaled), then moves the baseline toward the batch.

        The first batch is its own baseline.
        """
        rewards = np.asarray(rewards, np.float64)
        if self.baseline is None:
            self.baseline = float(rewards.mean())
            self.variance = float(((rewards - self.baseline) ** 2).mean())
        centred = rewards - self.baseline
        advantages = centred
        if self.normalize_advantages:
            scale = math.sqrt(self.variance) if self.variance > 0 else 1.0
            advantages = np.clip(centred / scale, -5.0, 5.0)
        decay = self.baseline_decay
        self.variance = decay * self.variance + (1 - decay) * float((centred**2).mean())
        self.baseline = decay * self.baseline + (1 - decay) * float(rewards.mean())
        return advantages.astype(np.float32)

    def update(self, indices, rewards) -> float:
        """One policy update from encodings and their rewards.

        Args:
            indices: `[batch, T]` flat outcomes (from `sample` or
                `space.encode_flat`).
            rewards: `[batch]` rewards, larger is better.

        Returns:
            The agent's training loss.

        Raises:
            ValueError: for mismatched shapes or non-finite rewards.
        """
        indices = np.asarray(indices, np.int32)
        rewards = np.asarray(rewards, np.float64)
        if indices.ndim != 2 or indices.shape[1] != self.num_steps or len(indices) == 0:
            raise ValueError(
                f"`indices` must have shape [batch, {self.num_steps}]. "
                f"Received: indices with shape {indices.shape}"
            )
        if rewards.shape != (len(indices),) or not np.all(np.isfinite(rewards)):
            raise ValueError(
                f"`rewards` must be {len(indices)} finite numbers. Received: rewards={rewards!r}"
            )
        advantages = self.advantages(rewards)
        with _quiet_tracing():
            loss = self._train_fn(tf.constant(indices), tf.constant(advantages))
        self.updates += 1
        return float(loss)

    # ---------------------------------------------------------- inspection
    def _probabilities(self, indices):
        T = self.num_steps
        batch = tf.shape(indices)[0]
        observation = self.sequence.observations_of(indices)
        first, mid = int(ts.StepType.FIRST), int(ts.StepType.MID)
        step_type = tf.tile(tf.constant([first] + [mid] * T, tf.int32)[None], [batch, 1])
        time_steps = ts.TimeStep(
            step_type, tf.zeros([batch, T + 1]), tf.ones([batch, T + 1]), observation
        )
        state = self.policy.get_initial_state(batch)
        logits = self.policy.distribution(time_steps, state).action.logits_parameter()
        return tf.nn.softmax(logits[:, :T])

    def probabilities(self, indices=None) -> np.ndarray:
        """Per-step outcome probabilities `[T, A]` along one encoding.

        The controller is sequential: the probabilities of a step depend on
        the earlier choices. They are given along `indices` (one encoding),
        or along the most likely encoding (greedy decoding) by default.
        """
        if indices is None:
            with _quiet_tracing():
                _, probabilities = self._sample_fn(
                    tf.constant(1, tf.int32), _seed_pair(0), tf.constant(True)
                )
            return probabilities.numpy()[0]
        indices = np.asarray(indices, np.int32).reshape(1, self.num_steps)
        if self._probabilities_fn is None:
            self._probabilities_fn = tf.function(
                self._probabilities,
                input_signature=[tf.TensorSpec([None, self.num_steps], tf.int32)],
            )
        with _quiet_tracing():
            return self._probabilities_fn(tf.constant(indices)).numpy()[0]

    def most_likely(self) -> np.ndarray:
        """The greedy (most likely step by step) encoding, `[T]`."""
        return self.sample(1, greedy=True)[0]

    # ----------------------------------------------------------- persistence
    def variables(self) -> list:
        """Every TF variable of the controller (weights, optimizer, step)."""
        # TF-Agents exposes `variables` as a property (a tuple) on agents.
        variables = self.agent.variables
        return list(variables() if callable(variables) else variables)

    def save_policy(self, path: str | os.PathLike) -> pathlib.Path:
        """Saves the sampling policy with TF-Agents' `PolicySaver`.

        Next to the SavedModel, `kerasnas_space.json` records the space it
        belongs to; `kerasnas.strategies.rl.load_policy(path, space)` samples
        from it again.

        Args:
            path: a directory (created).

        Returns:
            The directory.
        """
        path = pathlib.Path(path)
        saver = policy_saver.PolicySaver(
            self.policy, batch_size=None, train_step=self.agent.train_step_counter
        )
        verbosity = absl_logging.get_verbosity()
        try:
            # PolicySaver logs a warning per input name it sanitises, and TFP
            # warns about a type spec that is registered when TFP is imported.
            absl_logging.set_verbosity(absl_logging.ERROR)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Encoding a StructuredValue")
                saver.save(str(path))
        finally:
            absl_logging.set_verbosity(verbosity)
        meta = {
            "space": self.space.get_config(),
            "space_fingerprint": self.space.fingerprint(),
            "flat_steps": [c.name for c in self.space.flat_choices()],
            "algorithm": self.algorithm,
            "updates": self.updates,
        }
        (path / SPACE_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return path


@contextlib.contextmanager
def _quiet_tracing():
    """Hides SyntaxWarnings that AutoGraph's code for TF-Agents emits when tracing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        yield


def _seed_pair(seed) -> tf.Tensor:
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        seed = [int(seed) % (2**31), 0]
    seed = [int(s) % (2**31) for s in seed]
    if len(seed) != 2:
        raise ValueError(f"`seed` must be an int or two ints. Received: seed={seed!r}")
    return tf.constant(seed, tf.int32)
