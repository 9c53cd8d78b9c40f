"""The RL strategy: a TF-Agents LSTM controller proposes architectures.

Tracing the controller's compiled functions costs seconds, so the tests
share one controller per space (a `reset()` returns it to its initial
state) and keep the number of distinct controllers small.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import kerasnas
from kerasnas.errors import InvalidArchitectureError
from kerasnas.spaces import Categorical, Condition, SearchSpace, Subset
from kerasnas.tabular import NasBenchMacro
from kerasnas.trial import TrialRecord

rl = pytest.importorskip("kerasnas.strategies.rl")
tf = pytest.importorskip("tensorflow")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def subset_space():
    """Conditions on categorical and subset decisions, subsets with size limits."""
    return SearchSpace(
        [
            Categorical("depth", [1, 2, 3]),
            Subset("skips", ["a", "b", "c", "d"], min_size=1, max_size=2),
            Categorical("op", ["conv", "pool", "none"], [Condition("depth", [2, 3])]),
            Categorical("width", [8, 16], [Condition("op", ["conv"])]),
            Subset("extra", [0, 1, 2], min_size=2, conditions=[Condition("skips", [["a", "b"]])]),
            Categorical("act", ["relu", True, 1], [Condition("extra", [[0, 1], [1, 2]])]),
        ],
        name="subsets",
    )


def builtin_spaces():
    spaces = {
        "chain": kerasnas.spaces.get("chain"),
        "chain_vector": kerasnas.spaces.get("chain", input_shape=(12,)),
        "chain_image": kerasnas.spaces.get("chain", input_shape=(8, 8, 3)),
    }
    for name in kerasnas.spaces.SPACE_NAMES:
        spaces.setdefault(name, kerasnas.spaces.get(name))
    spaces["subsets"] = subset_space()
    return spaces


SPACES = builtin_spaces()


@pytest.fixture(scope="module")
def macro():
    return NasBenchMacro()


@pytest.fixture(scope="module")
def macro_strategy(macro):
    """One RL strategy (and so one traced controller) for the NAS-Bench-Macro tests."""
    strategy = rl.RLStrategy(batch_size=8)
    strategy.setup(macro.space, [kerasnas.Objective("accuracy")])
    return strategy


def random_walk(space, rng):
    """A valid flat sequence drawn with the space's own (Python) masks."""
    indices = []
    for _ in space.flat_choices():
        allowed = [i for i, ok in enumerate(space.flat_mask(indices)) if ok]
        indices.append(int(rng.choice(allowed)))
    return indices


@pytest.mark.parametrize("name", sorted(SPACES))
def test_tf_masks_agree_with_the_space_masks(name):
    space = SPACES[name]
    seq = rl.DecisionSequence(space)
    rng = np.random.default_rng(0)
    walks = [random_walk(space, rng) for _ in range(40)]
    indices = tf.constant(walks, tf.int32)
    observations = seq.observations_of(indices)
    masks = observations["mask"].numpy()
    for row, walk in enumerate(walks):
        arch = space.decode_flat(walk)
        for t, choice in enumerate(space.flat_choices()):
            expected = space.flat_mask(walk[:t])
            got = list(masks[row, t, : choice.num_choices])
            assert got == expected, (name, choice.name, walk[:t])
            assert not masks[row, t, choice.num_choices :].any()
        # The terminal observation allows one dummy outcome.
        assert list(masks[row, -1]) == [True] + [False] * (seq.max_choices - 1)
        assert arch == space.validate(arch)


