"""Actions: what the applier will do, as data. No behaviour lives here.

Each action has a unique ``key`` that others name in ``depends_on``; a failed
or blocked action takes exactly its dependants down with it and nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from reconciler.claudecode import ENV_FILE_SHOWN, REDACTED, SessionId, launch_line


class Kind(enum.Enum):
    CREATE = "create"
    CHANGE = "change"
    DESTROY = "destroy"
    RELAUNCH = "relaunch"


SYMBOLS = {Kind.CREATE: "+", Kind.CHANGE: "~", Kind.DESTROY: "-", Kind.RELAUNCH: "↻"}


@dataclass(frozen=True, kw_only=True)
class Action:
    key: str
    kind: Kind
    description: str
    depends_on: tuple[str, ...] = ()

    bookkeeping: ClassVar[bool] = False
    """The reconciler's own record, not a change to the world: shown, never counted."""


@dataclass(frozen=True, kw_only=True)
class MakeDir(Action):
    path: Path


@dataclass(frozen=True, kw_only=True)
class MergeIntoShared(Action):
    """Move every file of ``source`` into ``dest``; a clash goes to ``backup``."""

    source: Path
    dest: Path
    backup: Path


@dataclass(frozen=True, kw_only=True)
class Symlink(Action):
    """Make ``path`` a symlink to ``target``, replacing an old link atomically."""

    path: Path
    target: Path


@dataclass(frozen=True, kw_only=True)
class RememberSession(Action):
    """Record a Claude's session id before it is stopped, so a crash cannot lose it."""

    bookkeeping: ClassVar[bool] = True

    target: str
    session_id: SessionId
    cwd: str
    account: str
    pid: int
    cut: str = ""
    """The turn the stop cuts (or the limit cut), continued by the relaunch; empty when
    the Claude had finished its turn."""
    why: str = ""
    """``limit``, ``cut`` or ``turn`` (see ``LaunchRecord.why``)."""


@dataclass(frozen=True, kw_only=True)
class AwaitTurn(Action):
    """A Claude that must move is mid-turn: record since when its move waits, so the
    wait is bounded (``failover.move_wait``) across cycles and restarts."""

    bookkeeping: ClassVar[bool] = True

    target: str
    pid: int
    start: int
    since: str


@dataclass(frozen=True)
class Waiting:
    """A Claude whose move waits for its turn to end: shown by the plan, ``status`` and
    ``top``; at ``until`` its turn is cut and continued on the new account."""

    target: str
    pid: int
    account: str
    to: str
    status: str
    since: datetime
    until: datetime


@dataclass(frozen=True, kw_only=True)
class StopClaude(Action):
    """SIGTERM, wait ``timeout``, then SIGKILL; the pane's shell stays.

    ``pid`` and ``start`` name the process for good: if that pid is another process
    by the time we act (pids are reused), nothing is signalled.
    """

    target: str
    pane_id: str
    pid: int
    start: int
    timeout: float
    shell_pid: int
    tty: str
    """The pane's terminal, whose unread input is flushed while the pane is held."""


@dataclass(frozen=True, kw_only=True)
class ReleaseInput(Action):
    """Give back the keyboard of a pane an interrupted apply left held."""

    target: str
    pane_id: str


@dataclass(frozen=True, kw_only=True)
class CreateSession(Action):
    name: str
    cwd: Path
    pool: bool = False
    """A session of the autonomous pool: remembered, so the pool may shrink it later."""


@dataclass(frozen=True, kw_only=True)
class KillSession(Action):
    name: str


@dataclass(frozen=True, kw_only=True)
class LaunchClaude(Action):
    """Type the launch line into the pane's shell and wait for Claude to show up.

    The line is built by the applier from these fields and ``launch.env``, so the
    values of ``launch.env`` never sit in a plan, its JSON or a log: ``line`` below is
    the redacted form for people to read.
    """

    target: str
    session_name: str
    pane_id: str | None
    """None for a session this plan creates: its only pane is used."""
    shell_pid: int | None
    """The pane's shell when the plan was made (None for a session it creates)."""
    cwd: str
    account: str
    home: Path
    session_id: SessionId
    resume: bool
    command: tuple[str, ...]
    env_names: tuple[str, ...]
    start_timeout: float
    message: str | None = None
    """The resumed session's first prompt, continuing the turn the move (or the limit)
    cut; None when the Claude had finished its turn."""
    cut: str = ""
    """The cut turn the message continues (kept in the launch record: never twice)."""
    moved_from: str = ""
    why: str = ""

    @property
    def line(self) -> str:
        shown = (f"{ENV_FILE_SHOWN[:-1]}: {', '.join(f'{n}={REDACTED}' for n in self.env_names)}>"
                 if self.env_names else None)
        return launch_line(command=self.command, home=self.home, cwd=self.cwd,
                           session=self.session_id, resume=self.resume, env_file=shown,
                           message=self.message)


@dataclass(frozen=True, kw_only=True)
class EnsureSafetyHook(Action):
    """Merge a PreToolUse hook into a project's settings; other settings are kept."""

    settings: Path
    matcher: str
    command: str


@dataclass(frozen=True, kw_only=True)
class InstallSignals(Action):
    """Claude's own signals in an account's ``settings.json``: a StopFailure hook and a
    status-line wrapper that still runs the user's own status line. Everything else in
    the file is kept; ``reconcile signals remove`` gives the user's status line back."""

    account: str
    settings: Path
    stop_failure: str
    status_line: str


@dataclass(frozen=True, kw_only=True)
class CarryAcceptances(Action):
    """Acceptances the user already gave (in another account, or ``trust: true``) merged
    into this account's config, key by key under Claude's own lock: a Claude resumed here
    then starts without the trust prompt or the bypass disclaimer."""

    account: str
    config: Path
    """The home's ``.claude.json`` (project trust)."""
    settings: Path
    """The home's ``settings.json`` (the bypass disclaimer)."""
    trust: tuple[str, ...] = ()
    bypass: bool = False


@dataclass(frozen=True)
class Conflict:
    """Something the reconciler will not do on its own; the user must decide."""

    key: str
    message: str


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    blocked: tuple[tuple[Action, str], ...] = field(default=())
    """Actions left out because something they depend on is a conflict."""
    notes: tuple[str, ...] = ()
    """Values the observer or planner ignored, with the reason (shown, never acted on)."""
    waiting: tuple[Waiting, ...] = ()
    """Claudes whose move waits for their turn to end (nothing is done to them now)."""

    @property
    def changes(self) -> int:
        """Changes to the world; the reconciler's own records are not counted."""
        return sum(not a.bookkeeping for a in self.actions)

    def counts(self) -> dict[Kind, int]:
        counts = dict.fromkeys(Kind, 0)
        for action in self.actions:
            if not action.bookkeeping:
                counts[action.kind] += 1
        return counts
