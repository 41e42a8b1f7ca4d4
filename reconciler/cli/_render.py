"""Text and JSON views of plans, reports and observed state."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.desired import DesiredState
from reconciler.observe import Observed, TmuxStatus
from reconciler.plan import SYMBOLS, Action, Kind, LaunchClaude, Plan
from reconciler.statedir import ActiveRecord

if TYPE_CHECKING:  # the applier (tenacity, psutil) is not loaded for plan and status
    from reconciler.apply import Report, Result


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
    if not plan.actions and not plan.conflicts:
        return "No changes. The world matches the desired state."
    counts = plan.counts()
    words = ", ".join(f"{counts[k]} to {k.value}" for k in Kind)
    tail = f"; {len(plan.conflicts)} conflict(s)" if plan.conflicts else ""
    return f"Plan: {words}{tail}."


def plan_lines(plan: Plan, desired: DesiredState) -> list[str]:
    lines = [f"Plan for {desired.source} (active account: {desired.active_account})", ""]
    lines += [f"  {SYMBOLS[a.kind]} {a.description}" for a in plan.actions]
    lines += [f"  ! conflict {c.key}: {c.message}" for c in plan.conflicts]
    lines += [f"  ! blocked: {a.description} ({why})" for a, why in plan.blocked]
    lines += [f"  note: {note}" for note in plan.notes]
    if plan.actions or plan.conflicts or plan.notes:
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
    }


def result_line(result: Result) -> str:
    symbol = SYMBOLS[result.action.kind]
    tail = f": {result.message}" if result.message else ""
    retried = f" (after {result.attempts} tries)" if result.attempts > 1 else ""
    return f"{result.status.value:>7}  {symbol} {result.action.description}{retried}{tail}"


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


def status_rows(desired: DesiredState, observed: Observed) -> list[dict[str, Any]]:
    rows = []
    for name, panes in sorted(observed.tmux.sessions().items()):
        role = ("dedicated" if any(d.name == name for d in desired.dedicated)
                else "autonomous" if desired.managed(name) else "unmanaged")
        for pane in panes:
            claude = pane.claude
            rows.append({
                "session": name, "role": role, "pane": pane.target, "pane_id": pane.pane_id,
                "account": (claude.account or "?") if claude else None,
                "claude_pid": claude.pid if claude else None,
                "session_id": claude.session_id if claude else None,
                "state": (claude.status or "running") if claude else
                         (f"busy ({pane.foreground})" if pane.foreground else "shell"),
                "cwd": (claude.cwd if claude and claude.cwd else pane.cwd),
            })
    return rows


def status_json(desired: DesiredState, observed: Observed) -> dict[str, Any]:
    return {
        "desired": str(desired.source),
        "active_account": desired.active_account,
        "link": to_jsonable(observed.link),
        "tmux": {"status": observed.tmux.status.value, "error": observed.tmux.error},
        "sessions": status_rows(desired, observed),
    }


def status_lines(desired: DesiredState, observed: Observed) -> list[str]:
    link = observed.link
    where = f"-> {link.target}" if link.target else f"({link.kind.value})"
    lines = [f"desired: {desired.source}", f"active account: {desired.active_account}",
             f"link: {link.path} {where}"]
    if observed.tmux.status is not TmuxStatus.UP:
        lines.append(f"tmux: {observed.tmux.status.value} {observed.tmux.error}".rstrip())
        return lines
    rows = status_rows(desired, observed)
    header = ("SESSION", "ROLE", "PANE", "ACCOUNT", "PID", "SESSION ID", "STATE")
    table = [header] + [
        (r["session"], r["role"], r["pane_id"], r["account"] or "-",
         str(r["claude_pid"] or "-"), r["session_id"] or "-", r["state"]) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines.append("")
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in table]
    return lines


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


def service_view(service: dict[str, Any] | None,
                 active: ActiveRecord | None) -> tuple[list[str], dict[str, Any]]:
    """Whether ``reconcile run`` is running for this state dir, and who is active since
    when; a pid that is gone (or no longer ours) reads as not running."""
    running = False
    if service is not None and isinstance(service.get("pid"), int):
        cmdline = Path(f"/proc/{service['pid']}/cmdline")
        try:
            running = b"reconciler" in cmdline.read_bytes()
        except OSError:
            running = False
    if running and service is not None:
        lines = [f"service: running, pid {service['pid']} since {service.get('started')}, "
                 f"{service.get('cycles')} cycle(s), last {service.get('last_cycle')}"]
    else:
        lines = ["service: not running (reconcile run, or install-service)"]
    if active is not None:
        lines.append(f"active: {active.account} since {active.since} ({active.reason})")
    doc = {"running": running, **(service or {}),
           "active": None if active is None else {"account": active.account,
                                                  "since": active.since,
                                                  "reason": active.reason}}
    return lines, doc


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
            lines.append(f"usage: {name} {window.replace('_', '-')} "
                         f"{value['used_percentage']:g}% (resets {value['resets_at']})")
    return lines or ["no known limits"]
