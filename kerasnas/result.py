"""`SearchResult`: the trials of a search, its best model, and export."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pathlib
import warnings
from collections.abc import Sequence
from typing import Any

from kerasnas.jsonio import write_json  # noqa: F401 - re-exported
from kerasnas.objective import Objective
from kerasnas.spaces.space import Architecture, SearchSpace
from kerasnas.trial import TrialRecord, best_record, no_completed_trial_message
from kerasnas.validation import check_int


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
        self.directory = None if directory is None else pathlib.Path(directory)
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
                f"{no_completed_trial_message(self.trials)} Search directory: '{self.directory}'."
            )
        return best_record(completed, self.objective)

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
        path = self._model_file(record.info.get("model_path"))
        if path is None:
            raise ValueError(
                f"Trial {record.number} has no kept model in '{self.directory}' (searches "
                "with a callable evaluator train nothing, and only the best "
                "keep_best_models are kept). Use result.train_model(trial) to train it."
            )
        model = keras.models.load_model(path)
        self._models[record.number] = model
        return model

    def _model_file(self, relative) -> pathlib.Path | None:
        """The kept model file `relative` names, if it exists inside the search directory."""
        from kerasnas.runtime.journal import inside_directory

        path = inside_directory(self.directory, relative)
        return path if path is not None and path.is_file() else None

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
        loss=None,
        metrics=None,
        class_weight: dict | None = None,
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
            loss: the Keras loss; defaults to the search's when it was given
                by name (a loss object or function must be passed again).
            metrics: extra Keras metrics; defaults to the search's metrics
                given by name.
            class_weight: `{class_index: weight}`; defaults to the search's.
                Per-sample weights come with the data
                (`kerasnas.data.from_arrays(..., sample_weight=...)`).
        """
        from kerasnas.evaluation.fit import FitEvaluator
        from kerasnas.retrain import train_final_model

        self._need_builder("train_model")
        record = self.select(trial)
        config = {k: v for k, v in self.settings.get("evaluator", {}).items() if k != "constraints"}
        config.setdefault("lr_schedule", "constant")  # searches from before the cosine recipe
        evaluator = FitEvaluator.from_config(
            config, self.builder, self.data, distribution_strategy=distribution_strategy,
            objective=self.objectives[0], **({"epochs": epochs} if epochs else {}),
            **self._fit_options(loss, metrics, class_weight),
        )  # fmt: skip
        epochs = evaluator.epochs
        return train_final_model(
            evaluator,
            record.architecture,
            epochs,
            seed=record.seed if seed is None else seed,
            include_validation=include_validation,
        )

    def _fit_options(self, loss, metrics, class_weight) -> dict:
        """The search's loss, metrics and class weights, where they were stored by name."""
        stored = self.settings.get("evaluator", {})
        if loss is None and isinstance(stored.get("loss"), str):
            loss = stored["loss"]
        if metrics is None and stored.get("metrics"):
            named = [m for m in stored["metrics"] if isinstance(m, str)]
            metrics = named or None
        if class_weight is None and stored.get("class_weight"):
            class_weight = {int(k): float(v) for k, v in stored["class_weight"].items()}
        return {"loss": loss, "metrics": metrics, "class_weight": class_weight}

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
        retrain_epochs: int | None = None,
        distribution_strategy=None,
        **options,
    ):
        """Exports a trial's model as a TensorFlow Serving SavedModel.

        Writes `path/<version>/` (the next free version, 1 for a new path):
        the SavedModel with a `serving_default` signature (input `inputs`;
        outputs `logits` and `probabilities`, or `predictions` for
        regression), `architecture.json` and `model_card.json`. The export
        reloads itself and checks that its predictions match. Exporting the
        same kept model with the same options again re-uses the version
        already written (`info.reused`) rather than adding a duplicate.

        Example:

        ```python
        import kerasnas
        result = kerasnas.load_search("runs/demo")  # a directory written by a search
        info = result.export("exports/demo", retrain_epochs=20)
        print(info.path, info.reused)
        ```

        Args:
            path: the model's base path (TF Serving's `--model_base_path`).
            trial: `"best"` or a trial number.
            version: the version number; defaults to the next free one.
            overwrite: replace an existing version.
            model: a model to export instead of the kept one.
            card_notes: extra JSON entries for the model card.
            retrain_epochs: first retrain the architecture from scratch on
                training plus validation data for this many epochs; the
                model card then describes the retrained model (its test
                metrics when there is test data) and warns when it is worse
                than the search trial, or trained for fewer epochs.
            distribution_strategy: with `retrain_epochs`, where to retrain.
            **options: passed to `kerasnas.export.export_saved_model`
                (`mixed_precision`, `jit_compile`, `warmup`, `formats`, ...).

        Returns:
            An `ExportInfo` with the version path and verification figures
            (`info.warnings` lists what the card warns about).

        Raises:
            ValueError: for a `retrain_epochs` that is not a positive int.
        """
        from kerasnas.export.model_card import build_model_card
        from kerasnas.export.saved_model import export_saved_model

        record = self.select(trial)
        fingerprint, notes = None, dict(card_notes or {})
        if retrain_epochs is not None:
            check_int("retrain_epochs", retrain_epochs, minimum=1)
            model, retrained = self._retrain_for_export(record, retrain_epochs, distribution_strategy)
            notes["retrained"] = retrained
        elif model is None:
            model = self.load_model(record.number)
            fingerprint = self._export_fingerprint(record, options)
        card = build_model_card(self, record, model)
        card.update(notes)
        if "retrained" in notes:
            card["metrics"] = {
                "test": card["metrics"]["test"],
                "search_trial": {k: v for k, v in card["metrics"].items() if k != "test"},
            }
        info = export_saved_model(
            model,
            path,
            version=version,
            overwrite=overwrite,
            architecture=record.architecture,
            model_card=card,
            task=self.builder.task if self.builder is not None else None,
            sample_inputs=_sample_inputs(self.data),
            source_fingerprint=fingerprint,
            **options,
        )
        info.warnings = list(notes.get("retrained", {}).get("warnings", []))
        info.card = card
        return info

    def _export_fingerprint(self, record: TrialRecord, options: dict) -> str | None:
        """A digest of the kept model file, the trial and the export options."""
        relative = record.info.get("model_path")
        path = self._model_file(relative)
        if path is None:
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(json.dumps([record.number, sorted(options.items())], default=str).encode())
        return digest.hexdigest()

    def _retrain_for_export(self, record: TrialRecord, epochs: int, distribution_strategy):
        """Retrains on train + validation; returns the model and what the card says of it."""
        search_epochs = self.settings.get("evaluator", {}).get("epochs")
        model = self.train_model(
            record.number,
            epochs=epochs,
            include_validation=True,
            distribution_strategy=distribution_strategy,
        )
        retrained = {
            "from_trial": record.number,
            "data": "training + validation (no held-out validation metric)",
            "epochs": epochs,
            "search_epochs": search_epochs,
            "warnings": [],
        }
        if search_epochs and epochs < search_epochs:
            retrained["warnings"].append(
                f"retrained for {epochs} epochs, fewer than the {search_epochs} the search "
                "trial trained for"
            )
        if self.data is not None and self.data.test is not None:
            from kerasnas.evaluation.fit import evaluate_model

            retrained["test_metrics"] = mine = evaluate_model(model, self.data.test)
            try:
                trial_test = evaluate_model(self.load_model(record.number), self.data.test)
            except ValueError:
                trial_test = None
            if trial_test is not None:
                retrained["trial_test_metrics"] = trial_test
                worse = _worse_metric(mine, trial_test, self.builder.task)
                if worse:
                    retrained["warnings"].append(
                        f"the retrained model is worse than the search trial on the test "
                        f"data: {worse}"
                    )
        for warning in retrained["warnings"]:
            warnings.warn(f"Export of trial {record.number}: {warning}.", stacklevel=3)
        return model, retrained

    # --------------------------------------------------------------- summary
    def ranked(self) -> list[TrialRecord]:
        """The completed trials, best first by the first objective (ties: earlier first)."""
        return sorted(
            self.completed, key=lambda t: (self.objective.score(t.metrics), -t.number), reverse=True
        )

    def best_models(self, k: int = 1) -> list:
        """Loads the trained models of the `k` best trials, best first.

        Like KerasTuner's `tuner.get_best_models(num_models)`. The search
        keeps the models of its `keep_best_models` best trials (3 by
        default); ask for at most that many, or retrain others with
        `train_model(trial)`.

        Example:

        ```python
        import kerasnas
        result = kerasnas.load_search("runs/demo")  # a directory written by a search
        best, runner_up = result.best_models(2)
        ```

        Args:
            k: how many models.

        Returns:
            A list of `min(k, completed trials)` compiled `keras.Model`s.

        Raises:
            ValueError: for a `k` that is not a positive int, or if one of the
                `k` best trials has no kept model (naming them).
        """
        check_int("k", k, minimum=1)
        ranked = self.ranked()[:k]
        if not ranked:
            self.best_trial  # noqa: B018 - raises with the trials' statuses
        missing = [
            t.number
            for t in ranked
            if not t.info.get("model_path") or not (self.directory / t.info["model_path"]).exists()
        ]
        if missing:
            kept = [t.number for t in self.ranked() if t.info.get("model_path")]
            raise ValueError(
                f"The {k} best trials include trials without a kept model: {missing} (kept: "
                f"{kept}). Search with keep_best_models >= {k}, or retrain them with "
                f"result.train_model(trial). Received: k={k}"
            )
        return [self.load_model(t.number) for t in ranked]

    def summary(
        self, top: int = 10, print_fn=None, line_length: int = 100, return_text: bool = False
    ):
        """Prints a table of the best trials, like Keras's `model.summary()`.

        One row per trial, best first: rank, trial number, every objective,
        parameters, training time and the architecture (wrapped between
        tokens, never cut inside one); then the trial counts by status and
        the trials whose models are kept.

        Example:

        ```python
        import kerasnas
        result = kerasnas.load_search("runs/demo")  # a directory written by a search
        result.summary(top=5)
        text = result.summary(return_text=True)
        ```

        Args:
            top: how many trials to list.
            print_fn: called with each line (default `print`), as in Keras.
            line_length: total width of the table.
            return_text: return the table as a string instead of printing it.

        Returns:
            The table as a string with `return_text=True`, else None.
        """
        from kerasnas.summary_table import render_summary

        text = render_summary(self, top=top, line_length=line_length)
        if return_text:
            return text
        for line in text.splitlines():
            (print_fn or print)(line)
        return None

    def to_json(self) -> list[dict]:
        """Every trial as JSON."""
        return [t.to_json() for t in self.trials]

    def __repr__(self) -> str:
        return (
            f"<SearchResult '{self.directory}': {len(self.trials)} trials, "
            f"objective {self.objective}>"
        )


