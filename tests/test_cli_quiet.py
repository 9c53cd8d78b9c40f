"""The CLI is quick (no TensorFlow for --help and summary) and quiet (no C++ start-up lines)."""

import json
import subprocess
import sys

import pytest
from conftest import TF_START_UP_NOISE as NOISE
from conftest import USER_ENV as ENV  # as a user runs it


def run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "kerasnas.cli", *args],
        cwd=cwd,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_trial_search(cwd, directory, *options):
    """`kerasnas search` of one 1-epoch trial on MNIST-1D into `directory`."""
    common = ("--data", "mnist1d", "--max-trials", "1", "--epochs", "1")
    return run("search", *common, *options, "--directory", directory, cwd=cwd)


def modules_after(argv, cwd) -> list:
    """Runs the CLI with `argv` in a fresh interpreter; the heavy modules it imported."""
    code = (
        "import json, sys\n"
        "from kerasnas.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('tensorflow', 'keras', 'mnist1d', 'matplotlib')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def options_of(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for option in sub._actions:
                    if option.option_strings and not isinstance(option, argparse._HelpAction):
                        yield name, option


def test_every_flag_has_help_with_its_default():
    from kerasnas.cli import build_parser

    undocumented = [
        f"{command} {option.option_strings[-1]}"
        for command, option in options_of(build_parser())
        if not option.help or not ("default" in option.help or option.required)
    ]
    assert undocumented == []


def test_space_and_strategy_help_list_their_choices():
    from kerasnas.cli import build_parser
    from kerasnas.spaces import SPACE_NAMES
    from kerasnas.strategies import STRATEGY_NAMES

    helps = {
        option.option_strings[-1]: option.help
        for command, option in options_of(build_parser())
        if command == "search"
    }
    assert all(name in helps["--space"] for name in SPACE_NAMES)
    assert all(name in helps["--strategy"] for name in STRATEGY_NAMES)


def test_help_imports_no_tensorflow(tmp_path):
    assert modules_after(["--help"], tmp_path) == []
    assert modules_after(["search", "--help"], tmp_path) == []


def test_a_summary_reads_the_journal_without_tensorflow(tmp_path):
    import kerasnas

    # A search written by a journal-only evaluator; the CLI's own searches and their
    # quiet output are tested in tests/test_cli.py::test_cli_search_export_and_resume.
    kerasnas.search(space="chain", evaluator=lambda arch: arch["num_layers"], max_trials=2,
                    directory=tmp_path / "runs/quiet", verbose=0)  # fmt: skip
    summary = run("summary", "runs/quiet", cwd=tmp_path)
    assert "2 trials" in summary.stdout
    assert not [word for word in NOISE if word in summary.stderr], summary.stderr
    # A summary reads the journal only: no TensorFlow, no data regenerated.
    assert modules_after(["summary", "runs/quiet"], tmp_path) == []


@pytest.mark.slow
def test_a_ray_search_prints_no_tensorflow_start_up_lines(tmp_path):
    pytest.importorskip("ray")
    searched = one_trial_search(tmp_path, "runs/ray", "--executor", "ray", "--workers", "1")
    assert searched.returncode == 0, searched.stderr
    assert "Kept models: #0" in searched.stdout
    # The actors' own TensorFlow start-up (cuInit on a CPU machine) stays in Ray's logs.
    assert not [word for word in NOISE if word in searched.stderr], searched.stderr
