"""Run a plan in order: retries for the transient, skips for the dependants of a
failure, and a report that says what happened to every action."""

from __future__ import annotations

import enum
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from reconciler.apply import _batch as _batch_ops
from reconciler.apply import _fs_ops, _tmux_ops
from reconciler.apply._errors import ActionError, TransientError
from reconciler.desired import DesiredState
from reconciler.plan import (
    Action,
    Conflict,
    CreateSession,
    EnsureSafetyHook,
    KillSession,
    LaunchClaude,
    MakeDir,
    MergeIntoShared,
    MoveAside,
    Plan,
    RememberSession,
    StopClaude,
    Symlink,
)
from reconciler.statedir import StateDir

FAULT_ENV = "RECONCILER_FAULT_KILL_AFTER"
"""Test hook, off by default: SIGKILL this process after that many actions ran."""


class Status(enum.Enum):
    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Result:
    action: Action
    status: Status
    message: str = ""
    attempts: int = 1
    seconds: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_wait: float = 0.1
    max_wait: float = 2.0


@dataclass(frozen=True)
class Report:
    results: tuple[Result, ...]
    conflicts: tuple[Conflict, ...] = ()
    blocked: tuple[tuple[Action, str], ...] = field(default=())

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status is status)

    @property
    def ok(self) -> bool:
        return not self.conflicts and self.count(Status.FAILED) == 0

    def counts(self) -> dict[str, int]:
        return {s.value: self.count(s) for s in Status}

    def recap(self) -> str:
        parts = [f"{self.count(s)} {s.value}" for s in Status]
        tail = f"; {len(self.conflicts)} conflict(s)" if self.conflicts else ""
        return "Apply: " + ", ".join(parts) + tail + "."


def _execute(action: Action, desired: DesiredState, state: StateDir) -> bool:
    """Dispatch to the executor of the action's type; True when it changed something."""
    match action:
        case MakeDir():
            return _fs_ops.make_dir(action)
        case MoveAside():
            return _fs_ops.move_aside(action)
        case MergeIntoShared():
            return _fs_ops.merge_into_shared(action)
        case Symlink():
            return _fs_ops.symlink(action)
        case EnsureSafetyHook():
            return _fs_ops.ensure_safety_hook(action)
        case RememberSession():
            return _tmux_ops.remember(state, action)
        case StopClaude():
            return _tmux_ops.stop_claude(action)
        case CreateSession():
            return _tmux_ops.create_session(desired, action)
        case KillSession():
            return _tmux_ops.kill_session(desired, action)
        case LaunchClaude():
            return _tmux_ops.launch_claude(desired, state, action)
    raise ActionError(f"no executor for {type(action).__name__}")


def _batch(actions: list[Action], desired: DesiredState, state: StateDir) -> dict[str, object]:
    """Outcomes by key for a group of same-kind actions run together."""
    first = actions[0]
    if isinstance(first, CreateSession):
        return dict(_batch_ops.create_sessions(desired, actions))  # type: ignore[arg-type]
    if isinstance(first, KillSession):
        return dict(_batch_ops.kill_sessions(desired, actions))  # type: ignore[arg-type]
    if isinstance(first, StopClaude):
        return dict(_batch_ops.stop_claudes(actions))  # type: ignore[arg-type]
    return dict(_batch_ops.launch_claudes(desired, state, actions))  # type: ignore[arg-type]


_BATCHABLE = (CreateSession, KillSession, StopClaude, LaunchClaude)


def _groups(actions: tuple[Action, ...], batching: bool) -> list[list[Action]]:
    """Runs of same-kind batchable actions that do not depend on each other."""
    groups: list[list[Action]] = []
    for action in actions:
        last = groups[-1] if groups else None
        if (batching and last is not None and isinstance(action, _BATCHABLE)
                and type(last[0]) is type(action)
                and not set(action.depends_on) & {a.key for a in last}):
            last.append(action)
        else:
            groups.append([action])
    return groups


def apply_plan(
    plan: Plan,
    desired: DesiredState,
    state: StateDir,
    *,
    retry: RetryPolicy | None = None,
    on_result: Callable[[Result], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Report:
    """Run every action in order; ``should_stop`` is asked between actions (SIGTERM)."""
    policy = retry or RetryPolicy()
    down: set[str] = set()
    results: list[Result] = []
    fault_after = int(os.environ.get(FAULT_ENV, "0") or 0)
    for group in _groups(plan.actions, batching=not fault_after):
        ready: list[Action] = []
        for action in group:
            failed_dep = next((d for d in action.depends_on if d in down), None)
            if should_stop is not None and should_stop():
                skipped = Result(action, Status.SKIPPED, "stopping", attempts=0)
            elif failed_dep is not None:
                skipped = Result(action, Status.SKIPPED, f"{failed_dep} did not succeed", 0)
            else:
                ready.append(action)
                continue
            down.add(action.key)
            results.append(skipped)
            if on_result is not None:
                on_result(skipped)
        for result in _run_group(ready, desired, state, policy):
            if result.status is Status.FAILED:
                down.add(result.action.key)
            results.append(result)
            if on_result is not None:
                on_result(result)
            if fault_after and len(results) >= fault_after:
                os.kill(os.getpid(), signal.SIGKILL)
    return Report(tuple(results), plan.conflicts, plan.blocked)


def _run_group(
    group: list[Action], desired: DesiredState, state: StateDir, policy: RetryPolicy
) -> list[Result]:
    """A batch when there are several; anything transient is retried one by one."""
    if len(group) < 2:
        return [_run_one(a, desired, state, policy) for a in group]
    started = time.monotonic()
    try:
        outcomes = _batch(group, desired, state)
    except (TransientError, OSError):
        outcomes = {}
    seconds = time.monotonic() - started
    results = []
    for action in group:
        outcome = outcomes.get(action.key)
        if isinstance(outcome, bool):
            status = Status.CHANGED if outcome else Status.OK
            results.append(Result(action, status, "", 1, seconds))
        elif isinstance(outcome, ActionError):
            results.append(Result(action, Status.FAILED, str(outcome), 1, seconds))
        else:
            results.append(_run_one(action, desired, state, policy))
    return results


def _run_one(action: Action, desired: DesiredState, state: StateDir, policy: RetryPolicy) -> Result:
    started = time.monotonic()
    attempts = 0
    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait_exponential(multiplier=policy.first_wait, max=policy.max_wait),
        retry=retry_if_exception_type((TransientError, BlockingIOError, InterruptedError)),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                attempts = attempt.retry_state.attempt_number
                changed = _execute(action, desired, state)
    except (ActionError, TransientError, OSError) as exc:
        return Result(action, Status.FAILED, str(exc), attempts, time.monotonic() - started)
    status = Status.CHANGED if changed else Status.OK
    return Result(action, status, "", attempts, time.monotonic() - started)
