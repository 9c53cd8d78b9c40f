"""`OneShotStrategy`: what DARTS, ENAS and SPOS share.

A one-shot strategy is an ordinary kerasnas `Strategy` whose first `ask`
runs the whole one-shot phase (train a supernet, search it, derive the
best architectures) and whose asks then return the derived architectures,
best first. The search loop retrains each from scratch with its usual
`FitEvaluator`, so the result is a normal trial: a standalone functional
model with no supernet leftovers, kept, reported and exported like any
other.

Journal events of the one-shot phase (all in the search's journal):

- `oneshot_started`: method, run id, choice points, supernet size, options;
- `oneshot_epoch`: one per supernet epoch: losses and metrics, duration,
  and method state (DARTS's architecture weights and the architecture they
  derive; ENAS's controller statistics);
- `oneshot_candidate`: a sub-network scored with the shared weights
  (SPOS's evolution, ENAS's final samples), as a trial record;
- `oneshot_finished`: the derived architectures (best first), their
  shared-weight scores, and `search_time_s` (supernet training plus
  derivation).

Resume: the journal is the truth. When `oneshot_finished` is recorded,
a resumed search retrains the recorded architectures without touching the
supernet. Otherwise the supernet phase continues after the last epoch whose
weights were checkpointed (`<directory>/oneshot/*.weights.h5`, a Keras
weights file; DARTS's architecture weights come from the journal, ENAS's
controller from a TensorFlow checkpoint); optimizer moments restart. SPOS
candidates already scored are replayed from the journal. Checkpoints of
another run (an overwritten search) are never loaded.
"""

from __future__ import annotations

import pathlib
import time
import uuid
from collections.abc import Sequence

import numpy as np

from kerasnas.errors import SpaceExhaustedError
from kerasnas.oneshot.supernet import Supernet, build_supernet, check_supported
from kerasnas.oneshot.training import SupernetTrainer, batches, num_batches
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.strategies.base import Strategy
from kerasnas.strategies.evolution import check_int
from kerasnas.trial import COMPLETED, TrialRecord

ONESHOT_DIR = "oneshot"


def _positive_number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")
    return float(value)


def derived_seed(seed: int, *parts: int) -> int:
    """A 31-bit seed derived from the search seed and `parts` (e.g. the epoch)."""
    state = np.random.SeedSequence([int(seed), *[int(p) for p in parts]]).generate_state(1)
    return int(state[0] % (2**31))


