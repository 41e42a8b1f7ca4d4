"""Observed facts: what the filesystem, tmux and processes look like right now.

Read-only snapshots. The planner takes these and the desired state and nothing
else, so every fact it needs must be in here, including the clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reconciler.claudecode import SessionId
from reconciler.observe._accounts import AccountFact
from reconciler.observe._settings import SettingsFact
from reconciler.signals import SignalCommands
from reconciler.statedir import ActiveRecord, LaunchRecord, LimitRecord, PromptRecord, TurnWait


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
    foreign_owner: int | None = None
    """For a directory another user owns: their uid (a shared dir or a home that is not
    ours is a conflict: its owner may read what every account writes, or swap it out)."""
    others_write: bool = False
    """For a directory: other users may write in it (mode o+w): anyone could plant a
    settings.json hook there, or a transcript Claude would resume."""

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
    """A Claude process, recognised by its executable (see ``claudecode``)."""

    pid: int
    start: int
    """Start time in clock ticks since boot: with the pid, names this process for good."""
    argv: tuple[str, ...]
    config_dir: Path | None
    """``CLAUDE_CONFIG_DIR`` of the process; None means it uses the link (``~/.claude``)."""
    account: str | None
    """The account whose home its config dir is (through the link when unset)."""
    session_id: SessionId | None
    status: str | None
    cwd: str | None
    cut_turn: str | None = None
    """Its last turn ended in a rate-limit error (``row:<uuid>`` of that row): the turn is
    continued when it moves. Read only for Claudes that are to move."""

    @property
    def idle(self) -> bool:
        """Between turns, by Claude's own word (``sessions/<pid>.json``): ``busy`` and
        ``waiting`` (at a permission prompt or a dialog) are mid-turn, and so is a Claude
        that says nothing (a move that can wait does not guess)."""
        return self.status == "idle"


@dataclass(frozen=True)
class PaneInput:
    """Who could type into a pane and whether tmux passes keys to it, read by tmux itself."""

    clients: int = 0
    """Clients attached to the pane's session now."""
    last_attached: str = ""
    """When a client last attached to the session (epoch seconds; empty: never)."""
    linked: bool = False
    """The window is also in another session, whose clients could type into it."""
    mode: bool = False
    """Copy mode, choose-tree and the like: keys go to tmux, not to the program."""
    dead: bool = False
    input_off: bool = False
    synchronized: bool = False
    """synchronize-panes: keys typed in another pane land in this one too."""
    held: bool = False
    """The reconciler holds this pane's input (``input_off`` is then its doing)."""
    cursor_x: int = 0
    cursor_y: int = 0

    def blocks_typing(self) -> str | None:
        """Why tmux would not deliver our keys to the program as typed, if it would not."""
        if self.mode:
            return "is in a tmux mode (copy mode, choose-tree, ...)"
        if self.dead:
            return "is dead (its program exited and remain-on-exit holds it)"
        if self.input_off and not self.held:
            return "has input disabled (select-pane -d)"
        if self.synchronized:
            return "has synchronize-panes on (keys typed elsewhere land there too)"
        return None


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
    tty: str = ""
    claude: ClaudeFact | None = None
    shell: bool = True
    """The pane's own process is a login shell (from /etc/shells), so it can take a line."""
    foreground: str | None = None
    """The program in the terminal's foreground when it is neither the shell at its prompt
    nor a Claude (``vim``, ``sleep``): nothing is typed while it runs."""
    others: bool = False
    """Processes besides the shell and Claude run in the pane (background jobs too)."""
    input: PaneInput = field(default_factory=PaneInput)
    text: str | None = None
    """Tail of the pane text, captured only where the planner may need it."""
    line: str | None = None
    """The logical line under the cursor (wrapped rows joined), captured with ``text``."""

    @property
    def target(self) -> str:
        """Stable name of the pane for records: tmux pane ids change on restart."""
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
    session_id: SessionId
    cwd: str


@dataclass(frozen=True)
class LiveSession:
    """A session a running Claude holds, from its ``sessions/<pid>.json``."""

    pid: int
    session_id: SessionId
    home: Path


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
    prompts: dict[str, PromptRecord] = field(default_factory=dict)
    """Empty prompts learned per pane target (valid for the recorded shell pid only)."""
    created: frozenset[str] = frozenset()
    """Session names the autonomous pool created."""
    transcripts: dict[str, tuple[SessionId, ...]] = field(default_factory=dict)
    """Session ids with a transcript, newest first, by cwd."""
    stale_sessions: dict[int, StaleSession] = field(default_factory=dict)
    live_sessions: dict[SessionId, LiveSession] = field(default_factory=dict)
    """Every session a running Claude holds, in any account home, in tmux or not."""
    project_settings: dict[str, SettingsFact] = field(default_factory=dict)
    """Dedicated session name -> its project's settings, read only when a safety hook is set."""
    notes: tuple[str, ...] = ()
    """Values the observer ignored (a session id that is not a UUID...), with the reason."""
    seed: str = ""
    """This host and state dir: new session ids are derived from it, so they are new per
    machine yet the same in a plan and in the apply that follows it."""
    accounts: dict[str, AccountFact] = field(default_factory=dict)
    """What each account home can take (login, trust, disclaimer, signals)."""
    signals: SignalCommands | None = None
    """The signal commands to install, when failover's signals are on."""
    one_directory: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """A directory -> the accounts whose homes resolve to it now, where more than one does
    (refused when the file is loaded, but a link can be made while the service runs)."""
    limits: dict[str, LimitRecord] = field(default_factory=dict)
    """The usage limits failover knows (``limits.json``): a Claude whose own account is
    limited moves at once, any other move waits for its turn to end."""
    active: ActiveRecord | None = None
    """Who made the active account active, when, and whether its moves may cut turns."""
    waits: dict[str, TurnWait] = field(default_factory=dict)
    """Moves waiting for a Claude's turn to end, by pane target."""

    def prompt_of(self, pane: PaneFact) -> str | None:
        """The empty prompt learned for this pane's current shell, if any."""
        record = self.prompts.get(pane.target)
        return record.prompt if record is not None and record.shell_pid == pane.pane_pid else None
