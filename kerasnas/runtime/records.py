"""Trial records: kept here for imports written before `kerasnas.trial` held them."""

from kerasnas.trial import (  # noqa: F401
    COMPLETED,
    FAILED,
    REJECTED,
    STATUSES,
    TrialRecord,
    is_architecture,
    is_trial_number,
    no_completed_trial_message,
)
