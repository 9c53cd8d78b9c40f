"""Architecture templates: users write them as data; bad ones get clear errors."""

import copy
import json

import numpy as np
import pytest

import kerasnas
from kerasnas.builder import ModelBuilder, Task
from kerasnas.errors import InvalidArchitectureError
from kerasnas.spaces import TemplateSpace, staged_template

CUSTOM = {
    "name": "two_towers",
    "segments": [
        {"name": "stem", "type": "conv", "params": {"width": [8, 16]}},
        {
            "name": "left",
            "type": "stage",
            "inputs": ["stem"],
            "params": {
                "block": ["residual", "inverted_residual"],
                "depth": [1, 2],
                "width": 16,
                "expansion": {"choices": [2, 4], "when": {"block": ["inverted_residual"]}},
                "strides": 2,
            },
        },
        {"name": "right", "type": "pool", "inputs": ["stem"], "params": {"pool": ["max", "avg"]}},
        {
            "name": "join",
            "type": "merge",
            "inputs": ["left", "right"],
            "params": {"merge": ["add", "concat"]},
        },
        {"name": "head", "type": "head", "params": {"units": [0, 16]}},
    ],
}


def test_a_custom_template_becomes_prefixed_conditional_decisions():
    space = TemplateSpace(json.loads(json.dumps(CUSTOM)))
    names = [d.name for d in space.decisions]
    assert names == [
        "stem.width",
        "left.block",
        "left.depth",
        "left.expansion",
        "right.pool",
        "join.merge",
        "head.units",
    ]
    assert space.decision("left.expansion").conditions[0].decision == "left.block"
    # 2 stems * (residual 2 depths + inverted 2 depths * 2 expansions) * 2 * 2 * 2
    assert space.size() == 2 * (2 + 4) * 2 * 2 * 2 == len(list(space.enumerate()))
    arch = space.validate(
        {
            "stem.width": 8,
            "left.block": "residual",
            "left.depth": 2,
            "right.pool": "avg",
            "join.merge": "concat",
            "head.units": 16,
        }
    )
    with pytest.raises(InvalidArchitectureError, match="inactive"):
        space.validate(dict(arch, **{"left.expansion": 2}))
    with pytest.raises(InvalidArchitectureError, match=r"Allowed: \['add', 'concat'\]"):
        space.validate(dict(arch, **{"join.merge": "mul"}))
    model = ModelBuilder(space, (8, 8, 3), Task("classification", 3, "sparse")).build(arch)
    names = [layer.name for layer in model.layers]
    assert {"left_block1_add", "right_avgpool", "join_merge_concat", "head_dense"} <= set(names)
    assert model.get_layer("join_merge_concat").output.shape == (None, 4, 4, 16 + 8)
    assert space.describe(arch) == (
        "stem=conv3x8 left=residual*2x16k3/2 right=avgpool/2 join=concat(left,right) "
        "head=global_avg>16"
    )
    assert "left.block" not in space.summary(arch) and "block=residual*" in space.summary(arch)


def test_depth_zero_stage_is_an_identity():
    template = copy.deepcopy(CUSTOM)
    template["segments"][1]["params"]["depth"] = [0, 1]
    space = TemplateSpace(template)
    arch = space.sample(0)
    arch = space.validate(
        {
            k: v
            for k, v in dict(arch, **{"left.depth": 0, "left.block": "residual"}).items()
            if k != "left.expansion"
        }
    )
    model = ModelBuilder(space, (8, 8, 3), Task("classification", 3, "sparse")).build(arch)
    assert not any(layer.name.startswith("left_") for layer in model.layers)
    assert "left=skip" in space.describe(arch)


def broken(change):
    template = copy.deepcopy(CUSTOM)
    change(template)
    return template


