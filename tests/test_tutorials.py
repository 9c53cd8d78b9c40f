"""Every tutorial runs end to end in its quick mode."""

import os
import pathlib
import subprocess
import sys

import pytest

TUTORIALS = sorted((pathlib.Path(__file__).resolve().parents[1] / "tutorials").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=[p.name for p in TUTORIALS])
def test_tutorial_runs_in_quick_mode(path, tmp_path):
    env = dict(
        os.environ,
        KERASNAS_TUTORIAL_QUICK="1",
        TF_CPP_MIN_LOG_LEVEL="3",
        RAY_USAGE_STATS_ENABLED="0",
    )
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
