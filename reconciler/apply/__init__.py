"""Apply: run a plan's actions in order with retries, under one lock per state dir."""

from reconciler.apply._errors import ActionError, TransientError
from reconciler.apply._lock import LockTimeoutError, state_lock
from reconciler.apply._runner import (
    FAULT_ENV,
    Report,
    Result,
    RetryPolicy,
    Status,
    apply_plan,
)

__all__ = [
    "FAULT_ENV",
    "ActionError",
    "LockTimeoutError",
    "Report",
    "Result",
    "RetryPolicy",
    "Status",
    "TransientError",
    "apply_plan",
    "state_lock",
]
