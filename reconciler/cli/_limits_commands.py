"""``reconcile limits`` (list, clear, import) and ``reconcile signals remove``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from reconciler.cli._render import limit_lines
from reconciler.cli._text import tilde
from reconciler.cli._ui import EXIT_ERROR, EXIT_OK, Ui, desired_path, state_dir
from reconciler.desired import DesiredState, load_desired
from reconciler.failover import MOST_AHEAD, preview, usage_view
from reconciler.signals import SignalDir
from reconciler.statedir import LimitRecord, StateDir


def limits(args: argparse.Namespace, ui: Ui) -> int:
    desired = load_desired(desired_path(args))
    state = StateDir(state_dir(args))
    if args.action in ("clear", "import"):
        from reconciler.apply import state_lock  # noqa: PLC0415  (only for a change)

        dry_run = bool(getattr(args, "dry_run", False))
        items = _read_import(args.target, ui) if args.action == "import" else {}
        if items is None:
            return EXIT_ERROR
        # The service's failover reads and writes the limits under this lock too; it is
        # taken only to change them, and only once the input is read (stdin may be slow).
        with contextlib.nullcontext() if dry_run else state_lock(state.lock_path,
                                                                 on_wait=ui.error):
            if args.action == "clear":
                return _clear(desired, state, args.target, ui)
            return _import(desired, state, items, ui,
                           fleet=bool(getattr(args, "fleet", False)), dry_run=dry_run)
    now = datetime.now(UTC)
    known, decision = preview(desired, state, now)
    usage = usage_view(desired, state, now)
    history = state.read_limit_history()
    for line in limit_lines(known, usage, now):
        ui.say(line)
    ui.say(f"next cycle: {decision.action}" + (f" to {decision.to}" if decision.to else "")
           + f": {decision.message}")
    waiting = len(SignalDir(state.root).event_names())
    if waiting:
        ui.say(f"{waiting} signal(s) from Claude not read yet: a running service reads them "
               "within a second (`reconcile run --once` reads them now)")
    if history:
        ui.say("")
        ui.say("history:")
        for item in history[-10:]:
            ui.say(f"  {item.get('time')}  {item.get('event')}  {item.get('account')}"
                   + (f"  until {item['resets_at']}" if item.get("resets_at") else "")
                   + (f"  ({item['source']})" if item.get("source") else ""))
    ui.document({"active_account": desired.active_account,
                 "limits": {n: lim.to_json() for n, lim in known.items()}, "usage": usage,
                 "decision": {"action": decision.action, "to": decision.to,
                              "message": decision.message},
                 "unread_signals": waiting, "history": history})
    return EXIT_OK


def _clear(desired: DesiredState, state: StateDir, account: str | None, ui: Ui) -> int:
    names = [a.name for a in desired.accounts]
    if account not in names:
        ui.error(f"error: limits clear ACCOUNT: one of {', '.join(names)}")
        return EXIT_ERROR
    known = state.read_limits()
    old = known.pop(account, None)
    if old is None:
        ui.say(f"{account} has no known limit")
    else:
        state.write_limits(known)
        off = state.read_preempt_off()
        off[account] = old.resets_at  # else its status line's usage would preempt at once
        state.write_preempt_off(off)
        state.record_limit_event({"event": "cleared", "account": account})
        state.forget_cooldown()  # a person's clear is honoured at once, not after it
        ui.say(f"cleared the limit of {account} (was until {old.resets_at.isoformat()}); "
               f"preempt_at leaves {account} be until then")
    ui.document({"ok": True, "cleared": old is not None})
    return EXIT_OK


def _read_import(source: str | None, ui: Ui) -> dict[str, object] | None:
    """The limits in FILE (or stdin), as ``limits --json`` prints them; None, said, when
    they cannot be read."""
    try:
        text = sys.stdin.read() if source in (None, "-") else Path(str(source)).read_text()
        raw = json.loads(text)
    except (OSError, ValueError, RecursionError) as exc:
        ui.error(f"error: limits import {source}: {exc}")
        return None
    items = raw.get("limits", raw) if isinstance(raw, dict) else None
    if not isinstance(items, dict):
        ui.error(f"error: limits import {source}: expected the JSON `limits --json` prints")
        return None
    return items


def _import(desired: DesiredState, state: StateDir, items: dict[str, object], ui: Ui, *,
            fleet: bool = False, dry_run: bool = False) -> int:
    """Limits another host saw; for each account the later reset wins, so importing the
    same file twice, or an older one, changes nothing.

    ``fleet``: the file is the fleet's merged view (the earliest known reset of each
    account and kind across hosts), so its reset replaces this host's even when earlier:
    every host then returns at the same instant instead of each at its own guess.
    ``dry_run`` writes nothing; either way the document carries the limits that result
    and the policy's decision over them, which is how a fleet asks one host what the
    fleet's active account should be without a second copy of the policy."""
    names = {a.name for a in desired.accounts}
    known = state.read_limits()
    taken = []
    now = datetime.now(UTC)
    for name, item in items.items():
        try:
            record = LimitRecord.from_json(item)
        except (KeyError, TypeError, ValueError) as exc:
            ui.error(f"warning: limits import: {name}: {exc}; skipped")
            continue
        why = (f"no account {record.account!r} here (known: {', '.join(sorted(names))})"
               if record.account not in names else
               f"resets {record.resets_at.isoformat()}, more than "
               f"{MOST_AHEAD.days} days out" if record.resets_at > now + MOST_AHEAD else
               None)
        if why is not None:
            ui.error(f"warning: limits import: {name}: {why}; skipped")
            continue
        if record.resets_at <= now:
            continue
        old = known.get(record.account)
        if old is None or record.resets_at > old.resets_at or (
                fleet and record.resets_at != old.resets_at):
            known[record.account] = record
            taken.append(record.account)
            if not dry_run:
                state.record_limit_event({"event": "imported", **record.to_json()})
    if taken and not dry_run:
        state.write_limits(known)
    ui.say(f"{'would import' if dry_run else 'imported'}: {', '.join(taken) or 'nothing new'}")
    _known, decision = preview(desired, state, now, known)
    ui.document({"ok": True, "imported": taken, "dry_run": dry_run,
                 "active_account": desired.active_account,
                 "limits": {n: lim.to_json() for n, lim in known.items()},
                 "decision": {"action": decision.action, "to": decision.to,
                              "reason": decision.reason, "message": decision.message}})
    return EXIT_OK


def signals(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.apply import remove_signals  # noqa: PLC0415
    from reconciler.observe import signal_commands  # noqa: PLC0415

    desired = load_desired(desired_path(args))
    state = StateDir(state_dir(args))
    base = signal_commands(desired, state, force=True)
    assert base is not None  # noqa: S101  (force)
    done: set[Path] = set()
    for account in desired.accounts:
        settings = account.home / "settings.json"
        if settings.resolve() in done:  # one file linked into two homes: once
            continue
        done.add(settings.resolve())
        changed = remove_signals(settings, state, base)
        ui.say(f"{'removed from' if changed else 'nothing in'} {tilde(settings)}")
    ui.document({"ok": True})
    return EXIT_OK
