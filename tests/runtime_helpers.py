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


class DieOnce:
    """Scores `arch["x"]`; kills its own process mid-trial, once per marked `x` or always.

    `arch["behaviour"] == "crash_once"` kills the process the first time
    (a marker file in `folder` remembers it), `"crash"` every time.
    """

    def __init__(self, folder):
        self.folder = str(folder)

    def __call__(self, arch):
        import signal

        behaviour = arch["behaviour"]
        marker = os.path.join(self.folder, f"died-{arch['x']}")
        if behaviour == "crash" or (behaviour == "crash_once" and not os.path.exists(marker)):
            open(marker, "w").close()
            time.sleep(0.2)  # mid-trial
            os.kill(os.getpid(), signal.SIGKILL)
        if behaviour == "nap":
            time.sleep(1.0)
        return {"score": float(arch["x"]), "pid": float(os.getpid()), "end": time.time()}


def sleepy_layers(arch):
    """A score that takes a little while (the number of layers)."""
    time.sleep(0.3)
    return float(arch["num_layers"])


def slow_layers(arch):
    """A score that takes a second: long enough for a slow-booting second worker to join."""
    time.sleep(1.0)
    return float(arch["num_layers"])
