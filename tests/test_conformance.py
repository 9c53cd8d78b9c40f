"""Every strategy that searches without a supernet keeps the strategy contract (issue 15)."""

import pytest

import kerasnas
from kerasnas.testing import conformance

# One-shot strategies need data to train a supernet: tests/test_oneshot.py covers them.
ONE_SHOT = {"darts", "enas", "spos"}
BLACK_BOX = [name for name in kerasnas.strategies.STRATEGY_NAMES if name not in ONE_SHOT]
FAST = [name for name in BLACK_BOX if name != "rl"]


@pytest.mark.parametrize("check", conformance.CHECKS)
@pytest.mark.parametrize("name", FAST)
def test_strategy_keeps_the_contract(name, check):
    conformance.check_strategy(lambda: kerasnas.strategies.get(name), budget=40, checks=[check])


@pytest.mark.slow
@pytest.mark.parametrize("check", conformance.CHECKS)
def test_rl_keeps_the_contract(check):
    conformance.check_strategy(
        lambda: kerasnas.strategies.get("rl", batch_size=4), budget=16, checks=[check]
    )


def test_the_contract_catches_a_strategy_that_breaks_it():
    class Forgetful(kerasnas.strategies.RandomSearch):
        """Ignores the history: proposes the same few architectures again and again."""

        def ask(self, history, rng):
            import numpy as np

            return self.space.sample(np.random.default_rng(len(history) % 3))

    with pytest.raises(AssertionError, match="duplicate"):
        conformance.check_strategy(Forgetful, budget=20, checks=["no_duplicate_proposals"])
