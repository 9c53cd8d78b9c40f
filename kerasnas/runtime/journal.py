"""The journal: an append-only JSON-lines file, the single source of truth of a search."""

from __future__ import annotations

import json
import os
import pathlib
import time
import warnings
from collections.abc import Iterator
from typing import Any

from kerasnas.jsonio import dumps, to_jsonable  # noqa: F401 - re-exported
from kerasnas.trial import TrialRecord, is_architecture, is_trial_number

JOURNAL_FILE = "journal.jsonl"
#: Journals, settings and data copies hold the user's data: owner-only.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def ensure_directory(directory: pathlib.Path) -> None:
    """Creates a search directory (owner-only) or checks an existing one.

    Raises:
        NotADirectoryError: if the path, or a folder above it, is a file.
        PermissionError: if it cannot be created or written.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    except (FileExistsError, NotADirectoryError) as e:
        raise NotADirectoryError(
            f"The search directory is a file, or lies under one. Received: directory='{directory}'"
        ) from e
    except OSError as e:
        raise PermissionError(
            f"Cannot create the search directory. Received: directory='{directory}' ({e})"
        ) from e
    if not directory.is_dir():
        raise NotADirectoryError(
            f"The search directory is a file. Received: directory='{directory}'"
        )
    if not os.access(directory, os.W_OK):
        raise PermissionError(
            f"The search directory is not writable. Received: directory='{directory}'"
        )


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
        directory: the search directory (created, owner-only, at the first
            append; the journal file is owner-only too: it holds your data's
            metrics and settings).
    """

    def __init__(self, directory: str | os.PathLike):
        # Nothing is created until the first append: opening a journal has no
        # side effects on disk.
        self.directory = pathlib.Path(directory)
        self.path = self.directory / JOURNAL_FILE
        self.skipped_lines: list[int] = []
        self._repaired = False
        self._directory_ready = False

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
        line = (dumps(event) + "\n").encode("utf-8")
        if not self._directory_ready:
            ensure_directory(self.directory)
            self._directory_ready = True
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    # -------------------------------------------------------------- read
    def events(self) -> Iterator[dict]:
        """Yields the events in order, skipping unreadable lines."""
        for _, event in self.numbered_events():
            yield event

    def numbered_events(self) -> Iterator[tuple[int, dict]]:
        """Yields `(line_number, event)` in order, skipping unreadable lines with a warning."""
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
                if not isinstance(event, dict) or not isinstance(event.get("event"), str):
                    raise ValueError("not an event object")
            except ValueError:
                if number == last:
                    continue  # an incomplete tail; set aside at the next append
                self._skip(number + 1, "unreadable line")
                continue
            yield number + 1, event

    def _skip(self, line: int, reason: str) -> None:
        self.skipped_lines.append(line)
        warnings.warn(
            f"Skipping {reason} {line} of journal '{self.path}'."
            if reason == "unreadable line"
            else f"Skipping line {line} of journal '{self.path}': {reason}.",
            stacklevel=4,
        )

    def replay(self) -> tuple[list[TrialRecord], dict[int, dict]]:
        """Reads the trials back.

        A line that is JSON but not a valid trial event (a field missing or
        of the wrong type) is skipped with a warning naming it, like an
        unreadable line; a kept-model path that would leave the directory is
        dropped with a warning. `self.lines` maps each trial to its line.

        Returns:
            `(finished, running)`: finished `TrialRecord`s in the order they
            were recorded, and the `trial_started` events (by trial number)
            of trials that never finished.
        """
        finished: dict[int, TrialRecord] = {}
        order: list[int] = []
        started: dict[int, dict] = {}
        self.lines: dict[int, int] = {}
        for line, event in self.numbered_events():
            kind = event["event"]
            try:
                if kind == "trial_started":
                    check_started_event(event)
                    started[event["trial"]] = event
                    self.lines.setdefault(event["trial"], line)
                elif kind == "trial_finished":
                    record = TrialRecord.from_json(event.get("record"))
                    self._check_model_path(record, line)
                    if record.number not in finished:
                        order.append(record.number)
                    finished[record.number] = record
                    self.lines[record.number] = line
            except ValueError as e:
                self._skip(line, f"not a valid {kind} event ({e})")
        running = {n: e for n, e in started.items() if n not in finished}
        return [finished[n] for n in order], running

    def _check_model_path(self, record: TrialRecord, line: int) -> None:
        path = record.info.get("model_path")
        if path is None:
            return
        if inside_directory(self.directory, path) is None:
            record.info = {k: v for k, v in record.info.items() if k != "model_path"}
            warnings.warn(
                f"Line {line} of journal '{self.path}': the kept-model path {path!r} of "
                f"trial {record.number} lies outside the search directory; ignored.",
                stacklevel=4,
            )

    def exists(self) -> bool:
        """Whether the journal file has anything in it."""
        return self.path.exists() and self.path.stat().st_size > 0


def inside_directory(directory: str | os.PathLike, relative: Any) -> pathlib.Path | None:
    """`directory / relative` if it is a relative path that stays inside `directory`, else None."""
    if not isinstance(relative, str) or not relative or os.path.isabs(relative):
        return None
    root = pathlib.Path(directory).resolve()
    candidate = (root / relative).resolve()
    if candidate == root or root not in candidate.parents:
        return None
    return candidate


def check_started_event(event: dict) -> None:
    """Raises ValueError if a `trial_started` event lacks a field or has one of the wrong type."""
    if not is_trial_number(event.get("trial")):
        raise ValueError(f"'trial' is not a trial number. Received: {event.get('trial')!r}")
    if not is_architecture(event.get("architecture")):
        raise ValueError("'architecture' is not an encoding")
    attempt = event.get("attempt", 1)
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise ValueError(f"'attempt' is invalid. Received: {attempt!r}")
    seed = event.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"'seed' is invalid. Received: {seed!r}")
    if not isinstance(event.get("info", {}), dict) or not isinstance(event.get("key", ""), str):
        raise ValueError("'info' or 'key' is invalid")
    started = event.get("time", 0.0)
    if not isinstance(started, (int, float)) or isinstance(started, bool):
        raise ValueError(f"'time' is invalid. Received: {started!r}")
