"""Importing TensorFlow without its C++ start-up lines on stderr.

TensorFlow's native libraries write notes to file descriptor 2 before its
logging is set up, so `TF_CPP_MIN_LOG_LEVEL` does not hide them (oneDNN,
"Could not find cuda drivers", the absl banner), and on CPU-only machines
the first device query logs `failed call to cuInit ... UNKNOWN ERROR (303)`,
which reads like a real error. `import_tensorflow_quietly` imports
TensorFlow and Keras and lists the devices with descriptor 2 pointed at a
temporary file, then writes back every line that is not one of those notes
(real errors still show). The CLI and kerasnas's worker processes use it;
the library never changes a user's stderr on import.

Example:

```python
from kerasnas._native_logs import import_tensorflow_quietly
import_tensorflow_quietly()  # imports TensorFlow and Keras; prints nothing
```
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

# TensorFlow's start-up notes: glog-style info/warning lines (`I0000 ...`,
# `W0000 ...`, or dated `... I external/...`), the absl banner, the CPU
# instruction note's second line, and the CUDA probe on a machine without GPUs.
_NOISE = re.compile(
    r"^(?:[IW]\d{4} \d\d:\d\d:\d\d"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|To enable the following instructions: "
    r"|.*failed call to cuInit: .*\(303\)"
    r"|.*Could not find cuda drivers on your machine)"
)


def is_startup_noise(line: str) -> bool:
    """Whether a stderr line is one of TensorFlow's start-up notes."""
    return bool(_NOISE.match(line))


@contextlib.contextmanager
def filtered_stderr():
    """Sends file descriptor 2 to a file meanwhile; writes back all but the start-up notes."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not is_startup_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow and Keras and probes the devices without the start-up notes.

    Does nothing when TensorFlow is already imported.
    """
    if "tensorflow" in sys.modules:
        return
    with filtered_stderr():
        import keras
        import tensorflow as tf

        tf.config.list_physical_devices()
        keras.backend.backend()
