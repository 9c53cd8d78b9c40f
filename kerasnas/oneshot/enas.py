"""ENAS: efficient NAS by parameter sharing (Pham et al., ICML 2018)."""

from __future__ import annotations

import time

import numpy as np

from kerasnas.oneshot.base import OneShotRun, OneShotStrategy, derived_seed
from kerasnas.strategies.evolution import check_int

CONTROLLER_DIR = "controller"


class ENAS(OneShotStrategy):
    """The RL controller samples sub-networks of shared weights and learns from them.

    Each epoch has two phases, as in ENAS:

    1. **Shared weights.** The controller (the TF-Agents LSTM policy of
       `kerasnas.strategies.rl.Controller`) samples one architecture per
       training batch; that path of the supernet takes one weight step.
    2. **Controller.** `controller_steps` times, the controller samples
       `controller_batch` architectures; each one's reward is its accuracy
       on a validation batch under the shared weights (minus the error for
       regression); the controller takes one policy-gradient step.

    After the last epoch the controller samples `derive_samples`
    architectures; each is scored on the validation split (journaled as a
    candidate) and the best `top_k` are retrained from scratch.

    Example:

    ```python
    import numpy as np
    import kerasnas
    x = np.random.rand(128, 16, 1).astype("float32")
    y = (x[:, :8].mean(axis=(1, 2)) > x[:, 8:].mean(axis=(1, 2))).astype("int32")
    space = kerasnas.spaces.EdgeCellSpace(
        ("none", "skip_connect", "nor_conv_3x3"), channels=4, cells_per_stage=1, num_stages=1)
    result = kerasnas.search(
        x, y, space=space, strategy="enas", epochs=1,
        strategy_options={"epochs": 2, "controller_steps": 2, "derive_samples": 8},
        directory="runs/enas-example", overwrite=True, verbose=0)
    result.best_architecture
    ```

    Args:
        epochs: supernet epochs (None: the search's `epochs`).
        controller_steps: controller updates per epoch.
        controller_batch: architectures per controller update.
        derive_samples: architectures sampled for the final choice.
        controller_options: keyword arguments of `Controller` (e.g.
            `learning_rate`, `entropy_weight`, `algorithm`).
        **kwargs: the options of `OneShotStrategy` (`top_k`, ...).

    Raises:
        ValueError: for out-of-range options, naming the option.
    """

    name = "enas"

    def __init__(
        self,
        epochs: int | None = None,
        controller_steps: int = 10,
        controller_batch: int = 8,
        derive_samples: int = 32,
        controller_options: dict | None = None,
        **kwargs,
    ):
        super().__init__(epochs=epochs, **kwargs)
        self.controller_steps = check_int("controller_steps", controller_steps, 1)
        self.controller_batch = check_int("controller_batch", controller_batch, 1)
        self.derive_samples = check_int("derive_samples", derive_samples, 1)
        if controller_options is not None and not isinstance(controller_options, dict):
            raise ValueError(
                "`controller_options` must be a dict of Controller arguments. "
                f"Received: controller_options={controller_options!r}"
            )
        self.controller_options = dict(controller_options or {})
        if self.controller_options:
            from kerasnas.strategies.rl.controller import check_options

            check_options(**self.controller_options)

    def _options(self) -> dict:
        return {
            "controller_steps": self.controller_steps,
            "controller_batch": self.controller_batch,
            "derive_samples": self.derive_samples,
            "controller_options": self.controller_options,
        }

    def _controller(self, run: OneShotRun):
        import tensorflow as tf

        from kerasnas.strategies.rl import Controller

        options = {"seed": run.seed, **self.controller_options}
        controller = Controller(self.space, **options)
        checkpoint = tf.train.Checkpoint(agent=controller.agent, optimizer=controller._optimizer)
        if run.resumed_event is not None:
            path = self._checkpoint_path(run, run.resumed_epoch)
            state = run.resumed_event.get("controller", {})
            if path.with_name(path.name + ".index").exists():
                checkpoint.read(str(path)).expect_partial()
                controller.baseline = state.get("baseline")
                controller.variance = state.get("variance")
                controller.updates = int(state.get("updates", 0))
            else:
                run.print("One-shot enas: no controller checkpoint; the controller starts afresh.")
        return controller, checkpoint

    @staticmethod
    def _checkpoint_path(run: OneShotRun, epoch: int):
        return run.folder / f"{CONTROLLER_DIR}-{run.run_id}" / f"epoch{epoch:04d}"

    def _paths(self, run: OneShotRun, flat) -> list:
        supernet = run.supernet
        return [supernet.encode(self.space.decode_flat(row)) for row in flat]

    def _search(self, run: OneShotRun):
        trainer, supernet = run.trainer, run.supernet
        name = trainer.metric_name
        controller, checkpoint = self._controller(run)
        val_batches = trainer.validation_batches()
        steps = run.steps_per_epoch()
        for epoch in range(run.resumed_epoch + 1, run.epochs + 1):
            start = time.time()
            seed = derived_seed(run.seed, epoch, 3)
            planned = self._paths(run, controller.sample(steps, seed=[seed, 0])) if steps else []
            losses, metrics = [], []
            for step, (x, y) in enumerate(run.train_batches(epoch)):
                if step < len(planned):
                    indices = planned[step]
                else:
                    indices = self._paths(run, controller.sample(1, seed=[seed, step + 1]))[0]
                loss, metric = trainer.train_path(x, y, indices)
                losses.append(loss)
                metrics.append(metric)
            rewards_seen = []
            for c in range(self.controller_steps):
                flat = controller.sample(
                    self.controller_batch, seed=[derived_seed(run.seed, epoch, 4), c]
                )
                batch = [val_batches[(epoch * self.controller_steps + c) % len(val_batches)]]
                rewards = []
                for indices in self._paths(run, flat):
                    result = trainer.evaluate_path(indices, batch)
                    rewards.append(trainer.score(result[name]))
                controller.update(flat, np.asarray(rewards))
                rewards_seen.extend(rewards)
            if self.checkpoint:
                path = self._checkpoint_path(run, epoch)
                path.parent.mkdir(parents=True, exist_ok=True)
                checkpoint.write(str(path))
                for old in path.parent.glob("epoch*"):
                    if not old.name.startswith(path.name):
                        old.unlink(missing_ok=True)
            run.end_epoch(
                epoch,
                {
                    "loss": float(np.mean(losses)),
                    name: float(np.mean(metrics)),
                    "mean_reward": float(np.mean(rewards_seen)),
                },
                time.time() - start,
                controller={
                    "baseline": controller.baseline,
                    "variance": controller.variance,
                    "updates": controller.updates,
                },
            )
        records = run.candidates("derive")
        if len(records) < self.derive_samples:
            flat = controller.sample(self.derive_samples, seed=[derived_seed(run.seed, 0, 8), 0])
            for number in range(len(records), self.derive_samples):
                arch = self.space.decode_flat(flat[number])
                start = time.time()
                metrics = run.score_path(supernet.encode(arch))
                records.append(run.candidate(number, arch, metrics, time.time() - start, "derive"))
        return run.rank(records)
