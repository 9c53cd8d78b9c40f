"""A small ensemble of NumPy MLPs that predicts a score from an architecture vector."""

from __future__ import annotations

import numpy as np


class MLPEnsemble:
    """`size` independent MLP regressors trained at once (batched matrix products).

    Each member is a ReLU MLP with its own random initialisation, trained
    full-batch with Adam on the mean squared error of standardised
    targets. Members differ only by initialisation, as in BANANAS; their
    spread is the uncertainty an acquisition uses.

    Example:

    ```python
    import numpy as np
    from kerasnas.strategies.predictor import MLPEnsemble
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(50, 8)).astype("float32")
    y = x @ np.arange(8.0)
    model = MLPEnsemble(size=5).fit(x, y, rng)
    mean, std = model.predict(x)
    ```

    Args:
        size: members of the ensemble.
        hidden: width of each hidden layer.
        layers: hidden layers.
        steps: Adam steps (full batch).
        learning_rate: Adam's learning rate.
        weight_decay: L2 penalty on the weights.
    """

    def __init__(
        self,
        size: int = 5,
        hidden: int = 32,
        layers: int = 2,
        steps: int = 200,
        learning_rate: float = 0.01,
        weight_decay: float = 1e-4,
    ):
        self.size = size
        self.hidden = hidden
        self.layers = layers
        self.steps = steps
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.params: list[np.ndarray] = []

    def _init(self, inputs: int, rng: np.random.Generator) -> None:
        widths = [inputs] + [self.hidden] * self.layers + [1]
        self.params = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            limit = np.sqrt(6.0 / fan_in)
            self.params.append(rng.uniform(-limit, limit, (self.size, fan_in, fan_out)))
            self.params.append(np.zeros((self.size, 1, fan_out)))

    def _forward(self, x: np.ndarray):
        activations = [x]
        h = x
        n = len(self.params) // 2
        for i in range(n):
            h = np.matmul(h, self.params[2 * i]) + self.params[2 * i + 1]
            if i < n - 1:
                h = np.maximum(h, 0.0)
            activations.append(h)
        return h[..., 0], activations

    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> MLPEnsemble:
        """Trains every member on `x` (n, d) and `y` (n,). Returns self."""
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float64)
        self.mean, self.scale = float(y.mean()), float(y.std()) or 1.0
        target = (y - self.mean) / self.scale
        self._init(x.shape[1], rng)
        m = [np.zeros_like(p) for p in self.params]
        v = [np.zeros_like(p) for p in self.params]
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        n = len(x)
        xb = np.broadcast_to(x, (self.size, *x.shape))
        layers = len(self.params) // 2
        for step in range(1, self.steps + 1):
            out, acts = self._forward(xb)
            grad_out = (2.0 / n) * (out - target)[..., None]
            grads = [None] * len(self.params)
            g = grad_out
            for i in range(layers - 1, -1, -1):
                grads[2 * i] = np.matmul(np.swapaxes(acts[i], 1, 2), g)
                grads[2 * i] += self.weight_decay * self.params[2 * i]
                grads[2 * i + 1] = g.sum(axis=1, keepdims=True)
                if i > 0:
                    g = np.matmul(g, np.swapaxes(self.params[2 * i], 1, 2)) * (acts[i] > 0)
            correction1 = 1 - beta1**step
            correction2 = 1 - beta2**step
            for p, grad, mi, vi in zip(self.params, grads, m, v):
                mi *= beta1
                mi += (1 - beta1) * grad
                vi *= beta2
                vi += (1 - beta2) * grad * grad
                p -= self.learning_rate * (mi / correction1) / (np.sqrt(vi / correction2) + eps)
        return self

    def predict_members(self, x: np.ndarray) -> np.ndarray:
        """Returns every member's predictions, shape (size, n), in the targets' units."""
        out, _ = self._forward(np.asarray(x, np.float64)[None])
        return out * self.scale + self.mean

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Returns the ensemble's mean and standard deviation for each row of `x`."""
        members = self.predict_members(x)
        return members.mean(axis=0), members.std(axis=0)
