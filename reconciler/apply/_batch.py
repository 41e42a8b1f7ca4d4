"""Batch executors: many actions of one kind in one go.

Creating 50 sessions one tmux call each costs ~3x one chained call; relaunching
20 Claudes one after the other waits for 20 start-ups in a row. A batch does the
cheap part per action (checks) and the slow part once (one tmux invocation, one
SIGTERM wave, one shared wait). Each action still gets its own outcome.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import psutil

from reconciler.apply._errors import ActionError, TransientError
from reconciler.apply._tmux_ops import _process, record_launch
from reconciler.desired import DesiredState
from reconciler.observe import ProcessTable, TmuxStatus, observe_tmux, run_chained, run_tmux
from reconciler.plan import CreateSession, KillSession, LaunchClaude, StopClaude
from reconciler.statedir import StateDir

Outcome = bool | Exception
"""True changed, False already fine, an exception when that action failed."""


def _chained(desired: DesiredState, commands: Sequence[Sequence[str]]) -> None:
    done = run_chained(desired.tmux, commands)
    if done.returncode != 0:
        raise TransientError(f"tmux: {done.stderr.strip() or done.returncode}")


def _sessions(desired: DesiredState) -> set[str]:
    done = run_tmux(desired.tmux, "list-sessions", "-F", "#{session_name}")
    return set(done.stdout.split("\n")) if done.returncode == 0 else set()


def create_sessions(desired: DesiredState, actions: Sequence[CreateSession]) -> dict[str, Outcome]:
    existing = _sessions(desired)
    todo = [a for a in actions if a.name not in existing]
    if todo:
        _chained(desired, [["new-session", "-d", "-s", a.name, "-c", str(a.cwd),
                             "-x", "200", "-y", "50"] for a in todo])
    return {a.key: a.name not in existing for a in actions}


def kill_sessions(desired: DesiredState, actions: Sequence[KillSession]) -> dict[str, Outcome]:
    existing = _sessions(desired)
    todo = [a for a in actions if a.name in existing]
    if todo:
        _chained(desired, [["kill-session", "-t", f"={a.name}"] for a in todo])
    return {a.key: a.name in existing for a in actions}


def stop_claudes(actions: Sequence[StopClaude]) -> dict[str, Outcome]:
    """SIGTERM to all at once, one shared wait, SIGKILL for whoever is left."""
    processes = {a.key: _process(a.pid) for a in actions}
    alive = [p for p in processes.values() if p is not None]
    for process in alive:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            continue
    timeout = max(a.timeout for a in actions)
    _gone, left = psutil.wait_procs(alive, timeout=timeout)
    for straggler in left:
        try:
            straggler.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(left, timeout=3.0)
    return {key: process is not None for key, process in processes.items()}


def _panes(desired: DesiredState) -> tuple[dict[str, tuple[str, int]], dict[str, str]]:
    """pane id -> (session, shell pid), and each session's first pane, from one call."""
    tmux_fact = observe_tmux(desired.tmux)
    if tmux_fact.status is not TmuxStatus.UP:
        raise TransientError(f"tmux: {tmux_fact.error}")
    panes = {p.pane_id: (p.session_name, p.pane_pid) for p in tmux_fact.panes}
    first = {p.session_name: p.pane_id for p in tmux_fact.panes if p.ordinal == 0}
    return panes, first


def launch_claudes(
    desired: DesiredState, state: StateDir, actions: Sequence[LaunchClaude]
) -> dict[str, Outcome]:
    panes, first = _panes(desired)
    table = ProcessTable()
    outcomes: dict[str, Outcome] = {}
    waiting: dict[str, tuple[LaunchClaude, int]] = {}
    keys: list[list[str]] = []
    for action in actions:
        pane = action.pane_id or first.get(action.session_name)
        if pane is None or pane not in panes:
            outcomes[action.key] = TransientError(f"no pane for {action.target}")
            continue
        session, shell = panes[pane]
        if session != action.session_name:
            outcomes[action.key] = ActionError(f"pane {pane} is no longer in {action.session_name}")
            continue
        claude, other = table.under_pane(shell)
        home = str(desired.account(action.account).home)
        if claude is not None:
            if claude.config_dir == home:
                record_launch(state, action, claude.pid)
                outcomes[action.key] = False
            else:
                outcomes[action.key] = ActionError(
                    f"{action.target} already runs claude pid {claude.pid} elsewhere")
            continue
        if other:
            outcomes[action.key] = TransientError(f"{action.target} runs another program")
            continue
        keys += [["send-keys", "-t", pane, "-l", action.line], ["send-keys", "-t", pane, "Enter"]]
        waiting[action.key] = (action, shell)
    if keys:
        _chained(desired, keys)
    deadline = time.monotonic() + max((a.start_timeout for a, _ in waiting.values()), default=0)
    while waiting and time.monotonic() < deadline:
        time.sleep(0.03)
        table = ProcessTable()
        for key, (action, shell) in list(waiting.items()):
            claude, _other = table.under_pane(shell)
            if claude is not None and claude.config_dir is not None:
                record_launch(state, action, claude.pid)
                outcomes[key] = True
                del waiting[key]
    for key, (action, _shell) in waiting.items():
        outcomes[key] = ActionError(
            f"claude did not start in {action.target} within {action.start_timeout:g}s")
    return outcomes

