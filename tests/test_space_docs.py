"""The runnable examples in the docstrings of the space API run as written."""

import inspect
import re

import pytest

import kerasnas
from kerasnas.builder import plot
from kerasnas.evaluation import costs
from kerasnas.layers import merge

DOCUMENTED = [
    kerasnas.spaces.SkipChainSpace,
    kerasnas.spaces.TemplateSpace,
    kerasnas.spaces.EdgeCellSpace,
    kerasnas.spaces.NodeCellSpace,
    kerasnas.spaces.nas_bench_201,
    kerasnas.spaces.darts,
    kerasnas.spaces.staged_template,
    kerasnas.spaces.multi_branch_template,
    kerasnas.spaces.training_decisions,
    kerasnas.spaces.with_training,
    kerasnas.spaces.template.normalize_template,
    merge.merge,
    costs.architecture_costs,
    plot.plot_model,
    plot.plot_architecture,
]


@pytest.mark.parametrize("obj", DOCUMENTED, ids=[o.__name__ for o in DOCUMENTED])
def test_docstring_example_runs(obj, tmp_path, monkeypatch):
    doc = inspect.getdoc(obj)
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert blocks, f"{obj.__name__} has no runnable example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block.replace("/tmp/", f"{tmp_path}/"), obj.__name__, "exec"), {})