@pytest.mark.parametrize(
    "template, message",
    [
        ([1, 2], "A template is a dict"),
        ({"segments": []}, "'segments' must be a non-empty list"),
        ({"segments": [{"name": "a", "type": "conv"}], "extra": 1}, "unknown keys"),
        (broken(lambda t: t["segments"][0].update(type="convolution")), "'type' must be one of"),
        (
            broken(lambda t: t["segments"][0]["params"].update(widht=3)),
            r"segment 'stem': type 'conv' takes parameters .*Received: widht=3",
        ),
        (
            broken(lambda t: t["segments"][0]["params"].pop("width")),
            "needs the parameter 'width'",
        ),
        (
            broken(lambda t: t["segments"][1]["params"].update(block=["residual", "resnext"])),
            r"'block' must be one of .*Received: block='resnext'",
        ),
        (
            broken(lambda t: t["segments"][1].update(inputs=["join"])),
            "inputs must be 'input', 'input:NAME' .one of several inputs. or earlier segments",
        ),
        (broken(lambda t: t["segments"][2].update(name="left")), "names must be unique"),
        (
            broken(lambda t: t["segments"][3].update(inputs=["left"], params={})),
            r"segments \['right'\] do not lead to the output 'head'",
        ),
        (
            broken(lambda t: t["segments"][2]["params"].update(merge="add")),
            "'merge' applies to segments with several inputs",
        ),
        (
            broken(lambda t: t["segments"][4]["params"].update(units=[])),
            "needs at least one value",
        ),
        (
            broken(lambda t: t["segments"][4]["params"].update(dropout=[0.1, 1.5])),
            r"'dropout' must be a number in \[0, 1\)",
        ),
        (
            broken(
                lambda t: t["segments"][1]["params"].update(
                    block={"choices": ["residual"], "when": {"expansion": [2]}}
                )
            ),
            "not a choice declared before it",
        ),
        ("resnet", "Shipped templates"),
    ],
)
def test_bad_templates_get_errors_that_name_the_segment_and_parameter(template, message):
    with pytest.raises(ValueError, match=message):
        TemplateSpace(template)


def test_shipped_templates_are_json_and_cover_the_input_kinds():
    for name, make in kerasnas.spaces.TEMPLATES.items():
        template = make()
        assert json.loads(json.dumps(template)) == template
        assert TemplateSpace(name).size() > 10
    staged = TemplateSpace(staged_template("image"))
    assert [s["name"] for s in staged.template["segments"]] == [
        "stem",
        "stage1",
        "stage2",
        "stage3",
        "head",
    ]
    assert staged.decision("stage2.expansion").conditions[0].values == ("inverted_residual",)
    sequence = TemplateSpace(kerasnas.spaces.multi_branch_template("sequence"))
    assert sequence.decision("mix.merge").choices == ("add", "concat")
    with pytest.raises(ValueError, match="input_kind"):
        staged_template("video")


def test_template_space_rebuilds_from_config_and_searches(tmp_path):
    space = TemplateSpace(CUSTOM)
    again = kerasnas.spaces.space_from_config(json.loads(json.dumps(space.get_config())))
    assert again.fingerprint() == space.fingerprint() and again.name == "two_towers"
    result = kerasnas.search(
        space=space,
        evaluator=lambda a: float(a["stem.width"] + (a["join.merge"] == "concat")),
        max_trials=6,
        directory=tmp_path,
        verbose=0,
    )
    assert len({t.key for t in result.trials}) == 6
    assert np.isfinite(result.best_value)


def test_canonical_key_ignores_parameters_the_network_does_not_use():
    space = TemplateSpace(staged_template("vector"))
    arch = space.sample(np.random.default_rng(0))
    skipped = dict(arch, **{"stage2.depth": 0, "stage2.width": 32, "stage2.activation": "relu"})
    other = dict(skipped, **{"stage2.width": 128, "stage2.activation": "gelu"})
    assert space.canonical_key(skipped) == space.canonical_key(other)
    deeper = dict(other, **{"stage2.depth": 1})
    assert space.canonical_key(deeper) != space.canonical_key(dict(deeper, **{"stage2.width": 32}))
    builder = ModelBuilder(space, (12,), Task("classification", 3, "sparse"))
    assert builder.build(skipped).count_params() == builder.build(other).count_params()
    # An identity layer has no width: the width choice does not matter.
    layer = TemplateSpace(
        {
            "segments": [
                {
                    "name": "x",
                    "type": "op",
                    "params": {"op": ["identity", "conv"], "width": [8, 16]},
                }
            ]
        }
    )
    assert layer.canonical_key({"x.op": "identity", "x.width": 8}) == layer.canonical_key(
        {"x.op": "identity", "x.width": 16}
    )
    assert layer.canonical_key({"x.op": "conv", "x.width": 8}) != layer.canonical_key(
        {"x.op": "conv", "x.width": 16}
    )
    rng = np.random.default_rng(2)
    for _ in range(100):
        sample = space.sample(rng)
        canonical = space.canonicalize(sample)
        assert space.canonicalize(canonical) == canonical
        assert space.describe(canonical) == space.describe(sample)


