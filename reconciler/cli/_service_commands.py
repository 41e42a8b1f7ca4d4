"""``reconcile run``, ``drift`` and ``install-service``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from reconciler.cli._main import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, Ui, desired_path, state_dir
from reconciler.desired import load_desired
from reconciler.observe import observe
from reconciler.plan import plan as make_plan
from reconciler.service import Service, drift_items
from reconciler.statedir import StateDir

UNIT = """\
[Unit]
Description=reconciler: keep Claude Code accounts and tmux sessions as declared
After=default.target

[Service]
Type=simple
ExecStart={exe} -m reconciler run -f {desired} --state-dir {state}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=5
KillSignal=SIGTERM
TimeoutStopSec=60
Environment=PYTHONUNBUFFERED=1

[Install]
WantedBy=default.target
"""


def service_logger(ui: Ui) -> Callable[[str], None]:
    """One line per event; journald adds its own timestamps, so only add ours elsewhere."""
    under_journal = bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))

    def say(line: str) -> None:
        if under_journal:
            ui.say(line)
        else:
            ui.say(f"{datetime.now(UTC).astimezone().isoformat(timespec='seconds')} {line}")

    return say


def run(args: argparse.Namespace, ui: Ui) -> int:
    service = Service(
        desired_path(args).resolve(), state_dir(args), say=service_logger(ui),
        interval=args.interval, lock_timeout=getattr(args, "lock_timeout", None),
    )
    return service.run(once=args.once)


def drift(args: argparse.Namespace, ui: Ui) -> int:
    desired = load_desired(desired_path(args))
    state = StateDir(state_dir(args))
    the_plan = make_plan(desired, observe(desired, state))
    converged = state.read_converged()
    items = drift_items(the_plan, desired, converged)
    if converged is None:
        ui.say("never converged with this state dir: run `reconcile apply` first")
    elif converged.digest != desired.digest:
        ui.say(f"the desired file changed since the last converge ({converged.time}); "
               f"{the_plan.changes} pending change(s) are intended, not drift")
    for key, message in items.items():
        ui.say(f"drift {key}: {message}")
    if not items:
        ui.say("no drift")
    ui.document({"drift": [{"key": k, "message": m} for k, m in items.items()],
                 "converged": converged.__dict__ if converged else None})
    return EXIT_CHANGES if items else EXIT_OK


def install_service(args: argparse.Namespace, ui: Ui) -> int:
    desired = desired_path(args).resolve()
    if not desired.is_file():
        ui.error(f"error: {desired} does not exist")
        return EXIT_ERROR
    unit = UNIT.format(exe=sys.executable, desired=desired, state=state_dir(args).resolve())
    if args.print_only:
        sys.stdout.write(unit)
        return EXIT_OK
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = config / "systemd" / "user" / "reconciler.service"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(unit)
    ui.say(f"wrote {path}\nnow: systemctl --user daemon-reload && "
           "systemctl --user enable --now reconciler && journalctl --user -fu reconciler")
    return EXIT_OK
