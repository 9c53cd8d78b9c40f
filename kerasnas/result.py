"""`SearchResult`: the trials of a search, its best model, and export."""

from __future__ import annotations

import functools
import json
import os
import pathlib
from collections.abc import Sequence
from typing import Any

from kerasnas.objective import Objective
from kerasnas.runtime.records import TrialRecord
from kerasnas.spaces.space import Architecture, SearchSpace


class SearchResult:
    """What a search found.

    Attributes:
        directory: the search directory.
        space: the `SearchSpace`.
        objectives: the objectives (the first ranks "best").
        trials: every finished `TrialRecord`, in order.
        builder: the `ModelBuilder` (None for searches with a callable
            evaluator).
        data: the `SearchData` (None with a callable evaluator).
        settings: the stored search settings.
    """

    def __init__(
        self,
        directory,
        space: SearchSpace,
        objectives: Sequence[Objective],
        trials: Sequence[TrialRecord],
        builder=None,
        data=None,
        settings: dict | None = None,
    ):
        self.directory = pathlib.Path(directory)
        self.space = space
        self.objectives = list(objectives)
        self.objective = self.objectives[0]
        self.trials = list(trials)
        self.builder = builder
        self.data = data
        self.settings = dict(settings or {})
        self._models: dict[int, Any] = {}

    @property
    def data(self):
        """The `SearchData`; data named by the search loads on first use."""
        if self._data is None and self._load_data is not None:
            self._data, self._load_data = self._load_data(), None
        return self._data

    @data.setter
    def data(self, value) -> None:
        self._data, self._load_data = value, None

    # ---------------------------------------------------------------- trials
    @property
    def completed(self) -> list[TrialRecord]:
        """Trials that finished with metrics."""
        return [t for t in self.trials if t.ok]

    @property
    def best_trial(self) -> TrialRecord:
        """The completed trial with the best objective value.

        Raises:
            ValueError: if no trial completed.
        """
        completed = self.completed
        if not completed:
            raise ValueError(
                f"No trial completed in '{self.directory}'; see the errors in "
                f"result.trials (statuses: {sorted({t.status for t in self.trials})})."
            )
        return max(completed, key=lambda t: (self.objective.score(t.metrics), -t.number))

    @property
    def pareto_front(self) -> list[TrialRecord]:
        """The completed trials that no other completed trial dominates, in trial order.

        A trial dominates another when it is at least as good in every
        objective and better in one. With a single objective this is the
        best trial (and any tied with it). Any member can be exported:
        `result.export(path, trial=t.number)` (its model is kept when
        the search had several objectives).

        Example:

        ```python
        import kerasnas
        from kerasnas.tabular import NasBenchMacro
        table = NasBenchMacro()
        result = kerasnas.search(
            space=table.space, evaluator=table.evaluator(), strategy="nsga2",
            objective=["accuracy", "params"], max_trials=40, verbose=0,
            directory="runs/pareto-example", overwrite=True)
        [(t.metrics["accuracy"], t.metrics["params"]) for t in result.pareto_front]
        ```
        """
        from kerasnas.pareto import pareto_front

        return pareto_front(self.trials, self.objectives)

    @property
    def best_architecture(self) -> Architecture:
        """The best trial's architecture (a JSON-serialisable dict)."""
        return self.best_trial.architecture

    @property
    def best_value(self) -> float | None:
        """The best trial's objective value."""
        return self.objective.value(self.best_trial.metrics)

    def trial(self, number: int) -> TrialRecord:
        """Returns trial `number`.

        Raises:
            ValueError: if there is no finished trial with that number.
        """
        for record in self.trials:
            if record.number == number:
                return record
        raise ValueError(
            f"No finished trial has that number. Finished trials: "
            f"{[t.number for t in self.trials]}. Received: trial={number!r}"
        )

    def select(self, trial: int | str = "best") -> TrialRecord:
        """Resolves `"best"` or a trial number to a completed trial."""
        if trial == "best":
            return self.best_trial
        if isinstance(trial, str) and trial.isdigit():
            trial = int(trial)
        if not isinstance(trial, int):
            raise ValueError(f"`trial` must be 'best' or a trial number. Received: trial={trial!r}")
        record = self.trial(trial)
        if not record.ok:
            raise ValueError(
                f"Trial {trial} did not complete ({record.status}: {record.error}). "
                f"Received: trial={trial}"
            )
        return record

    # ---------------------------------------------------------------- models
    @property
    def best_model(self):
        """The best trial's trained `keras.Model` (loaded from the search directory)."""
        return self.load_model("best")

    def load_model(self, trial: int | str = "best"):
        """Loads a kept trained model.

        Args:
            trial: `"best"` or a trial number.

        Returns:
            The trained, compiled `keras.Model`.

        Raises:
            ValueError: if the trial's model was not kept (a callable
                evaluator trains nothing; only the best `keep_best_models`
                models are kept), saying how to get one.
        """
        import keras

        record = self.select(trial)
        if record.number in self._models:
            return self._models[record.number]
        path = record.info.get("model_path")
        if not path or not (self.directory / path).exists():
            raise ValueError(
                f"Trial {record.number} has no kept model in '{self.directory}' (searches "
                "with a callable evaluator train nothing, and only the best "
                "keep_best_models are kept). Use result.train_model(trial) to train it."
            )
        model = keras.models.load_model(self.directory / path)
        self._models[record.number] = model
        return model

    def build_model(self, trial: int | str = "best"):
        """Builds a fresh, untrained, compiled model of a trial's architecture."""
        self._need_builder("build_model")
        record = self.select(trial)
        model = self.builder.build(record.architecture)
        return self.builder.compile(model, record.architecture)

    def train_model(
        self,
        trial: int | str = "best",
        epochs: int | None = None,
        include_validation: bool = False,
        seed: int | None = None,
        distribution_strategy=None,
    ):
        """Trains a trial's architecture from scratch and returns the model.

        Args:
            trial: `"best"` or a trial number.
            epochs: epochs (defaults to the search's).
            include_validation: train on training plus validation data.
            seed: weight seed (defaults to the trial's).
            distribution_strategy: train on several devices: a
                `tf.distribute.Strategy` (e.g. `tf.distribute.MirroredStrategy()`)
                or a name (`"mirrored"`); see `kerasnas.distribute`.
        """
        from kerasnas.evaluation.fit import FitEvaluator
        from kerasnas.retrain import train_final_model

        self._need_builder("train_model")
        record = self.select(trial)
        epochs = epochs or self.settings.get("evaluator", {}).get("epochs", 5)
        evaluator = FitEvaluator(
            self.builder,
            self.data,
            epochs=epochs,
            batch_size=self.settings.get("evaluator", {}).get("batch_size", 64),
            learning_rate=self.settings.get("evaluator", {}).get("learning_rate", 1e-3),
            optimizer=self.settings.get("evaluator", {}).get("optimizer", "adam"),
            distribution_strategy=distribution_strategy,
        )
        return train_final_model(
            evaluator,
            record.architecture,
            epochs,
            seed=record.seed if seed is None else seed,
            include_validation=include_validation,
        )

    def _need_builder(self, what: str) -> None:
        if self.builder is None:
            raise ValueError(
                f"{what} needs the search's model builder; this result came from a "
                "search with a callable evaluator (no data, no models)."
            )
        if self.data is None:
            raise ValueError(
                f"{what} needs the search's data. Searches on arrays do not store their "
                "data: open the directory with kerasnas.load_search(directory, "
                "data=kerasnas.data.from_arrays(x, y, validation_data=...))."
            )

    def test_metrics(self, trial: int | str = "best") -> dict:
        """Evaluates a kept model on the test data (`{}` without test data)."""
        from kerasnas.evaluation.fit import evaluate_model

        if self.data is None or self.data.test is None:
            return {}
        return evaluate_model(self.load_model(trial), self.data.test)

    # ---------------------------------------------------------------- export
    def export(
        self,
        path: str | os.PathLike = "exports/kerasnas_model",
        trial: int | str = "best",
        version: int | None = None,
        overwrite: bool = False,
        model=None,
        card_notes: dict | None = None,
        **options,
    ):
        """Exports a trial's model as a TensorFlow Serving SavedModel.

        Writes `path/<version>/` (the next free version, 1 for a new path):
        the SavedModel with a `serving_default` signature (input `inputs`;
        outputs `logits` and `probabilities`, or `predictions` for
        regression), `architecture.json` and `model_card.json`. The export
        reloads itself and checks that its predictions match.

        Args:
            path: the model's base path (TF Serving's `--model_base_path`).
            trial: `"best"` or a trial number.
            version: the version number; defaults to the next free one.
            overwrite: replace an existing version.
            model: a model to export instead of the kept one (e.g. retrained).
            card_notes: extra JSON entries for the model card (e.g. how the
                model was retrained).
            card_notes: extra JSON entries for the model card (e.g. how the
                model was retrained).
            **options: passed to `kerasnas.export.export_saved_model`.

        Returns:
            An `ExportInfo` with the version path and verification figures.
        """
        from kerasnas.export.model_card import build_model_card
        from kerasnas.export.saved_model import export_saved_model

        record = self.select(trial)
        model = model if model is not None else self.load_model(record.number)
        card = build_model_card(self, record, model)
        card.update(card_notes or {})
        return export_saved_model(
            model,
            path,
            version=version,
            overwrite=overwrite,
            architecture=record.architecture,
            model_card=card,
            task=self.builder.task if self.builder is not None else None,
            sample_inputs=_sample_inputs(self.data),
            **options,
        )

    # --------------------------------------------------------------- summary
    def summary(self, top: int = 10) -> str:
        """A table of the best trials."""
        ranked = sorted(
            self.completed, key=lambda t: self.objective.score(t.metrics), reverse=True
        )[:top]
        lines = [
            f"Search in '{self.directory}': {len(self.trials)} trials "
            f"({len(self.completed)} completed), objective {self.objective}",
        ]
        for record in ranked:
            value = self.objective.value(record.metrics)
            params = record.metrics.get("params")
            lines.append(
                f"  #{record.number:<4} {self.objective.name}={value:.4f}"
                + (f"  params={int(params):,}" if params is not None else "")
                + f"  {self.space.describe(record.architecture)[:90]}"
            )
        return "\n".join(lines)

    def to_json(self) -> list[dict]:
        """Every trial as JSON."""
        return [t.to_json() for t in self.trials]

    def __repr__(self) -> str:
        return (
            f"<SearchResult '{self.directory}': {len(self.trials)} trials, "
            f"objective {self.objective}>"
        )


