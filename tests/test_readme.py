"""The README's commands and quickstart are what users run first: keep them true."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def bash_blocks():
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_readme_has_two_setup_commands_sharing_one_install():
    setup = README.split("## Set up on a fresh machine")[1].split("\n## ")[0]
    commands = re.findall(r"```bash\n(.*?)\n```", setup, flags=re.S)
    assert len(commands) == 2
    install = 'python3.11 -m venv .venv && . .venv/bin/activate && pip install -e ".[all]"'
    assert all(c.startswith(install) for c in commands)
    assert "kerasnas search --data mnist1d" in commands[0]
    assert commands[1].endswith("pytest -q -n auto")


def test_ci_runs_the_readme_test_command():
    setup = README.split("## Set up on a fresh machine")[1]
    test_command = re.findall(r"```bash\n(.*?)\n```", setup, flags=re.S)[1]
    assert test_command in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_python_quickstart_runs_as_written(tmp_path):
    code = re.search(r"## Quickstart in Python\n\n```python\n(.*?)```", README, re.S).group(1)
    code += "\nassert result.best_model is not None\nprint('QUICKSTART OK', len(result.trials))\n"
    script = tmp_path / "quickstart.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "QUICKSTART OK 10" in done.stdout
    assert (tmp_path / "exports/demo/1/saved_model.pb").exists()
