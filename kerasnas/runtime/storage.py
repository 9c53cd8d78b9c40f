"""Storage: the single source of truth of a search (trials, events, retries, kept models).

Two storages share one interface. `JournalStorage` keeps everything in a
search directory (an append-only journal, the settings, kept model files)
so a search resumes after any crash; `InMemoryStorage` keeps the same
events in a list, for benchmarks and tests that run thousands of table
look-ups. The search loop talks only to this interface; executors never
see it.

Example:

```python
import kerasnas
from kerasnas.runtime.storage import InMemoryStorage
storage = InMemoryStorage()
storage.open({"seed": 0}, overwrite=False)
storage.append({"event": "note"})
[e["event"] for e in storage.events()]  # ['note']
```
"""

from __future__ import annotations

import math
import os
import pathlib
import time
import warnings
from collections.abc import Iterator, Sequence

from kerasnas.pareto import pareto_front
from kerasnas.runtime.directory import SearchDirectory
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.trial import FAILED, TRIAL_FINISHED, TRIAL_STARTED, TrialRecord

#: How often a trial runs at most: once, and once more after a crash.
MAX_ATTEMPTS = 2


class Storage:
    """What a search loop needs from where its state lives.

    Subclasses store events (`append`, `events`, `_replay`) and settings
    (`open`, `close`); this class turns them into the loop's view: trials
    to resume, trials to retry, and numbering.
    """

    #: Whether trained models can be kept (a directory on disk).
    keeps_models = False
    path: pathlib.Path | None = None

    def check(self, settings: dict) -> None:
        """Refuses settings that differ from the stored ones (reads only)."""

    def open(self, settings: dict, overwrite: bool) -> None:
        """Claims the storage and records the settings (clearing it first if `overwrite`)."""
        raise NotImplementedError

    def close(self) -> None:
        """Releases what `open` claimed."""

    def append(self, event: dict, sync: bool = True) -> None:
        """Records one event (`sync=False`: durable once the next synced event is)."""
        raise NotImplementedError

    def events(self) -> Iterator[dict]:
        """Every event, in order."""
        raise NotImplementedError

    def _replay(self) -> tuple[list[TrialRecord], dict[int, dict]]:
        raise NotImplementedError

    def _line(self, number: int):
        return None

    # ------------------------------------------------------------ the loop's view
    def resume(self, space: SearchSpace) -> tuple[list[TrialRecord], list[tuple]]:
        """Finished trials and the trials to run again.

        A trial that started and never finished is retried once (its
        attempt counted); one that died on its second attempt is recorded
        as failed here. Trials whose architecture `space` rejects are
        skipped with a warning.

        Returns:
            `(finished, retries)`; each retry is `(number, architecture,
            attempt, info)`.
        """
        finished, running = self._replay()
        kept = [r for r in finished if self._valid(space, r.number, r.architecture)]
        for record in kept:
            record.architecture = space.validate(record.architecture)
            record.key = space.canonical_key(record.architecture)
        retries = []
        for number in sorted(running):
            event = running[number]
            if not self._valid(space, number, event["architecture"]):
                continue
            arch = space.validate(event["architecture"])
            attempt = int(event.get("attempt", 1))
            info = dict(event.get("info") or {})
            if attempt >= MAX_ATTEMPTS:
                record = _died_twice(number, arch, event, attempt, info)
                self.finish(record)
                kept.append(record)
            else:
                retries.append((number, arch, attempt + 1, info))
        return kept, retries

    def _valid(self, space: SearchSpace, number: int, architecture) -> bool:
        try:
            space.validate(architecture)
        except (ValueError, TypeError) as e:
            warnings.warn(
                f"Skipping line {self._line(number)} of the journal: trial {number}'s "
                f"architecture is not in the space ({e}).",
                stacklevel=4,
            )
            return False
        return True

    def start(
        self, number: int, architecture: Architecture, attempt: int, key: str, seed: int, info
    ) -> float:
        """Records that a trial starts; returns its start time."""
        started = time.time()
        event = {
            "event": TRIAL_STARTED,
            "trial": number,
            "attempt": attempt,
            "architecture": dict(architecture),
            "key": key,
            "seed": seed,
            "time": started,
        }
        if info:
            event["info"] = dict(info)
        # Not fsync'ed: a killed process loses nothing (the line is with the OS), and
        # a machine crash at most this in-flight trial, made durable with its record.
        self.append(event, sync=False)
        return started

    def finish(self, record: TrialRecord) -> None:
        """Records a finished trial."""
        self.append({"event": TRIAL_FINISHED, "record": record.to_json()})

    # ------------------------------------------------------------ kept models
    def model_file(self, number: int) -> str | None:
        """Where trial `number`'s model would be kept (None: no models are kept)."""
        return None

    def trial_dir(self, number: int) -> str | None:
        """A scratch folder for trial `number` (None without a directory)."""
        return None

    def adopt_model(self, record: TrialRecord, saved: bool) -> None:
        """Notes a model the executor saved (or removes it if the trial did not complete)."""

    def prune_models(self, history: Sequence[TrialRecord], objectives, keep: int) -> None:
        """Removes kept models beyond the `keep` best (and off the Pareto front)."""

    def keep_threshold(self, history: Sequence[TrialRecord], objectives, keep: int):
        """The score a new trial must beat for its model to be kept (None: keep none)."""
        if keep <= 0 or not self.keeps_models:
            return None
        objective = objectives[0]
        kept = sorted(
            (objective.score(r.metrics) for r in history if r.ok and r.info.get("model_path")),
            reverse=True,
        )
        if len(kept) < keep or len(objectives) > 1:
            # With several objectives, Pareto-optimal models may be kept too:
            # save every model and let prune_models decide.
            return -math.inf
        return kept[keep - 1]