class OneShotStrategy(Strategy):
    """Base of the one-shot strategies (`DARTS`, `ENAS`, `SPOS`).

    Use `kerasnas.search(..., strategy="darts" | "enas" | "spos")`, which
    binds the strategy to the data and the search directory, or
    `kerasnas.oneshot.run_one_shot` with your own objects.

    Example:

    ```python
    import kerasnas
    strategy = kerasnas.oneshot.SPOS(epochs=10, top_k=2, candidates=200)
    # kerasnas.search(x, y, space="cell", strategy=strategy, max_trials=2)
    strategy.get_config()["top_k"]  # 2: the two best paths are retrained
    ```

    Args:
        epochs: supernet training epochs (passes over the training split);
            None uses the search's `epochs`.
        top_k: how many derived architectures to retrain from scratch (the
            search retrains `min(max_trials, top_k)`).
        learning_rate: the supernet weights' Adam learning rate (None: the
            search's `learning_rate`).
        batch_size: supernet batch size (None: the search's `batch_size`).
        eval_batch_size: batch size when scoring sub-networks.
        max_eval_batches: score sub-networks on at most this many
            validation batches (None: the whole validation split).
        max_candidates: the most candidates a choice point may hold.
        checkpoint: save the supernet weights after every epoch (for resume).

    Raises:
        ValueError: for out-of-range options, naming the option.
    """

    name = "oneshot"
    #: Marks strategies that `kerasnas.search` hands to `kerasnas.oneshot`.
    one_shot = True

    def __init__(
        self,
        epochs: int | None = None,
        top_k: int = 1,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        eval_batch_size: int = 500,
        max_eval_batches: int | None = None,
        max_candidates: int = 64,
        checkpoint: bool = True,
    ):
        self.epochs = None if epochs is None else check_int("epochs", epochs, 1)
        self.top_k = check_int("top_k", top_k, 1)
        self.learning_rate = (
            None if learning_rate is None else _positive_number("learning_rate", learning_rate)
        )
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, 1)
        self.eval_batch_size = check_int("eval_batch_size", eval_batch_size, 1)
        self.max_eval_batches = (
            None if max_eval_batches is None else check_int("max_eval_batches", max_eval_batches, 1)
        )
        self.max_candidates = check_int("max_candidates", max_candidates, 1)
        self.checkpoint = bool(checkpoint)
        self._bound = None
        self._derived: list[Architecture] | None = None

    # ---------------------------------------------------------------- config
    def _options(self) -> dict:
        return {}

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "epochs": self.epochs,
            "top_k": self.top_k,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "eval_batch_size": self.eval_batch_size,
            "max_eval_batches": self.max_eval_batches,
            "max_candidates": self.max_candidates,
            **self._options(),
        }

    # ---------------------------------------------------------------- binding
    def check_space(self, space: SearchSpace, input_shape) -> None:
        """Raises a clear `ValueError` if this strategy cannot search `space`."""
        check_supported(space, input_shape, self.max_candidates)

    def prepare(self, context) -> None:
        """Runs the one-shot phase (or reads its result back) before the first `ask`.

        The search loop calls it with its `PreparationContext`: the
        `FitEvaluator` (its builder, data, epochs, batch size and learning
        rate are the defaults), the storage (which gets the phase's events),
        the search directory (for supernet checkpoints; None in memory), the
        seed and the verbosity.

        Raises:
            ValueError: if the evaluator does not train on data, or the
                supernets cannot hold the space.
        """
        check_one_shot(self, self.space, context.evaluator, self.top_k)
        self._bound = {
            "evaluator": context.evaluator,
            "storage": context.storage,
            "directory": None if context.directory is None else pathlib.Path(context.directory),
            "seed": int(context.seed),
            "verbose": int(context.verbose),
        }
        self._derived = None
        self.derived()

    # ---------------------------------------------------------------- asking
    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator) -> Architecture:
        if self._bound is None:
            raise RuntimeError(
                f"The '{self.name}' strategy trains a supernet on the search's data, so it "
                "must be prepared with it: use kerasnas.search(..., strategy="
                f"'{self.name}') or kerasnas.oneshot.run_one_shot(...)."
            )
        tried = {record.key for record in history}
        derived = self.derived()
        for arch in derived:
            if self.space.canonical_key(arch) not in tried:
                return arch
        raise SpaceExhaustedError(
            f"{self.name} derived {len(derived)} architecture(s) and all were retrained."
        )

    def derived(self) -> list[Architecture]:
        """The derived architectures, best first (runs the one-shot phase once)."""
        if self._derived is None:
            journal = self._bound["storage"]
            events = list(journal.events())
            finished = [e for e in events if e["event"] == "oneshot_finished"]
            if finished:
                self._derived = [Architecture(a) for a in finished[-1]["architectures"]]
            else:
                self._derived = self._run(journal, events)
        return list(self._derived)

    def _run(self, journal, events: list) -> list[Architecture]:
        run = OneShotRun(self, journal, events)
        ranked = self._search(run)
        ranked = ranked[: self.top_k]
        derivation = run.time_so_far()
        journal.append(
            {
                "event": "oneshot_finished",
                "run": run.run_id,
                "method": self.name,
                "architectures": [dict(a) for a, _ in ranked],
                "scores": [m for _, m in ranked],
                "search_time_s": derivation,
                "epochs": run.epochs,
            }
        )
        run.print(
            f"One-shot {self.name}: derived {len(ranked)} architecture(s) in "
            f"{derivation:.1f}s; retraining from scratch."
        )
        return [a for a, _ in ranked]

    def _search(self, run: OneShotRun) -> list[tuple[Architecture, dict]]:  # pragma: no cover
        """Trains the supernet and returns `(architecture, metrics)`, best first."""
        raise NotImplementedError


