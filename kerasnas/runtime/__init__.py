"""The search runtime: journal, trial records, search directory, progress."""

from kerasnas.runtime.directory import SearchDirectory
from kerasnas.runtime.journal import Journal
from kerasnas.runtime.records import COMPLETED, FAILED, REJECTED, TrialRecord

__all__ = ["COMPLETED", "FAILED", "Journal", "REJECTED", "SearchDirectory", "TrialRecord"]
