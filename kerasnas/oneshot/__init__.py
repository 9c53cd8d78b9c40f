"""One-shot NAS: weight-sharing supernets searched by DARTS, ENAS and SPOS.

`kerasnas.search(..., strategy="darts" | "enas" | "spos")` trains a
supernet of the space, derives the best architecture(s) and retrains them
from scratch as ordinary trials (standalone functional models, exported
like any other). See `OneShotStrategy` for the journal events and resume.
"""

from kerasnas.oneshot.base import OneShotStrategy
from kerasnas.oneshot.darts import DARTS
from kerasnas.oneshot.driver import run_one_shot
from kerasnas.oneshot.enas import ENAS
from kerasnas.oneshot.evaluator import SupernetEvaluator
from kerasnas.oneshot.spos import SPOS
from kerasnas.oneshot.supernet import ChoicePoint, Supernet, build_supernet, check_supported
from kerasnas.oneshot.training import SupernetTrainer

__all__ = [
    "DARTS",
    "ENAS",
    "SPOS",
    "ChoicePoint",
    "OneShotStrategy",
    "Supernet",
    "SupernetEvaluator",
    "SupernetTrainer",
    "build_supernet",
    "check_supported",
    "run_one_shot",
]
