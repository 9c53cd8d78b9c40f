"""TensorBoard logs of a search: per-trial scalars and the HParams dashboard.

The search process writes them from the trial records (no callback runs
inside the candidates' training), so they work with every executor:

```
<log_dir>/                 the HParams experiment (decisions and metrics)
<log_dir>/trial_0007/      per-epoch scalars of trial 7, its final metrics,
                           and its decisions as hyperparameters
```

Run `tensorboard --logdir <log_dir>` and open the SCALARS and HPARAMS tabs.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Sequence

from kerasnas.objective import Objective
from kerasnas.spaces.space import SearchSpace
from kerasnas.trial import TrialRecord

_SCALAR_TYPES = (bool, int, float, str)


def _hparam_value(value):
    if isinstance(value, _SCALAR_TYPES):
        return value
    return str(value)


class TensorBoardLogger:
    """Writes a search's trials for TensorBoard.

    Uses `tf.summary` and the HParams plugin's summary API (not the Keras
    callback, which would touch `tf.keras`).

    Example:

    ```python
    import kerasnas
    # kerasnas.search(..., tensorboard=True)  # logs in <directory>/tensorboard
    # kerasnas.search(..., tensorboard="logs/search1")
    ```

    Args:
        log_dir: the log directory (created if missing).
        space: the search space (its decisions become hyperparameters).
        objectives: the objectives (become the dashboard's metrics).
    """

    def __init__(
        self, log_dir: str | os.PathLike, space: SearchSpace, objectives: Sequence[Objective]
    ):
        self.log_dir = pathlib.Path(log_dir)
        self.space = space
        self.objectives = list(objectives)
        self._metric_names: list[str] = []

    def start(self, history: Sequence[TrialRecord] = ()) -> None:
        """Writes the HParams experiment once (the first time a search runs)."""
        import tensorflow as tf
        from tensorboard.plugins.hparams import summary_v2 as hp

        self.log_dir.mkdir(parents=True, exist_ok=True)
        marker = self.log_dir / ".hparams_config_written"
        if marker.exists():
            return
        hparams = []
        for decision in self.space.decisions:
            try:
                values = (
                    [_hparam_value(v) for v in decision.values()]
                    if decision.num_values() <= 64
                    else []
                )
            except Exception:  # noqa: BLE001 - a decision without a value list
                values = []
            kinds = {type(v) for v in values}
            if values and len(kinds) == 1:
                hparams.append(hp.HParam(decision.name, hp.Discrete(sorted(set(values)))))
            else:
                hparams.append(hp.HParam(decision.name))
        names = [o.name for o in self.objectives]
        for extra in ("params", "flops", "train_time_s", "latency_ms"):
            if extra not in names:
                names.append(extra)
        metrics = [hp.Metric(f"final/{name}", display_name=name) for name in names]
        writer = tf.summary.create_file_writer(str(self.log_dir))
        with writer.as_default():
            hp.hparams_config(hparams=hparams, metrics=metrics)
        writer.close()
        marker.write_text("written\n", encoding="utf-8")

    def trial(self, record: TrialRecord) -> None:
        """Writes one finished trial: epoch curves, final metrics, hyperparameters."""
        import tensorflow as tf
        from tensorboard.plugins.hparams import summary_v2 as hp

        run = self.log_dir / f"trial_{record.number:04d}"
        writer = tf.summary.create_file_writer(str(run))
        with writer.as_default():
            history = record.info.get("history", {}) if record.ok else {}
            for name, values in history.items():
                for epoch, value in enumerate(values):
                    value = float(value)
                    if math.isfinite(value):
                        tf.summary.scalar(f"epoch/{name}", value, step=epoch)
            step = int(record.info.get("budget", record.info.get("epochs", 0)) or 0)
            for name, value in record.metrics.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    if math.isfinite(float(value)):
                        tf.summary.scalar(f"final/{name}", float(value), step=step)
            hparams = {k: _hparam_value(v) for k, v in record.architecture.items()}
            hp.hparams(hparams, trial_id=f"trial_{record.number:04d}")
            tf.summary.text(
                "trial",
                f"status: {record.status}; error: {record.error or '-'}; "
                f"architecture: {self.space.describe(record.architecture)}",
                step=step,
            )
        writer.close()

    def close(self) -> None:
        """Nothing to release: each trial's writer is closed after writing."""
