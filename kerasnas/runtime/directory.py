"""The search directory: settings file, journal and kept model files."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import time
from typing import Any

from kerasnas.errors import IncompatibleSearchError
from kerasnas.runtime.journal import (
    JOURNAL_FILE,
    PRIVATE_FILE_MODE,
    Journal,
    dumps,
    ensure_directory,
    inside_directory,
)
from kerasnas.spaces.space import FORMAT_VERSION
from kerasnas.version import __version__

SETTINGS_FILE = "search.json"
TRIALS_DIR = "trials"
MODEL_FILE = "model.keras"
LOCK_FILE = ".lock"

# Settings that must match for a search directory to be resumed.
RESUME_KEYS = (
    "space",
    "space_fingerprint",
    "strategy",
    "objectives",
    "seed",
    "evaluator",
    "data",
    "pruner",
    "proxy",
)

# Settings under RESUME_KEYS that change only how fast candidates train, not
# what a trial measures: a search resumes with other values.
SPEED_SETTINGS = ("evaluator.steps_per_execution",)


class SearchDirectory:
    """Owns the files of one search.

    ```
    <directory>/search.json         settings (space fingerprint, format version, ...)
    <directory>/journal.jsonl       one JSON event per line: the source of truth
    <directory>/trials/trial_0007/  model.keras of the best trials kept
    ```

    Constructing one touches nothing on disk; `lock()` creates the
    directory (owner-only) and claims it.

    Args:
        path: the directory.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path)
        self.journal = Journal(self.path)
        self.settings_path = self.path / SETTINGS_FILE

    def inside(self, relative) -> pathlib.Path | None:
        """The path `relative` names inside this directory, or None if it would leave it."""
        return inside_directory(self.path, relative)

    def trial_dir(self, number: int) -> pathlib.Path:
        """The folder of trial `number` (not created)."""
        return self.path / TRIALS_DIR / f"trial_{number:04d}"

    def model_path(self, number: int) -> pathlib.Path:
        """Where trial `number`'s trained model is kept."""
        return self.trial_dir(number) / MODEL_FILE

    def read_settings(self) -> dict | None:
        """The stored settings, or None for a new directory."""
        if not self.settings_path.exists():
            return None
        try:
            return json.loads(self.settings_path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise IncompatibleSearchError(
                f"The settings file '{self.settings_path}' is unreadable ({e}). Move it "
                "away to resume from the journal alone, or pass overwrite=True to start fresh."
            ) from e

    def lock(self) -> None:
        """Claims the directory for this process until `unlock()` (or the process ends).

        The lock is an advisory `flock` on `<directory>/.lock`: the system
        releases it when the process dies, even with `kill -9`, so a crash
        never blocks a resume, while two searches cannot write one journal.

        Raises:
            IncompatibleSearchError: if another running process holds it.
        """
        ensure_directory(self.path)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            self.locked = True
            return
        handle = open(self.path / LOCK_FILE, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise IncompatibleSearchError(
                f"Another running search is using '{self.path}' (process {owner}). Wait for "
                "it to finish, stop it, or choose another directory."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle
        self.locked = True

    def unlock(self) -> None:
        """Releases `lock()`."""
        handle = getattr(self, "_lock", None)
        if handle is not None:
            handle.close()
            self._lock = None
        self.locked = False

    def stored_settings(self) -> dict | None:
        """The stored settings; from the journal's first event if `search.json` is gone."""
        settings = self.read_settings()
        if settings is not None or not self.journal.exists():
            return settings
        for event in self.journal.events():
            if event.get("event") == "search_started" and isinstance(event.get("settings"), dict):
                settings = dict(event["settings"])
                settings.setdefault("format_version", FORMAT_VERSION)
                return settings
        return None

    def write_settings(self, settings: dict) -> None:
        """Writes the settings atomically."""
        settings = dict(settings)
        settings.setdefault("format_version", FORMAT_VERSION)
        settings.setdefault("kerasnas_version", __version__)
        settings.setdefault("created_at", time.time())
        tmp = self.settings_path.with_suffix(".json.tmp")
        text = json.dumps(json.loads(dumps(settings)), indent=2).encode("utf-8")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        try:
            os.write(fd, text)
        finally:
            os.close(fd)
        os.chmod(tmp, PRIVATE_FILE_MODE)
        os.replace(tmp, self.settings_path)

    def clear(self) -> None:
        """Removes this search's files (settings, journal, kept models, data copy, logs).

        Call it only while holding `lock()`: a search that another process
        is running must never lose its files.
        """
        if not getattr(self, "locked", False):
            raise RuntimeError("SearchDirectory.clear() needs the directory lock; call lock() first.")
        for name in (SETTINGS_FILE, JOURNAL_FILE, JOURNAL_FILE + ".partial"):
            (self.path / name).unlink(missing_ok=True)
        for folder in (TRIALS_DIR, "data", "tensorboard", "report"):
            shutil.rmtree(self.path / folder, ignore_errors=True)

    def check_compatible(self, stored: dict, requested: dict) -> None:
        """Refuses to resume a search whose defining settings changed.

        Raises:
            IncompatibleSearchError: naming each differing setting.
        """
        if stored.get("format_version") != FORMAT_VERSION:
            raise IncompatibleSearchError(
                f"The search in '{self.path}' was written in format version "
                f"{stored.get('format_version')}; this kerasnas writes version "
                f"{FORMAT_VERSION}. Start fresh with overwrite=True (CLI: --overwrite) "
                "or use another directory."
            )
        differences = []
        for key in RESUME_KEYS:
            if key in requested:
                differences += _differences(key, stored.get(key), requested[key])
        if differences:
            raise IncompatibleSearchError(
                f"The directory '{self.path}' holds a different search:\n"
                + "\n".join(differences)
                + "\nTo resume it, repeat the original settings (max_trials may grow). "
                "To start fresh, pass overwrite=True (CLI: --overwrite) or choose another "
                "directory."
            )


def _differences(path: str, stored: Any, requested: Any) -> list[str]:
    """Lines naming each setting (down to nested keys) that differs."""
    if path in SPEED_SETTINGS or _canonical(stored) == _canonical(requested):
        return []
    if isinstance(stored, dict) and isinstance(requested, dict):
        lines = []
        for key in sorted(set(stored) | set(requested)):
            lines += _differences(f"{path}.{key}", stored.get(key), requested.get(key))
        return lines
    return [f"  {path}: stored {_short(stored)}, requested {_short(requested)}"]


def _canonical(value: Any) -> str:
    return json.dumps(json.loads(dumps(value)), sort_keys=True)


def _short(value: Any) -> str:
    text = json.dumps(json.loads(dumps(value)), sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."
