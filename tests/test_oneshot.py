"""One-shot NAS: supernets, DARTS, ENAS, SPOS, and the front door."""

import inspect
import json
import re

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_data

import kerasnas
from kerasnas.builder import ModelBuilder, Task
from kerasnas.evaluation import TrialContext
from kerasnas.oneshot import SupernetEvaluator, SupernetTrainer, build_supernet
from kerasnas.runtime.journal import Journal
from kerasnas.spaces import (
    ChainSpace,
    EdgeCellSpace,
    NodeCellSpace,
    SkipChainSpace,
    TemplateSpace,
    staged_template,
)

TASK = Task.infer(np.arange(3))
SEQ = (16, 2)


def edge_space():
    return EdgeCellSpace(
        ("none", "skip_connect", "nor_conv_3x3"),
        channels=4,
        cells_per_stage=1,
        num_stages=1,
        name="tiny_cell",
    )


def node_space():
    return NodeCellSpace(
        ("none", "skip_connect", "sep_conv_3x3"),
        num_nodes=2,
        channels=4,
        num_cells=3,
        stem_multiplier=1,
    )


def chain_space():
    return ChainSpace(
        max_layers=3,
        min_layers=0,
        operations=("conv", "dense", "identity"),
        widths=(4, 8),
        kernel_sizes=(3,),
        activations=("relu",),
        batch_norm=(True,),
        dropout=(0.0, 0.1),
        head_pooling=("global_avg", "global_max"),
    )


def skip_space():
    return SkipChainSpace(
        max_layers=3,
        operations=("conv", "identity"),
        widths=(4, 8),
        kernel_sizes=(3,),
        activations=("relu",),
        batch_norm=(False,),
        dropout=(0.0,),
        head_pooling=("global_avg",),
    )


SPACES = {
    "edge_cell": edge_space,
    "node_cell": node_space,
    "chain": chain_space,
    "chain_skips": skip_space,
}


@pytest.fixture(scope="module")
def supernets():
    return {name: build_supernet(make(), SEQ, TASK, seed=0) for name, make in SPACES.items()}


def touched(supernet, x, y, indices):
    """Variables that get a non-zero gradient from one path."""
    with tf.GradientTape() as tape:
        logits = supernet.forward_path(x, tf.constant(indices), dropout=False)
        loss = tf.reduce_mean(
            tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        )
    grads = tape.gradient(loss, supernet.trainable_variables)
    return {
        id(v): v
        for v, g in zip(supernet.trainable_variables, grads)
        if g is not None and float(tf.reduce_sum(tf.abs(g))) > 0
    }


def test_paths_share_the_same_weight_objects(supernets):
    supernet = supernets["edge_cell"]
    space = supernet.space
    x, y = make_data("sequence", n=8)
    base = {d.name: "none" for d in space.decisions}
    a = dict(base, **{"node_1.input_0": "nor_conv_3x3", "node_3.input_1": "nor_conv_3x3"})
    b = dict(base, **{"node_1.input_0": "nor_conv_3x3", "node_3.input_1": "skip_connect"})
    c = dict(base, **{"node_1.input_0": "skip_connect", "node_3.input_0": "nor_conv_3x3"})
    used_a = touched(supernet, x, y, supernet.encode(a))
    used_b = touched(supernet, x, y, supernet.encode(b))
    used_c = touched(supernet, x, y, supernet.encode(c))
    shared = set(used_a) & set(used_b)
    # The conv of edge 1<-0 in every cell is one set of variables used by both paths.
    names = {used_a[i].path for i in shared}
    assert any("node1_in0_nor_conv_3x3_conv" in n for n in names), names
    # Path a's conv on edge 3<-1 is not on path b; path c uses neither conv of a.
    assert any("node3_in1_nor_conv_3x3" in used_a[i].path for i in set(used_a) - set(used_b))
    assert not any("node1_in0_nor_conv_3x3" in v.path for v in used_c.values())
    # Each candidate operation is present once per cell: no duplicate variables.
    paths = [v.path for v in supernet.trainable_variables]
    assert len(paths) == len({id(v) for v in supernet.trainable_variables})


