"""Apply: the only hands. Runs a plan's actions in order, one executor per action kind
taking a batch, with retries, under one lock per state dir."""

from reconciler.apply._context import FAULT_ENV, TRACE_ENV, ExecContext
from reconciler.apply._errors import ActionError, RefusedError, TransientError
from reconciler.apply._lock import LockTimeoutError, state_lock
from reconciler.apply._runner import (
    EXECUTORS,
    Report,
    Result,
    RetryPolicy,
    Status,
    apply_plan,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from reconciler.apply._claude_config import remove_signals


def __getattr__(name: str) -> object:
    """``remove_signals`` loads the settings editor only when asked (PEP 562)."""
    if name == "remove_signals":
        from reconciler.apply._claude_config import remove_signals  # noqa: PLC0415

        return remove_signals
    raise AttributeError(name)


__all__ = [
    "EXECUTORS",
    "FAULT_ENV",
    "TRACE_ENV",
    "ActionError",
    "ExecContext",
    "LockTimeoutError",
    "RefusedError",
    "Report",
    "Result",
    "RetryPolicy",
    "Status",
    "TransientError",
    "apply_plan",
    "remove_signals",
    "state_lock",
]
