"""Apply: the only hands. Runs a plan's actions in order, one executor per action kind
taking a batch, with retries, under one lock per state dir."""

from reconciler.apply._context import FAULT_ENV, TRACE_ENV, ExecContext
from reconciler.apply._errors import ActionError, RefusedError, TransientError
from reconciler.apply._executors import EXECUTORS
from reconciler.apply._lock import LockTimeoutError, state_lock
from reconciler.apply._runner import (
    Report,
    Result,
    RetryPolicy,
    Status,
    apply_plan,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from reconciler.apply._adopt import AdoptPlan, carry_out, plan_adopt
    from reconciler.apply._claude_config import remove_signals
    from reconciler.apply._json_file import edit_json

_LAZY = {"remove_signals": "_claude_config", "AdoptPlan": "_adopt", "carry_out": "_adopt",
         "plan_adopt": "_adopt", "edit_json": "_json_file"}


def __getattr__(name: str) -> object:
    """The settings editor and adopt load only when asked (PEP 562)."""
    if name in _LAZY:
        import importlib  # noqa: PLC0415

        return getattr(importlib.import_module(f"reconciler.apply.{_LAZY[name]}"), name)
    raise AttributeError(name)


__all__ = [
    "EXECUTORS",
    "FAULT_ENV",
    "TRACE_ENV",
    "ActionError",
    "AdoptPlan",
    "ExecContext",
    "LockTimeoutError",
    "RefusedError",
    "Report",
    "Result",
    "RetryPolicy",
    "Status",
    "TransientError",
    "apply_plan",
    "carry_out",
    "edit_json",
    "plan_adopt",
    "remove_signals",
    "state_lock",
]