class OneShotRun:
    """The state of one one-shot phase: supernet, trainer, data, journal, checkpoints."""

    def __init__(self, strategy: OneShotStrategy, journal, events: list):
        bound = strategy._bound
        evaluator = bound["evaluator"]
        self.strategy = strategy
        self.journal = journal
        self.events = events
        self.seed = bound["seed"]
        self.verbose = bound["verbose"]
        self.space = strategy.space
        self.data = evaluator.data
        builder = evaluator.builder
        self.epochs = strategy.epochs or evaluator.epochs
        self.batch_size = strategy.batch_size or evaluator.batch_size
        self.learning_rate = strategy.learning_rate or evaluator.learning_rate
        directory = bound["directory"]
        self.folder = None if directory is None else directory / ONESHOT_DIR
        self.started = time.time()
        self.supernet: Supernet = build_supernet(
            self.space,
            builder.input_shape,
            builder.task,
            normalization=builder.normalization,
            seed=self.seed,
            max_candidates=strategy.max_candidates,
        )
        self.trainer = SupernetTrainer(
            self.supernet,
            self.data,
            learning_rate=self.learning_rate,
            eval_batch_size=strategy.eval_batch_size,
            max_eval_batches=strategy.max_eval_batches,
        )
        self.run_id = None
        self.resumed_epoch, self.resumed_event = 0, None
        self.previous_time = 0.0
        started = [e for e in events if e["event"] == "oneshot_started"]
        if started:
            self._try_resume(started[-1]["run"])
        if self.run_id is None:
            self.run_id = uuid.uuid4().hex[:8]
            journal.append(
                {
                    "event": "oneshot_started",
                    "run": self.run_id,
                    "method": strategy.name,
                    "options": strategy.get_config(),
                    "epochs": self.epochs,
                    "batch_size": self.batch_size,
                    "choice_points": [p.to_json() for p in self.supernet.choice_points],
                    "supernet_params": self.supernet.count_params(),
                }
            )
        self.print(
            f"One-shot {strategy.name}: supernet with {len(self.supernet.choice_points)} choice "
            f"points and {self.supernet.count_params():,} weights; {self.epochs} epochs."
        )

    # ---------------------------------------------------------------- output
    def print(self, text: str) -> None:
        if self.verbose:
            print(text, flush=True)

    def time_so_far(self) -> float:
        return self.previous_time + (time.time() - self.started)

    # ---------------------------------------------------------------- epochs
    def _checkpoint_path(self, epoch: int) -> pathlib.Path:
        return self.folder / f"supernet-{self.run_id}-epoch{epoch:04d}.weights.h5"

    def _try_resume(self, run_id: str) -> None:
        """Continues run `run_id` from its last checkpoint (or from scratch if it had no epoch)."""
        epochs = [
            e for e in self.events if e["event"] == "oneshot_epoch" and e.get("run") == run_id
        ]
        candidates_time = sum(
            float(e.get("duration_s", 0.0))
            for e in self.events
            if e["event"] == "oneshot_candidate" and e.get("run") == run_id
        )
        if not epochs:
            self.run_id = run_id
            return
        for event in reversed(epochs):
            epoch = int(event["epoch"])
            if self.folder is None:
                break
            path = self.folder / f"supernet-{run_id}-epoch{epoch:04d}.weights.h5"
            if event.get("checkpoint") and path.exists():
                self.supernet.load_weights(path)
                self.run_id = run_id
                self.resumed_epoch, self.resumed_event = epoch, event
                self.previous_time = candidates_time + sum(
                    float(e.get("duration_s", 0.0)) for e in epochs if int(e["epoch"]) <= epoch
                )
                self.print(
                    f"One-shot {self.strategy.name}: resuming after supernet epoch {epoch} "
                    "(weights from the checkpoint; optimizer moments restart)."
                )
                return
        self.print(
            f"One-shot {self.strategy.name}: no supernet checkpoint of the interrupted run; "
            "training the supernet again from the start."
        )

    def train_batches(self, epoch: int):
        """This epoch's shuffled training batches."""
        return batches(self.data.train, self.batch_size, seed=derived_seed(self.seed, epoch, 1))

    def steps_per_epoch(self) -> int | None:
        return num_batches(self.data.train, self.batch_size)

    def end_epoch(self, epoch: int, metrics: dict, duration: float, **state) -> None:
        """Checkpoints the weights, journals the epoch and prints a line."""
        checkpoint = False
        if self.strategy.checkpoint and self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self._checkpoint_path(epoch)
            tmp = path.with_name(path.name.replace(".weights.h5", ".tmp.weights.h5"))
            self.supernet.save_weights(tmp)
            tmp.replace(path)
            for old in self.folder.glob(f"supernet-{self.run_id}-epoch*.weights.h5"):
                if old != path:
                    old.unlink(missing_ok=True)
            checkpoint = True
        event = {
            "event": "oneshot_epoch",
            "run": self.run_id,
            "epoch": epoch,
            "metrics": metrics,
            "duration_s": duration,
            "checkpoint": checkpoint,
            **state,
        }
        self.journal.append(event)
        self.events.append(event)
        shown = " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float))
        self.print(
            f"One-shot {self.strategy.name} epoch {epoch}/{self.epochs}: {shown} ({duration:.1f}s)"
        )

    def candidate(self, number: int, architecture, metrics: dict, duration: float, phase: str):
        """Journals one sub-network scored with the shared weights; returns its record."""
        record = TrialRecord(
            number=number,
            architecture=Architecture(architecture),
            status=COMPLETED,
            metrics=dict(metrics),
            key=self.space.canonical_key(architecture),
            started_at=time.time() - duration,
            duration_s=duration,
        )
        event = {
            "event": "oneshot_candidate",
            "run": self.run_id,
            "phase": phase,
            "record": record.to_json(),
            "duration_s": duration,
        }
        self.journal.append(event)
        self.events.append(event)
        return record

    def candidates(self, phase: str) -> list[TrialRecord]:
        """Candidates of this run already journaled (for resume)."""
        return [
            TrialRecord.from_json(e["record"])
            for e in self.events
            if e["event"] == "oneshot_candidate"
            and e.get("run") == self.run_id
            and e.get("phase") == phase
        ]

    def score_path(self, indices) -> dict:
        """`shared_val_loss` and `shared_val_<metric>` of a path, and its score."""
        result = self.trainer.evaluate_path(indices)
        name = self.trainer.metric_name
        return {
            "shared_val_loss": result["loss"],
            f"shared_val_{name}": result[name],
        }

    def rank(self, records: Sequence[TrialRecord]) -> list[tuple[Architecture, dict]]:
        """Unique architectures by canonical key, best shared-weight score first."""
        name = f"shared_val_{self.trainer.metric_name}"
        best: dict[str, TrialRecord] = {}
        for record in records:
            score = self.trainer.score(record.metrics[name])
            current = best.get(record.key)
            if current is None or score > self.trainer.score(current.metrics[name]):
                best[record.key] = record
        ordered = sorted(
            best.values(),
            key=lambda r: (self.trainer.score(r.metrics[name]), -r.number),
            reverse=True,
        )
        return [(r.architecture, r.metrics) for r in ordered]


def check_one_shot(strategy, space, evaluator, max_trials, pruner=None, proxy=None) -> int:
    """Refuses what a one-shot strategy cannot honour; returns how many trials to retrain.

    Raises:
        ValueError: for an evaluator that does not train on data, a pruner
            or proxy (the supernet ranks candidates itself), or a space the
            supernets do not support, with the reason.
    """
    from kerasnas.evaluation.fit import FitEvaluator

    if not isinstance(evaluator, FitEvaluator):
        raise ValueError(
            f"The one-shot strategy '{strategy.name}' trains a supernet on data and retrains "
            "what it derives with model.fit; it cannot use a callable or custom evaluator. "
            f"Pass x/y or data= instead. Received: evaluator={evaluator!r}"
        )
    for name, value in (("pruner", pruner), ("proxy", proxy)):
        if value is not None:
            raise ValueError(
                f"`{name}` ranks or stops many candidates, but the one-shot strategy "
                f"'{strategy.name}' ranks candidates with its supernet and retrains only "
                f"the {strategy.top_k} it derives. Received: {name}={value!r}"
            )
    strategy.check_space(space, evaluator.builder.input_shape)
    return min(int(max_trials), strategy.top_k)
