"""Strategies: how to search. Pick one by name or pass an object."""

from __future__ import annotations

from kerasnas.strategies.base import Strategy
from kerasnas.strategies.evolution import RegularizedEvolution
from kerasnas.strategies.nsga2 import NSGA2
from kerasnas.strategies.random_search import RandomSearch
from kerasnas.strategies.warm_start import WarmStart


def _rl(**options) -> Strategy:
    # TF-Agents (and legacy Keras) load only when the RL strategy is asked for.
    from kerasnas.strategies.rl.strategy import RLStrategy

    return RLStrategy(**options)


def _one_shot(name: str):
    # kerasnas.oneshot (supernets) loads only when a one-shot strategy is asked for.
    def factory(**options) -> Strategy:
        from kerasnas import oneshot

        return {"darts": oneshot.DARTS, "enas": oneshot.ENAS, "spos": oneshot.SPOS}[name](**options)

    return factory


_FACTORIES = {
    "random": RandomSearch,
    "evolution": RegularizedEvolution,
    "nsga2": NSGA2,
    "pareto": NSGA2,
    "rl": _rl,
    "darts": _one_shot("darts"),
    "enas": _one_shot("enas"),
    "spos": _one_shot("spos"),
}

#: Names accepted by `kerasnas.search(strategy=...)`.
STRATEGY_NAMES = tuple(_FACTORIES)


def get(strategy, **options) -> Strategy:
    """Returns a strategy from a name (with options) or passes an object through.

    Example:

    ```python
    import kerasnas
    kerasnas.strategies.get("random")
    ```

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(strategy, Strategy):
        if options:
            raise ValueError(
                "strategy_options apply to strategies given by name. "
                f"Received: strategy={strategy!r} with options {sorted(options)}"
            )
        return strategy
    if not isinstance(strategy, str) or strategy not in _FACTORIES:
        raise ValueError(
            f"Unknown strategy. Known strategies: {list(STRATEGY_NAMES)}. "
            f"Received: strategy={strategy!r}"
        )
    return _FACTORIES[strategy](**options)


__all__ = [
    "NSGA2",
    "RandomSearch",
    "RegularizedEvolution",
    "STRATEGY_NAMES",
    "Strategy",
    "WarmStart",
    "get",
]
