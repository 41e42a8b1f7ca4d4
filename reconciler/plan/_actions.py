"""Actions: what the applier will do, as data. No behaviour lives here.

Each action has a unique ``key`` that others name in ``depends_on``; a failed
or blocked action takes exactly its dependants down with it and nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


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
class MoveAside(Action):
    """A file stands where a directory or link belongs: move it into ``backup``."""

    path: Path
    backup: Path


@dataclass(frozen=True, kw_only=True)
class Symlink(Action):
    """Make ``path`` a symlink to ``target``, replacing an old link atomically."""

    path: Path
    target: Path


@dataclass(frozen=True, kw_only=True)
class RememberSession(Action):
    """Record a Claude's session id before it is stopped, so a crash cannot lose it."""

    target: str
    session_id: str
    cwd: str
    account: str
    pid: int


@dataclass(frozen=True, kw_only=True)
class StopClaude(Action):
    """SIGTERM, wait ``timeout``, then SIGKILL; the pane's shell stays."""

    target: str
    pane_id: str
    pid: int
    timeout: float


@dataclass(frozen=True, kw_only=True)
class CreateSession(Action):
    name: str
    cwd: Path


@dataclass(frozen=True, kw_only=True)
class KillSession(Action):
    name: str


@dataclass(frozen=True, kw_only=True)
class LaunchClaude(Action):
    """Type ``line`` into the pane's shell and wait for Claude to show up."""

    target: str
    session_name: str
    pane_id: str | None
    """None for a session this plan creates: its only pane is used."""
    cwd: str
    account: str
    session_id: str
    resume: bool
    line: str
    start_timeout: float


@dataclass(frozen=True, kw_only=True)
class EnsureSafetyHook(Action):
    """Merge a PreToolUse hook into a project's settings; other settings are kept."""

    settings: Path
    matcher: str
    command: str


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

    @property
    def changes(self) -> int:
        return len(self.actions)

    def counts(self) -> dict[Kind, int]:
        counts = dict.fromkeys(Kind, 0)
        for action in self.actions:
            counts[action.kind] += 1
        return counts
