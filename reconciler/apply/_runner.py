"""Run a plan in order: runs of same-kind actions as one batch, retries for the transient,
skips for the dependants of a failure, and a report that says what happened to each.

There is one executor per action kind and it always takes a batch (a single action
is a batch of one), so the path a test crashes is the path production runs.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reconciler.apply._context import Checkpoints, ExecContext, Executor, Outcome
from reconciler.apply._executors import EXECUTORS
from reconciler.desired import DesiredState
from reconciler.errors import RefusedError, TransientError
from reconciler.observe import Identity
from reconciler.plan import Action, Conflict, Plan
from reconciler.statedir import StateDir

_TRANSIENT = (TransientError, BlockingIOError, InterruptedError)
PROGRESS_AFTER = 1.0
"""Seconds a batch runs before a person at a terminal is told it is still working."""


class Status(enum.Enum):
    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    REFUSED = "refused"
    """Not safe to do now (text at a prompt, a pane in copy mode...): nothing was done."""
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
        return not self.conflicts and not self.count(Status.FAILED) + self.count(Status.REFUSED)

    def counts(self) -> dict[str, int]:
        return {s.value: self.count(s) for s in Status}

    def recap(self) -> str:
        parts = [f"{self.count(s)} {s.value}" for s in Status]
        tail = f"; {len(self.conflicts)} conflict(s)" if self.conflicts else ""
        return "Apply: " + ", ".join(parts) + tail + "."


def _groups(actions: tuple[Action, ...]) -> list[list[Action]]:
    """Runs of same-kind actions that do not depend on each other."""
    groups: list[list[Action]] = []
    for action in actions:
        last = groups[-1] if groups else None
        if (last is not None and type(last[0]) is type(action)
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
    on_progress: Callable[[str], None] | None = None,
) -> Report:
    """Run every action in order; ``should_stop`` is asked between batches (SIGTERM);
    ``on_progress`` hears once about a batch still running after a second (a large
    merge, twenty Claudes stopping), so a person at a terminal knows it is not stuck."""
    policy = retry or RetryPolicy()
    ctx = ExecContext(desired, state, Identity.resolve(desired.launch.command),
                      checkpoint=Checkpoints())
    down: set[str] = set()
    results: list[Result] = []

    def emit(result: Result) -> None:
        if result.status in (Status.FAILED, Status.REFUSED, Status.SKIPPED):
            down.add(result.action.key)
        results.append(result)
        if on_result is not None:
            on_result(result)

    try:
        for group in _groups(plan.actions):
            _run_group(group, ctx, policy, down=down, emit=emit, should_stop=should_stop,
                       on_progress=on_progress)
    finally:
        if ctx.held:  # no keyboard stays held past the apply
            from reconciler.apply._keyboard import release  # noqa: PLC0415

            release(ctx, set(ctx.held))
    return Report(tuple(results), plan.conflicts, plan.blocked)


def _run_group(group: list[Action], ctx: ExecContext, policy: RetryPolicy, *, down: set[str],
               emit: Callable[[Result], None], should_stop: Callable[[], bool] | None,
               on_progress: Callable[[str], None] | None = None) -> None:
    """One run of same-kind actions: the ones whose dependencies held go as one batch."""
    ready: list[Action] = []
    for action in group:
        failed_dep = next((d for d in action.depends_on if d in down), None)
        if should_stop is not None and should_stop():
            emit(Result(action, Status.SKIPPED, "stopping", attempts=0))
        elif failed_dep is not None:
            emit(Result(action, Status.SKIPPED, f"{failed_dep} did not succeed", 0))
        else:
            ready.append(action)
    if not ready:
        return
    timer = None
    if on_progress is not None:
        what = ready[0].description if len(ready) == 1 else (
            f"{len(ready)} actions: {ready[0].description}, and {len(ready) - 1} more")
        timer = threading.Timer(PROGRESS_AFTER, on_progress, [f"still working: {what}"])
        timer.daemon = True
        timer.start()
    try:
        results = _run_batch(ready, ctx, policy)
    finally:
        if timer is not None:
            timer.cancel()
    for result in results:
        emit(result)


def _run_batch(batch: list[Action], ctx: ExecContext, policy: RetryPolicy) -> list[Result]:
    """The batch through its executor; what failed transiently goes again, as a smaller
    batch, with exponential back-off (tenacity), until it succeeds or attempts run out."""
    from tenacity import (  # noqa: PLC0415  (only when there is work)
        Retrying,
        retry_if_result,
        stop_after_attempt,
        wait_exponential,
    )

    execute = EXECUTORS[type(batch[0])]
    started = time.monotonic()
    final: dict[str, tuple[Outcome, int]] = {}
    remaining = list(batch)
    attempt = 0

    def once() -> list[Action]:
        nonlocal remaining, attempt
        attempt += 1
        outcomes = _outcomes(execute, remaining, ctx)
        again = []
        for action in remaining:
            outcome = outcomes.get(action.key, TransientError("no outcome"))
            final[action.key] = (outcome, attempt)
            if isinstance(outcome, _TRANSIENT):
                again.append(action)
        remaining = again
        return again

    Retrying(stop=stop_after_attempt(policy.attempts),
             wait=wait_exponential(multiplier=policy.first_wait, max=policy.max_wait),
             retry=retry_if_result(bool),
             retry_error_callback=lambda _state: None)(once)
    seconds = time.monotonic() - started
    return [_result(action, *final[action.key], seconds) for action in batch]


def _outcomes(execute: Executor, batch: Sequence[Action],  # type: ignore[type-arg]
              ctx: ExecContext) -> dict[str, Outcome]:
    """An executor's outcomes; an error it raises for the whole batch counts for each."""
    try:
        return execute(batch, ctx)
    except Exception as exc:  # noqa: BLE001  (turned into each action's outcome)
        return {action.key: exc for action in batch}


def _result(action: Action, outcome: Outcome, attempts: int, seconds: float) -> Result:
    if outcome is True or outcome is False:
        return Result(action, Status.CHANGED if outcome else Status.OK, "", attempts, seconds)
    status = Status.REFUSED if isinstance(outcome, RefusedError) else Status.FAILED
    message = str(outcome) or type(outcome).__name__
    return Result(action, status, message, attempts, seconds)
