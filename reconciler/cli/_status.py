"""The status model: one frozen snapshot of everything worth watching.

``reconcile status`` (text and JSON) and ``reconcile top`` read the same snapshot, built
by ``build_status`` alone, so the live view can never say something the command does
not. Every piece is a frozen record: the renderers get names and types, not dicts
whose keys they would have to guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.desired import DesiredState, DesiredStateError, load_desired, load_desired_bytes
from reconciler.failover import Decision
from reconciler.observe import Observed, PathFact, TmuxStatus, observe
from reconciler.plan import Waiting, plan
from reconciler.statedir import ActiveRecord, LimitRecord, StateDir


@dataclass(frozen=True)
class PaneRow:
    """One tmux pane: its session, and the Claude in it if one runs."""

    session: str
    role: str
    """``dedicated``, ``autonomous`` or ``unmanaged`` (left to the user)."""
    pane: str
    """The pane's stable target (``session/ordinal``)."""
    pane_id: str
    account: str | None
    claude_pid: int | None
    session_id: str | None
    state: str
    """The Claude's own word (``busy``, ``idle``, ``waiting``), else what the pane runs."""
    cwd: str
    moved_from: str | None = None
    """The account it ran on before the reconciler last moved it here."""
    moved_at: str | None = None
    moved_why: str | None = None
    """``limit`` (its account was limited), ``cut`` (the move could not wait), ``turn``
    (moved between turns)."""
    continued: bool = False
    """Its first message on this account continued the turn the move (or the limit) cut."""

    @property
    def has_claude(self) -> bool:
        return self.claude_pid is not None


@dataclass(frozen=True)
class Window:
    """A usage window: ``five_hour``, ``seven_day``; from the usage endpoint or a status
    line, with the reading's time and when it runs out at its burn rate."""

    name: str
    used_percentage: float
    resets_at: datetime | None
    source: str = ""
    read_at: datetime | None = None
    runs_out: datetime | None = None


@dataclass(frozen=True)
class AccountRow:
    name: str
    home: Path
    active: bool
    sessions: tuple[str, ...]
    """tmux sessions where one of its Claudes runs."""
    claudes: int
    busy: int
    windows: tuple[Window, ...]
    limit: LimitRecord | None
    note: str = ""
    """Why its usage is unknown (an expired token, the endpoint's refusal)."""


@dataclass(frozen=True)
class ServiceRow:
    """What ``reconcile run`` last wrote about itself; ``running`` only while its pid is
    alive and still a reconciler (a pid reused by another program reads as stopped)."""

    running: bool
    pid: int | None = None
    started: str | None = None
    cycles: int | None = None
    last_cycle: str | None = None
    interval: float | None = None
    """Seconds between its cycles, as it runs now: a last cycle far older is news."""


@dataclass(frozen=True)
class AlertRow:
    kind: str
    subject: str
    message: str


@dataclass(frozen=True)
class Backoff:
    """A pane whose Claude keeps exiting at launch; ``held`` while no launch is tried."""

    target: str
    count: int
    until: str
    reason: str
    held: bool


@dataclass(frozen=True)
class Stuck:
    """A Claude waiting at a prompt nobody may answer blindly (trust, login, limit menu)."""

    target: str
    message: str


@dataclass(frozen=True)
class Swap:
    time: str
    previous: str
    account: str
    reason: str
    moved: int = 0
    """Claudes moved onto the account since this swap."""
    continued: int = 0
    """Cut turns those moves continued."""


@dataclass(frozen=True)
class Status:
    now: datetime
    desired: Path
    active_account: str
    link: PathFact
    tmux: TmuxStatus
    tmux_error: str
    panes: tuple[PaneRow, ...]
    accounts: tuple[AccountRow, ...]
    service: ServiceRow
    active: ActiveRecord | None
    alerts: tuple[AlertRow, ...]
    backoffs: tuple[Backoff, ...]
    limits: tuple[LimitRecord, ...]
    decision: Decision
    stuck: tuple[Stuck, ...]
    swaps: tuple[Swap, ...]
    waiting: tuple[Waiting, ...] = ()
    """Claudes whose move waits for their turn to end: since when, until when."""
    desired_problems: tuple[str, ...] = ()
    """The desired file is broken (``FILE:LINE: key: problem``): this is the last valid
    state, as the service keeps running it."""

    @property
    def claudes(self) -> tuple[PaneRow, ...]:
        return tuple(p for p in self.panes if p.has_claude)


def _panes(desired: DesiredState, observed: Observed) -> tuple[PaneRow, ...]:
    rows = []
    for name, panes in sorted(observed.tmux.sessions().items()):
        role = ("dedicated" if name in desired.dedicated_names
                else "autonomous" if desired.managed(name, observed.created) else "unmanaged")
        for pane in panes:
            claude = pane.claude
            if claude is None:
                state = f"busy ({pane.foreground})" if pane.foreground else "shell"
            else:
                state = claude.status or "running"
            record = observed.records.get(pane.target)
            moved = (record if record is not None and claude is not None
                     and record.pid == claude.pid and record.moved_from else None)
            rows.append(PaneRow(
                session=name, role=role, pane=pane.target, pane_id=pane.pane_id,
                account=(claude.account or "?") if claude else None,
                claude_pid=claude.pid if claude else None,
                session_id=claude.session_id if claude else None, state=state,
                cwd=(claude.cwd if claude and claude.cwd else pane.cwd),
                moved_from=moved.moved_from if moved else None,
                moved_at=moved.time if moved else None, moved_why=moved.why if moved else None,
                continued=bool(moved and moved.continued)))
    return tuple(rows)


