"""BANANAS: predictor-guided search with an ensemble of small neural predictors."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from kerasnas.spaces.space import Architecture
from kerasnas.strategies.base import Strategy
from kerasnas.strategies.encoding import ENCODINGS, get_encoding
from kerasnas.strategies.evolution import check_int, check_rate, sample_unseen
from kerasnas.strategies.local_search import canonical_key
from kerasnas.strategies.predictor import MLPEnsemble
from kerasnas.trial import TrialRecord

ACQUISITIONS = ("its", "ucb")


class Bananas(Strategy):
    """Predictor-guided search: BANANAS (White, Neiswanger & Savani, AAAI 2021).

    * **Random start**: until `initial_samples` trials have completed,
      architectures are drawn uniformly.
    * **Rounds**: then an ensemble of `ensemble_size` small MLPs (NumPy,
      2 hidden layers of 32 ReLU units, 200 Adam steps) is trained to
      predict the objective from a fixed-length encoding of the
      architecture: the path encoding for edge-cell spaces (`cell`,
      `nas_bench_201`), a one-hot vector of the space's flat decisions
      otherwise (`kerasnas.strategies.encoding`). `candidates` untried
      architectures are generated, most by mutating (one to three
      decisions) one of the `parents` best architectures so far and a
      `random_fraction` of them uniformly. Each `ask` proposes the
      candidate with the best acquisition: independent Thompson sampling
      (`"its"`, the default: a fresh draw per candidate from a normal with
      the ensemble's mean and spread) or an upper confidence bound
      (`"ucb"`: mean + `ucb_beta` × spread, picked at random among the
      best few). A round lasts one tenth of the completed trials, between
      1 and `batch_size` proposals: the predictor is refit after every
      trial while data is scarce (each result changes it most and a fit
      is cheapest), every `batch_size` trials from `10 * batch_size`
      completed trials on (BANANAS' batch of 10). Parallel workers asking
      at once get different candidates (Thompson draws differ per ask).

    Determinism and resume: a round depends only on the history at its
    start (its random generator is seeded by a hash of that history's
    trial keys) and each `ask` picks within the round with the trial's
    `rng`, so the same seed gives the same search and a resumed search
    proposes what an uninterrupted one would. Rounds are cached, so the
    predictor is trained once per round, not per proposal.

    Failed trials and candidates rejected by constraints are left out of
    the predictor's training data but count as tried: nothing tried is
    proposed again (by canonical key). A trial a pruner stopped early
    counts with the value it had reached (as recorded; the predictor
    learns it as the poor architecture the pruner judged it to be). Larger
    or smaller is better as the objective says. BANANAS here is
    single-objective: with several objectives use `strategy="nsga2"`.

    Example:

    ```python
    import kerasnas
    from kerasnas.tabular import NasBenchMacro
    table = NasBenchMacro()
    result = kerasnas.search(
        space=table.space, evaluator=table.evaluator(), objective="accuracy",
        strategy="bananas", max_trials=40, verbose=0,
        directory="runs/bananas-example", overwrite=True)
    table.regret(result.best_value)
    ```

    Args:
        initial_samples: random architectures evaluated before the first
            predictor is trained.
        batch_size: the most proposals per trained predictor (a round).
        ensemble_size: MLPs in the ensemble.
        candidates: architectures ranked per round.
        parents: how many of the best architectures are mutated into
            candidates.
        random_fraction: fraction of the candidates drawn uniformly.
        acquisition: `"its"` (independent Thompson sampling) or `"ucb"`.
        ucb_beta: weight of the ensemble's spread with `"ucb"`.
        encoding: `"auto"`, `"one_hot"` or `"path"` (edge-cell spaces only).
        steps: Adam steps per predictor fit.
        max_attempts: random draws before concluding the space is exhausted.

    Raises:
        ValueError: for an option out of range, naming it; at `setup`, for
            several objectives.
    """

    name = "bananas"

    def __init__(
        self,
        initial_samples: int = 10,
        batch_size: int = 10,
        ensemble_size: int = 5,
        candidates: int = 100,
        parents: int = 5,
        random_fraction: float = 0.1,
        acquisition: str = "its",
        ucb_beta: float = 1.0,
        encoding: str = "auto",
        steps: int = 200,
        max_attempts: int = 2000,
    ):
        self.initial_samples = check_int("initial_samples", initial_samples, 2)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.ensemble_size = check_int("ensemble_size", ensemble_size, 1)
        self.candidates = check_int("candidates", candidates, 1)
        self.parents = check_int("parents", parents, 1)
        self.random_fraction = check_rate("random_fraction", random_fraction)
        if acquisition not in ACQUISITIONS:
            raise ValueError(
                f"`acquisition` must be one of {list(ACQUISITIONS)}. "
                f"Received: acquisition={acquisition!r}"
            )
        self.acquisition = acquisition
        if isinstance(ucb_beta, bool) or not isinstance(ucb_beta, (int, float)) or ucb_beta < 0:
            raise ValueError(f"`ucb_beta` must be a number >= 0. Received: ucb_beta={ucb_beta!r}")
        self.ucb_beta = float(ucb_beta)
        if encoding not in ENCODINGS:
            raise ValueError(
                f"`encoding` must be one of {list(ENCODINGS)}. Received: encoding={encoding!r}"
            )
        self.encoding_name = encoding
        self.steps = check_int("steps", steps, 1)
        self.max_attempts = check_int("max_attempts", max_attempts, 1)
        self._encoding = None

    # ------------------------------------------------------------- setup
    def setup(self, space, objectives) -> None:
        super().setup(space, objectives)
        if len(self.objectives) > 1:
            raise ValueError(
                "strategy='bananas' optimises one objective; for trade-offs between "
                "several use strategy='nsga2'. Received: objectives="
                f"{[o.name for o in self.objectives]}"
            )
        self._encoding = get_encoding(space, self.encoding_name)
        self._vectors: dict[str, np.ndarray] = {}
        self._round: tuple | None = None
        self._last_round_seconds = 0.0

    def _require_setup(self) -> None:
        if self._encoding is None:
            raise RuntimeError(
                "Bananas.setup(space, objectives) must be called before ask "
                "(kerasnas.search and kerasnas.Search do it)."
            )

    def vector(self, architecture, key: str | None = None) -> np.ndarray:
        """The encoding of an architecture (of its canonical form), cached by key."""
        key = key or canonical_key(self.space, architecture)
        vector = self._vectors.get(key)
        if vector is None:
            vector = self._encoding(self.space.canonicalize(architecture))
            self._vectors[key] = vector
        return vector

    # -------------------------------------------------------------- ask
    def _usable(self, record: TrialRecord) -> bool:
        return record.ok and math.isfinite(self.score(record))

    def round_length(self, completed: int) -> int:
        """Proposals per predictor fit once `completed` trials are usable for training.

        One in ten of the completed trials, between 1 and `batch_size`: while
        data is scarce each result changes the predictor most and a fit is
        cheapest, so it is refit more often.
        """
        return min(self.batch_size, max(1, completed // 10))

    def round_start(self, history: Sequence[TrialRecord]) -> int | None:
        """The history length at which the current round started (None: random phase)."""
        completed = np.cumsum([self._usable(r) for r in history]) if history else []
        start = None
        for i, count in enumerate(completed):
            if count >= self.initial_samples:
                start = i + 1
                break
        if start is None:
            return None
        while True:
            length = self.round_length(int(completed[start - 1]))
            if start + length > len(history):
                return start
            start += length

    def ask(self, history: Sequence[TrialRecord], rng: np.random.Generator) -> Architecture:
        self._require_setup()
        seen = {record.key for record in history}
        anchor = self.round_start(history)
        if anchor is None:
            return sample_unseen(self.space, seen, rng, self.max_attempts, "BANANAS")
        pool, mean, std = self.round(history[:anchor])
        untried = np.array([key not in seen for key, _ in pool], bool)
        if not untried.any():
            return sample_unseen(self.space, seen, rng, self.max_attempts, "BANANAS")
        if self.acquisition == "its":
            # Independent Thompson sampling: a fresh draw per candidate and per ask,
            # so asks before tells (parallel workers) pick different candidates.
            value = rng.normal(mean, std)
            value[~untried] = -np.inf
            return Architecture(pool[int(np.argmax(value))][1])
        # UCB is deterministic: pick at random among the best untried candidates
        # (as many as a round proposes, at least half of `batch_size`).
        order = [i for i in np.argsort(-(mean + self.ucb_beta * std), kind="stable") if untried[i]]
        done = len(history) - anchor
        length = self.round_length(int(sum(self._usable(r) for r in history[:anchor])))
        window = order[: max(length - done, -(-self.batch_size // 2), 1)]
        return Architecture(pool[window[int(rng.integers(len(window)))]][1])

    # ------------------------------------------------------------ rounds
    def round(self, prefix: Sequence[TrialRecord]):
        """The round's candidates and the ensemble's mean and spread on them (cached).

        Returns:
            `(pool, mean, std)`: a list of `(canonical key, architecture)`
            never tried before the round, and two arrays.
        """
        digest = hashlib.sha256()
        for record in prefix:
            digest.update(f"{record.number}:{record.key}:{record.status};".encode())
        tag = digest.hexdigest()
        scores = [self.score(r) for r in prefix]
        if self._round is not None and self._round[0] == (tag, scores):
            return self._round[1]
        rng = np.random.default_rng(int(tag[:16], 16))
        data = [r for r in prefix if self._usable(r)]
        x = np.stack([self.vector(r.architecture, r.key) for r in data])
        y = np.array([self.score(r) for r in data])
        model = MLPEnsemble(size=self.ensemble_size, steps=self.steps).fit(x, y, rng)
        pool = self.candidate_pool(prefix, data, rng)
        if pool:
            mean, std = model.predict(np.stack([self.vector(a, k) for k, a in pool]))
        else:
            mean, std = np.zeros(0), np.zeros(0)
        self._round = ((tag, scores), (pool, mean, std))
        return self._round[1]

    def candidate_pool(self, prefix, data, rng) -> list[tuple[str, Architecture]]:
        """Untried candidates: mutations of the best architectures, and some random ones."""
        tried = {r.key for r in prefix}
        best = sorted(data, key=lambda r: (-self.score(r), r.number))
        parents, parent_keys = [], set()
        for record in best:
            if record.key not in parent_keys:
                parent_keys.add(record.key)
                parents.append(record.architecture)
                if len(parents) == self.parents:
                    break
        pool, keys = [], set()
        n_random = int(round(self.random_fraction * self.candidates))
        for i in range(self.candidates * 3):
            if len(pool) >= self.candidates:
                break
            if i % self.candidates < n_random:
                child = self.space.sample(rng)
            else:
                child = parents[int(rng.integers(len(parents)))]
                for _ in range(min(int(rng.geometric(0.5)), 3)):
                    child = self.space.mutate(child, rng)
            key = canonical_key(self.space, child)
            if key not in tried and key not in keys:
                keys.add(key)
                pool.append((key, child))
        return pool

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "initial_samples": self.initial_samples,
            "batch_size": self.batch_size,
            "ensemble_size": self.ensemble_size,
            "candidates": self.candidates,
            "parents": self.parents,
            "random_fraction": self.random_fraction,
            "acquisition": self.acquisition,
            "ucb_beta": self.ucb_beta,
            "encoding": self.encoding_name,
            "steps": self.steps,
            "max_attempts": self.max_attempts,
        }
