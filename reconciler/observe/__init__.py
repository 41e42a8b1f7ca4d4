"""Observe: read-only facts about links, homes, tmux, processes and Claude's registry.

Nothing here changes the world or starts a tmux server; tmux is read through the
one tmux module, processes through the one process table, which the applier uses
for its own last-moment checks too.
"""

from reconciler.observe._accounts import AccountFact, observe_account
from reconciler.observe._model import (
    ClaudeFact,
    LiveSession,
    Observed,
    PaneFact,
    PaneInput,
    PathFact,
    PathKind,
    StaleSession,
    TmuxFact,
    TmuxStatus,
    pane_target,
)
from reconciler.observe._observe import observe, signal_commands, with_turns
from reconciler.observe._panes import (
    capture_panes,
    cursor_line,
    observe_tmux,
    parse_captures,
    parse_panes,
    parse_row,
)
from reconciler.observe._procs import (
    ClaudeProcess,
    Identity,
    PaneProcesses,
    ProcessTable,
    ProcStat,
    environ_value,
    parse_stat,
    read_stat,
)
from reconciler.observe._settings import SettingsFact, SettingsState, has_hook
from reconciler.statedir import LaunchRecord, PromptRecord

__all__ = [
    "AccountFact",
    "ClaudeFact",
    "ClaudeProcess",
    "Identity",
    "LaunchRecord",
    "LiveSession",
    "Observed",
    "PaneFact",
    "PaneInput",
    "PaneProcesses",
    "PathFact",
    "PathKind",
    "ProcStat",
    "ProcessTable",
    "PromptRecord",
    "SettingsFact",
    "SettingsState",
    "StaleSession",
    "TmuxFact",
    "TmuxStatus",
    "capture_panes",
    "claude_word",
    "cursor_line",
    "environ_value",
    "has_hook",
    "launcher_missing",
    "login_shell_finds",
    "observe",
    "observe_account",
    "observe_tmux",
    "pane_target",
    "parse_captures",
    "parse_panes",
    "parse_row",
    "parse_stat",
    "read_stat",
    "signal_commands",
    "with_turns",
]
