"""Strategies: how to search. Pick one by name or pass an object."""

from __future__ import annotations

from kerasnas.strategies.bananas import Bananas
from kerasnas.strategies.base import Strategy
from kerasnas.strategies.evolution import RegularizedEvolution
from kerasnas.strategies.local_search import LocalSearch
from kerasnas.strategies.nsga2 import NSGA2
from kerasnas.strategies.random_search import RandomSearch
from kerasnas.strategies.warm_start import WarmStart
from kerasnas.validation import accepted_keywords, check_option_keys


def _rl(**options) -> Strategy:
    # TF-Agents (and legacy Keras) load only when the RL strategy is asked for.
    from kerasnas.strategies.rl.strategy import RLStrategy

    return _construct("rl", RLStrategy, options)


def _one_shot(name: str):
    # kerasnas.oneshot (supernets) loads only when a one-shot strategy is asked for.
    def factory(**options) -> Strategy:
        from kerasnas import oneshot

        cls = {"darts": oneshot.DARTS, "enas": oneshot.ENAS, "spos": oneshot.SPOS}[name]
        return _construct(name, cls, options)

    return factory


def _construct(name: str, cls, options: dict) -> Strategy:
    check_option_keys(
        "strategy_options", options, accepted_keywords(cls), f"strategy {name!r}"
    )
    return cls(**options)


_FACTORIES = {
    "random": RandomSearch,
    "evolution": RegularizedEvolution,
    "nsga2": NSGA2,
    "local_search": LocalSearch,
    "bananas": Bananas,
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
    factory = _FACTORIES[strategy]
    if isinstance(factory, type):
        return _construct(strategy, factory, options)
    return factory(**options)


__all__ = [
    "Bananas",
    "LocalSearch",
    "NSGA2",
    "RandomSearch",
    "RegularizedEvolution",
    "STRATEGY_NAMES",
    "Strategy",
    "WarmStart",
    "get",
]