@pytest.mark.parametrize("name", sorted(SPACES))
def test_every_controller_proposal_decodes_to_a_valid_architecture(name):
    space = SPACES[name]
    controller = rl.Controller(space)
    indices = controller.sample(300, seed=3)
    architectures, decoded_rows = [], []
    for row in indices:
        try:
            architectures.append(space.decode_flat(row))
            decoded_rows.append(row.tolist())
        except InvalidArchitectureError:
            # Only constraints beyond the decisions (which masks cannot
            # express) may reject a proposal; the strategy then draws again.
            assert type(space)._check_extra is not SearchSpace._check_extra, row
    assert len(architectures) >= 150
    assert all(space.contains(a) for a in architectures)
    # An untrained controller explores: many distinct architectures.
    assert len({a.key for a in architectures}) > min(100, space.size() // 2)
    # Same weights, same seed: same proposals; another seed: others.
    assert np.array_equal(controller.sample(300, seed=3), indices)
    assert not np.array_equal(controller.sample(300, seed=4), indices)
    # The encoding round-trips through the space.
    assert [space.encode_flat(a) for a in architectures] == decoded_rows


def test_environment_spells_valid_architectures_and_ends_with_the_reward():
    space = subset_space()
    T = len(space.flat_choices())
    env = rl.ArchitectureEnvironment(
        space, batch_size=3, reward_fn=lambda idx: tf.reduce_sum(idx, axis=1)
    )
    rng = np.random.default_rng(1)
    step = env.reset()
    assert step.is_first().numpy().all()
    rewards = []
    for _ in range(T):
        # Random actions, often outside the mask: the environment replaces
        # them by an allowed outcome.
        step = env.step(tf.constant(rng.integers(0, 3, size=3), tf.int32))
        rewards.append(step.reward.numpy())
    assert step.is_last().numpy().all()
    indices = env.indices().numpy()
    for row in indices:
        assert space.contains(space.decode_flat(row))
    assert np.array_equal(rewards[-1], indices.sum(axis=1))
    assert not np.any(rewards[:-1])
    # After the last step the next one starts a new episode.
    assert env.step(tf.zeros([3], tf.int32)).is_first().numpy().all()


def test_environment_runs_under_a_compiled_tf_agents_driver():
    from tf_agents.drivers import dynamic_episode_driver
    from tf_agents.policies import random_tf_policy
    from tf_agents.replay_buffers import tf_uniform_replay_buffer
    from tf_agents.utils import common

    space = SPACES["chain"]
    T = len(space.flat_choices())
    env = rl.ArchitectureEnvironment(
        space, batch_size=4, reward_fn=lambda idx: tf.cast(tf.reduce_sum(idx, 1), tf.float32)
    )
    # A random policy that respects the masks in the observations.
    policy = random_tf_policy.RandomTFPolicy(
        env.time_step_spec(),
        env.action_spec(),
        observation_and_action_constraint_splitter=lambda obs: (obs, obs["mask"]),
    )
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        policy.trajectory_spec, batch_size=4, max_length=200
    )
    driver = dynamic_episode_driver.DynamicEpisodeDriver(
        env, policy, observers=[buffer.add_batch], num_episodes=8
    )
    common.function(driver.run)()
    trajectories = buffer.gather_all()
    step_types = trajectories.step_type.numpy()
    actions = trajectories.action.numpy()
    rewards = trajectories.reward.numpy()
    episodes = 0
    for b in range(4):
        for start in np.where(step_types[b] == 0)[0]:
            indices = actions[b, start : start + T]
            assert space.contains(space.decode_flat(indices))
            assert step_types[b, start + T] == 2  # LAST after T decisions
            assert rewards[b, start + T - 1] == indices.sum()
            assert not rewards[b, start : start + T - 1].any()
            episodes += 1
    assert episodes == 8


def test_decode_rejects_what_a_mask_forbids():
    space = subset_space()
    walk = random_walk(space, np.random.default_rng(2))
    walk[1:5] = [0, 0, 0, 0]  # `skips` needs at least one candidate
    with pytest.raises(InvalidArchitectureError):
        space.decode_flat(walk)


def test_controller_learns_on_nas_bench_macro(macro, macro_strategy):
    controller = macro_strategy.controller
    controller.reset()
    score = macro.evaluator()
    space = macro.space

    def accuracy(indices):
        return np.array([score(space.decode_flat(row))["accuracy"] for row in indices])

    before = accuracy(controller.sample(200, seed=0)).mean()
    for update in range(25):
        indices = controller.sample(8, seed=100 + update)
        controller.update(indices, accuracy(indices))
    after = accuracy(controller.sample(200, seed=1)).mean()
    # The table's mean accuracy is ~91.9%; the controller must move well above.
    assert after > before + 0.5, (before, after)
    assert controller.updates == 25
    controller.reset()
    assert controller.updates == 0 and controller.baseline is None


