"""What the executors of one apply share, and the crash points they pass.

Every executor takes a batch of its action kind and this context; a single action
is a batch of one. Crash points (``checkpoint``) sit right after every effect inside
the batched executors, the path production runs: with ``RECONCILER_FAULT_KILL_AT=N``
the process SIGKILLs itself at the Nth one, which is how the tests prove that a crash
at any point of a swap loses no session id and never leaves the link missing.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from reconciler.desired import DesiredState
from reconciler.observe import Identity
from reconciler.plan import Action
from reconciler.statedir import PromptRecord, StateDir

FAULT_ENV = "RECONCILER_FAULT_KILL_AT"
"""Test hook, off by default: SIGKILL this process at that crash point (1-based)."""
TRACE_ENV = "RECONCILER_FAULT_TRACE"
"""Test hook, off by default: append the name of every crash point passed to that file."""

Outcome = bool | BaseException
"""True changed, False already fine, an exception when that action did not succeed."""
A = TypeVar("A", bound=Action)
Executor = Callable[[Sequence[A], "ExecContext"], dict[str, Outcome]]


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Checkpoints:
    """Counts crash points; kills the process at the one the fault hook names."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get(FAULT_ENV, "")
        self.kill_at = int(raw) if raw.isdigit() else 0
        self.trace = env.get(TRACE_ENV) or None
        self.passed = 0

    def __call__(self, name: str) -> None:
        self.passed += 1
        if self.trace is not None:
            with open(self.trace, "a", encoding="utf-8") as handle:  # noqa: PTH123
                handle.write(f"{self.passed} {name}\n")
        if self.passed == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class ExecContext:
    desired: DesiredState
    state: StateDir
    identity: Identity
    checkpoint: Callable[[str], None] = field(default_factory=Checkpoints)
    created: set[str] = field(default_factory=set)
    """Sessions this apply created."""
    prompts: dict[str, PromptRecord] = field(default_factory=dict)
    """Empty prompts learned during this apply, by pane target."""
    held: set[str] = field(default_factory=set)
    """Panes whose keyboard this apply holds (given back by the end of it)."""

    @property
    def server(self) -> tuple[str, ...]:
        return self.desired.tmux.server_args()

    def prompt_for(self, target: str, shell_pid: int,
                   stored: Mapping[str, PromptRecord]) -> str | None:
        """The empty prompt of ``target``'s shell: learned now, else ``stored`` (the state
        dir's), valid only for the shell it was learned from."""
        learned = self.prompts.get(target) or stored.get(target)
        return learned.prompt if learned is not None and learned.shell_pid == shell_pid else None

    def learned(self, records: Sequence[PromptRecord]) -> None:
        self.prompts.update({r.target: r for r in records})


def each(execute: Callable[[A], bool]) -> Executor[A]:
    """A batch executor for kinds with nothing to share between actions (files)."""

    def run(batch: Sequence[A], ctx: ExecContext) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        for action in batch:
            try:
                outcomes[action.key] = execute(action)
            except Exception as exc:  # noqa: BLE001  (one action's failure must not stop the rest)
                outcomes[action.key] = exc
            ctx.checkpoint(f"{type(action).__name__} {action.key}")
        return outcomes

    return run