def search_settings(search) -> dict:
    """What a storage records of a `Search` (as JSON), and a resumed search must match.

    The space (and its fingerprint), strategy, objectives, seed, evaluator,
    pruner and zero-cost proxy, and the data and builder when the search has them.
    """
    data, builder, proxy = search.data, search.builder, search.proxy
    return {
        "space_fingerprint": search.space.fingerprint(), "space": search.space.get_config(),
        "strategy": search.strategy.get_config(),
        "objectives": [o.to_json() for o in search.objectives], "seed": search.seed,
        "evaluator": search.evaluator.get_config(),
        "pruner": search.pruner.get_config() if search.pruner is not None else None,
        "proxy": None if proxy is None else {
            "name": proxy.name, "candidates": search.proxy_candidates},
        **({"data": data.describe()} if data is not None else {}),
        **({"builder": builder.get_config()} if builder is not None else {}),
    }  # fmt: skip


def _died_twice(number, arch, event, attempt, info) -> TrialRecord:
    return TrialRecord(
        number=number,
        architecture=arch,
        status=FAILED,
        key=event.get("key", ""),
        seed=int(event.get("seed", 0)),
        started_at=float(event.get("time", 0.0)),
        error="the process died during this trial twice",
        attempt=attempt,
        info=info,
    )


class InMemoryStorage(Storage):
    """Keeps a search's events in a list: nothing on disk, no kept models.

    Args:
        history: finished records to start from (as if a search resumed).
    """

    def __init__(self, history: Sequence[TrialRecord] = ()):
        self._events: list[dict] = [
            {"event": TRIAL_FINISHED, "record": r.to_json(), "_record": r} for r in history
        ]
        self.settings: dict | None = None

    def open(self, settings: dict, overwrite: bool) -> None:
        if overwrite:
            self._events.clear()
        self.settings = dict(settings)

    def append(self, event: dict, sync: bool = True) -> None:
        event = dict(event)
        if event.get("event") == TRIAL_FINISHED:
            event["_record"] = TrialRecord.from_json(event["record"])
        self._events.append(event)

    def events(self) -> Iterator[dict]:
        for event in self._events:
            yield {k: v for k, v in event.items() if k != "_record"}

    def _replay(self):
        finished: dict[int, TrialRecord] = {}
        started: dict[int, dict] = {}
        for event in self._events:
            if event["event"] == TRIAL_STARTED:
                started[event["trial"]] = event
            elif event["event"] == TRIAL_FINISHED:
                record = event["_record"]
                finished[record.number] = record
        running = {n: e for n, e in started.items() if n not in finished}
        return list(finished.values()), running


class JournalStorage(Storage):
    """Keeps a search in a directory: `journal.jsonl`, `search.json` and kept models.

    Constructing one touches nothing on disk; `open` takes the directory's
    lock first, and only then clears (with `overwrite`) or checks the stored
    settings, so a second process can never wipe a running search.

    Args:
        directory: the search directory.
    """

    keeps_models = True

    def __init__(self, directory: str | os.PathLike):
        self.directory = SearchDirectory(directory)
        self.path = self.directory.path
        self.journal = self.directory.journal

    def check(self, settings: dict) -> None:
        """Refuses settings that differ from the stored ones (read-only)."""
        stored = self.directory.stored_settings()
        if stored is not None:
            self.directory.check_compatible(stored, settings)

    def open(self, settings: dict, overwrite: bool) -> None:
        self.directory.lock()
        try:
            if overwrite:
                self.directory.clear()
            else:
                self.check(settings)
            self.directory.write_settings(settings)
        except BaseException:
            self.directory.unlock()
            raise

    def close(self) -> None:
        self.directory.unlock()

    def append(self, event: dict, sync: bool = True) -> None:
        self.journal.append(event, sync=sync)

    def events(self) -> Iterator[dict]:
        return self.journal.events()

    def _replay(self):
        return self.journal.replay()

    def _line(self, number: int):
        return getattr(self.journal, "lines", {}).get(number)

    def model_file(self, number: int) -> str:
        return str(self.directory.model_path(number))

    def trial_dir(self, number: int) -> str:
        return str(self.directory.trial_dir(number))

    def adopt_model(self, record: TrialRecord, saved: bool) -> None:
        model_file = self.directory.model_path(record.number)
        if saved and record.ok:
            record.info["model_path"] = str(model_file.relative_to(self.directory.path))
        elif saved:
            _remove_model(model_file)

    def prune_models(self, history, objectives, keep: int) -> None:
        objective = objectives[0]
        kept = sorted(
            (r for r in history if r.ok and r.info.get("model_path")),
            key=lambda r: (objective.score(r.metrics), -r.number),
            reverse=True,
        )
        extra = kept[keep:]
        front = (
            {r.number for r in pareto_front(history, objectives)}
            if extra and len(objectives) > 1
            else set()
        )
        for record in extra:
            path = self.directory.inside(record.info["model_path"])
            if record.number not in front and path is not None:
                _remove_model(path)


def _remove_model(path: pathlib.Path) -> None:
    if path.exists():
        path.unlink()
        try:
            path.parent.rmdir()
        except OSError:
            pass


def as_storage(directory) -> Storage:
    """A `Storage` from a directory path (a `JournalStorage`) or a storage passed through."""
    if isinstance(directory, Storage):
        return directory
    return JournalStorage(directory)
