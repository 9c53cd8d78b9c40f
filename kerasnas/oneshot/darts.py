"""DARTS: differentiable architecture search (Liu et al., ICLR 2019), first order."""

from __future__ import annotations

import time

import numpy as np

from kerasnas.oneshot.base import OneShotRun, OneShotStrategy, _positive_number, derived_seed
from kerasnas.oneshot.training import batches
from kerasnas.strategies.evolution import check_int

MITIGATIONS = ("auxiliary_skip+early_stop", "auxiliary_skip", "early_stop", "none")


class DARTS(OneShotStrategy):
    """Differentiable architecture search with a guard against skip collapse.

    Every choice point of the supernet mixes its candidates with the softmax
    of learnable architecture logits. Training alternates, batch by batch,
    an architecture step (Adam on the logits, on a batch of the validation
    split) and a weight step (Adam on the shared weights, on a batch of the
    training split): first-order DARTS. The architecture is then derived by
    the usual rules: each edge of an edge cell (NAS-Bench-201 style) and
    each choice of a chain takes its strongest candidate; each node of a
    DARTS-style node cell keeps its two strongest inputs, each with its
    strongest operation other than `none`; a chain layer keeps the skips
    weighted above "no".

    **Collapse.** DARTS is known to drift toward parameter-free operations
    (NAS-Bench-201 reports all-skip cells and 54.3% on CIFAR-10) because
    they carry gradient more easily than operations whose weights are still
    untrained. Two documented remedies are built in, and both are on by
    default (`mitigation="auxiliary_skip+early_stop"`):

    - `"auxiliary_skip"` is DARTS- (Chu et al., ICLR 2021): every
      shape-preserving choice point gets an extra skip, outside the choice,
      whose coefficient decays linearly from 1 to 0 over the search, so
      candidates need not win architecture weight just to pass gradient;
    - `"early_stop"` follows DARTS+ (Liang et al., 2019): when the share of
      operation choices whose strongest candidate is parameter-free (none,
      skip, pooling, identity) exceeds `max_parameter_free` at the end of an
      epoch, the search stops and the architecture is derived from the
      weights of the last epoch within the limit.

    Use one of them alone, or `"none"` for plain DARTS. Each epoch's journal
    event records `parameter_free_share` and the architecture weights.

    Example:

    ```python
    import numpy as np
    import kerasnas
    x = np.random.rand(128, 16, 1).astype("float32")
    y = (x[:, :8].mean(axis=(1, 2)) > x[:, 8:].mean(axis=(1, 2))).astype("int32")
    space = kerasnas.spaces.EdgeCellSpace(
        ("none", "skip_connect", "nor_conv_3x3"), channels=4, cells_per_stage=1, num_stages=1)
    result = kerasnas.search(
        x, y, space=space, strategy="darts", epochs=1,
        strategy_options={"epochs": 2, "mitigation": "auxiliary_skip"},
        directory="runs/darts-example", overwrite=True, verbose=0)
    result.best_architecture
    ```

    Args:
        epochs: supernet epochs (None: the search's `epochs`).
        arch_learning_rate: Adam learning rate of the architecture logits
            (DARTS: 3e-4).
        arch_weight_decay: decoupled weight decay of the logits (DARTS: 1e-3).
        mitigation: `"auxiliary_skip+early_stop"`, `"auxiliary_skip"`
            (DARTS-), `"early_stop"` (DARTS+) or `"none"`.
        max_parameter_free: the early stop's limit on the share of choices
            led by parameter-free candidates.
        warmup_epochs: epochs that train only the weights (no architecture
            steps) at the start.
        **kwargs: the options of `OneShotStrategy` (`learning_rate`,
            `batch_size`, ...). `top_k` must be 1: DARTS derives one
            architecture.

    Raises:
        ValueError: for out-of-range options, naming the option.
    """

    name = "darts"

    def __init__(
        self,
        epochs: int | None = None,
        arch_learning_rate: float = 3e-4,
        arch_weight_decay: float = 1e-3,
        mitigation: str = "auxiliary_skip+early_stop",
        max_parameter_free: float = 0.5,
        warmup_epochs: int = 0,
        **kwargs,
    ):
        super().__init__(epochs=epochs, **kwargs)
        if self.top_k != 1:
            raise ValueError(
                f"DARTS derives one architecture (the argmax), so top_k must be 1. "
                f"Received: top_k={self.top_k}"
            )
        self.arch_learning_rate = _positive_number("arch_learning_rate", arch_learning_rate)
        if isinstance(arch_weight_decay, bool) or not isinstance(arch_weight_decay, (int, float)):
            raise ValueError(
                f"`arch_weight_decay` must be a number >= 0. Received: "
                f"arch_weight_decay={arch_weight_decay!r}"
            )
        if arch_weight_decay < 0:
            raise ValueError(
                f"`arch_weight_decay` must be a number >= 0. Received: "
                f"arch_weight_decay={arch_weight_decay!r}"
            )
        self.arch_weight_decay = float(arch_weight_decay)
        if mitigation is None:
            mitigation = "none"
        if mitigation not in MITIGATIONS:
            raise ValueError(
                f"`mitigation` must be one of {list(MITIGATIONS)}. Received: mitigation={mitigation!r}"
            )
        self.mitigation = mitigation
        if (
            isinstance(max_parameter_free, bool)
            or not isinstance(max_parameter_free, (int, float))
            or not 0 <= max_parameter_free < 1
        ):
            raise ValueError(
                "`max_parameter_free` must be a number in [0, 1). Received: "
                f"max_parameter_free={max_parameter_free!r}"
            )
        self.max_parameter_free = float(max_parameter_free)
        self.warmup_epochs = check_int("warmup_epochs", warmup_epochs, 0)

    def _options(self) -> dict:
        return {
            "arch_learning_rate": self.arch_learning_rate,
            "arch_weight_decay": self.arch_weight_decay,
            "mitigation": self.mitigation,
            "max_parameter_free": self.max_parameter_free,
            "warmup_epochs": self.warmup_epochs,
        }

    def _search(self, run: OneShotRun):
        trainer, supernet = run.trainer, run.supernet
        trainer.setup_architecture(
            self.arch_learning_rate, self.arch_weight_decay, derived_seed(run.seed, 0, 5)
        )
        if run.resumed_event is not None:
            for variable, logits in zip(trainer.arch_variables, run.resumed_event["alpha_logits"]):
                variable.assign(np.asarray(logits, "float32"))
        use_aux = "auxiliary_skip" in self.mitigation
        guard = "early_stop" in self.mitigation
        steps = run.steps_per_epoch() or 1
        total = max(1, run.epochs * steps)
        earlier = [
            e
            for e in run.events
            if e["event"] == "oneshot_epoch"
            and e.get("run") == run.run_id
            and int(e["epoch"]) <= run.resumed_epoch
        ]
        stopped = next((int(e["epoch"]) for e in earlier if e.get("early_stopped")), None)
        kept = next(
            (e["alpha_logits"] for e in reversed(earlier) if self._within(e["metrics"])), None
        )
        first = run.epochs + 1 if stopped else run.resumed_epoch + 1
        for epoch in range(first, run.epochs + 1):
            start = time.time()
            validation = iter(
                batches(
                    run.data.validation, run.batch_size, seed=derived_seed(run.seed, epoch, 6)
                ).repeat()
            )
            losses, metrics = [], []
            for step, (x, y) in enumerate(run.train_batches(epoch)):
                if use_aux:
                    done = (epoch - 1) * steps + step
                    trainer.aux.assign(max(0.0, 1.0 - done / total))
                if epoch > self.warmup_epochs:
                    x_val, y_val = next(validation)
                    trainer.arch_step(x_val, y_val, use_aux)
                loss, metric = trainer.mixed_step(x, y, use_aux)
                losses.append(float(loss))
                metrics.append(float(metric))
            weights = trainer.architecture_weights()
            val = trainer.evaluate_mixed(use_aux)
            name = trainer.metric_name
            share = supernet.parameter_free_share(weights)
            logits = [a.numpy().tolist() for a in trainer.arch_variables]
            early = guard and not self._within({"parameter_free_share": share})
            run.end_epoch(
                epoch,
                {
                    "loss": float(np.mean(losses)),
                    name: float(np.mean(metrics)),
                    "val_loss": val["loss"],
                    f"val_{name}": val[name],
                    "parameter_free_share": share,
                    "aux_skip": float(trainer.aux.numpy()) if use_aux else 0.0,
                },
                time.time() - start,
                alpha_logits=logits,
                weights=supernet.describe_weights(weights),
                architecture=dict(supernet.derive(weights)),
                early_stopped=early,
            )
            if early:
                stopped = epoch
                run.print(
                    f"One-shot darts: parameter-free operations lead {share:.0%} of the choices "
                    f"(limit {self.max_parameter_free:.0%}); stopping the search and deriving "
                    "from the last epoch within the limit."
                )
                break
            kept = logits
        trainer.aux.assign(0.0)
        if stopped and kept is not None:
            for variable, values in zip(trainer.arch_variables, kept):
                variable.assign(np.asarray(values, "float32"))
        weights = trainer.architecture_weights()
        arch = supernet.derive(weights)
        metrics = run.score_path(supernet.encode(arch))
        metrics["parameter_free_share"] = supernet.parameter_free_share(weights)
        if stopped:
            metrics["early_stopped_at_epoch"] = stopped
        return [(arch, metrics)]

    def _within(self, metrics) -> bool:
        return metrics["parameter_free_share"] <= self.max_parameter_free + 1e-9
