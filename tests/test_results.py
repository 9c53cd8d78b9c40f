"""SearchResult.best_models(k), summary() as a printed table, load_search to reopen."""

import numpy as np
import pytest

import kerasnas


def test_summary_prints_a_table_of_every_objective_without_cutting_tokens(tmp_path):
    space = kerasnas.spaces.ChainSpace(max_layers=4)
    result = kerasnas.search(
        space=space,
        strategy="nsga2",
        strategy_options={"population_size": 4},
        evaluator=lambda a: {"score": a["num_layers"] / 4, "params": 1000.0 * a["num_layers"]},
        objective=["score", "params"],
        max_trials=6,
        directory=tmp_path,
        verbose=0,
    )
    lines = []
    assert result.summary(top=3, print_fn=lines.append, line_length=80) is None
    text = "\n".join(lines)
    assert text == result.summary(top=3, line_length=80, return_text=True)
    assert lines[0].startswith(f'Search "{tmp_path}": 6 trials (6 completed)')
    header = lines[2].split()
    assert header[:4] == ["rank", "trial", "score", "params"] and header[-1] == "architecture"
    rows = [line for line in lines if line[:1].isdigit()]
    assert [r.split()[0] for r in rows] == ["1", "2", "3"]
    best = result.best_trial
    assert rows[0].split()[1] == f"#{best.number}"
    # The architecture column wraps between tokens: every token of describe() is whole.
    tokens = set(text.split())
    for record in result.ranked()[:3]:
        assert set(space.describe(record.architecture).split()) <= tokens
    assert all(len(line) <= 80 for line in lines[1:])
    assert "Objectives: score (max), params (min)" in text


def test_best_models_loads_the_k_best_kept_models_best_first(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    result = kerasnas.search(
        x,
        y,
        space=kerasnas.spaces.ChainSpace(max_layers=2, operations=("dense",), widths=(4, 8)),
        max_trials=3,
        epochs=1,
        keep_best_models=2,
        directory=tmp_path,
        verbose=0,
        executor="local",
    )
    models = result.best_models(2)
    ranked = result.ranked()
    assert [m.name for m in models] == [f"kerasnas_{t.architecture.key}" for t in ranked[:2]]
    assert result.best_models(1)[0] is models[0]
    with pytest.raises(ValueError, match="keep_best_models >= 3"):
        result.best_models(3)
    with pytest.raises(ValueError, match="Received: k=0"):
        result.best_models(0)
    # load_search reopens the directory with the same ranking and kept models.
    reopened = kerasnas.load_search(tmp_path)
    assert [t.number for t in reopened.ranked()] == [t.number for t in ranked]
    assert [m.name for m in reopened.best_models(2)] == [m.name for m in models]
