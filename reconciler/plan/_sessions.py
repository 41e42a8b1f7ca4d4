"""Planning for tmux and Claude: stop what runs on the wrong account, fill the pools,
(re)launch Claude on the active account with its own session id."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.claudecode import launch_line
from reconciler.desired import DesiredState
from reconciler.observe import (
    Observed,
    PaneFact,
    PathKind,
    SettingsState,
    TmuxStatus,
    pane_target,
)
from reconciler.plan._actions import (
    Action,
    Conflict,
    CreateSession,
    EnsureSafetyHook,
    KillSession,
    Kind,
    LaunchClaude,
    RememberSession,
    StopClaude,
)
from reconciler.plan._files import dir_key, entry_key
from reconciler.plan._ids import SessionChoice, for_idle_pane, for_stopped

TMUX_KEY = "tmux"


def session_key(name: str) -> str:
    return f"session:{name}"


@dataclass
class SessionPhases:
    """Actions of the session half, by phase, in the order the plan runs them."""

    remember: list[Action | Conflict] = field(default_factory=list)
    stop: list[Action | Conflict] = field(default_factory=list)
    create: list[Action | Conflict] = field(default_factory=list)
    remove: list[Action | Conflict] = field(default_factory=list)
    launch: list[Action | Conflict] = field(default_factory=list)


def plan_sessions(desired: DesiredState, observed: Observed) -> SessionPhases:
    phases = SessionPhases()
    tmux = observed.tmux
    if tmux.status is TmuxStatus.ERROR:
        phases.create.append(Conflict(TMUX_KEY, f"tmux did not answer: {tmux.error}"))
        return phases
    sessions = {n: p for n, p in tmux.sessions().items() if desired.managed(n)}
    ready = _launch_deps(desired)
    relaunched: set[str] = set()
    for panes in sessions.values():
        for pane in panes:
            if _on_wrong_account(desired, pane):
                _stop_and_relaunch(desired, observed, pane, ready, phases)
                relaunched.add(pane.session_name)
    _dedicated(desired, observed, sessions, ready, phases)
    _autonomous(desired, observed, sessions, relaunched=relaunched, ready=ready, phases=phases)
    return phases


def _launch_deps(desired: DesiredState) -> tuple[str, ...]:
    """A Claude may only start once the active home and its shared links are in place."""
    home = desired.active
    return (dir_key(home.home), *(entry_key(home.name, e) for e in desired.shared.entries))


def _safety(
    desired: DesiredState, observed: Observed, session_name: str, phases: SessionPhases
) -> tuple[str, ...]:
    """The safety hook a dedicated project needs before Claude starts there, as a dependency."""
    hook = desired.safety_hook
    fact = observed.project_settings.get(session_name)
    if hook is None or fact is None or fact.state is SettingsState.HAS_HOOK:
        return ()
    key = f"safety:{session_name}"
    if any(getattr(item, "key", None) == key for item in phases.launch):
        return (key,)
    if fact.state is SettingsState.BROKEN:
        phases.launch.append(Conflict(key, f"{fact.path} is broken ({fact.error}); left alone, "
                                           "and Claude is not launched without the safety hook"))
    else:
        phases.launch.append(EnsureSafetyHook(
            key=key, kind=Kind.CREATE if fact.state is SettingsState.MISSING else Kind.CHANGE,
            settings=fact.path, matcher=hook.matcher, command=hook.command,
            description=f"add PreToolUse hook ({hook.matcher}) to {fact.path}",
        ))
    return (key,)


def _on_wrong_account(desired: DesiredState, pane: PaneFact) -> bool:
    return pane.claude is not None and pane.claude.account != desired.active_account


def _launch(
    desired: DesiredState,
    *,
    target: str,
    session_name: str,
    pane_id: str | None,
    cwd: str,
    choice: SessionChoice,
    relaunch: bool,
    depends_on: tuple[str, ...],
) -> LaunchClaude:
    active = desired.active
    line = launch_line(
        command=desired.launch.command, home=active.home, cwd=cwd,
        session_id=choice.session_id, resume=choice.resume, env=desired.launch.env,
    )
    how = "--resume" if choice.resume else "--session-id"
    verb = "relaunch" if relaunch else "launch"
    return LaunchClaude(
        key=f"launch:{target}",
        kind=Kind.RELAUNCH if relaunch else Kind.CREATE,
        description=(
            f"{verb} claude in {target} on {active.name}: {how} {choice.session_id}"
            f" ({choice.source})"
        ),
        target=target, session_name=session_name, pane_id=pane_id, cwd=cwd,
        account=active.name, session_id=choice.session_id, resume=choice.resume, line=line,
        start_timeout=desired.launch.start_timeout, depends_on=depends_on,
    )


def _stop_and_relaunch(
    desired: DesiredState,
    observed: Observed,
    pane: PaneFact,
    ready: tuple[str, ...],
    phases: SessionPhases,
) -> None:
    claude = pane.claude
    assert claude is not None  # noqa: S101  (guarded by _on_wrong_account)
    cwd = claude.cwd or pane.cwd
    choice = for_stopped(
        target=pane.target, session_id=claude.session_id, cwd=cwd, observed=observed
    )
    was = claude.account or f"unknown ({claude.config_dir or 'no CLAUDE_CONFIG_DIR'})"
    remember = f"remember:{pane.target}"
    stop = f"stop:{pane.target}"
    phases.remember.append(RememberSession(
        key=remember, kind=Kind.CHANGE, target=pane.target, session_id=choice.session_id,
        cwd=cwd, account=claude.account or "", pid=claude.pid,
        description=f"remember session {choice.session_id} of {pane.target} (pid {claude.pid})",
    ))
    phases.stop.append(StopClaude(
        key=stop, kind=Kind.RELAUNCH, target=pane.target, pane_id=pane.pane_id,
        pid=claude.pid, timeout=desired.launch.stop_timeout, depends_on=(remember, *ready),
        description=f"stop claude pid {claude.pid} in {pane.target} (on {was})",
    ))
    safety = _safety(desired, observed, pane.session_name, phases)
    phases.launch.append(_launch(
        desired, target=pane.target, session_name=pane.session_name, pane_id=pane.pane_id,
        cwd=cwd, choice=choice, relaunch=True, depends_on=(stop, remember, *ready, *safety),
    ))


def _idle_launch(
    desired: DesiredState,
    observed: Observed,
    pane: PaneFact | None,
    *,
    session_name: str,
    cwd: str,
    resume_allowed: bool,
    depends_on: tuple[str, ...],
) -> Action | Conflict:
    """Launch in a pane with no Claude (a conflict when another program holds it)."""
    target = pane.target if pane is not None else pane_target(session_name)
    record = observed.records.get(target)
    pending = record is not None and record.pending_relaunch
    if pane is not None and pane.foreground:
        return Conflict(f"launch:{target}", f"{target} runs another program; not typing into it")
    choice = for_idle_pane(
        target=target, pane=pane, record=record, cwd=cwd, resume_allowed=resume_allowed,
        observed=observed,
    )
    cwd = record.cwd if pending and record is not None else cwd
    return _launch(
        desired, target=target, session_name=session_name,
        pane_id=pane.pane_id if pane is not None else None, cwd=cwd, choice=choice,
        relaunch=pending, depends_on=depends_on,
    )


def _dedicated(
    desired: DesiredState,
    observed: Observed,
    sessions: dict[str, tuple[PaneFact, ...]],
    ready: tuple[str, ...],
    phases: SessionPhases,
) -> None:
    """Every dedicated session exists and runs Claude in its first pane."""
    for spec in desired.dedicated:
        key = session_key(spec.name)
        panes = sessions.get(spec.name, ())
        deps = ready
        if not panes:
            if observed.projects[spec.name].kind is not PathKind.DIR:
                phases.create.append(Conflict(key, f"project {spec.project} is not a directory"))
            else:
                phases.create.append(CreateSession(
                    key=key, kind=Kind.CREATE, name=spec.name, cwd=spec.project,
                    description=f"create session {spec.name} in {spec.project}",
                ))
            deps = (key, *ready)
        for pane in panes[1:]:
            _pending_relaunch(desired, observed, pane, ready, phases)
        first = panes[0] if panes else None
        if first is not None and first.claude is not None:
            continue
        safety = _safety(desired, observed, spec.name, phases)
        phases.launch.append(_idle_launch(
            desired, observed, first, session_name=spec.name, cwd=str(spec.project),
            resume_allowed=spec.resume, depends_on=(*deps, *safety),
        ))


def _pending_relaunch(
    desired: DesiredState,
    observed: Observed,
    pane: PaneFact,
    ready: tuple[str, ...],
    phases: SessionPhases,
) -> None:
    """A pane whose Claude we stopped but had not relaunched (a crash came between)."""
    record = observed.records.get(pane.target)
    if record is None or not record.pending_relaunch or pane.claude is not None:
        return
    phases.launch.append(_idle_launch(
        desired, observed, pane, session_name=pane.session_name, cwd=record.cwd,
        resume_allowed=True, depends_on=ready,
    ))


def _autonomous(
    desired: DesiredState,
    observed: Observed,
    sessions: dict[str, tuple[PaneFact, ...]],
    *,
    relaunched: set[str],
    ready: tuple[str, ...],
    phases: SessionPhases,
) -> None:
    pool = desired.autonomous
    if pool is None:
        return
    owned = {
        index: name for name in sessions if (index := pool.index_of(name)) is not None
    }
    for name in owned.values():
        for pane in sessions[name]:
            _pending_relaunch(desired, observed, pane, ready, phases)
    index = pool.start_index
    count = len(owned)
    while count < pool.min:
        if index not in owned:
            name = pool.name(index)
            phases.create.append(CreateSession(
                key=session_key(name), kind=Kind.CREATE, name=name, cwd=pool.cwd,
                description=f"create autonomous session {name} in {pool.cwd}",
            ))
            count += 1
        index += 1
    if count <= pool.max:
        return
    removable = [
        (idle_rank, -index, name)
        for index, name in owned.items()
        if name not in relaunched
        and (idle_rank := _idle_rank(sessions[name], observed, desired)) is not None
    ]
    for _rank, _index, name in sorted(removable)[: count - pool.max]:
        phases.remove.append(KillSession(
            key=f"kill:{name}", kind=Kind.DESTROY, name=name,
            description=f"remove idle autonomous session {name} (pool over max {pool.max})",
        ))


def _idle_rank(
    panes: tuple[PaneFact, ...], observed: Observed, desired: DesiredState
) -> int | None:
    """0 for an empty shell, 1 for an idle Claude, None when it must stay (busy, pending)."""
    rank = 0
    for pane in panes:
        record = observed.records.get(pane.target)
        if pane.foreground or (record is not None and record.pending_relaunch):
            return None
        if pane.claude is not None:
            if pane.claude.status != "idle" or pane.claude.account != desired.active_account:
                return None
            rank = 1
    return rank
