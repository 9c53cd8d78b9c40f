"""Local search (hill climbing with random restarts), after White et al. (2021)."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import numpy as np

from kerasnas.errors import SpaceExhaustedError
from kerasnas.spaces.decisions import Categorical
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.strategies.base import Strategy
from kerasnas.strategies.evolution import check_int, sample_unseen
from kerasnas.trial import TrialRecord

IMPROVEMENTS = ("first", "best")


def canonical_key(space: SearchSpace, architecture: Architecture) -> str:
    """`space.canonical_key` of an architecture the space just made (sample, mutate, neighbours).

    When the space keeps the default canonical form and every decision is
    categorical, such an architecture is already normalised and its own
    `key` is the canonical key: no second validation.
    """
    fast = getattr(space, "_kerasnas_fast_keys", None)
    if fast is None:
        fast = type(space).canonicalize is SearchSpace.canonicalize and all(
            isinstance(d, Categorical) for d in space.decisions
        )
        space._kerasnas_fast_keys = fast
    return architecture.key if fast else space.canonical_key(architecture)


def _plain(space: SearchSpace) -> bool:
    """Whether the space is a plain grid: unconditional categorical decisions, defaults."""
    plain = getattr(space, "_kerasnas_plain", None)
    if plain is None:
        base = SearchSpace
        kind = type(space)
        plain = (
            kind.neighbours is base.neighbours
            and kind._check_extra is base._check_extra
            and kind.canonicalize is base.canonicalize
            and kind.validate is base.validate
            and all(isinstance(d, Categorical) and not d.conditions for d in space.decisions)
        )
        space._kerasnas_plain = plain
    return plain


def neighbours(space: SearchSpace, architecture: Architecture) -> list[Architecture]:
    """`space.neighbours(architecture)`, computed directly on a plain grid (same list)."""
    if not _plain(space) or len(architecture) != len(space.decisions):
        return space.neighbours(architecture)
    arch = Architecture(architecture)
    result = []
    for decision in space.decisions:
        for value in decision.neighbours(arch[decision.name]):
            child = Architecture(arch)
            child[decision.name] = value
            result.append(child)
    return result


class HistoryCache:
    """Keeps state derived from a history and updates it when the history grows.

    `sync(history)` calls `reset()` and `add(record)` for every record the
    first time, then only `add` for records appended since the last call.
    A history that is not an extension of the last one (another search, a
    resumed one) is replayed from the start, so the state is always a
    function of the history alone; the cache only makes it cheap.
    """

    def __init__(self):
        self._records: list[TrialRecord] = []

    @staticmethod
    def _same(a: TrialRecord, b: TrialRecord) -> bool:
        return a is b or (
            a.number == b.number
            and a.key == b.key
            and a.status == b.status
            and a.metrics == b.metrics
            and a.info == b.info
        )

    def sync(self, history: Sequence[TrialRecord]) -> None:
        n = len(self._records)
        extends = len(history) >= n and all(map(operator.is_, history[:n], self._records))
        if not extends:
            extends = len(history) >= n and all(map(self._same, history[:n], self._records))
        if not extends:
            self.reset()
            n = 0
        for record in history[n:]:
            self.add(record)
        self._records = list(history)

    def reset(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def add(self, record: TrialRecord) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class _Climb(HistoryCache):
    """The local-search trajectory that a history implies (see `LocalSearch`)."""

    def __init__(self, strategy: LocalSearch):
        self.strategy = strategy
        super().__init__()
        self.reset()

    def reset(self) -> None:
        super().__init__()
        self.seen: set[str] = set()
        self.scores: dict[str, float] = {}
        self.records: dict[str, TrialRecord] = {}
        # Neighbourhoods depend on the space only: kept when a history is replayed.
        self.neighbourhoods: dict[str, list] = getattr(self, "neighbourhoods", {})
        self.phase = "start"
        self.pool_size = self.strategy.initial_samples
        self.pool: list[tuple[float, TrialRecord]] = []
        self.restarts_used = 0
        self.done = False
        self.incumbent: TrialRecord | None = None
        self.incumbent_score = -math.inf
        self.neighbours: list[tuple[str, Architecture]] = []
        self.unseen: set[str] = set()
        self.challenger: tuple[float, TrialRecord] | None = None

    def add(self, record: TrialRecord) -> None:
        self.seen.add(record.key)
        score = self.strategy.score(record)
        if math.isfinite(score):
            # The best value observed for a key (a retried key keeps its best).
            if score > self.scores.get(record.key, -math.inf):
                self.scores[record.key], self.records[record.key] = score, record
        if self.phase == "start":
            if math.isfinite(score):
                self.pool.append((score, record))
                if len(self.pool) >= self.pool_size:
                    # Best of the pool; among equals, the earliest.
                    best = max(self.pool, key=lambda p: (p[0], -p[1].number))
                    self.pool = []
                    self.phase = "climb"
                    self._move(best[1], best[0])
            return
        if self.phase != "climb":
            return
        self.unseen.discard(record.key)
        if self.strategy.improvement == "first":
            if score > self.incumbent_score:
                self._move(record, score)
                return
        elif self.challenger is None or score > self.challenger[0]:
            self.challenger = (score, record)
        self._check_optimum()

    def _move(self, record: TrialRecord, score: float) -> None:
        """Makes `record` the incumbent; jumps on to better neighbours already scored."""
        while True:
            self.incumbent, self.incumbent_score = record, score
            self.neighbours = self._neighbourhood(record)
            known = [(self.scores[k], k) for k, _ in self.neighbours if k in self.scores]
            better = max(known, default=None)
            if better is None or better[0] <= score:
                break
            # A neighbour tried earlier (e.g. in a previous climb) is better:
            # move there for free, without a query.
            score, record = better[0], self.records[better[1]]
        self.unseen = {k for k, _ in self.neighbours if k not in self.seen}
        self.challenger = None
        self._check_optimum()

    def _neighbourhood(self, record: TrialRecord) -> list[tuple[str, Architecture]]:
        """`(canonical key, architecture)` of the record's distinct neighbours (cached)."""
        found = self.neighbourhoods.get(record.key)
        if found is None:
            space = self.strategy.space
            found, keys = [], {record.key}
            for arch in neighbours(space, record.architecture):
                key = canonical_key(space, arch)
                if key not in keys:
                    keys.add(key)
                    found.append((key, arch))
            self.neighbourhoods[record.key] = found
        return found

    def _check_optimum(self) -> None:
        if self.unseen:
            return
        if self.challenger is not None and self.challenger[0] > self.incumbent_score:
            score, record = self.challenger
            self._move(record, score)  # best improvement: the best neighbour
            return
        # A local optimum: every neighbour was tried and none is better.
        restarts = self.strategy.restarts
        if restarts is not None and self.restarts_used >= restarts:
            self.phase, self.done = "done", True
            return
        self.restarts_used += 1
        self.phase, self.pool_size, self.pool = "start", 1, []
        self.neighbours, self.unseen, self.challenger = [], set(), None


