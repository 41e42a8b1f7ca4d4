"""Plan: a pure function from (desired, observed) to ordered actions. No I/O here."""

from reconciler.plan._accounts import account_refusal
from reconciler.plan._actions import (
    SYMBOLS,
    Action,
    AwaitTurn,
    CarryAcceptances,
    Conflict,
    CreateSession,
    EnsureSafetyHook,
    InstallSignals,
    KillSession,
    Kind,
    LaunchClaude,
    MakeDir,
    MergeIntoShared,
    Plan,
    ReleaseInput,
    RememberSession,
    StopClaude,
    Symlink,
    Waiting,
)
from reconciler.plan._files import BACKUP_SUFFIX, backup_root
from reconciler.plan._input import line_is_empty, still_a_prompt, typing_blocker
from reconciler.plan._planner import plan

__all__ = [
    "BACKUP_SUFFIX",
    "SYMBOLS",
    "Action",
    "AwaitTurn",
    "CarryAcceptances",
    "Conflict",
    "CreateSession",
    "EnsureSafetyHook",
    "InstallSignals",
    "KillSession",
    "Kind",
    "LaunchClaude",
    "MakeDir",
    "MergeIntoShared",
    "Plan",
    "ReleaseInput",
    "RememberSession",
    "StopClaude",
    "Symlink",
    "Waiting",
    "account_refusal",
    "backup_root",
    "line_is_empty",
    "plan",
    "still_a_prompt",
    "typing_blocker",
]
