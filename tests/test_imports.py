"""`import kerasnas` is quick: TensorFlow and Keras load only when a model is needed."""

import json
import subprocess
import sys

PACKAGES = (
    "kerasnas",
    "kerasnas.builder",
    "kerasnas.evaluation",
    "kerasnas.export",
    "kerasnas.proxies",
    "kerasnas.runtime",
    "kerasnas.spaces",
    "kerasnas.strategies",
)


def run_python(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_and_search_setup_load_no_tensorflow():
    loaded = run_python(
        "import json, sys\n"
        "import numpy as np\n"
        "import kerasnas\n"
        "space = kerasnas.spaces.get('chain', input_shape=(40, 1))\n"
        "objective = kerasnas.Objective('val_accuracy')\n"
        "for name in ('random', 'evolution', 'nsga2'):\n"
        "    strategy = kerasnas.strategies.get(name)\n"
        "    strategy.setup(space, [objective])\n"
        "    strategy.ask([], np.random.default_rng(0))\n"
        "kerasnas.spaces.ChainSpace(max_layers=3).sample(0)\n"
        "kerasnas.search, kerasnas.Search, kerasnas.load_search, kerasnas.runtime.Journal\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))\n"
    )
    assert loaded == []


def test_every_public_name_resolves_and_is_listed():
    missing = run_python(
        "import importlib, json\n"
        f"packages = {list(PACKAGES)!r}\n"
        "missing = []\n"
        "for package in packages:\n"
        "    module = importlib.import_module(package)\n"
        "    for name in module.__all__:\n"
        "        getattr(module, name)\n"
        "        if name not in dir(module):\n"
        "            missing.append(package + '.' + name)\n"
        "print(json.dumps(missing))\n"
    )
    assert missing == []


def test_the_search_function_is_not_shadowed_by_its_module():
    kinds = run_python(
        "import json\n"
        "import kerasnas.search\n"
        "from kerasnas.search import Search\n"
        "import kerasnas\n"
        "print(json.dumps([callable(kerasnas.search), type(kerasnas.search).__name__]))\n"
    )
    assert kinds == [True, "function"]


def test_an_unknown_name_is_an_attribute_error():
    import pytest

    import kerasnas

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        kerasnas.runtime.nothing_here  # noqa: B018


def test_trial_callbacks_are_keras_callbacks_and_their_users_load_no_keras():
    loaded = run_python(
        "import json, sys\n"
        "import kerasnas.runtime.pruning, kerasnas.runtime.trial\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)))\n"
    )
    assert loaded == []
    import keras

    from kerasnas.runtime.trial_callbacks import PruningCallback, TimeLimit

    assert issubclass(TimeLimit, keras.callbacks.Callback)
    assert issubclass(PruningCallback, keras.callbacks.Callback)