def test_reset_controller_equals_a_new_one(macro, macro_strategy):
    controller = macro_strategy.controller
    indices = controller.sample(8, seed=0)
    controller.update(indices, np.arange(8.0))
    controller.reset()
    fresh = rl.Controller(macro.space).state()
    state = controller.state()
    assert all(np.array_equal(a, b) for a, b in zip(fresh["weights"], state["weights"]))
    assert not any(np.any(v) for v in state["optimizer"])
    assert state["baseline"] is None and state["updates"] == 0


def _interrupting(fn, at_call):
    calls = {"n": 0}

    def evaluate(arch):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise KeyboardInterrupt  # the process is killed during this trial
        return fn(arch)

    evaluate.__name__ = fn.__name__
    return evaluate


def test_resumed_search_continues_the_controller(macro, macro_strategy, tmp_path):
    strategy = macro_strategy
    options = dict(
        space=macro.space,
        objective="accuracy",
        strategy=strategy,
        seed=5,
        verbose=0,
    )
    straight = kerasnas.search(
        evaluator=macro.evaluator(), max_trials=40, directory=tmp_path / "a", **options
    )
    straight_state = strategy.controller.state()
    assert strategy.controller.updates == 5
    # Killed in the middle of the third batch (trial 20 of batches of 8).
    with pytest.raises(KeyboardInterrupt):
        kerasnas.search(
            evaluator=_interrupting(macro.evaluator(), at_call=21),
            max_trials=40,
            directory=tmp_path / "b",
            **options,
        )
    resumed = kerasnas.search(
        evaluator=macro.evaluator(), max_trials=40, directory=tmp_path / "b", **options
    )
    assert [t.architecture for t in resumed.trials] == [t.architecture for t in straight.trials]
    state = strategy.controller.state()
    assert state["updates"] == straight_state["updates"] == 5
    assert state["baseline"] == straight_state["baseline"]
    for a, b in zip(state["weights"], straight_state["weights"]):
        np.testing.assert_array_equal(a, b)
    # Another seed proposes other architectures; no architecture twice.
    other = kerasnas.search(
        evaluator=macro.evaluator(),
        max_trials=16,
        directory=tmp_path / "c",
        **{**options, "seed": 6},
    )
    assert [t.architecture for t in other.trials] != [t.architecture for t in straight.trials][:16]
    keys = [t.key for t in straight.trials]
    assert len(set(keys)) == len(keys)


def test_rewards_follow_the_objective_direction_and_cost_penalty():
    up = rl.RewardFunction(kerasnas.Objective("accuracy"))
    down = rl.RewardFunction(kerasnas.Objective("val_loss"))
    assert up(TrialRecord(0, {}, "completed", {"accuracy": 0.9})) == pytest.approx(0.9)
    assert down(TrialRecord(0, {}, "completed", {"val_loss": 0.4})) == pytest.approx(-0.4)
    # Failures: the lowest reward so far (0 before any), or a fixed value.
    fresh = rl.RewardFunction(kerasnas.Objective("accuracy"))
    assert fresh(TrialRecord(0, {}, "failed", error="boom")) == 0.0
    up(TrialRecord(1, {}, "completed", {"accuracy": 0.7}))
    assert up(TrialRecord(2, {}, "rejected", {"params": 10})) == pytest.approx(0.7)
    fixed = rl.RewardFunction(kerasnas.Objective("accuracy"), failure_reward=-1.0)
    assert fixed(TrialRecord(0, {}, "failed")) == -1.0
    # MnasNet soft penalty: acc * (cost / target) ** -0.07.
    penalised = rl.RewardFunction(
        kerasnas.Objective("accuracy"), {"metric": "params", "target": 1000}
    )
    record = TrialRecord(0, {}, "completed", {"accuracy": 0.8, "params": 4000})
    assert penalised(record) == pytest.approx(0.8 * 4.0**-0.07)
    hard = rl.CostPenalty("flops", target=100, alpha=0.0, beta=-1.0)
    assert hard.factor({"flops": 50}) == 1.0 and hard.factor({"flops": 200}) == 0.5
    # A penalty makes a negative reward (minimised objective) worse too.
    loss = rl.RewardFunction(kerasnas.Objective("val_loss"), hard)
    assert loss(TrialRecord(0, {}, "completed", {"val_loss": 0.5, "flops": 200})) == -1.0
    with pytest.raises(ValueError, match="metric 'params'"):
        penalised(TrialRecord(1, {}, "completed", {"accuracy": 0.8}))
    with pytest.raises(ValueError, match="target"):
        rl.CostPenalty("params", target=0)
    with pytest.raises(ValueError, match="Received: cost_penalty"):
        rl.CostPenalty.from_json({"metric": "params", "target": 1, "weight": 2})


