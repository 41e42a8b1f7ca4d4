"""observe(desired, state) -> Observed: every fact the planner needs, read-only."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from reconciler.claudecode import session_id_from_argv
from reconciler.desired import DesiredState
from reconciler.observe._accounts import observe_account
from reconciler.observe._fs import RealPaths, dir_fact, link_fact
from reconciler.observe._model import ClaudeFact, Observed, PaneFact, TmuxFact, TmuxStatus
from reconciler.observe._panes import capture_panes, cursor_line, observe_tmux
from reconciler.observe._procs import (
    ClaudeProcess,
    Identity,
    ProcessTable,
    home_index,
    homes_by_dir,
)
from reconciler.observe._registry import Registry, read_registry, transcripts, unique_dirs
from reconciler.observe._settings import SettingsFact, observe_settings
from reconciler.observe._turns import NO_TRANSCRIPT, cut_marker
from reconciler.signals import SignalCommands, SignalDir
from reconciler.statedir import PaneBook, StateDir


class _Accounts:
    """Config dir -> account, each distinct directory string resolved once per cycle."""

    def __init__(self, desired: DesiredState, real_path: RealPaths) -> None:
        self.link = str(desired.link)
        homes = {a.name: a.home for a in desired.accounts}
        by_dir = homes_by_dir(homes, real_path)
        self.index = home_index(homes, desired.link, real_path, by_dir)
        self.real_path = real_path
        self.one_directory = {d: names for d, names in by_dir.items() if len(names) > 1}
        """Homes that became one directory after the file was loaded (a link made since):
        a Claude there cannot be told to be on one account or the other."""

    def of(self, config_dir: str | None) -> str | None:
        path = config_dir or self.link
        return self.index.get(path) or self.index.get(self.real_path(path))


def _claude_fact(process: ClaudeProcess, registry: Registry, accounts: _Accounts) -> ClaudeFact:
    home = process.config_dir or accounts.link
    found = registry.of(home, process.pid)
    sid = found.session_id if found is not None else None
    return ClaudeFact(
        pid=process.pid, start=process.start, argv=process.argv,
        config_dir=Path(process.config_dir) if process.config_dir else None,
        account=accounts.of(process.config_dir),
        session_id=sid or session_id_from_argv(process.argv),
        status=found.status if found is not None else None,
        cwd=(found.cwd if found is not None else None) or process.cwd,
    )


def _with_processes(pane: PaneFact, table: ProcessTable, registry: Registry,
                    accounts: _Accounts) -> PaneFact:
    found = table.pane(pane.pane_pid)
    claude = _claude_fact(found.claude, registry, accounts) if found.claude else None
    return replace(pane, claude=claude, shell=found.shell, foreground=found.foreground,
                   others=found.others)


def _needs_text(desired: DesiredState, pane: PaneFact, book: PaneBook, pool_over: bool) -> bool:
    """Text is read only where a launch or a removal may follow: a dedicated session's first
    pane, a pane whose Claude we stopped, a pool session when the pool is over its max."""
    if pane.claude is not None or pane.foreground is not None:
        return False
    record = book.launches.get(pane.target)
    if record is not None and record.pending_relaunch:
        return True
    pool = desired.autonomous
    if pool_over and pool is not None and pool.owns(pane.session_name, book.created):
        return True
    return pane.ordinal == 0 and any(d.name == pane.session_name for d in desired.dedicated)


def _pool_over(desired: DesiredState, tmux: TmuxFact, book: PaneBook) -> bool:
    pool = desired.autonomous
    if pool is None:
        return False
    owned = {p.session_name for p in tmux.panes if pool.owns(p.session_name, book.created)}
    return len(owned) > pool.max


def _observe_tmux(desired: DesiredState, book: PaneBook, table: ProcessTable,
                  registry: Registry, accounts: _Accounts, *, screens: bool) -> TmuxFact:
    tmux = observe_tmux(desired.tmux.server_args())
    if tmux.status is not TmuxStatus.UP:
        return tmux
    panes = [_with_processes(p, table, registry, accounts) for p in tmux.panes]
    over = _pool_over(desired, tmux, book)
    wanted = [p for p in panes if _needs_text(desired, p, book, over)]
    claudes = [p for p in panes if screens and p.claude is not None
               and desired.managed(p.session_name, book.created)]
    texts = (capture_panes(desired.tmux.server_args(), wanted, to_cursor=True, whole=claudes)
             if wanted or claudes else {})
    panes = [replace(p, text=texts[p.pane_id], line=cursor_line(texts[p.pane_id])
                     if p.claude is None else None)
             if p.pane_id in texts else p for p in panes]
    return replace(tmux, panes=tuple(panes))


def _settings(desired: DesiredState) -> dict[str, SettingsFact]:
    hook = desired.safety_hook
    if hook is None:
        return {}
    return {d.name: observe_settings(d.project, hook.matcher, hook.command)
            for d in desired.dedicated}


def observe(desired: DesiredState, state: StateDir, *, now: datetime | None = None,
            screens: bool = False) -> Observed:
    """Read the world; changes nothing and never starts a tmux server. ``screens``: each
    managed Claude's screen too (its pane's ``text``), in the same capture call, for the
    failover wing (limit statements, prompts a Claude is stuck at)."""
    shared = desired.shared
    book = state.read_panes()
    signals = signal_commands(desired, state)
    real_path = RealPaths()
    table = ProcessTable.scan(Identity.resolve(desired.launch.command), real_path)
    homes = [a.home for a in desired.accounts]
    registry = read_registry(homes, lambda pid: table.claude(pid) is not None, real_path)
    accounts = _Accounts(desired, real_path)
    tmux = _observe_tmux(desired, book, table, registry, accounts, screens=screens)
    cwds = {str(d.project) for d in desired.dedicated}
    cwds |= {r.cwd for r in book.launches.values()}
    for pane in tmux.panes:
        if desired.managed(pane.session_name, book.created):
            cwds.add(pane.cwd)
            if pane.claude is not None and pane.claude.cwd:
                cwds.add(pane.claude.cwd)
    return with_turns(Observed(
        now=now or datetime.now(UTC),
        link=link_fact(desired.link, count=False),
        homes={a.name: dir_fact(a.home) for a in desired.accounts},
        home_entries={(a.name, e): link_fact(a.home / e)
                      for a in desired.accounts for e in shared.entries},
        shared_dir=dir_fact(shared.dir),
        shared_entries={e: dir_fact(shared.dir / e) for e in shared.entries},
        projects={d.name: dir_fact(d.project) for d in desired.dedicated},
        tmux=tmux,
        records=book.launches,
        prompts=book.prompts,
        created=book.created,
        transcripts=transcripts(unique_dirs([*homes, shared.dir], real_path), cwds, real_path),
        stale_sessions=registry.stale,
        live_sessions=registry.live,
        project_settings=_settings(desired),
        notes=(*book.ignored, *registry.notes),
        seed=f"{os.uname().nodename}|{state.root.absolute()}",
        accounts={a.name: observe_account(
            a.name, a.home, signals,
            dict(desired.launch.env)) for a in desired.accounts},
        signals=signals,
        one_directory=accounts.one_directory,
        limits=state.read_limits(),
        active=state.read_active(),
        waits=book.waits,
    ), desired)


def with_turns(observed: Observed, desired: DesiredState) -> Observed:
    """Each Claude that must move (not on the active account) with how its last turn
    ended, and its transcript known (Claude writes it in batches: one that appeared
    since the scan is resumed, not started again); called again once failover has
    changed the active account in this cycle."""
    def moving(pane: PaneFact) -> bool:
        claude = pane.claude
        return (claude is not None and claude.account != desired.active_account
                and claude.cut_turn is None and claude.session_id is not None
                and claude.cwd is not None and claude.account is not None)

    if not any(moving(p) for p in observed.tmux.panes):
        return observed
    panes = []
    transcripts = dict(observed.transcripts)
    for pane in observed.tmux.panes:
        claude = pane.claude
        if moving(pane) and claude is not None and claude.session_id and claude.cwd:
            home = desired.account(claude.account).home if claude.account else None
            marker = cut_marker(home, claude.cwd, claude.session_id) if home else None
            if marker != NO_TRANSCRIPT and claude.session_id not in transcripts.get(
                    claude.cwd, ()):
                transcripts[claude.cwd] = (claude.session_id, *transcripts.get(claude.cwd, ()))
            marker = None if marker == NO_TRANSCRIPT else marker
            panes.append(replace(pane, claude=replace(claude, cut_turn=marker)))
        else:
            panes.append(pane)
    return replace(observed, tmux=replace(observed.tmux, panes=tuple(panes)),
                   transcripts=transcripts)


def signal_commands(desired: DesiredState, state: StateDir, *,
                    force: bool = False) -> SignalCommands | None:
    """The hook and status-line commands, by absolute path: hooks run in the pane's login
    shell, whose PATH may not hold the reconciler. None when failover's signals are off
    (unless ``force``: to find them in order to remove them)."""
    failover = desired.failover
    if not (failover.enabled and failover.signals) and not force:
        return None
    return SignalDir(state.root).commands()