def _service(raw: dict[str, Any] | None) -> ServiceRow:
    pid = raw.get("pid") if raw is not None else None
    if raw is None or not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return ServiceRow(False)
    try:
        # `python -m reconciler run` (the unit) or the `reconcile` script (by hand)
        running = b"reconcile" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        running = False
    cycles = raw.get("cycles")

    def text(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) else None

    interval = raw.get("interval")
    return ServiceRow(running, pid, text("started"),
                      cycles if isinstance(cycles, int) else None, text("last_cycle"),
                      float(interval) if isinstance(interval, int | float)
                      and not isinstance(interval, bool) else None)


def _accounts(desired: DesiredState, state: StateDir, now: datetime,
              panes: tuple[PaneRow, ...],
              limits: dict[str, LimitRecord]) -> tuple[AccountRow, ...]:
    from reconciler import failover  # noqa: PLC0415  (the watcher: loaded by status and top)

    rows = []
    table = failover.headroom_table(desired, state, now)
    for account in desired.accounts:
        mine = [p for p in panes if p.has_claude and p.account == account.name]
        rows.append(AccountRow(
            name=account.name, home=account.home,
            active=account.name == desired.active_account,
            sessions=tuple(sorted({p.session for p in mine})), claudes=len(mine),
            busy=sum(p.state == "busy" for p in mine),
            windows=tuple(Window(w.name, w.used, w.resets_at, w.source, w.read_at, w.runs_out)
                          for w in table[account.name].windows),
            limit=limits.get(account.name), note=table[account.name].note))
    return tuple(rows)


def _stuck(desired: DesiredState, observed: Observed,
           firing: dict[str, str]) -> tuple[Stuck, ...]:
    """What the panes show now, and what the service found stuck over time (a pane left
    in copy mode: ``firing`` is the stuck_session alerts)."""
    from reconciler import failover  # noqa: PLC0415  (the watcher: only when panes are read)

    panes = failover.claude_panes(desired, observed)
    texts = {p.pane_id: p.text for p in panes if p.text is not None}
    found: dict[str, str] = {**firing, **failover.stuck_panes(texts, panes)}
    return tuple(Stuck(t, m) for t, m in sorted(found.items()))


def _swaps(state: StateDir) -> tuple[Swap, ...]:
    return tuple(Swap(str(s.get("time", "")), str(s.get("from", "")), str(s.get("to", "")),
                      str(s.get("reason", "")), int(s.get("moved", 0)),
                      int(s.get("continued", 0))) for s in state.read_swaps())


def load_for_view(path: Path, state: StateDir) -> tuple[DesiredState, tuple[str, ...]]:
    """The desired state to show, and the file's problems: while an edit is broken, the
    last valid text the service loaded (as it keeps running it), said with the error."""
    try:
        return load_desired(path), ()
    except DesiredStateError as exc:
        raw = state.read_last_valid()
        if raw is None:
            raise
        try:
            return load_desired_bytes(path, raw), tuple(str(p) for p in exc.problems)
        except DesiredStateError:
            raise exc from None


def build_status(desired: DesiredState, state: StateDir,
                 problems: tuple[str, ...] = ()) -> Status:
    """Observe once and gather every record worth showing. Reads only: the state dir,
    tmux, ``/proc`` and the tail of each managed Claude's pane (for stuck prompts)."""
    from reconciler import failover  # noqa: PLC0415

    observed = observe(desired, state, screens=True)
    now = observed.now
    limits, decision = failover.preview(desired, state, now)
    waiting = plan(desired, observed).waiting
    alerts = state.read_alerts()
    panes = _panes(desired, observed)
    crashloops = state.read_crashloops()
    return Status(
        now=now, desired=desired.source, active_account=desired.active_account,
        link=observed.link, tmux=observed.tmux.status, tmux_error=observed.tmux.error,
        panes=panes,
        accounts=_accounts(desired, state, now, panes, limits),
        service=_service(state.read_service()), active=state.read_active(),
        alerts=tuple(AlertRow(kind, subject, message)
                     for kind, subjects in sorted(alerts.items())
                     for subject, message in sorted(subjects.items())),
        backoffs=tuple(Backoff(t, c.count, c.until, c.reason, _later(c.until, now))
                       for t, c in sorted(crashloops.items())),
        limits=tuple(lim for _n, lim in sorted(limits.items())),
        decision=decision,
        stuck=_stuck(desired, observed, alerts.get("stuck_session", {})),
        swaps=_swaps(state),
        waiting=waiting,
        desired_problems=problems,
    )


def _later(stamp: str, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(stamp) > now
    except (TypeError, ValueError):  # a record by hand: no zone, or no time
        return False