def test_strategy_options_are_checked_with_the_name_and_value():
    for options, name in [
        ({"batch_size": 0}, "batch_size=0"),
        ({"algorithm": "a2c"}, "algorithm='a2c'"),
        ({"learning_rate": -1.0}, "learning_rate=-1.0"),
        ({"lstm_units": 32}, "lstm_units=32"),
        ({"baseline_decay": 1.5}, "baseline_decay=1.5"),
        ({"failure_reward": float("nan")}, "failure_reward=nan"),
        ({"cost_penalty": "params"}, "cost_penalty='params'"),
    ]:
        with pytest.raises(ValueError, match=name.replace("(", r"\(")):
            kerasnas.strategies.get("rl", **options)
    assert "rl" in kerasnas.strategies.STRATEGY_NAMES


def test_strategy_uses_the_cost_penalty_in_its_updates(macro, macro_strategy):
    strategy = rl.RLStrategy(batch_size=2, cost_penalty={"metric": "params", "target": 1e6})
    # Share the traced controller of the module's strategy.
    strategy.controller = macro_strategy.controller
    strategy.setup(macro.space, [kerasnas.Objective("accuracy")])
    arch = macro.space.from_string("22212220")
    metrics = macro.evaluator()(arch)
    strategy.tell(TrialRecord(0, arch, "completed", metrics))
    (indices, reward) = strategy._pending[0]
    assert indices == macro.space.encode_flat(arch)
    assert reward == pytest.approx(metrics["accuracy"] * (metrics["params"] / 1e6) ** -0.07)
    strategy.tell(TrialRecord(1, macro.space.from_string("00000000"), "failed", error="x"))
    assert strategy._pending == [] and strategy.controller.updates == 1
    assert strategy.get_config()["cost_penalty"]["metric"] == "params"
    json.dumps(strategy.get_config())


def test_probabilities_and_saved_policy_sample_like_the_controller(macro, macro_strategy, tmp_path):
    controller = macro_strategy.controller
    controller.reset()
    score = macro.evaluator()
    for update in range(10):
        indices = controller.sample(8, seed=update)
        rewards = [score(macro.space.decode_flat(r))["accuracy"] for r in indices]
        controller.update(indices, rewards)
    rows = rl.decision_probabilities(controller)
    assert [r["step"] for r in rows] == [f"layer_{i}" for i in range(8)]
    for row in rows:
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert row["chosen"] == max(row["probabilities"], key=row["probabilities"].get)
    text = rl.format_probabilities(rows)
    assert "layer_7" in text and "MB6_K5" in text
    figure = rl.plot_probabilities(rows, tmp_path / "probabilities.png")
    assert (tmp_path / "probabilities.png").stat().st_size > 1000
    figure.clf()

    path = controller.save_policy(tmp_path / "policy")
    saved = rl.load_policy(path, macro.space)
    assert np.array_equal(saved.sample_indices(16, seed=7), controller.sample(16, seed=7))
    assert saved.sample(1, greedy=True)[0] == macro.space.decode_flat(controller.most_likely())
    with pytest.raises(kerasnas.errors.IncompatibleSearchError):
        rl.load_policy(path, kerasnas.spaces.get("chain"))
    controller.reset()


@pytest.mark.slow
def test_ppo_controller_learns_and_proposes_valid_architectures(macro):
    controller = rl.Controller(macro.space, algorithm="ppo", ppo_epochs=2)
    score = macro.evaluator()

    def accuracy(indices):
        return np.array([score(macro.space.decode_flat(r))["accuracy"] for r in indices])

    before = accuracy(controller.sample(200, seed=0)).mean()
    for update in range(20):
        indices = controller.sample(8, seed=50 + update)
        loss = controller.update(indices, accuracy(indices))
        assert np.isfinite(loss)
    after = accuracy(controller.sample(200, seed=1)).mean()
    assert after > before + 0.3, (before, after)


