"""Evaluators for the runtime tests that worker processes can import (not collected)."""

import os
import time

import numpy as np


def misbehave(arch):
    """Scores `arch["x"]`, or misbehaves as `arch["behaviour"]` says."""
    behaviour = arch["behaviour"]
    if behaviour == "sleep":
        time.sleep(60)
    elif behaviour == "hog":
        hog = np.ones(200_000_000)  # 1.6 GB, touched
        time.sleep(60)
        return float(hog[0])
    elif behaviour == "crash":
        os._exit(7)
    elif behaviour == "nap":
        time.sleep(1.0)
    elif behaviour == "raise":
        raise RuntimeError("candidate exploded")
    return {"score": float(arch["x"]), "pid": float(os.getpid()), "end": time.time()}


def fit_data():
    """A small learnable sequence problem (the same in every process)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 16, 2)).astype("float32")
    y = np.abs(x[:, :3, 0]).argmax(axis=1).astype("int32")
    return x, y
