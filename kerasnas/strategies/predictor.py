"""A small ensemble of NumPy MLPs that predicts a score from an architecture vector."""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os

import numpy as np

_BLAS = []


def _openblas():
    """NumPy's bundled OpenBLAS (get/set thread count functions), or None."""
    if not _BLAS:
        found = None
        libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
        for path in glob.glob(os.path.join(libs, "libscipy_openblas*.so*")):
            try:
                lib = ctypes.CDLL(path)
                found = (
                    lib.scipy_openblas_get_num_threads64_,
                    lib.scipy_openblas_set_num_threads64_,
                )
                break
            except (OSError, AttributeError):
                continue
        _BLAS.append(found)
    return _BLAS[0]


@contextlib.contextmanager
def single_threaded_blas():
    """Runs the block with one BLAS thread (as threadpoolctl would), if it can.

    The ensemble's matrices are tiny: BLAS threads only add synchronisation,
    which costs 10-100x on a busy machine. Elsewhere this does nothing.
    """
    blas = _openblas()
    if blas is None:
        yield
        return
    get, set_ = blas
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)


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
        batch_size: rows per Adam step when there are more.
    """

    def __init__(
        self,
        size: int = 5,
        hidden: int = 32,
        layers: int = 2,
        steps: int = 200,
        learning_rate: float = 0.01,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
    ):
        self.size = size
        self.hidden = hidden
        self.layers = layers
        self.steps = steps
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.params: list[np.ndarray] = []

    def _init(self, inputs: int, rng: np.random.Generator) -> None:
        e, h = self.size, self.hidden
        limit = np.sqrt(6.0 / inputs)
        # The first layer of every member in one matrix: the input is shared.
        self.params = [rng.uniform(-limit, limit, (inputs, e * h)), np.zeros(e * h)]
        limit = np.sqrt(6.0 / h)
        for _ in range(self.layers - 1):
            self.params += [rng.uniform(-limit, limit, (e, h, h)), np.zeros((e, 1, h))]
        self.params += [rng.uniform(-limit, limit, (e, h, 1)), np.zeros((e, 1, 1))]
        # Every parameter is a view into one flat array, so that an Adam step
        # updates them all in a few NumPy calls (per-array updates were half
        # of a fit's calls, and a fit is mostly per-call overhead).
        self._flat = np.concatenate([p.ravel() for p in self.params])
        views, start = [], 0
        for p in self.params:
            views.append(self._flat[start : start + p.size].reshape(p.shape))
            start += p.size
        self.params = views

    def _forward(self, x: np.ndarray):
        """Returns predictions (size, n) and the post-activation values of each layer."""
        n = len(x)
        first = np.maximum(x @ self.params[0] + self.params[1], 0.0)
        h = np.ascontiguousarray(first.reshape(n, self.size, self.hidden).transpose(1, 0, 2))
        activations = [h]
        for i in range(1, self.layers):
            h = np.maximum(np.matmul(h, self.params[2 * i]) + self.params[2 * i + 1], 0.0)
            activations.append(h)
        out = np.matmul(h, self.params[-2]) + self.params[-1]
        return out[..., 0], activations

    def _gradients(self, x: np.ndarray, target: np.ndarray) -> list[np.ndarray]:
        out, acts = self._forward(x)
        n = len(x)
        g = (2.0 / n) * (out - target)[..., None]  # (size, n, 1)
        grads = [None] * len(self.params)
        grads[-2] = np.matmul(acts[-1].transpose(0, 2, 1), g)
        grads[-1] = g.sum(axis=1, keepdims=True)
        g = np.matmul(g, self.params[-2].transpose(0, 2, 1)) * (acts[-1] > 0)
        for i in range(self.layers - 1, 0, -1):
            grads[2 * i] = np.matmul(acts[i - 1].transpose(0, 2, 1), g)
            grads[2 * i + 1] = g.sum(axis=1, keepdims=True)
            g = np.matmul(g, self.params[2 * i].transpose(0, 2, 1)) * (acts[i - 1] > 0)
        flat = g.transpose(1, 0, 2).reshape(n, self.size * self.hidden)
        grads[0] = x.T @ flat
        grads[1] = flat.sum(axis=0)
        for i in range(0, len(self.params), 2):
            grads[i] = grads[i] + self.weight_decay * self.params[i]
        return grads

    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> MLPEnsemble:
        """Trains every member on `x` (n, d) and `y` (n,). Returns self.

        Each Adam step uses all rows, or `batch_size` of them drawn at
        random when there are more, so a fit costs the same with 100 or
        10,000 trials of history.
        """
        with single_threaded_blas():
            return self._fit(np.asarray(x, np.float64), np.asarray(y, np.float64), rng)

    def _fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> MLPEnsemble:
        self.mean, self.scale = float(y.mean()), float(y.std()) or 1.0
        target = (y - self.mean) / self.scale
        self._init(x.shape[1], rng)
        flat = self._flat
        m, v = np.zeros_like(flat), np.zeros_like(flat)
        grad, step_size, scratch = np.empty_like(flat), np.empty_like(flat), np.empty_like(flat)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for step in range(1, self.steps + 1):
            if len(x) > self.batch_size:
                rows = rng.choice(len(x), self.batch_size, replace=False)
                grads = self._gradients(x[rows], target[rows])
            else:
                grads = self._gradients(x, target)
            np.concatenate([g.ravel() for g in grads], out=grad)
            # Adam, in place (no temporaries the size of the parameters):
            # m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
            # parameters -= lr (m / c1) / (sqrt(v / c2) + eps).
            np.multiply(grad, 1 - beta1, out=scratch)
            m *= beta1
            m += scratch
            np.multiply(grad, 1 - beta2, out=scratch)
            scratch *= grad
            v *= beta2
            v += scratch
            np.divide(v, 1 - beta2**step, out=scratch)
            np.sqrt(scratch, out=scratch)
            scratch += eps
            np.divide(m, 1 - beta1**step, out=step_size)
            step_size *= self.learning_rate
            step_size /= scratch
            flat -= step_size
        return self

    def predict_members(self, x: np.ndarray) -> np.ndarray:
        """Returns every member's predictions, shape (size, n), in the targets' units."""
        with single_threaded_blas():
            out, _ = self._forward(np.asarray(x, np.float64))
        return out * self.scale + self.mean

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Returns the ensemble's mean and standard deviation for each row of `x`."""
        members = self.predict_members(x)
        return members.mean(axis=0), members.std(axis=0)
