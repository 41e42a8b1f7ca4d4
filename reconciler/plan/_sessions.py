"""Planning for tmux and Claude: stop what runs on the wrong account, fill the pools,
(re)launch Claude on the active account with its own session id.

When in doubt about a pane (its session id unknown, someone attached and its prompt
never seen, text at its prompt), nothing is planned for it: a conflict says why, and
the next cycle looks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.claudecode import SessionId, launch_line, terminal_safe
from reconciler.desired import DesiredState
from reconciler.observe import (
    Observed,
    PaneFact,
    PathKind,
    SettingsState,
    TmuxStatus,
    pane_target,
)
from reconciler.plan._accounts import Readiness
from reconciler.plan._actions import (
    Action,
    Conflict,
    CreateSession,
    EnsureSafetyHook,
    KillSession,
    Kind,
    LaunchClaude,
    ReleaseInput,
    RememberSession,
    StopClaude,
    Waiting,
)
from reconciler.plan._files import APART_KEY, LINK_KEY, dir_key, entry_key
from reconciler.plan._ids import Claims, SessionChoice, for_idle_pane
from reconciler.plan._input import line_is_empty, typing_blocker
from reconciler.plan._turns import Why, cut_turn, when_to_move

TMUX_KEY = "tmux"
_LONGEST_ID = SessionId("00000000-0000-0000-0000-000000000000")
_LONGEST_ENV_FILE = "/" + "e" * 255
"""Room for the path of ``launch.env``'s file (in the state dir), which the plan does not
know: a line too long with it is refused before anything is typed."""
"""Every session id is this long: a line's length is known before its id is chosen."""


_STOP_WHY = {
    Why.LIMIT: " (its account is limited)",
    Why.CUT: " (its turn is cut: the move would not wait longer)",
    Why.TURN: " (between turns)",
}


def session_key(name: str) -> str:
    return f"session:{name}"


@dataclass
class SessionPhases:
    """Actions of the session half, by phase, in the order the plan runs them."""

    release: list[Action | Conflict] = field(default_factory=list)
    remember: list[Action | Conflict] = field(default_factory=list)
    stop: list[Action | Conflict] = field(default_factory=list)
    create: list[Action | Conflict] = field(default_factory=list)
    remove: list[Action | Conflict] = field(default_factory=list)
    launch: list[Action | Conflict] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    """Claudes whose move waits for their turn to end."""


def left_on_the_link(desired: DesiredState, observed: Observed) -> tuple[str, ...]:
    """Claudes started by hand in sessions the file does not declare, reading their
    config through the link: never touched, but the link is about to move under them."""
    return tuple(
        f"{pane.target}: a Claude started by hand (session {pane.session_name} is not "
        f"declared) reads its config through {desired.link}; it is left running, and the "
        f"link now points at {desired.active.name}"
        for pane in observed.tmux.panes
        if pane.claude is not None and pane.claude.config_dir is None
        and not desired.managed(pane.session_name, observed.created))


def plan_sessions(desired: DesiredState, observed: Observed) -> SessionPhases:
    planner = _SessionPlanner(desired, observed)
    tmux = observed.tmux
    if tmux.status is TmuxStatus.ERROR:
        planner.phases.create.append(Conflict(TMUX_KEY, f"tmux did not answer: {tmux.error}"))
        return planner.phases
    sessions = {n: p for n, p in tmux.sessions().items()
                if desired.managed(n, observed.created)}
    moving: set[str] = set()
    for panes in sessions.values():
        for pane in panes:
            planner.release_stale_hold(pane)
            if planner.must_stop(pane) and planner.stop_and_relaunch(pane):
                moving.add(pane.session_name)
    planner.dedicated(sessions)
    planner.autonomous(sessions, moving)
    carry = planner.readiness.carry()
    if carry is not None:
        planner.phases.remember.insert(0, carry)
    return planner.phases


