"""The desired state as frozen values: what the user asked for, paths expanded."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Account:
    name: str
    home: Path


@dataclass(frozen=True)
class SharedSpec:
    dir: Path
    entries: tuple[str, ...]


@dataclass(frozen=True)
class TmuxSpec:
    socket_name: str | None = None
    socket_path: Path | None = None

    def server_args(self) -> tuple[str, ...]:
        """The ``-L``/``-S`` arguments that select this tmux server."""
        if self.socket_path is not None:
            return ("-S", str(self.socket_path))
        if self.socket_name is not None:
            return ("-L", self.socket_name)
        return ()


@dataclass(frozen=True)
class AutonomousPool:
    prefix: str
    start_index: int
    min: int
    max: int
    cwd: Path

    def name(self, index: int) -> str:
        return f"{self.prefix}{index}"

    def index_of(self, session_name: str) -> int | None:
        """The pool index of a session name, or None when the pool does not own it."""
        match = re.fullmatch(re.escape(self.prefix) + r"(\d{1,6})", session_name)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class DedicatedSession:
    name: str
    project: Path
    resume: bool = True


@dataclass(frozen=True)
class LaunchSpec:
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    stop_timeout: float = 10.0
    start_timeout: float = 10.0


@dataclass(frozen=True)
class SafetyHook:
    """A PreToolUse hook that must be in a dedicated project's settings before Claude runs."""

    matcher: str
    command: str


@dataclass(frozen=True)
class DesiredState:
    source: Path
    digest: str
    active_account: str
    accounts: tuple[Account, ...]
    link: Path
    shared: SharedSpec
    tmux: TmuxSpec
    autonomous: AutonomousPool | None
    dedicated: tuple[DedicatedSession, ...]
    launch: LaunchSpec
    safety_hook: SafetyHook | None = None
    raw: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
    """The validated document, for layers that read their own sections."""

    @property
    def active(self) -> Account:
        return self.account(self.active_account)

    def account(self, name: str) -> Account:
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(name)

    def managed(self, session_name: str) -> bool:
        """Sessions outside these names are never touched."""
        if any(d.name == session_name for d in self.dedicated):
            return True
        return self.autonomous is not None and self.autonomous.index_of(session_name) is not None
