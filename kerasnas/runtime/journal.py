"""The journal: an append-only JSON-lines file, the single source of truth of a search."""

from __future__ import annotations

import json
import math
import os
import pathlib
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from kerasnas.runtime.records import TrialRecord

JOURNAL_FILE = "journal.jsonl"


def to_jsonable(value: Any) -> Any:
    """Converts numpy values and non-finite floats into strict JSON values."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf": readable, and strict JSON
    return value


def dumps(value: Any) -> str:
    """JSON text of `value` (numpy and NaN safe) on one line."""
    return json.dumps(to_jsonable(value), allow_nan=False, separators=(",", ":"))


class Journal:
    """Appends events to `<directory>/journal.jsonl` and reads them back.

    Every line is one JSON object with an `"event"` field. A line cut short
    by a crash is set aside (in `journal.jsonl.partial`) before the next
    append; an unreadable line elsewhere is skipped with a warning and left
    in the file, so nothing recorded is ever rewritten.

    Example:

    ```python
    import tempfile
    from kerasnas.runtime import Journal
    journal = Journal(tempfile.mkdtemp())
    journal.append({"event": "note", "text": "hello"})
    [e["text"] for e in journal.events()]  # ['hello']
    ```

    Args:
        directory: the search directory (created if missing).

    Raises:
        PermissionError: if the directory cannot be written, naming it.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = pathlib.Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PermissionError(
                f"Cannot create the search directory. Received: directory='{self.directory}' ({e})"
            ) from e
        if not os.access(self.directory, os.W_OK):
            raise PermissionError(
                f"The search directory is not writable. Received: directory='{self.directory}'"
            )
        self.path = self.directory / JOURNAL_FILE
        self.skipped_lines: list[int] = []
        self._repaired = False

    # ------------------------------------------------------------- write
    def _repair_tail(self) -> None:
        """Sets aside a final line without newline (a write cut by a crash)."""
        if self._repaired or not self.path.exists():
            self._repaired = True
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            tail = data[cut:]
            try:
                json.loads(tail)
                # A complete object that only lacks its newline: keep it.
                with open(self.path, "ab") as f:
                    f.write(b"\n")
            except ValueError:
                with open(str(self.path) + ".partial", "ab") as f:
                    f.write(tail + b"\n")
                with open(self.path, "r+b") as f:
                    f.truncate(cut)
                warnings.warn(
                    f"The journal '{self.path}' ended in an incomplete line (a crash "
                    f"mid-write); it was moved to '{self.path}.partial'.",
                    stacklevel=3,
                )
        self._repaired = True

    def append(self, event: dict, sync: bool = True) -> None:
        """Appends one event and flushes it to disk.

        The line is handed to the operating system before this returns, so
        it survives the process being killed (even with `kill -9`). With
        `sync=True` (the default) it is also fsync'ed, so it survives a
        machine crash; an fsync'ed append makes every earlier line durable
        too (one file).

        Args:
            event: a dict with an `"event"` name; a `"time"` is added.
            sync: fsync the file (False: flush only; the next synced append,
                or the operating system, makes it durable).
        """
        if "event" not in event:
            raise ValueError(f"A journal event needs an 'event' name. Received: {event!r}")
        self._repair_tail()
        event = dict(event)
        event.setdefault("time", time.time())
        line = dumps(event) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            if sync:
                os.fsync(f.fileno())

    # -------------------------------------------------------------- read
    def events(self) -> Iterator[dict]:
        """Yields the events in order, skipping unreadable lines."""
        if not self.path.exists():
            return
        self.skipped_lines = []
        with open(self.path, "rb") as f:
            raw_lines = f.read().split(b"\n")
        last = len(raw_lines) - 1
        for number, raw in enumerate(raw_lines):
            if not raw.strip():
                continue
            try:
                event = json.loads(raw)
                if not isinstance(event, dict) or "event" not in event:
                    raise ValueError("not an event object")
            except ValueError:
                if number == last:
                    continue  # an incomplete tail; set aside at the next append
                self.skipped_lines.append(number + 1)
                warnings.warn(
                    f"Skipping unreadable line {number + 1} of journal '{self.path}'.",
                    stacklevel=2,
                )
                continue
            yield event

    def replay(self) -> tuple[list[TrialRecord], dict[int, dict]]:
        """Reads the trials back.

        Returns:
            `(finished, running)`: finished `TrialRecord`s in the order they
            were recorded, and the `trial_started` events (by trial number)
            of trials that never finished.
        """
        finished: dict[int, TrialRecord] = {}
        order: list[int] = []
        started: dict[int, dict] = {}
        for event in self.events():
            kind = event["event"]
            if kind == "trial_started":
                started[int(event["trial"])] = event
            elif kind == "trial_finished":
                record = TrialRecord.from_json(event["record"])
                if record.number not in finished:
                    order.append(record.number)
                finished[record.number] = record
        running = {n: e for n, e in started.items() if n not in finished}
        return [finished[n] for n in order], running

    def exists(self) -> bool:
        """Whether the journal file has anything in it."""
        return self.path.exists() and self.path.stat().st_size > 0