def _sample_inputs(data):
    if data is None:
        return None
    if not data.is_dataset:
        source = data.test if data.test is not None else data.validation
        return source[0][:8]
    for batch in data.validation.take(1):
        return batch[0].numpy()[:8]
    return None


def load_search(directory: str | os.PathLike, data=None) -> SearchResult:
    """Opens a finished (or interrupted) search directory as a `SearchResult`.

    The space and model builder are rebuilt from the stored settings (built-in
    spaces; a custom space class must be importable and constructible from
    its config). Data named `mnist1d` or `tfds:NAME` is reloaded so that
    models can be retrained and tested; pass `data=` for array data.

    Example:

    ```python
    import kerasnas
    result = kerasnas.load_search("runs/demo")  # a directory written by a search
    print(result.summary())
    ```

    Raises:
        FileNotFoundError: if `directory` holds no search.
    """
    from kerasnas.builder.builder import ModelBuilder
    from kerasnas.builder.task import Task
    from kerasnas.data import resolve_data
    from kerasnas.runtime.directory import SearchDirectory
    from kerasnas.spaces import space_from_config

    folder = SearchDirectory(directory)
    settings = folder.read_settings()
    if settings is None:
        raise FileNotFoundError(
            f"No search found: '{folder.settings_path}' does not exist. "
            f"Received: directory='{directory}'"
        )
    space = space_from_config(settings["space"])
    objectives = [Objective.from_json(o) for o in settings["objectives"]]
    finished, _ = folder.journal.replay()
    builder = load_data = None
    config = settings.get("builder")
    if config is not None:
        normalization = config.get("normalization")
        builder = ModelBuilder(
            space,
            config["input_shape"],
            Task.from_json(config["task"]),
            normalization=tuple(normalization) if normalization else None,
        )
        name = settings.get("data", {}).get("name")
        if data is None and name and (name == "mnist1d" or name.startswith("tfds:")):
            # Reloaded when first needed (retraining, testing), not for a summary.
            load_data = functools.partial(resolve_data, data=name, seed=settings.get("seed", 0))
        elif data is not None:
            data = resolve_data(data=data) if isinstance(data, str) else data
    result = SearchResult(
        folder.path, space, objectives, finished, builder=builder, data=data, settings=settings
    )
    if load_data is not None:
        result._load_data = load_data
    return result


def write_json(path: pathlib.Path, value: Any) -> None:
    """Writes JSON with sorted keys and indentation."""
    from kerasnas.runtime.journal import to_jsonable

    path.write_text(json.dumps(to_jsonable(value), indent=2, sort_keys=True), encoding="utf-8")