class LocalSearch(Strategy):
    """Local search: climb to a better neighbour until none is better, then restart.

    After White et al. (2021), "Exploring the loss landscape in neural
    architecture search" (UAI), where this simple method matched or beat
    far more complex ones on the NAS-Bench tables at small budgets.

    * **Start**: `initial_samples` architectures drawn uniformly; the best
      becomes the incumbent.
    * **Climb**: the incumbent's untried neighbours (architectures one
      decision away, `space.neighbours`) are evaluated in random order.
      With `improvement="first"` the search moves as soon as one is better;
      with `"best"` it evaluates the whole neighbourhood and moves to the
      best one. A neighbour tried earlier in the search is not queried
      again: its known score counts (a better one is moved to for free).
    * **Restart**: at a local optimum (every neighbour tried, none better)
      the climb restarts from one untried architecture drawn uniformly,
      `restarts` times (None: without limit); after the last one the
      search stops early with a `SpaceExhaustedError`, which
      `kerasnas.Search` reports as "Stopping early".

    The strategy keeps no state that the history does not determine: the
    trajectory (incumbent, neighbourhood, restarts) is replayed from the
    history (incrementally, so a proposal costs well under a millisecond
    with 1,000 trials of history) and every random choice comes from the
    trial's `rng`. So the same seed gives the same search and a resumed
    search proposes what an uninterrupted one would. An architecture tried
    already (by canonical key) is never proposed again.

    Failed trials and candidates rejected by constraints count as tried and
    not better (they never become the incumbent). A trial a pruner stopped
    early counts with the value it had reached when it stopped (as recorded;
    usually below what full training would give, so it rarely wins). With
    several objectives the first one ranks (use `NSGA2` for trade-offs).
    Larger or smaller is better as the objective says.

    Parallel workers: trials in flight are not in the history, so each
    `ask` picks a random untried neighbour, and `kerasnas.Search` asks
    again when that one is already running. Set `batch_size` to the number
    of workers: when fewer untried neighbours are left than `batch_size`,
    the extra proposals explore random untried architectures instead of
    repeating a running one.

    Example:

    ```python
    import kerasnas
    from kerasnas.tabular import NasBenchMacro
    table = NasBenchMacro()
    result = kerasnas.search(
        space=table.space, evaluator=table.evaluator(), objective="accuracy",
        strategy="local_search", strategy_options={"initial_samples": 10},
        max_trials=60, verbose=0, directory="runs/local-search-example", overwrite=True)
    table.regret(result.best_value)
    ```

    Args:
        initial_samples: random architectures evaluated before the first
            climb (the best one starts it).
        improvement: `"first"` (move to the first better neighbour, the
            default) or `"best"` (move to the best of all neighbours).
        restarts: random restarts after local optima; None for no limit,
            0 for a single climb.
        batch_size: proposals expected in flight at once (parallel workers).
        max_attempts: random draws before a restart concludes that the
            space is exhausted.

    Raises:
        ValueError: for an option out of range, naming it.
    """

    name = "local_search"

    def __init__(
        self,
        initial_samples: int = 10,
        improvement: str = "first",
        restarts: int | None = None,
        batch_size: int = 1,
        max_attempts: int = 2000,
    ):
        self.initial_samples = check_int("initial_samples", initial_samples, 1)
        if improvement not in IMPROVEMENTS:
            raise ValueError(
                f"`improvement` must be one of {list(IMPROVEMENTS)}. "
                f"Received: improvement={improvement!r}"
            )
        self.improvement = improvement
        self.restarts = None if restarts is None else check_int("restarts", restarts, 0)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.max_attempts = check_int("max_attempts", max_attempts, 1)
        self._climb: _Climb | None = None

    def setup(self, space, objectives) -> None:
        super().setup(space, objectives)
        self._climb = _Climb(self)

    def state(self, history: Sequence[TrialRecord]) -> _Climb:
        """Returns the trajectory the history implies (incumbent, neighbourhood, phase)."""
        if self._climb is None:
            raise RuntimeError(
                "LocalSearch.setup(space, objectives) must be called before ask "
                "(kerasnas.search and kerasnas.Search do it)."
            )
        self._climb.sync(history)
        return self._climb

    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator) -> Architecture:
        climb = self.state(history)
        if climb.done:
            raise SpaceExhaustedError(
                f"Local search reached a local optimum after its {self.restarts} "
                f"restart(s) (restarts={self.restarts}); the best is "
                f"trial {climb.incumbent.number}."
            )
        if climb.phase == "climb":
            window = [arch for key, arch in climb.neighbours if key in climb.unseen]
            spare = self.batch_size - len(window)
            if window and (spare <= 0 or rng.random() >= spare / self.batch_size):
                return Architecture(window[int(rng.integers(len(window)))])
        return sample_unseen(self.space, climb.seen, rng, self.max_attempts, "Local search")

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "initial_samples": self.initial_samples,
            "improvement": self.improvement,
            "restarts": self.restarts,
            "batch_size": self.batch_size,
            "max_attempts": self.max_attempts,
        }
