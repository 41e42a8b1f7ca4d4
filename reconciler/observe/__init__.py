"""Observe: read-only facts about links, homes, tmux, processes and Claude's registry.

Nothing here changes the world or starts a tmux server.
"""

from reconciler.observe._model import (
    ClaudeFact,
    Observed,
    PaneFact,
    PathFact,
    PathKind,
    StaleSession,
    TmuxFact,
    TmuxStatus,
    pane_target,
)
from reconciler.observe._observe import observe
from reconciler.observe._procs import ProcessTable
from reconciler.observe._settings import SettingsFact, SettingsState, has_hook
from reconciler.observe._tmux import (
    capture_panes,
    chunked,
    observe_tmux,
    run_chained,
    run_tmux,
)
from reconciler.statedir import LaunchRecord

__all__ = [
    "ClaudeFact",
    "LaunchRecord",
    "Observed",
    "PaneFact",
    "PathFact",
    "PathKind",
    "ProcessTable",
    "SettingsFact",
    "SettingsState",
    "StaleSession",
    "TmuxFact",
    "TmuxStatus",
    "capture_panes",
    "chunked",
    "has_hook",
    "observe",
    "observe_tmux",
    "pane_target",
    "run_chained",
    "run_tmux",
]
