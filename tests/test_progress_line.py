"""The progress line: whole architecture tokens, and a first time estimate that is not inflated."""

import io
import re
import time

from kerasnas import Objective
from kerasnas.runtime.progress import ProgressPrinter, shorten
from kerasnas.trial import TrialRecord


def record(number, duration):
    return TrialRecord(
        number=number,
        architecture={"n": number},
        status="completed",
        metrics={"val_accuracy": 0.5},
        duration_s=duration,
    )


def left_seconds(line):
    minutes, seconds = re.search(r"~(?:(\d+)m)?([\d.]+)s left", line).groups()
    return int(minutes or 0) * 60 + float(seconds)


def test_first_estimate_ignores_start_up_time():
    out = io.StringIO()
    progress = ProgressPrinter(Objective("val_accuracy"), max_trials=10, stream=out, bar=False)
    progress.start_time = time.time() - 32.0  # 30 s of start-up, then a 2 s trial
    progress.trial(record(0, 2.0), "dense64", done=1, best=None)
    estimate = left_seconds(out.getvalue())
    truth = 9 * 2.0
    assert truth / 2 <= estimate <= truth * 2, out.getvalue()


def test_estimate_accounts_for_parallel_workers():
    out = io.StringIO()
    progress = ProgressPrinter(
        Objective("val_accuracy"), max_trials=9, stream=out, bar=False, workers=2
    )
    progress.trial(record(0, 4.0), "dense64", done=1, best=None)
    assert 8 * 4.0 / 2 / 2 <= left_seconds(out.getvalue()) <= 8 * 4.0 / 2 * 2


def test_architectures_are_shortened_between_tokens():
    out = io.StringIO()
    progress = ProgressPrinter(Objective("val_accuracy"), max_trials=2, stream=out, bar=False)
    summary = " > ".join(f"conv5x{w}+bn/relu/d0.1" for w in (16, 32, 64, 128, 256))
    progress.trial(record(0, 1.0), summary, done=1, best=None)
    shown = out.getvalue().split("#0", 1)[1].split("val_accuracy=")[0].split()
    tokens = set(summary.split()) | {"…"}
    assert shown[-1] == "…" and set(shown) <= tokens
    assert shorten("abc def", 100) == "abc def"