def _sample_inputs(data):
    """Up to 8 samples for the export's checks: an array, or a dict or list of arrays."""
    import numpy as np

    from kerasnas.data import map_inputs

    if data is None:
        return None
    if not data.is_dataset:
        source = data.test if data.test is not None else data.validation
        return map_inputs(source[0], lambda v, _: v[:8])
    for batch in data.validation.take(1):
        return map_inputs(batch[0], lambda v, _: np.asarray(v)[:8])
    return None


def _reopen_data(data, builder_config: dict, settings: dict):
    """`data=` of `load_search`: a name, a `SearchData`, or arrays `(x, y)`."""
    from kerasnas.data import SearchData, from_arrays, resolve_data

    if isinstance(data, str):
        return resolve_data(data=data)
    if isinstance(data, SearchData):
        return data
    if isinstance(data, tuple) and len(data) in (2, 4) and all(hasattr(a, "shape") for a in data):
        kind = (builder_config.get("task") or {}).get("kind")
        validation = (data[2], data[3]) if len(data) == 4 else None
        return from_arrays(
            data[0], data[1], validation_data=validation, task=kind, seed=settings.get("seed", 0)
        )
    raise ValueError(
        "`data` must be a data name ('mnist1d', 'tfds:NAME'), a SearchData, or arrays "
        f"(x, y) or (x, y, x_val, y_val). Received: data={_describe(data)}"
    )