@pytest.mark.parametrize("name", sorted(SPACES))
def test_encode_decode_and_both_modes_run(supernets, name):
    supernet = supernets[name]
    space = supernet.space
    x, _ = make_data("sequence", n=5)
    path = tf.function(lambda x, i: supernet.forward_path(x, i, dropout=False))
    outputs = []
    for seed in range(4):
        arch = space.sample(seed)
        indices = supernet.encode(arch)
        assert supernet.decode(indices) == space.validate(arch)
        out = path(x, tf.constant(indices)).numpy()
        assert out.shape == (5, 3) and np.all(np.isfinite(out))
        outputs.append(out)
    assert any(not np.allclose(outputs[0], o) for o in outputs[1:])
    mixed = supernet.forward_mixed(x, supernet.uniform_weights(), aux=0.5, dropout=False)
    assert mixed.shape == (5, 3)
    weights = [np.random.default_rng(1).random(p.size) for p in supernet.choice_points]
    assert space.contains(supernet.derive(weights))


def test_derivation_rules(supernets):
    edge = supernets["edge_cell"]
    ops = list(edge.space.operations)
    weights = [np.eye(len(ops))[(k + 1) % len(ops)] for k in range(len(edge.choice_points))]
    arch = edge.derive(weights)
    assert [arch[p.name] for p in edge.choice_points] == [
        ops[(k + 1) % len(ops)] for k in range(len(edge.choice_points))
    ]

    node = supernets["node_cell"]
    # Node 2 reads states 0, 1; node 3 reads 0, 1, 2. Make `none` strongest
    # everywhere: DARTS's rule ignores it and picks the two strongest inputs.
    weights = []
    for p in node.choice_points:
        w = np.array([0.9, 0.05, 0.05])  # none, skip_connect, sep_conv_3x3
        if p.name.endswith("node_3.input_2"):
            w = np.array([0.5, 0.1, 0.4])
        if p.name.endswith("node_3.input_0"):
            w = np.array([0.5, 0.3, 0.2])
        weights.append(w)
    arch = node.derive(weights)
    assert arch["normal.node_3.inputs"] == [0, 2]
    assert arch["normal.node_3.op_0"] == "skip_connect"
    assert arch["normal.node_3.op_1"] == "sep_conv_3x3"

    chain = supernets["chain_skips"]
    weights = [np.full(p.size, 1.0 / p.size) for p in chain.choice_points]
    for i, p in enumerate(chain.choice_points):
        if p.name == "num_layers":
            weights[i] = np.eye(p.size)[-1]
        if ".skip_" in p.name:
            weights[i] = np.array([0.3, 0.7])
        if p.name == "layer_2.merge":
            weights[i] = np.array([0.2, 0.8])
    arch = chain.derive(weights)
    assert arch["num_layers"] == 3
    assert arch["layer_2.skips"] == ["input", 0]
    assert arch["layer_2.merge"] == "concat"


@pytest.mark.parametrize(
    "space, shape, fragment",
    [
        (TemplateSpace(staged_template("sequence")), SEQ, "kind"),
        (ChainSpace(max_layers=2), SEQ, "spatial size"),
        (
            ChainSpace(max_layers=2, operations=("conv",), head_pooling=("flatten",)),
            SEQ,
            "head_pooling",
        ),
        (ChainSpace(max_layers=2, operations=("conv", "dense")), (12,), "flat vector"),
        (
            ChainSpace(max_layers=2, operations=("conv",), head_pooling=("global_avg",)),
            SEQ,
            "max_candidates",
        ),
        (
            kerasnas.spaces.with_training(edge_space(), True),
            SEQ,
            "training settings",
        ),
    ],
)
def test_unsupported_spaces_are_refused_clearly(space, shape, fragment):
    with pytest.raises(ValueError, match="Received") as info:
        kerasnas.oneshot.check_supported(space, shape, max_candidates=16)
    assert fragment in str(info.value)


