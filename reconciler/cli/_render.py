"""Text and JSON views of plans, reports and the status snapshot."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.cli._text import countdown, short, tilde
from reconciler.desired import DesiredState
from reconciler.observe import TmuxStatus
from reconciler.plan import SYMBOLS, Action, Kind, LaunchClaude, Plan, Waiting

if TYPE_CHECKING:  # the applier is not loaded for plan and status, the status rows not for a plan
    from reconciler.apply import Report, Result
    from reconciler.cli._status import AccountRow, ServiceRow, Status, Window


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums and paths as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Action):
            out = {"type": type(value).__name__, "symbol": SYMBOLS[value.kind], **out}
            if isinstance(value, LaunchClaude):
                out["line"] = value.line  # launch.env values read <redacted>
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k if not isinstance(k, tuple) else "/".join(k)): to_jsonable(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def summary(plan: Plan) -> str:
    waits = (f" {len(plan.waiting)} Claude(s) wait for their turn to end before they move."
             if plan.waiting else "")
    if not plan.actions and not plan.conflicts:
        return ("Nothing to do now." + waits) if waits else (
            "No changes. The world matches the desired state.")
    counts = plan.counts()
    words = ", ".join(f"{counts[k]} to {k.value}" for k in Kind)
    tail = f"; {len(plan.conflicts)} conflict(s)" if plan.conflicts else ""
    return f"Plan: {words}{tail}.{waits}"


def symbol(action: Action) -> str:
    return "·" if action.bookkeeping else SYMBOLS[action.kind]


def plan_lines(plan: Plan, desired: DesiredState) -> list[str]:
    lines = [f"Plan for {short(str(desired.source))} (active account: "
             f"{desired.active_account})", ""]
    lines += [f"  {symbol(a)} {short(a.description)}" for a in plan.actions]
    lines += [f"  ! conflict {c.key}: {short(c.message)}" for c in plan.conflicts]
    lines += [f"  ! blocked: {short(a.description)} ({why})" for a, why in plan.blocked]
    lines += [f"  note: {short(note)}" for note in plan.notes]
    lines += [f"  … {short(waiting_line(w, w.since).strip())}" for w in plan.waiting]
    if plan.actions or plan.conflicts or plan.notes or plan.waiting:
        lines.append("")
    lines.append(summary(plan))
    return lines


def plan_json(plan: Plan, desired: DesiredState) -> dict[str, Any]:
    return {
        "desired": str(desired.source),
        "active_account": desired.active_account,
        "changes": plan.changes,
        "counts": {k.value: n for k, n in plan.counts().items()},
        "actions": to_jsonable(plan.actions),
        "conflicts": to_jsonable(plan.conflicts),
        "blocked": [{"action": to_jsonable(a), "reason": why} for a, why in plan.blocked],
        "notes": list(plan.notes),
        "waiting": waiting_json(plan.waiting),
    }


def result_line(result: Result) -> str:
    tail = f": {result.message}" if result.message else ""
    retried = f" (after {result.attempts} tries)" if result.attempts > 1 else ""
    return short(f"{result.status.value:>7}  {symbol(result.action)} "
                 f"{result.action.description}{retried}{tail}")


def report_json(report: Report) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "counts": report.counts(),
        "results": [
            {"status": r.status.value, "message": r.message, "attempts": r.attempts,
             "seconds": round(r.seconds, 3), "action": to_jsonable(r.action)}
            for r in report.results
        ],
        "conflicts": to_jsonable(report.conflicts),
        "recap": report.recap(),
    }


def ago(stamp: str | None, now: datetime) -> str:
    """`` (12s ago)`` after an ISO stamp; nothing when the stamp is not one."""
    try:
        left = countdown(now, datetime.fromisoformat(stamp or ""))
    except (TypeError, ValueError):
        return ""
    return " (just now)" if left == "now" else f" ({left} ago)"


def bar(percent: float, width: int = 20) -> str:
    filled = round(min(100.0, max(0.0, percent)) * width / 100)
    return "\u2588" * filled + "\u2591" * (width - filled)


def window_name(name: str) -> str:
    return name.replace("_", "-")


def late(svc: ServiceRow, status: Status) -> str:
    """A warning when the running service's last cycle is far older than its interval (a
    cycle stuck on something: a hung tmux, a lock)."""
    if svc.interval is None or svc.last_cycle is None:
        return ""
    try:
        since = (status.now - datetime.fromisoformat(svc.last_cycle)).total_seconds()
    except (TypeError, ValueError):
        return ""
    if since <= 3 * svc.interval + 10:
        return ""
    return (f"  LATE: no cycle for {int(since)}s, its interval is {svc.interval:g}s "
            "(look at its log: a cycle may be stuck)")


def service_line(status: Status) -> str:
    svc = status.service
    if svc.running:
        return (f"service: running, pid {svc.pid} since {svc.started}, {svc.cycles} cycle(s), "
                f"last cycle {svc.last_cycle}{ago(svc.last_cycle, status.now)}{late(svc, status)}")
    last = f"; last cycle {svc.last_cycle}" if svc.last_cycle else ""
    return f"service: not running (reconcile run, or install-service){last}"


def window_tail(window: Window, now: datetime) -> str:
    """``resets 14:00 (in 2h10m), usage endpoint 40s ago, runs out 13:10``."""
    parts = []
    if window.resets_at is not None:
        parts.append(f"resets {window.resets_at.isoformat(timespec='minutes')} "
                     f"(in {countdown(window.resets_at, now)})")
    if window.read_at is not None:
        parts.append(f"{window.source} {countdown(now, window.read_at)} ago")
    if window.runs_out is not None:
        parts.append(f"runs out {window.runs_out.isoformat(timespec='minutes')}")
    return ", ".join(parts)


def window_json(window: Window, now: datetime) -> dict[str, Any]:
    return {"used_percentage": window.used_percentage,
            "resets_at": window.resets_at.isoformat() if window.resets_at else None,
            "source": window.source,
            "read_at": window.read_at.isoformat() if window.read_at else None,
            "age_seconds": int((now - window.read_at).total_seconds()) if window.read_at
            else None,
            "runs_out_at": window.runs_out.isoformat() if window.runs_out else None}


def account_lines(account: AccountRow, now: datetime) -> list[str]:
    head = f"{account.name}{' (active)' if account.active else ''}"
    if account.claudes:
        head += (f"  {account.claudes} Claude(s), {account.busy} busy, in "
                 f"{', '.join(account.sessions)}")
    else:
        head += "  no Claude"
    lines = [head + f"  [{tilde(account.home)}]"]
    for window in account.windows:
        lines.append(f"  {window_name(window.name):<10} {window.used_percentage:>5.1f}% "
                     f"{bar(window.used_percentage)}  {window_tail(window, now)}")
    if not account.windows:
        lines.append(f"  usage: {account.note or 'not reported yet (no reading since its reset)'}")
    if account.limit is not None:
        lim = account.limit
        lines.append(f"  limited ({lim.kind}) until {lim.resets_at.isoformat()} "
                     f"(in {countdown(lim.resets_at, now)}), from the {lim.source}")
    return lines


def status_lines(status: Status) -> list[str]:
    link = status.link
    where = f"-> {tilde(link.target)}" if link.target else f"({link.kind.value})"
    since = (f" since {status.active.since} ({status.active.reason})"
             if status.active is not None and status.active.account == status.active_account
             else "")
    lines = [f"DESIRED FILE BROKEN ({len(status.desired_problems)} problem(s), first: "
             f"{status.desired_problems[0]}): showing the last valid state, which the service "
             "keeps running"] if status.desired_problems else []
    lines += [f"desired: {tilde(status.desired)}",
             f"active account: {status.active_account}{since}",
             f"link: {tilde(link.path)} {where}", service_line(status), "", "accounts:"]
    for account in status.accounts:
        lines += [f"  {line}" for line in account_lines(account, status.now)]
    lines.append("")
    if status.tmux is not TmuxStatus.UP:
        lines.append(f"tmux: {status.tmux.value} {status.tmux_error}".rstrip())
    else:
        header = ("SESSION", "ROLE", "PANE", "ACCOUNT", "PID", "SESSION ID", "STATE")
        table = [header] + [
            (r.session, r.role, r.pane_id, r.account or "-", str(r.claude_pid or "-"),
             r.session_id or "-", r.state) for r in status.panes]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                  for row in table]
    lines += ["", f"alerts firing: {len(status.alerts) or 'none'}"]
    lines += [f"  {a.kind}  {a.subject}: {a.message}" for a in status.alerts]
    held = [b for b in status.backoffs if b.held]
    lines.append(f"crash-loop back-off: {len(held) or 'none'}")
    lines += [f"  {b.target}  exited {b.count} time(s) after launch; next try after {b.until}"
              + (f": {b.reason}" if b.reason else "") for b in held]
    lines.append(f"stuck prompts: {len(status.stuck) or 'none'}")
    lines += [f"  {s.message}" for s in status.stuck]
    lines.append(f"waiting for a turn to end: {len(status.waiting) or 'none'}")
    lines += [waiting_line(w, status.now) for w in status.waiting]
    moved = [r for r in status.claudes if r.moved_from]
    if moved:
        lines.append("moved:")
        lines += [f"  {r.pane}  from {r.moved_from} at {r.moved_at} ({r.moved_why or 'moved'})"
                  + ("; its cut turn was continued" if r.continued else "") for r in moved]
    decision = status.decision
    lines += ["", "Failover:"]
    lines += [f"  {line}" for line in
              limit_lines({lim.account: lim for lim in status.limits}, {}, status.now)]
    lines.append(f"  next cycle: {decision.action}"
                 + (f" to {decision.to} ({decision.reason})" if decision.to else "")
                 + f": {decision.message}")
    if status.swaps:
        lines += ["", "last swaps:"]
        lines += [f"  {s.time}  {s.previous} -> {s.account}  ({s.reason})"
                  + (f"; {s.moved} moved, {s.continued} cut turn(s) continued" if s.moved else "")
                  for s in status.swaps]
    return lines


def waiting_line(waiting: Waiting, now: datetime) -> str:
    return (f"  {waiting.target}  claude pid {waiting.pid} is {waiting.status} on "
            f"{waiting.account}: moves to {waiting.to} when its turn ends (waiting since "
            f"{waiting.since.isoformat(timespec='seconds')}; at "
            f"{waiting.until.isoformat(timespec='seconds')}, in "
            f"{countdown(waiting.until, now)}, its turn is cut and continued there)")


def status_json(status: Status) -> dict[str, Any]:
    """The same snapshot as ``status_lines``; paths stay absolute for programs."""
    usage = {a.name: {w.name: window_json(w, status.now) for w in a.windows}
             for a in status.accounts}
    decision = status.decision
    active = status.active
    return {
        "now": status.now.isoformat(),
        "desired": str(status.desired),
        "desired_problems": list(status.desired_problems),
        "active_account": status.active_account,
        "link": to_jsonable(status.link),
        "tmux": {"status": status.tmux.value, "error": status.tmux_error},
        "sessions": to_jsonable(status.panes),
        "accounts": [{"name": a.name, "home": str(a.home), "active": a.active,
                      "sessions": list(a.sessions), "claudes": a.claudes, "busy": a.busy,
                      "usage": usage[a.name],
                      "limit": a.limit.to_json() if a.limit is not None else None}
                     for a in status.accounts],
        "service": {**to_jsonable(status.service), "active": None if active is None else {
            "account": active.account, "since": active.since, "reason": active.reason}},
        "alerts": to_jsonable(status.alerts),
        "backoff": to_jsonable(status.backoffs),
        "failover": {"limits": {lim.account: lim.to_json() for lim in status.limits},
                     "usage": usage,
                     "decision": {"action": decision.action, "to": decision.to,
                                  "reason": decision.reason, "message": decision.message},
                     "stuck": {s.target: s.message for s in status.stuck}},
        "swaps": [{"time": s.time, "from": s.previous, "to": s.account, "reason": s.reason,
                   "moved": s.moved, "continued": s.continued} for s in status.swaps],
        "waiting": waiting_json(status.waiting),
    }


def waiting_json(waiting: tuple[Waiting, ...]) -> list[dict[str, Any]]:
    return [{"pane": w.target, "claude_pid": w.pid, "account": w.account, "to": w.to,
             "status": w.status, "since": w.since.isoformat(), "until": w.until.isoformat()}
            for w in waiting]


def failover_view(limits: dict[str, Any], decision: Any, stuck: dict[str, str],
                  usage: dict[str, Any], now: datetime) -> tuple[list[str], dict[str, Any]]:
    """Limited accounts (where it was read), usage, the next decision, stuck sessions."""
    lines = [f"  {line}" for line in limit_lines(limits, usage, now)]
    lines.append(f"  next cycle: {decision.action}"
                 + (f" to {decision.to} ({decision.reason})" if decision.to else "")
                 + f": {decision.message}")
    lines += [f"  stuck: {message}" for message in stuck.values()]
    doc = {"limits": {n: lim.to_json() for n, lim in limits.items()}, "usage": usage,
           "decision": {"action": decision.action, "to": decision.to,
                        "reason": decision.reason, "message": decision.message},
           "stuck": stuck}
    return ["Failover:", *lines], doc


def limit_lines(known: dict[str, Any], usage: dict[str, Any], now: datetime) -> list[str]:
    """The limits and each account's usage, for ``limits`` and ``status``."""
    lines = []
    for name, lim in sorted(known.items()):
        left = lim.resets_at - now
        hours, rest = divmod(max(0, int(left.total_seconds())), 3600)
        lines.append(f"limited: {name} ({lim.kind}) until {lim.resets_at.isoformat()} "
                     f"(in {hours}h{rest // 60:02d}m), from the {lim.source}"
                     + (f", session {lim.session}" if lim.session else ""))
        if lim.text:
            lines.append(f"  \u201c{lim.text}\u201d")
    for name, windows in sorted(usage.items()):
        for window, value in sorted(windows.items()):
            if not isinstance(value, dict):
                lines.append(f"usage: {name} unknown ({value})")
                continue
            ahead = (f", runs out {value['runs_out_at']} at "
                     f"{value['burn_percent_per_hour']:g}%/h" if value.get("runs_out_at") else "")
            age = (f", {value['source']} {value['age_seconds']}s ago"
                   if value.get("age_seconds") is not None else "")
            lines.append(f"usage: {name} {window.replace('_', '-')} "
                         f"{value['used_percentage']:g}% (resets {value['resets_at']}"
                         f"{age}{ahead})")
    return lines or ["no known limits"]
