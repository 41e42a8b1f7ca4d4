"""Which session id a (re)launched Claude gets: resume what it was, never lose it, and
never put one session on two Claudes."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.claudecode import SessionId, last_resume_hint, session_id
from reconciler.observe import LaunchRecord, Observed, PaneFact

_NAMESPACE = "6f1c0f3e-5b8a-4c55-9a43-2a0e1d7f3b21"


@dataclass(frozen=True)
class SessionChoice:
    session_id: SessionId
    resume: bool
    """True when a transcript exists: ``--resume``; else ``--session-id`` of the same id."""
    source: str
    """Where the id came from, shown in the plan so a user can trust (or doubt) it."""


@dataclass
class Claims:
    """Who holds which session id: every live Claude, and every launch of this plan."""

    holders: dict[SessionId, str] = field(default_factory=dict)
    live_pids: dict[SessionId, set[int]] = field(default_factory=dict)
    """Every live Claude holding each id, in tmux or not: more than one is a conflict."""

    @classmethod
    def of(cls, observed: Observed) -> Claims:
        claims = cls()
        for sid, live in observed.live_sessions.items():
            claims.holders[sid] = f"claude pid {live.pid} (home {live.home})"
            claims.live_pids.setdefault(sid, set()).add(live.pid)
        for pane in observed.tmux.panes:
            if pane.claude is not None and pane.claude.session_id is not None:
                sid = pane.claude.session_id
                claims.holders[sid] = f"claude pid {pane.claude.pid} in {pane.target}"
                claims.live_pids.setdefault(sid, set()).add(pane.claude.pid)
        return claims

    def holder(self, sid: SessionId) -> str | None:
        return self.holders.get(sid)

    def also_held(self, sid: SessionId, pid: int) -> list[int]:
        """The other live Claudes that hold ``sid`` besides ``pid``."""
        return sorted(self.live_pids.get(sid, set()) - {pid})

    def take(self, sid: SessionId, target: str) -> None:
        self.holders[sid] = f"the launch planned in {target}"

    def release(self, sid: SessionId) -> None:
        """The Claude holding ``sid`` is stopped by this plan: its relaunch may take it."""
        self.holders.pop(sid, None)


def fresh_id(target: str, observed: Observed, previous: str | None) -> SessionId:
    """A new id, derived (so planning stays pure, and ``--dry-run`` shows the id ``apply``
    will use) from this host and state dir, the pane, and the id it had before (so a
    session that must not resume gets another id at every launch)."""
    import uuid  # noqa: PLC0415  (uuid loads platform; only a fresh id needs it)

    namespace = uuid.UUID(_NAMESPACE)
    return SessionId(str(uuid.uuid5(namespace, f"{observed.seed}|{target}|{previous or ''}")))


def _choice(sid: SessionId, source: str, cwd: str, observed: Observed) -> SessionChoice:
    return SessionChoice(sid, sid in observed.transcripts.get(cwd, ()), source)


def for_idle_pane(
    *,
    target: str,
    pane: PaneFact | None,
    record: LaunchRecord | None,
    cwd: str,
    resume_allowed: bool,
    observed: Observed,
    claims: Claims,
) -> SessionChoice | str:
    """The id for a pane with no Claude, most trusted source first; a string says why
    no id can be given (the remembered one is live elsewhere).

    A record written just before we stopped a Claude is the truth. Otherwise: the
    session file its last Claude left when it was killed, our last launch there, the
    newest transcript of the project; an id some live Claude holds is passed over.
    An exit hint in the pane only ever confirms one of these: it may have been
    printed by another Claude, or by anything at all.
    """
    if record is not None and record.pending_relaunch:
        holder = claims.holder(record.session_id)
        if holder is not None:
            return (f"session {record.session_id}, remembered before its Claude was stopped,"
                    f" is already live in {holder}; not launching it twice")
        return _choice(record.session_id, "remembered before stop", record.cwd, observed)
    if not resume_allowed:
        previous = record.session_id if record is not None else None
        return SessionChoice(fresh_id(target, observed, previous), False, "new (resume: false)")
    hint = session_id(last_resume_hint(pane.text or "")) if pane is not None else None
    candidates: list[tuple[SessionId, str]] = []
    if record is not None and record.pid is not None:
        stale = observed.stale_sessions.get(record.pid)
        if stale is not None:
            candidates.append((stale.session_id, "session file of a killed Claude"))
    if record is not None:
        candidates.append((record.session_id, "launch record"))
    candidates += [(sid, "newest transcript") for sid in observed.transcripts.get(cwd, ())[:1]]
    for sid, source in candidates:
        if claims.holder(sid) is None:
            agrees = " (its exit hint agrees)" if hint == sid else ""
            return _choice(sid, source + agrees, cwd, observed)
    return SessionChoice(fresh_id(target, observed, record.session_id if record else None),
                         False, "new")
