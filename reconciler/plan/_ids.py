"""Which session id a (re)launched Claude gets: resume what it was, never lose it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from reconciler.claudecode import last_resume_hint
from reconciler.observe import LaunchRecord, Observed, PaneFact

_NAMESPACE = uuid.UUID("6f1c0f3e-5b8a-4c55-9a43-2a0e1d7f3b21")


@dataclass(frozen=True)
class SessionChoice:
    session_id: str
    resume: bool
    """True when a transcript exists: ``--resume``; else ``--session-id`` of the same id."""
    source: str
    """Where the id came from, shown in the plan so a user can trust (or doubt) it."""


def fresh_id(target: str, observed: Observed) -> str:
    """A new id, derived from the pane and the observation time so planning stays pure."""
    return str(uuid.uuid5(_NAMESPACE, f"{target}|{observed.now.isoformat()}"))


def _choice(session_id: str, source: str, cwd: str, observed: Observed) -> SessionChoice:
    resume = session_id in observed.transcripts.get(cwd, ())
    return SessionChoice(session_id, resume, source)


def for_stopped(
    *, target: str, session_id: str | None, cwd: str, observed: Observed
) -> SessionChoice:
    """The id of a Claude we are about to stop: what it runs now, else what it wrote last."""
    if session_id:
        return _choice(session_id, "running session", cwd, observed)
    record = observed.records.get(target)
    if record is not None:
        return _choice(record.session_id, "launch record", cwd, observed)
    newest = observed.transcripts.get(cwd, ())
    if newest:
        return _choice(newest[0], "newest transcript", cwd, observed)
    return SessionChoice(fresh_id(target, observed), False, "new")


def for_idle_pane(
    *,
    target: str,
    pane: PaneFact | None,
    record: LaunchRecord | None,
    cwd: str,
    resume_allowed: bool,
    observed: Observed,
) -> SessionChoice:
    """The id for a pane with no Claude, most trusted source first.

    A record written just before we stopped a Claude is the truth. Otherwise the
    freshest evidence of what ran last wins: the session file a killed Claude
    left behind, the exit hint it printed, our last launch, the newest transcript.
    """
    if record is not None and record.pending_relaunch:
        return _choice(record.session_id, "remembered before stop", record.cwd, observed)
    if not resume_allowed:
        return SessionChoice(fresh_id(target, observed), False, "new (resume: false)")
    if record is not None and record.pid is not None:
        stale = observed.stale_sessions.get(record.pid)
        if stale is not None:
            return _choice(stale.session_id, "session file of a killed Claude", cwd, observed)
    hint = last_resume_hint(pane.text or "") if pane is not None else None
    if hint:
        return _choice(hint, "exit hint in pane", cwd, observed)
    if record is not None:
        return _choice(record.session_id, "launch record", cwd, observed)
    newest = observed.transcripts.get(cwd, ())
    if newest:
        return _choice(newest[0], "newest transcript", cwd, observed)
    return SessionChoice(fresh_id(target, observed), False, "new")