class _SessionPlanner:
    def __init__(self, desired: DesiredState, observed: Observed) -> None:
        self.desired = desired
        self.observed = observed
        self.claims = Claims.of(observed)
        self.readiness = Readiness(desired, observed)
        self.trusting = {d.name for d in desired.dedicated if d.trust}
        self.phases = SessionPhases()
        self.now = observed.now.timestamp()
        home = desired.active
        self.ready = (dir_key(home.home), LINK_KEY, APART_KEY,
                      *(entry_key(home.name, e) for e in desired.shared.entries))
        """A Claude may only start (or stop) once the active home, the link and its shared
        links are in place: a conflict on any of them leaves every Claude as it is."""

    def release_stale_hold(self, pane: PaneFact) -> None:
        """A pane still held (its input off) by an apply that did not finish: give its
        keyboard back before anything else."""
        if pane.input.held:
            self.phases.release.append(ReleaseInput(
                key=f"release:{pane.target}", kind=Kind.CHANGE, target=pane.target,
                pane_id=pane.pane_id,
                description=f"give the keyboard of {pane.target} back (held by an apply "
                            "that did not finish)"))

    def must_stop(self, pane: PaneFact) -> bool:
        """On another account, or a Claude we already meant to stop (a crash came between)."""
        claude = pane.claude
        if claude is None:
            return False
        if claude.config_dir is None and self.observed.link.kind is PathKind.DIR:
            return False  # on the user's real ~/.claude, not adopted yet: the link conflict says so
        record = self.observed.records.get(pane.target)
        remembered = record is not None and record.pending_relaunch and record.pid == claude.pid
        return claude.account != self.desired.active_account or remembered

    def stop_and_relaunch(self, pane: PaneFact) -> bool:
        claude = pane.claude
        assert claude is not None  # noqa: S101  (guarded by must_stop)
        key = f"launch:{pane.target}"
        was = claude.account or f"unknown ({claude.config_dir or 'no CLAUDE_CONFIG_DIR'})"
        what = f"claude pid {claude.pid} in {pane.target} (on {was})"
        why = self._cannot_move(pane) or self.readiness.refusal()
        cwd = claude.cwd or pane.cwd
        accept: tuple[str, ...] = ()
        if why is None:
            accept, why = self.readiness.prepare(
                cwd, declared=pane.session_name in self.trusting, moving=True)
        if claude.session_id is None:
            why = (f"{what}: its session id is unknown (no sessions/{claude.pid}.json with a "
                   "UUID, no --resume/--session-id); not moving it")
        elif others := self.claims.also_held(claude.session_id, claude.pid):
            why = (f"{what}: its session {claude.session_id} is also held by claude pid "
                   f"{', '.join(map(str, others))} (a /resume of one conversation in two "
                   "Claudes); relaunching both would put one id on two Claudes, so neither "
                   "is moved until one of them leaves it")
        if why is not None:
            self.phases.launch.append(Conflict(key, why))
            return False
        timing = when_to_move(self.desired, self.observed, pane)
        if timing.record is not None:
            self.phases.remember.append(timing.record)
        if timing.waiting is not None:
            self.phases.waiting.append(timing.waiting)
        when = timing.why
        if when is None:
            return False  # mid-turn: it moves once its turn ends (or at the bound)
        sid = claude.session_id
        assert sid is not None  # noqa: S101  (checked above)
        cut = cut_turn(self.desired, self.observed, pane, when)
        self.claims.release(sid)
        self.claims.take(sid, pane.target)
        remember, stop = f"remember:{pane.target}", f"stop:{pane.target}"
        self.phases.remember.append(RememberSession(
            key=remember, kind=Kind.CHANGE, target=pane.target, session_id=sid, cwd=cwd,
            account=claude.account or "", pid=claude.pid, cut=cut, why=when,
            description=f"remember session {sid} of {pane.target} (pid {claude.pid})",
        ))
        safety = self._safety(pane.session_name)
        self.phases.stop.append(StopClaude(
            key=stop, kind=Kind.RELAUNCH, target=pane.target, pane_id=pane.pane_id,
            pid=claude.pid, start=claude.start, timeout=self.desired.launch.stop_timeout,
            shell_pid=pane.pane_pid, tty=pane.tty,
            # every precondition of the relaunch: a trust or disclaimer that cannot be
            # carried (a read-only or full home), a safety hook that cannot go in, stops
            # nothing
            depends_on=(remember, *self.ready, *safety, *accept),
            description=f"stop {what}{_STOP_WHY[when]}" + (
                "; its turn is continued on the new account" if cut and self.message else ""),
        ))
        choice = SessionChoice(sid, sid in self.observed.transcripts.get(cwd, ()),
                               "running session")
        self.phases.launch.append(self._launch(
            target=pane.target, session_name=pane.session_name, pane=pane, cwd=cwd,
            choice=choice, relaunch=True, cut=cut, moved_from=claude.account or "", why=when,
            depends_on=(stop, remember, *self.ready, *safety, *accept)))
        return True

    @property
    def message(self) -> str | None:
        return self.desired.failover.continue_message

    def _cannot_move(self, pane: PaneFact) -> str | None:
        """Why a Claude could be stopped but not started again in its pane: then it stays."""
        target = pane.target
        if not pane.shell:
            return (f"{target}: claude is the pane's own process (started with exec); "
                    "stopping it would close the pane, so it is not moved")
        blocked = pane.input.blocks_typing()
        if blocked is not None:
            return f"{target} {blocked}: claude would not be started again, so it is not moved"
        cwd = (pane.claude.cwd if pane.claude else None) or pane.cwd
        untypable = self._untypable(cwd)
        return f"{target}: {untypable}, so its Claude is not moved" if untypable else None

    def _untypable(self, cwd: str) -> str | None:
        """Why no launch line for ``cwd`` may be typed (control characters, which would
        act before the shell saw a quote; a line longer than a terminal takes), if so."""
        if not terminal_safe(cwd):
            return (f"the working directory {cwd!r} has control characters; a launch line "
                    "holding it is never typed")
        try:
            launch_line(command=self.desired.launch.command, home=self.desired.active.home,
                        cwd=cwd, session=_LONGEST_ID, resume=False,
                        env_file=_LONGEST_ENV_FILE if self.desired.launch.env else None,
                        message=self.message)
        except ValueError as exc:
            return str(exc)
        return None

    def _launch(self, *, target: str, session_name: str, pane: PaneFact | None, cwd: str,
                choice: SessionChoice, relaunch: bool, depends_on: tuple[str, ...],
                cut: str = "", moved_from: str = "", why: str = "") -> LaunchClaude:
        active = self.desired.active
        how = "--resume" if choice.resume else "--session-id"
        verb = "relaunch" if relaunch else "launch"
        message = self.message if cut and choice.resume else None
        return LaunchClaude(
            key=f"launch:{target}", kind=Kind.RELAUNCH if relaunch else Kind.CREATE,
            description=(f"{verb} claude in {target} on {active.name}: {how} "
                         f"{choice.session_id} ({choice.source})"
                         + (", continuing its cut turn" if message else "")),
            message=message, cut=cut if message else "", moved_from=moved_from, why=why,
            target=target, session_name=session_name,
            pane_id=pane.pane_id if pane is not None else None,
            shell_pid=pane.pane_pid if pane is not None else None, cwd=cwd,
            account=active.name, home=active.home, session_id=choice.session_id,
            resume=choice.resume, command=self.desired.launch.command,
            env_names=tuple(name for name, _value in self.desired.launch.env),
            start_timeout=self.desired.launch.start_timeout, depends_on=depends_on,
        )

    def _idle_launch(self, pane: PaneFact | None, *, session_name: str, cwd: str,
                     resume_allowed: bool, depends_on: tuple[str, ...]) -> Action | Conflict:
        """Launch in a pane with no Claude, or a conflict saying why not."""
        target = pane.target if pane is not None else pane_target(session_name)
        key = f"launch:{target}"
        if pane is not None:
            blocker = typing_blocker(pane, self.observed.prompt_of(pane))
            if blocker is not None:
                return Conflict(key, blocker)
        record = self.observed.records.get(target)
        choice = for_idle_pane(target=target, pane=pane, record=record, cwd=cwd,
                               resume_allowed=resume_allowed, observed=self.observed,
                               claims=self.claims)
        if isinstance(choice, str):
            return Conflict(key, choice)
        pending = record is not None and record.pending_relaunch
        cwd = record.cwd if pending and record is not None else cwd
        untypable = self._untypable(cwd)
        if untypable is not None:
            return Conflict(key, f"{target}: {untypable}")
        refusal = self.readiness.refusal()
        accept: tuple[str, ...] = ()
        if refusal is None:
            accept, refusal = self.readiness.prepare(
                cwd, declared=session_name in self.trusting, moving=pending)
        if refusal is not None:
            return Conflict(key, refusal)
        self.claims.take(choice.session_id, target)
        moved = record if pending and record is not None else None
        return self._launch(target=target, session_name=session_name, pane=pane, cwd=cwd,
                            choice=choice, relaunch=pending, depends_on=(*depends_on, *accept),
                            cut=moved.cut if moved is not None and self.message else "",
                            moved_from=moved.account if moved is not None else "",
                            why=moved.why if moved is not None else "")

    def _safety(self, session_name: str) -> tuple[str, ...]:
        """The safety hook a dedicated project needs before Claude starts there."""
        hook = self.desired.safety_hook
        fact = self.observed.project_settings.get(session_name)
        if hook is None or fact is None or fact.state is SettingsState.HAS_HOOK:
            return ()
        key = f"safety:{session_name}"
        if any(getattr(item, "key", None) == key for item in self.phases.launch):
            return (key,)
        if fact.state is SettingsState.BROKEN:
            self.phases.launch.append(Conflict(
                key, f"{fact.path} is broken ({fact.error}); left alone, and Claude is not "
                     "launched without the safety hook"))
        else:
            self.phases.launch.append(EnsureSafetyHook(
                key=key, kind=Kind.CREATE if fact.state is SettingsState.MISSING else Kind.CHANGE,
                settings=fact.path, matcher=hook.matcher, command=hook.command,
                description=f"add PreToolUse hook ({hook.matcher}) to {fact.path}",
            ))
        return (key,)

    def dedicated(self, sessions: dict[str, tuple[PaneFact, ...]]) -> None:
        """Every dedicated session exists and runs Claude in its first pane."""
        for spec in self.desired.dedicated:
            key = session_key(spec.name)
            panes = sessions.get(spec.name, ())
            deps = self.ready
            if not panes:
                if self.observed.projects[spec.name].kind is not PathKind.DIR:
                    self.phases.create.append(
                        Conflict(key, f"project {spec.project} is not a directory"))
                else:
                    self.phases.create.append(CreateSession(
                        key=key, kind=Kind.CREATE, name=spec.name, cwd=spec.project,
                        description=f"create session {spec.name} in {spec.project}"))
                deps = (key, *self.ready)
            for pane in panes[1:]:
                self.pending_relaunch(pane)
            first = panes[0] if panes else None
            if first is not None and first.claude is not None:
                continue
            safety = self._safety(spec.name)
            self.phases.launch.append(self._idle_launch(
                first, session_name=spec.name, cwd=str(spec.project),
                resume_allowed=spec.resume, depends_on=(*deps, *safety)))

    def pending_relaunch(self, pane: PaneFact) -> None:
        """A pane whose Claude we stopped but had not relaunched (a crash came between)."""
        record = self.observed.records.get(pane.target)
        if record is None or not record.pending_relaunch or pane.claude is not None:
            return
        self.phases.launch.append(self._idle_launch(
            pane, session_name=pane.session_name, cwd=record.cwd, resume_allowed=True,
            depends_on=self.ready))

    def autonomous(self, sessions: dict[str, tuple[PaneFact, ...]], moving: set[str]) -> None:
        pool = self.desired.autonomous
        if pool is None:
            return
        created = self.observed.created
        owned = {index: name for name in sessions
                 if pool.owns(name, created) and (index := pool.index_of(name)) is not None}
        for name in owned.values():
            for pane in sessions[name]:
                self.pending_relaunch(pane)
        index = pool.start_index
        count = len(owned)
        while count < pool.min:
            if index not in owned:
                name = pool.name(index)
                self.phases.create.append(CreateSession(
                    key=session_key(name), kind=Kind.CREATE, name=name, cwd=pool.cwd, pool=True,
                    description=f"create autonomous session {name} in {pool.cwd}"))
                count += 1
            index += 1
        if count <= pool.max:
            return
        removable = [
            (rank, -index, name) for index, name in owned.items()
            if name in created and name not in moving
            and (rank := self._idle_rank(sessions[name])) is not None
        ]
        for _rank, _index, name in sorted(removable)[: count - pool.max]:
            self.phases.remove.append(KillSession(
                key=f"kill:{name}", kind=Kind.DESTROY, name=name,
                description=f"remove idle autonomous session {name} (pool over max {pool.max})"))

    def _idle_rank(self, panes: tuple[PaneFact, ...]) -> int | None:
        """0 for empty shells, 1 with an idle Claude, None when it must stay: someone
        attached, a program or job running, text at a prompt, a relaunch pending."""
        rank = 0
        for pane in panes:
            record = self.observed.records.get(pane.target)
            if (pane.input.clients or pane.input.linked or pane.others
                    or pane.foreground is not None
                    or (record is not None and record.pending_relaunch)):
                return None
            claude = pane.claude
            if claude is not None:
                if claude.status != "idle" or claude.account != self.desired.active_account:
                    return None
                rank = 1
            elif not line_is_empty(pane.line, self.observed.prompt_of(pane)):
                return None
        return rank
