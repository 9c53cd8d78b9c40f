"""Exceptions raised by kerasnas, grouped by what the caller should do."""


class KerasNASError(Exception):
    """Base class of every error kerasnas raises on purpose."""


class InvalidArchitectureError(KerasNASError, ValueError):
    """An architecture does not belong to its search space."""


class SpaceExhaustedError(KerasNASError):
    """A strategy found no architecture that was not tried already."""


class ConstraintViolation(KerasNASError):
    """A candidate breaks a hard constraint (size, FLOPs, latency) before training.

    Args:
        message: which constraint and by how much.
        metrics: costs measured before the rejection (e.g. `params`).
    """

    def __init__(self, message: str, metrics: dict | None = None):
        super().__init__(message)
        self.metrics = dict(metrics or {})


class TrialFailure(KerasNASError):
    """A trial ended without a usable result (NaN loss, timeout, ...)."""


class SearchAborted(KerasNASError):
    """The search stopped on purpose, e.g. after too many failures in a row."""


class IncompatibleSearchError(KerasNASError):
    """A search directory holds a search that differs from the one requested."""
