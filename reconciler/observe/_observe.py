"""observe(desired, state) -> Observed: every fact the planner needs, read-only."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from reconciler.claudecode import session_id_from_argv
from reconciler.desired import DesiredState
from reconciler.observe._fs import dir_fact, link_fact
from reconciler.observe._model import ClaudeFact, Observed, PaneFact, TmuxFact, TmuxStatus
from reconciler.observe._procs import ProcessTable
from reconciler.observe._registry import account_of, session_file, stale_sessions, transcripts
from reconciler.observe._settings import SettingsFact, observe_settings
from reconciler.observe._tmux import capture_panes, observe_tmux
from reconciler.statedir import LaunchRecord, StateDir


def _claude_fact(desired: DesiredState, table: ProcessTable, pane: PaneFact) -> PaneFact:
    process, other = table.under_pane(pane.pane_pid)
    if process is None:
        return replace(pane, foreground=other)
    home = Path(process.config_dir) if process.config_dir else desired.link
    registry = session_file(home, process.pid) or {}
    session_id = registry.get("sessionId")
    status = registry.get("status")
    cwd = registry.get("cwd") or process.cwd
    claude = ClaudeFact(
        pid=process.pid,
        argv=process.argv,
        config_dir=Path(process.config_dir) if process.config_dir else None,
        account=account_of(desired, process.config_dir),
        session_id=session_id.lower() if isinstance(session_id, str) else
        session_id_from_argv(process.argv),
        status=status if isinstance(status, str) else None,
        cwd=str(cwd) if cwd else None,
    )
    return replace(pane, claude=claude, foreground=other)


def _needs_text(desired: DesiredState, pane: PaneFact, records: dict[str, LaunchRecord]) -> bool:
    """Text is read only where a launch may follow (for the exit hint): a dedicated
    session's first pane without Claude, or a pane whose Claude we stopped."""
    if pane.claude is not None or pane.foreground:
        return False
    record = records.get(pane.target)
    if record is not None and record.pending_relaunch:
        return True
    return pane.ordinal == 0 and any(d.name == pane.session_name for d in desired.dedicated)


def _observe_tmux(desired: DesiredState, records: dict[str, LaunchRecord]) -> TmuxFact:
    tmux = observe_tmux(desired.tmux)
    if tmux.status is not TmuxStatus.UP:
        return tmux
    table = ProcessTable()
    panes = [_claude_fact(desired, table, p) for p in tmux.panes]
    idle = [p.pane_id for p in panes if _needs_text(desired, p, records)]
    texts = capture_panes(desired.tmux, idle) if idle else {}
    panes = [replace(p, text=texts[p.pane_id]) if p.pane_id in texts else p for p in panes]
    return replace(tmux, panes=tuple(panes))


def _settings(desired: DesiredState) -> dict[str, SettingsFact]:
    hook = desired.safety_hook
    if hook is None:
        return {}
    return {d.name: observe_settings(d.project, hook.matcher, hook.command)
            for d in desired.dedicated}


def observe(desired: DesiredState, state: StateDir, *, now: datetime | None = None) -> Observed:
    """Read the world; changes nothing and never starts a tmux server."""
    shared = desired.shared
    records = state.read_records()
    tmux = _observe_tmux(desired, records)
    cwds = {str(d.project) for d in desired.dedicated}
    cwds |= {r.cwd for r in records.values()}
    for pane in tmux.panes:
        if desired.managed(pane.session_name):
            cwds.add(pane.cwd)
            if pane.claude is not None and pane.claude.cwd:
                cwds.add(pane.claude.cwd)
    return Observed(
        now=now or datetime.now(UTC),
        link=link_fact(desired.link, count=False),
        homes={a.name: dir_fact(a.home) for a in desired.accounts},
        home_entries={(a.name, e): link_fact(a.home / e)
                      for a in desired.accounts for e in shared.entries},
        shared_dir=dir_fact(shared.dir),
        shared_entries={e: dir_fact(shared.dir / e) for e in shared.entries},
        projects={d.name: dir_fact(d.project) for d in desired.dedicated},
        tmux=tmux,
        records=records,
        transcripts=transcripts(desired, cwds),
        stale_sessions=stale_sessions(desired),
        project_settings=_settings(desired),
    )
