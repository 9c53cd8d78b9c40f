"""Shared helpers of the benchmark scripts: machine facts and RESULTS.md sections."""

from __future__ import annotations

import datetime
import os
import pathlib
import platform
import sys

RESULTS = pathlib.Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    """One line describing the machine and the library versions."""
    import keras
    import numpy as np
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), no GPU, Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}"
    )


def command() -> str:
    """The command line that ran this script, relative to the repository root."""
    script = pathlib.Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(RESULTS.parent.parent)
    except ValueError:
        pass
    return " ".join(["python", str(script), *sys.argv[1:]])


def append_section(title: str, body: str, path: pathlib.Path = RESULTS) -> None:
    """Appends a dated section with the command and machine to RESULTS.md."""
    today = datetime.date.today().isoformat()
    text = (
        f"\n## {title} ({today})\n\n"
        f"Command: `{command()}`\n\n"
        f"Machine: {machine()}\n\n"
        f"{body.strip()}\n"
    )
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)
    print(text)