def test_spos_evaluator_scores_differ_without_training(supernets):
    supernet = supernets["chain_skips"]
    x, y = make_data("sequence", n=96, seed=3)
    data = kerasnas.data.from_arrays(x, y, validation_split=0.25)
    trainer = SupernetTrainer(supernet, data, learning_rate=0.01)
    rng = np.random.default_rng(0)
    for _ in range(10):
        trainer.train_path(data.train[0][:32], data.train[1][:32], supernet.sample_indices(rng))
    before = [v.numpy().copy() for v in supernet.trainable_variables]
    evaluator = SupernetEvaluator(trainer)
    scores = {}
    for seed in range(6):
        arch = supernet.space.sample(seed)
        scores[arch.key] = evaluator.evaluate(arch, TrialContext(seed, 0)).metrics
    after = supernet.trainable_variables
    assert all(np.array_equal(b, a.numpy()) for b, a in zip(before, after))
    losses = {round(m["shared_val_loss"], 6) for m in scores.values()}
    assert len(losses) > 1
    assert all(0.0 <= m["shared_val_accuracy"] <= 1.0 for m in scores.values())


def test_supernet_trains_on_regression_targets():
    x, _ = make_data("vector", n=64, seed=4)
    y = x[:, :2].sum(axis=1, keepdims=True).astype("float32")
    data = kerasnas.data.from_arrays(x, y, validation_split=0.25)
    space = SkipChainSpace(
        max_layers=2,
        operations=("dense", "identity"),
        widths=(8,),
        activations=("relu",),
        batch_norm=(False,),
        dropout=(0.0,),
        head_pooling=("global_avg",),
    )
    supernet = build_supernet(space, data.input_shape, data.task, data.normalization)
    trainer = SupernetTrainer(supernet, data, learning_rate=0.01)
    indices = supernet.encode(space.sample(0))
    before = trainer.evaluate_path(indices)["mae"]
    for _ in range(30):
        trainer.train_path(data.train[0], data.train[1], indices)
    after = trainer.evaluate_path(indices)["mae"]
    assert np.isfinite(after) and after < before
    assert trainer.score(after) == -after


def one_shot_search(tmp_path, strategy, options, space=None, max_trials=1, **kwargs):
    x, y = make_data("sequence", n=120, seed=1)
    return kerasnas.search(
        x,
        y,
        space=space or edge_space(),
        strategy=strategy,
        strategy_options=options,
        epochs=1,
        batch_size=32,
        max_trials=max_trials,
        directory=tmp_path / strategy,
        verbose=0,
        **kwargs,
    )


def events_of(directory, kind):
    return [e for e in Journal(directory).events() if e["event"] == kind]


def test_darts_front_door_retrains_a_standalone_model_that_exports(tmp_path):
    options = {"epochs": 3, "arch_learning_rate": 0.05, "mitigation": "auxiliary_skip"}
    result = one_shot_search(tmp_path, "darts", options)
    space = result.space
    epochs = events_of(result.directory, "oneshot_epoch")
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    first, last = (np.concatenate(e["alpha_logits"]) for e in (epochs[0], epochs[-1]))
    assert np.abs(last - first).max() > 0.01  # architecture weights moved
    assert all("parameter_free_share" in e["metrics"] for e in epochs)
    assert epochs[0]["metrics"]["aux_skip"] > epochs[-1]["metrics"]["aux_skip"]
    (finished,) = events_of(result.directory, "oneshot_finished")
    assert finished["search_time_s"] > 0
    # The retrained trial is an ordinary trial of a normal encoding.
    assert len(result.trials) == 1 and result.best_trial.ok
    assert space.contains(result.best_architecture)
    assert result.best_architecture == finished["architectures"][0]
    model = result.best_model
    reference = ModelBuilder(
        space, result.builder.input_shape, result.builder.task, result.builder.normalization
    ).build(result.best_architecture)
    assert [layer.name for layer in model.layers] == [layer.name for layer in reference.layers]
    assert not any("supernet" in layer.name for layer in model.layers)
    info = result.export(tmp_path / "export")
    assert (info.path / "saved_model.pb").exists()
    card = json.loads((info.path / "architecture.json").read_text())
    assert card == dict(result.best_architecture)


