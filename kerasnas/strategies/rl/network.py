"""The controller network: an LSTM over decision tokens with one softmax per step.

This is the classic NAS controller (Zoph & Le, 2017; ENAS): at every flat
step the LSTM reads an embedding of the previous decision (and of the step
index) and a per-step linear head turns its output into logits over that
step's outcomes. The observation's mask sets forbidden outcomes to a very
negative logit, so the emitted `Categorical` never samples them and its
entropy only counts allowed outcomes. It is a TF-Agents `Network` on legacy
Keras (tf-keras), as TF-Agents requires.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras
from tf_agents.keras_layers import dynamic_unroll_layer
from tf_agents.networks import network
from tf_agents.trajectories import time_step as ts
from tf_agents.utils import nest_utils

from kerasnas.strategies.rl.environment import MASKED_LOGIT


class ControllerNetwork(network.Network):
    """LSTM controller emitting masked per-step categorical distributions.

    With `value_head=True` it emits a scalar value instead (PPO's critic).

    Example:

    ```python
    import kerasnas
    from kerasnas.strategies.rl.environment import DecisionSequence
    from kerasnas.strategies.rl.network import ControllerNetwork
    seq = DecisionSequence(kerasnas.spaces.nas_bench_macro())
    net = ControllerNetwork(seq.observation_spec(), seq.action_spec(),
                            num_steps=seq.num_steps, vocab_size=seq.vocab_size)
    net.create_variables()
    ```

    Args:
        observation_spec: the environment's observation spec (`step`,
            `previous`, `mask`).
        action_spec: the action spec (outcomes padded to the widest step).
        num_steps: flat steps of the space.
        vocab_size: number of decision tokens.
        embedding_dim: size of token and step embeddings.
        lstm_units: units of each stacked LSTM layer.
        value_head: emit a value (critic) instead of a distribution.
        seed: seed of the weight initialisers (same seed, same controller).
        name: the network's name.
    """

    def __init__(
        self,
        observation_spec,
        action_spec,
        num_steps: int,
        vocab_size: int,
        embedding_dim: int = 32,
        lstm_units=(64,),
        value_head: bool = False,
        seed: int = 0,
        name: str = "ControllerNetwork",
    ):
        lstm_units = tuple(int(u) for u in lstm_units)
        initializers = tf_keras.initializers
        cells = [
            tf_keras.layers.LSTMCell(
                units,
                kernel_initializer=initializers.GlorotUniform(seed=seed + 11 * i + 1),
                recurrent_initializer=initializers.Orthogonal(seed=seed + 11 * i + 2),
            )
            for i, units in enumerate(lstm_units)
        ]
        cell = cells[0] if len(cells) == 1 else tf_keras.layers.StackedRNNCells(cells)
        state_spec = tf.nest.map_structure(
            lambda size: tf.TensorSpec([size], tf.float32), cell.state_size
        )
        super().__init__(input_tensor_spec=observation_spec, state_spec=state_spec, name=name)
        self._action_spec = action_spec
        self._num_outcomes = int(action_spec.maximum) - int(action_spec.minimum) + 1
        self._value_head = value_head
        small = initializers.RandomUniform(-0.1, 0.1, seed=seed + 3)
        self._token_embedding = tf_keras.layers.Embedding(
            vocab_size, embedding_dim, embeddings_initializer=small
        )
        self._step_embedding = tf_keras.layers.Embedding(
            num_steps + 1,
            embedding_dim,
            embeddings_initializer=initializers.RandomUniform(-0.1, 0.1, seed=seed + 4),
        )
        self._unroll = dynamic_unroll_layer.DynamicUnroll(cell)
        hidden = lstm_units[-1]
        self._hidden = hidden
        outputs = 1 if value_head else self._num_outcomes
        # One linear head per step: kernels and biases are looked up by step.
        self._head_kernel = tf_keras.layers.Embedding(
            num_steps + 1,
            hidden * outputs,
            embeddings_initializer=initializers.RandomUniform(-0.1, 0.1, seed=seed + 5),
        )
        self._head_bias = tf_keras.layers.Embedding(
            num_steps + 1, outputs, embeddings_initializer="zeros"
        )

    def call(self, observation, step_type=None, network_state=(), training=False):
        outer_rank = nest_utils.get_outer_rank(observation, self.input_tensor_spec)
        step = observation["step"]
        previous = observation["previous"]
        mask = observation["mask"]
        if outer_rank == 1:
            step, previous, mask = step[:, None], previous[:, None], mask[:, None]
            if step_type is not None:
                step_type = step_type[:, None]
        inputs = self._token_embedding(previous) + self._step_embedding(step)
        if step_type is None:
            reset = tf.zeros_like(step, tf.bool)
        else:
            reset = tf.equal(step_type, ts.StepType.FIRST)
        if not tf.nest.flatten(network_state):
            network_state = None
        output, network_state = self._unroll(
            inputs, reset_mask=reset, initial_state=network_state, training=training
        )
        outputs = 1 if self._value_head else self._num_outcomes
        kernel = tf.reshape(
            self._head_kernel(step),
            tf.concat([tf.shape(step), [self._hidden, outputs]], axis=0),
        )
        result = tf.einsum("bth,btho->bto", output, kernel) + self._head_bias(step)
        if self._value_head:
            result = result[..., 0]
            if outer_rank == 1:
                result = result[:, 0]
            return result, network_state
        logits = tf.where(mask, result, tf.constant(MASKED_LOGIT, result.dtype))
        if outer_rank == 1:
            logits = logits[:, 0]
        distribution = tfp.distributions.Categorical(logits=logits, dtype=self._action_spec.dtype)
        return distribution, network_state
