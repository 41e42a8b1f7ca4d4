"""The bodies of the ``reconcile`` subcommands."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from reconciler.cli import _render
from reconciler.cli._launcher import launcher_missing
from reconciler.cli._text import short
from reconciler.cli._ui import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, Ui, desired_path, state_dir
from reconciler.desired import DesiredState, load_desired, swap_active_account
from reconciler.observe import Observed, observe
from reconciler.plan import LaunchClaude, Plan
from reconciler.plan import plan as make_plan
from reconciler.statedir import StateDir


def _load(args: argparse.Namespace) -> DesiredState:
    return load_desired(desired_path(args))


def validate(args: argparse.Namespace, ui: Ui) -> int:
    desired = _load(args)
    for warning in desired.warnings:
        ui.error(f"warning: {warning}")
    ui.say(f"ok: {desired.source} is valid: {len(desired.accounts)} account(s), active "
           f"{desired.active_account}, {len(desired.dedicated)} dedicated session(s)")
    ui.document({"ok": True, "desired": str(desired.source), "digest": desired.digest,
                 "warnings": [str(w) for w in desired.warnings]})
    return EXIT_OK


def _failover(desired: DesiredState, state: StateDir,
              observed: Observed) -> tuple[list[str], dict[str, Any]]:
    from reconciler import failover  # noqa: PLC0415  (plan only: apply never)

    limits, decision = failover.preview(desired, state, observed.now)
    usage = failover.usage_view(desired, state, observed.now)
    return _render.failover_view(limits, decision, {}, usage, observed.now)


def plan(args: argparse.Namespace, ui: Ui) -> int:
    return _show_plan(_load(args), args, ui)


def _show_plan(desired: DesiredState, args: argparse.Namespace, ui: Ui,
               extra: dict[str, Any] | None = None) -> int:
    state = StateDir(state_dir(args))
    observed = observe(desired, state)
    the_plan = make_plan(desired, observed)
    for line in _render.plan_lines(the_plan, desired):
        ui.say(line)
    _warn_launcher(the_plan, desired, ui)
    lines, doc = _failover(desired, state, observed)
    for line in lines:
        ui.say(line)
    ui.document({**(extra or {}), **_render.plan_json(the_plan, desired), "failover": doc})
    if the_plan.conflicts:
        return EXIT_ERROR
    return EXIT_CHANGES if the_plan.actions or the_plan.waiting else EXIT_OK


def _warn_launcher(the_plan: Plan, desired: DesiredState, ui: Ui) -> None:
    """Before a launch line is typed, not after its pane says ``command not found``."""
    if any(isinstance(a, LaunchClaude) for a in the_plan.actions) and (
            missing := launcher_missing(desired.launch.command)):
        ui.say(f"  ! warning: {missing}")


def apply(args: argparse.Namespace, ui: Ui) -> int:
    # Imported here: tenacity, psutil and the service stack cost ~100 ms that
    # `plan`, `status` and `validate` never need.
    from reconciler.apply import LockTimeoutError, apply_plan, state_lock  # noqa: PLC0415

    desired = _load(args)
    state = StateDir(state_dir(args))
    try:
        with state_lock(state.lock_path, timeout=getattr(args, "lock_timeout", None),
                        on_wait=ui.error):
            state.settle_active(desired.active_account)
            the_plan = make_plan(desired, observe(desired, state))
            ui.say(f"Applying {desired.source} (active account: {desired.active_account})")
            _warn_launcher(the_plan, desired, ui)
            report = apply_plan(
                the_plan, desired, state, on_result=lambda r: ui.say(_render.result_line(r)),
                on_progress=lambda line: ui.say(f"      …  {short(line)}"))
            if report.ok:  # later differences are drift
                state.write_converged(desired.digest, desired.active_account)
    except LockTimeoutError as exc:
        ui.error(f"error: {exc}")
        ui.document({"ok": False, "errors": [str(exc)]})
        return EXIT_ERROR
    for conflict in report.conflicts:
        ui.say(f"  ! conflict {conflict.key}: {short(conflict.message)}")
    for action, why in report.blocked:
        ui.say(f"  ! blocked: {short(action.description)} ({why})")
    ui.say(report.recap())
    ui.document(_render.report_json(report))
    return EXIT_OK if report.ok else EXIT_ERROR


def swap(args: argparse.Namespace, ui: Ui) -> int:
    dry_run = bool(getattr(args, "dry_run", False))
    previous, desired = swap_active_account(desired_path(args), args.account,
                                            reason="command", dry_run=True)  # refuses first
    if not dry_run:
        from reconciler.apply import state_lock  # noqa: PLC0415

        state = StateDir(state_dir(args))
        # the file and its record in one step a running service cannot see half of: it
        # would take the new file for an edit by hand and record the swap twice
        with state_lock(state.lock_path, timeout=getattr(args, "lock_timeout", None),
                        on_wait=ui.error):
            previous, desired = swap_active_account(
                desired_path(args), args.account, reason="command", state=state,
                now=bool(getattr(args, "cut_turns", False)))
    moved = {"from": previous, "to": desired.active_account}
    from reconciler.observe import observe_account  # noqa: PLC0415

    fact = observe_account(desired.active_account, desired.active.home, None,
                           dict(desired.launch.env))
    if not (fact.logged_in and fact.onboarded):
        ui.error(f"warning: {desired.active_account} ({short(str(desired.active.home))})"
                 f" is {'not logged in' if not fact.logged_in else 'not through its first run'}"
                 f"; its Claudes cannot start there until it is (CLAUDE_CONFIG_DIR="
                 f"{short(str(desired.active.home))} claude)")
    limits = StateDir(state_dir(args)).read_limits()
    limit = limits.get(desired.active_account)
    from reconciler.failover import available  # noqa: PLC0415

    if limit is not None and previous != desired.active_account and not available(
            desired.active_account, limits, datetime.now(UTC), desired.failover.grace):
        ui.error(f"warning: {desired.active_account} is limited until "
                 f"{limit.resets_at.astimezone():%a %H:%M} ({limit.reason}); its Claudes will "
                 "stop at the limit, and a running service with failover moves them on "
                 f"after its cooldown (`reconcile limits clear {desired.active_account}` if "
                 "the limit is gone)")
    if previous == desired.active_account:
        ui.say(f"{desired.active_account} is already the active account")
    elif dry_run:
        ui.say(f"would make {desired.active_account} active ({previous} now); {desired.source}"
               " is unchanged. What an apply would then do:")
    else:
        ui.say(f"active account: {previous} -> {desired.active_account} ({desired.source})")
    if dry_run:
        return _show_plan(desired, args, ui, {"swap": moved, "dry_run": True})
    if getattr(args, "then_apply", False):
        return apply(args, ui)
    ui.document({"ok": True, **moved})
    return EXIT_OK


def status(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._status import build_status, load_for_view  # noqa: PLC0415

    state = StateDir(state_dir(args))
    desired, problems = load_for_view(desired_path(args), state)
    snapshot = build_status(desired, state, problems)
    for problem in problems:
        ui.error(problem)
    for line in _render.status_lines(snapshot):
        ui.say(line)
    ui.document(_render.status_json(snapshot))
    return EXIT_ERROR if problems else EXIT_OK