TWO_INPUTS = {
    "name": "meta_and_signal",
    "segments": [
        {
            "name": "meta",
            "type": "op",
            "inputs": ["input:meta"],
            "params": {"op": "dense", "width": [4, 8]},
        },
        {
            "name": "signal",
            "type": "op",
            "inputs": ["input:signal"],
            "params": {"op": ["conv", "sepconv"], "width": 8},
        },
        {"name": "signal_pool", "type": "head", "inputs": ["signal"]},
        {
            "name": "join",
            "type": "merge",
            "inputs": ["meta", "signal_pool"],
            "params": {"merge": ["add", "concat"]},
        },
    ],
}


def _meta_and_signal(n=96):
    rng = np.random.default_rng(0)
    meta = rng.normal(size=(n, 3)).astype("float32")
    signal = rng.normal(size=(n, 10, 1)).astype("float32")
    return meta, signal, (meta[:, 0] > 0).astype("int32")


def test_a_template_reads_several_named_inputs(tmp_path):
    meta, signal, y = _meta_and_signal()
    space = TemplateSpace(TWO_INPUTS)
    assert space.input_names == ["meta", "signal"]
    result = kerasnas.search(
        {"meta": meta, "signal": signal},
        y,
        space=space,
        max_trials=2,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        executor="local",
    )
    model = result.best_model
    assert sorted(t.name for t in model.inputs) == ["meta", "signal"]
    assert model.predict({"meta": meta, "signal": signal}, verbose=0).shape == (96, 2)
    # Each input is normalised with its own statistics.
    assert {"meta_normalization", "signal_normalization"} <= {layer.name for layer in model.layers}


def test_a_template_reads_list_inputs_by_position(tmp_path):
    meta, signal, y = _meta_and_signal()
    template = json.loads(
        json.dumps(TWO_INPUTS).replace("input:meta", "input:0").replace("input:signal", "input:1")
    )
    result = kerasnas.search(
        [meta, signal],
        y,
        space=TemplateSpace(template),
        max_trials=1,
        epochs=1,
        directory=tmp_path,
        verbose=0,
        executor="local",
    )
    assert result.best_model.predict([meta, signal], verbose=0).shape == (96, 2)


@pytest.mark.parametrize(
    "x, message",
    [
        ("single", r"reads several inputs \['meta', 'signal'\].*the data has one input"),
        (
            {"meta": 0, "other": 0},
            r"missing from the data: \['signal'\]; not read by any segment: \['other'\]",
        ),
    ],
)
def test_a_template_refuses_data_whose_inputs_it_does_not_read(x, message, tmp_path):
    meta, signal, y = _meta_and_signal(40)
    data = meta if x == "single" else {"meta": meta, "other": signal}
    with pytest.raises(ValueError, match=message):
        kerasnas.search(
            data, y, space=TemplateSpace(TWO_INPUTS), max_trials=1, directory=tmp_path, verbose=0
        )
    assert not (tmp_path / "journal.jsonl").exists() or not any(
        '"trial"' in line for line in (tmp_path / "journal.jsonl").read_text().splitlines()
    )


def test_a_one_input_template_on_several_inputs_says_how_to_name_them(tmp_path):
    meta, signal, y = _meta_and_signal(40)
    with pytest.raises(ValueError, match=r"read them as \['input:meta', 'input:signal'\]"):
        kerasnas.search(
            {"meta": meta, "signal": signal},
            y,
            space=TemplateSpace("mlp"),
            max_trials=1,
            directory=tmp_path,
            verbose=0,
        )


def test_a_template_cannot_mix_the_single_input_with_named_ones():
    template = json.loads(json.dumps(TWO_INPUTS).replace("input:signal", "input"))
    with pytest.raises(ValueError, match="either the one input 'input' or several named inputs"):
        TemplateSpace(template)