def test_spos_journals_candidates_and_resumes_mid_supernet(tmp_path):
    options = {"epochs": 2, "candidates": 12, "population_size": 4, "top_k": 2}
    result = one_shot_search(tmp_path, "spos", options, space=skip_space(), max_trials=2)
    directory = result.directory
    candidates = events_of(directory, "oneshot_candidate")
    assert len(candidates) == 12
    assert len({c["record"]["key"] for c in candidates}) > 1
    assert len(result.trials) == 2  # top_k = 2 retrained, best shared score first
    finished = events_of(directory, "oneshot_finished")[0]
    scores = [s["shared_val_accuracy"] for s in finished["scores"]]
    assert scores == sorted(scores, reverse=True)

    # Simulate a crash during supernet epoch 2: the journal ends after epoch 1
    # and the checkpoint on disk is epoch 1's.
    journal = directory / "journal.jsonl"
    lines = journal.read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if json.loads(line)["event"] == "oneshot_epoch")
    journal.write_text("\n".join(lines[: cut + 1]) + "\n")
    run = json.loads(lines[cut])["run"]
    (checkpoint,) = (directory / "oneshot").glob(f"supernet-{run}-epoch0002.weights.h5")
    checkpoint.rename(checkpoint.with_name(f"supernet-{run}-epoch0001.weights.h5"))
    resumed = one_shot_search(tmp_path, "spos", options, space=skip_space(), max_trials=2)
    epochs = events_of(directory, "oneshot_epoch")
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert {e["run"] for e in epochs} == {run}
    assert len(events_of(directory, "oneshot_candidate")) == 12
    assert len(resumed.trials) == 2


def test_darts_early_stop_guard_stops_when_parameter_free_ops_lead(tmp_path):
    free = EdgeCellSpace(
        ("none", "skip_connect", "avg_pool_3x3"), channels=4, cells_per_stage=1, num_stages=1
    )
    options = {"epochs": 3, "mitigation": "early_stop", "max_parameter_free": 0.5}
    result = one_shot_search(tmp_path, "darts", options, space=free)
    epochs = events_of(result.directory, "oneshot_epoch")
    assert [e["epoch"] for e in epochs] == [1] and epochs[0]["early_stopped"]
    assert epochs[0]["metrics"]["parameter_free_share"] == 1.0
    (finished,) = events_of(result.directory, "oneshot_finished")
    assert finished["scores"][0]["early_stopped_at_epoch"] == 1
    assert result.best_trial.ok  # the derived cell is still retrained and usable


def test_resume_after_derivation_does_not_touch_the_supernet(tmp_path):
    result = one_shot_search(tmp_path, "darts", {"epochs": 1})
    directory = result.directory
    journal = directory / "journal.jsonl"
    lines = journal.read_text().splitlines()
    keep = [line for line in lines if not json.loads(line)["event"].startswith("trial_")]
    journal.write_text("\n".join(keep) + "\n")
    resumed = one_shot_search(tmp_path, "darts", {"epochs": 1})
    assert len(events_of(directory, "oneshot_epoch")) == 1
    assert len(events_of(directory, "oneshot_started")) == 1
    assert resumed.best_architecture == result.best_architecture


@pytest.mark.slow
def test_enas_controller_learns_from_shared_weight_rewards(tmp_path):
    options = {"epochs": 2, "controller_steps": 3, "controller_batch": 4, "derive_samples": 6}
    result = one_shot_search(tmp_path, "enas", options)
    epochs = events_of(result.directory, "oneshot_epoch")
    assert [e["controller"]["updates"] for e in epochs] == [3, 6]
    assert epochs[-1]["controller"]["baseline"] is not None
    candidates = events_of(result.directory, "oneshot_candidate")
    assert len(candidates) == 6 and all(c["phase"] == "derive" for c in candidates)
    best = max(c["record"]["metrics"]["shared_val_accuracy"] for c in candidates)
    (finished,) = events_of(result.directory, "oneshot_finished")
    assert finished["scores"][0]["shared_val_accuracy"] == best
    assert result.space.contains(result.best_architecture) and result.best_trial.ok


