"""``reconcile adopt``: the step between ``init`` and the first ``apply``. It shows its
renames, asks (or takes ``--yes``), and runs them under the apply lock, so a running
service cannot plan against a half-adopted home."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reconciler.cli._ui import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, Ui, desired_path, state_dir


def adopt(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.apply import carry_out, plan_adopt, state_lock  # noqa: PLC0415
    from reconciler.desired import load_desired  # noqa: PLC0415
    from reconciler.statedir import StateDir  # noqa: PLC0415

    desired = load_desired(desired_path(args))
    name = args.account or desired.accounts[0].name
    names = [a.name for a in desired.accounts]
    if name not in names:
        ui.error(f"error: no account {name!r} in {desired.source} (accounts: "
                 f"{', '.join(names)})")
        return EXIT_ERROR
    home = desired.account(name).home
    from reconciler.cli._text import short  # noqa: PLC0415

    steps = plan_adopt(desired.link, home, Path.home())
    document = {"account": name, "home": str(home), "steps": list(steps.steps)}
    if steps.done:
        ui.say(short(steps.steps[0]))
        ui.document({"ok": True, "done": True, **document})
        return EXIT_OK
    ui.say(short(f"adopt {desired.link} as the home of account {name}:"))
    for step in steps.steps:
        ui.say(f"  ~ {short(step)}")
    if getattr(args, "dry_run", False):
        ui.say("(dry run: nothing changed)")
        ui.document({"ok": True, "dry_run": True, **document})
        return EXIT_CHANGES
    if not args.yes:
        if not sys.stdin.isatty():
            ui.error("error: nothing changed: standard input is not a terminal, so adopt cannot "
                     "ask; add --yes to adopt without a question")
            return EXIT_ERROR
        answer = input("Go ahead? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            ui.say("nothing changed")
            return EXIT_ERROR
    state = StateDir(state_dir(args))
    with state_lock(state.lock_path, timeout=getattr(args, "lock_timeout", None),
                    on_wait=ui.error):
        steps = plan_adopt(desired.link, home, Path.home())  # again, under the lock
        carry_out(steps)
    ui.say(short(f"done: {desired.link} -> {home}. Next: reconcile --dry-run, then "
                 "reconcile apply"))
    ui.document({"ok": True, **document})
    return EXIT_OK
