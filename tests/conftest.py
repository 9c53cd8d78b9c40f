"""Shared fixtures: tiny datasets of each input kind, quiet TensorFlow."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

# What a user's shell has: no TF_CPP_MIN_LOG_LEVEL of our own (set above for the tests).
USER_ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
# TensorFlow's C++ start-up lines, which the CLI keeps out of a user's terminal.
TF_START_UP_NOISE = ("cuInit", "absl::InitializeLog", "cudart_stub", "oneDNN custom operations")

SHAPES = {
    "vector": (12,),
    "sequence": (16, 2),
    "image": (8, 8, 3),
}


def make_data(kind: str, n: int = 96, classes: int = 3, seed: int = 0):
    """A learnable toy classification problem with inputs of the given kind."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n,) + SHAPES[kind]).astype("float32")
    y = (np.abs(x.reshape(n, -1)[:, :3]).argmax(axis=1) % classes).astype("int32")
    return x, y


@pytest.fixture(params=sorted(SHAPES))
def input_kind(request):
    return request.param


@pytest.fixture
def toy_data():
    return make_data


def pytest_configure(config):
    """Under `pytest -n auto`, idle workers take queued tests from busy ones (xdist worksteal).

    xdist's default `load` mode hands each worker a fixed block of the
    collection at the start; the block holding the slow tests then runs
    alone at the end.
    """
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "worksteal"


def pytest_collection_modifyitems(config, items):
    """Runs the tests marked slow first (stable order otherwise).

    With `pytest -n auto`, long tests at the end of the run leave one worker
    busy while the other idles; starting with them (longest-first, as in
    scheduling theory) shortens the run without dropping a test.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