def _describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load_search(directory: str | os.PathLike, data=None) -> SearchResult:
    """Opens a finished (or interrupted) search directory as a `SearchResult`.

    The space and model builder are rebuilt from the stored settings (built-in
    spaces; a custom space class must be importable and constructible from
    its config). Data named `mnist1d` or `tfds:NAME` is reloaded so that
    models can be retrained and tested; for a search on arrays pass them
    again: `data=(x, y)` or `data=(x, y, x_val, y_val)`.

    Example:

    ```python
    import kerasnas
    result = kerasnas.load_search("runs/demo")  # a directory written by a search
    result.summary()                 # a table of the best trials
    model = result.best_model        # the kept, trained model
    ```

    This is the way to reopen a search: later, in another process, or from
    a notebook. Running `kerasnas.search(...)` again with the same settings
    on the same directory resumes the search itself (more trials);
    `load_search` only reads it. A search over a `FunctionSpace` reopens
    with its stored decisions (the function is not needed to read results
    or load kept models; retraining needs `data=` and the search's space).

    Args:
        directory: the search directory.
        data: the search's data, needed to retrain or test models of a
            search on arrays (`kerasnas.data.from_arrays(x, y, ...)`, or a
            data name such as `"mnist1d"`).

    Returns:
        A `SearchResult`.

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
        from kerasnas.runtime.worker import _normalization_from_json, _shape_from_json

        normalization = config.get("normalization")
        builder = ModelBuilder(
            space,
            _shape_from_json(config["input_shape"]),
            Task.from_json(config["task"]),
            normalization=_normalization_from_json(normalization) if normalization else None,
            target_scaling=config.get("target_scaling"),
        )
        name = settings.get("data", {}).get("name")
        if data is None and name and (name == "mnist1d" or name.startswith("tfds:")):
            # Reloaded when first needed (retraining, testing), not for a summary.
            load_data = functools.partial(resolve_data, data=name, seed=settings.get("seed", 0))
        elif data is not None:
            data = _reopen_data(data, config, settings)
    result = SearchResult(
        folder.path, space, objectives, finished, builder=builder, data=data, settings=settings
    )
    if load_data is not None:
        result._load_data = load_data
    return result


def _worse_metric(mine: dict, theirs: dict, task) -> str | None:
    """Names the headline test metric on which `mine` is worse than `theirs`."""
    name = "test_mae" if getattr(task, "kind", None) == "regression" else "test_accuracy"
    if name not in mine or name not in theirs:
        name = "test_loss"
    if name not in mine or name not in theirs:
        return None
    lower_is_better = name in ("test_loss", "test_mae")
    worse = mine[name] > theirs[name] if lower_is_better else mine[name] < theirs[name]
    return f"{name} {mine[name]:.4f} against {theirs[name]:.4f}" if worse else None