@pytest.mark.slow
def test_enas_resumes_the_controller_from_its_checkpoint(tmp_path):
    options = {"epochs": 2, "controller_steps": 2, "controller_batch": 4, "derive_samples": 4}
    result = one_shot_search(tmp_path, "enas", options)
    directory = result.directory
    journal = directory / "journal.jsonl"
    lines = journal.read_text().splitlines()
    cut = next(i for i, line in enumerate(lines) if json.loads(line)["event"] == "oneshot_epoch")
    journal.write_text("\n".join(lines[: cut + 1]) + "\n")
    run = json.loads(lines[cut])["run"]
    # The files of epoch 2 stand in for epoch 1's (a crash during epoch 2).
    for path in (directory / "oneshot").rglob("*epoch0002*"):
        path.rename(path.with_name(path.name.replace("epoch0002", "epoch0001")))
    one_shot_search(tmp_path, "enas", options)
    epochs = events_of(directory, "oneshot_epoch")
    assert [e["epoch"] for e in epochs] == [1, 2] and {e["run"] for e in epochs} == {run}
    assert epochs[-1]["controller"]["updates"] == 4  # 2 restored + 2 new


def test_front_door_errors(tmp_path):
    with pytest.raises(ValueError, match="evaluator"):
        kerasnas.search(
            space=edge_space(),
            strategy="spos",
            evaluator=lambda arch: 1.0,
            directory=tmp_path / "callable",
            verbose=0,
        )
    with pytest.raises(ValueError, match="top_k must be 1"):
        kerasnas.strategies.get("darts", top_k=2)
    with pytest.raises(ValueError, match="mitigation"):
        kerasnas.strategies.get("darts", mitigation="magic")
    x, y = make_data("sequence", n=64)
    # A space given by name becomes its one-shot version (issue 17); a space
    # object is searched as given, so an unsupported one is still refused.
    chain = kerasnas.spaces.get("chain", input_shape=x.shape[1:])
    with pytest.raises(ValueError, match="spatial size"):
        kerasnas.search(
            x, y, space=chain, strategy="darts", directory=tmp_path / "chain", verbose=0
        )
    assert not (tmp_path / "chain" / "journal.jsonl").exists()
    builder = ModelBuilder(edge_space(), SEQ, TASK)
    data = kerasnas.data.from_arrays(x, y)
    # Issue 15: one-shot is a phase the loop prepares, so a plain Search works;
    # only a strategy asked before it was prepared refuses.
    unprepared = kerasnas.oneshot.SPOS(epochs=1)
    unprepared.setup(edge_space(), [kerasnas.Objective("val_accuracy")])
    with pytest.raises(RuntimeError, match="run_one_shot"):
        unprepared.ask([], np.random.default_rng(0))
    with pytest.raises(ValueError, match="callable or custom evaluator"):
        kerasnas.Search(
            edge_space(), kerasnas.oneshot.SPOS(epochs=1),
            kerasnas.evaluation.CallableEvaluator(lambda a: 1.0, "val_accuracy"),
            "val_accuracy", tmp_path / "callable-search", max_trials=1, verbose=0,
        ).run()  # fmt: skip
    result = kerasnas.Search(
        edge_space(), kerasnas.oneshot.SPOS(epochs=1, candidates=4),
        kerasnas.FitEvaluator(builder, data, epochs=1), "val_accuracy",
        tmp_path / "plain-search", max_trials=1, verbose=0,
    ).run()  # fmt: skip
    assert len(result.completed) == 1


DOCUMENTED = [
    kerasnas.oneshot.build_supernet,
    kerasnas.oneshot.SupernetEvaluator,
    kerasnas.oneshot.OneShotStrategy,
    kerasnas.oneshot.SPOS,
    kerasnas.oneshot.run_one_shot,
]  # DARTS's and ENAS's examples are the front-door tests above, at the same scale.


@pytest.mark.slow
@pytest.mark.parametrize("obj", DOCUMENTED, ids=[o.__name__ for o in DOCUMENTED])
def test_docstring_example_runs(obj, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", inspect.getdoc(obj), flags=re.S)
    assert blocks, f"{obj.__name__} has no runnable example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, obj.__name__, "exec"), {})
