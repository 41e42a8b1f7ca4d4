"""Observed facts: what the filesystem, tmux and processes look like right now.

Read-only snapshots. The planner takes these and the desired state and nothing
else, so every fact it needs must be in here, including the clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reconciler.observe._settings import SettingsFact
from reconciler.statedir import LaunchRecord


class PathKind(enum.Enum):
    MISSING = "missing"
    LINK = "link"
    DIR = "dir"
    FILE = "file"


@dataclass(frozen=True)
class PathFact:
    path: Path
    kind: PathKind
    target: Path | None = None
    """For a link: where it points, made absolute against the link's directory."""
    file_count: int = 0
    """For a real directory: files below it (what a merge would move)."""

    def links_to(self, target: Path) -> bool:
        return self.kind is PathKind.LINK and self.target == target


class TmuxStatus(enum.Enum):
    UP = "up"
    DOWN = "down"
    """No server on the socket: sessions are missing, not unwanted."""
    ERROR = "error"
    """tmux did not answer: nothing may be concluded about sessions."""


@dataclass(frozen=True)
class ClaudeFact:
    pid: int
    argv: tuple[str, ...]
    config_dir: Path | None
    """``CLAUDE_CONFIG_DIR`` of the process; None means it fell back to the link."""
    account: str | None
    """The account whose home ``config_dir`` is; None when it matches none."""
    session_id: str | None
    status: str | None
    cwd: str | None


@dataclass(frozen=True)
class PaneFact:
    session_name: str
    ordinal: int
    """Position of the pane in its session (window, then pane order), from 0."""
    window_index: int
    pane_index: int
    pane_id: str
    pane_pid: int
    cwd: str
    claude: ClaudeFact | None = None
    foreground: bool = False
    """Something other than the shell and Claude runs in the pane: do not type into it."""
    text: str | None = None
    """Tail of the pane text, captured only where the planner may need it."""

    @property
    def target(self) -> str:
        """Stable name of the pane for launch records: tmux pane ids change on restart."""
        return pane_target(self.session_name, self.ordinal)


def pane_target(session_name: str, ordinal: int = 0) -> str:
    return f"{session_name}/{ordinal}"


@dataclass(frozen=True)
class TmuxFact:
    status: TmuxStatus
    panes: tuple[PaneFact, ...] = ()
    error: str = ""

    def sessions(self) -> dict[str, tuple[PaneFact, ...]]:
        """Panes by session name, each session's first pane first."""
        grouped: dict[str, list[PaneFact]] = {}
        for pane in sorted(self.panes, key=lambda p: p.ordinal):
            grouped.setdefault(pane.session_name, []).append(pane)
        return {name: tuple(panes) for name, panes in grouped.items()}


@dataclass(frozen=True)
class StaleSession:
    """A ``sessions/<pid>.json`` whose process is gone (killed before it could clean up)."""

    pid: int
    session_id: str
    cwd: str


@dataclass(frozen=True)
class Observed:
    now: datetime
    link: PathFact
    homes: dict[str, PathFact]
    home_entries: dict[tuple[str, str], PathFact]
    shared_dir: PathFact
    shared_entries: dict[str, PathFact]
    projects: dict[str, PathFact]
    """Dedicated projects by session name (a missing project cannot host a session)."""
    tmux: TmuxFact
    records: dict[str, LaunchRecord] = field(default_factory=dict)
    transcripts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Session ids with a transcript, newest first, by cwd."""
    stale_sessions: dict[int, StaleSession] = field(default_factory=dict)
    project_settings: dict[str, SettingsFact] = field(default_factory=dict)
    """Dedicated session name -> its project's settings, read only when a safety hook is set."""