CRASHING_SEARCH = """
import os
import kerasnas
from kerasnas.tabular import NasBenchMacro

table = NasBenchMacro()
score = table.evaluator()
calls = []

def lookup(arch):
    calls.append(arch)
    if len(calls) == 14:  # killed during trial 13, in the middle of a batch
        os._exit(3)
    return score(arch)

lookup.__name__ = score.__name__  # the same evaluator as far as resuming is concerned
kerasnas.search(space=table.space, evaluator=lookup, objective="accuracy",
                strategy="rl", strategy_options={"batch_size": 4}, max_trials=24,
                directory="killed", seed=11, verbose=0)
"""

RESUME_NEXT_TO_KERAS3 = """
import os, subprocess, sys
import numpy as np
import keras
import kerasnas
from kerasnas.tabular import NasBenchMacro

assert "tf_agents" not in sys.modules, "import kerasnas loaded TF-Agents"

def user_model_round_trip(path):
    x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, verbose=0)
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    assert keras.__version__.startswith("3.")

user_model_round_trip("before.keras")
table = NasBenchMacro()
strategy = kerasnas.strategies.get("rl", batch_size=4)
options = dict(space=table.space, evaluator=table.evaluator(), objective="accuracy",
               strategy=strategy, max_trials=24, seed=11, verbose=0)
resumed = kerasnas.search(directory="killed", **options)
resumed_state = strategy.controller.state()
straight = kerasnas.search(directory="straight", **options)
straight_state = strategy.controller.state()
assert [t.architecture for t in resumed.trials] == [t.architecture for t in straight.trials]
assert resumed_state["updates"] == straight_state["updates"] == 6
for a, b in zip(resumed_state["weights"], straight_state["weights"]):
    np.testing.assert_array_equal(a, b)
assert "tf_agents" in sys.modules

user_model_round_trip("after.keras")
keras.models.load_model("before.keras").predict(np.zeros((1, 6), "float32"), verbose=0)
# kerasnas still builds and trains Keras 3 models after the RL search.
x = np.random.default_rng(1).normal(size=(48, 12)).astype("float32")
y = (x[:, 0] > 0).astype("int32")
chain = kerasnas.search(x, y, max_trials=1, epochs=1, directory="chain_search", verbose=0)
assert isinstance(chain.best_model, keras.Model)
# The environment variable did not leak into this process or its children.
assert os.environ.get("TF_USE_LEGACY_KERAS") is None
child = subprocess.run([sys.executable, "-c",
                        "import os; print(os.environ.get('TF_USE_LEGACY_KERAS'))"],
                       capture_output=True, text=True)
assert child.stdout.strip() == "None"
print("OK")
"""


@pytest.mark.slow
def test_killed_search_resumes_in_a_new_process_next_to_keras3_code(tmp_path):
    """The process dies mid-batch; a new process resumes the controller exactly.

    The second process also holds a user's Keras 3 model, built, trained,
    saved and loaded before and after the RL search.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_USE_LEGACY_KERAS", None)

    def run(code):
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    killed = run(CRASHING_SEARCH)
    assert killed.returncode == 3, killed.stderr[-3000:]
    journal = (tmp_path / "killed" / "journal.jsonl").read_text().splitlines()
    finished = [json.loads(line) for line in journal if '"trial_finished"' in line]
    assert len(finished) == 13
    done = run(RESUME_NEXT_TO_KERAS3)
    assert done.returncode == 0 and done.stdout.strip().endswith("OK"), (
        done.stdout[-2000:] + done.stderr[-4000:]
    )


def test_controller_variables_lists_its_weights():
    import tensorflow as tf

    from kerasnas.strategies.rl import Controller

    controller = Controller(kerasnas.spaces.nas_bench_macro())
    variables = controller.variables()
    assert variables and all(isinstance(v, tf.Variable) for v in variables)
    trainable = {id(v) for v in controller.agent.trainable_variables}
    assert trainable <= {id(v) for v in variables}
