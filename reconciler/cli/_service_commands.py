"""``reconcile run``, ``drift`` and ``install-service``."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.cli._ui import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, Ui, desired_path, state_dir
from reconciler.desired import load_desired
from reconciler.errors import ReconcilerError
from reconciler.observe import observe
from reconciler.plan import plan as make_plan
from reconciler.service import Service, drift_items
from reconciler.statedir import StateDir, move_aside, open_private

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
# Only the reconciler itself: the tmux server it started (and every Claude in it) lives
# in this unit's cgroup, and must outlive a stop or a restart of the service.
KillMode=process
KillSignal=SIGTERM
TimeoutStopSec=60
Environment=PYTHONUNBUFFERED=1
# The PATH install-service ran with: a Claude is known by its executable, found on it
# (the user manager's own PATH rarely holds ~/.local/bin, where Claude installs itself);
# and TMUX_TMPDIR where it was set, so the service talks to the tmux server you do.
{environment}

[Install]
WantedBy=default.target
"""


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """Rotation by the standard library; every file it opens is the user's alone."""

    def _open(self) -> Any:
        fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8")


def _log_file(state: StateDir) -> logging.Logger | None:
    try:
        state.check_writable()
        handler = _PrivateRotatingFile(state.log_path, maxBytes=1 << 20, backupCount=3,
                                       encoding="utf-8")
    except (OSError, ReconcilerError):
        return None  # the console still has every line
    logger = logging.getLogger("reconciler.service")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


def service_logger(ui: Ui, state: StateDir | None = None) -> Callable[[str], None]:
    """One line per event. journald adds its own timestamps, so only add ours elsewhere;
    and elsewhere, also to a rotating file in the state dir (``service.log``)."""
    under_journal = bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))
    log = None if under_journal or state is None else _log_file(state)

    def say(line: str) -> None:
        if under_journal:
            ui.say(line)
            return
        stamped = f"{datetime.now(UTC).astimezone().isoformat(timespec='seconds')} {line}"
        ui.say(stamped)
        if log is not None:
            log.info(stamped)

    return say


def run(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.apply import LockTimeoutError  # noqa: PLC0415

    state = StateDir(state_dir(args))
    service = Service(
        desired_path(args).resolve(), state.root, say=service_logger(ui, state),
        interval=args.interval, lock_timeout=getattr(args, "lock_timeout", None),
    )
    try:
        code = service.run(once=args.once)
    except LockTimeoutError:
        running = state.read_service() or {}
        ui.error(f"error: another `reconcile run` (pid {running.get('pid', '?')}) is active on "
                 f"{state.root}; one service per state dir, so this one exits")
        ui.document({"ok": False, "errors": ["another service is active"]})
        return EXIT_ERROR
    outcome = service.last_outcome
    if args.once and outcome is not None:
        from reconciler.cli import _render  # noqa: PLC0415

        planned = (_render.plan_json(outcome.plan, service.desired)
                   if service.desired is not None else {})
        ui.document({"ok": code == 0, **planned,
                     "report": _render.report_json(outcome.report) if outcome.report else None,
                     "drift": outcome.drift,
                     "alerts": [_render.to_jsonable(a) for a in outcome.alerts]})
    return code


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


def _verify(path: Path) -> str | None:
    """``systemd-analyze verify`` where it exists: its complaint, or None. Not ``--user``:
    that needs a running user manager (absent over plain SSH), and the unit's syntax is
    checked the same without one."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return None
    import subprocess  # noqa: PLC0415  (this command only)

    try:
        done = subprocess.run([analyze, "verify", str(path)], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"systemd-analyze could not run: {exc}"
    said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    complaint = "\n".join(line for line in said
                          if path.name in line or "error" in line.lower())
    if done.returncode == 0:
        return complaint or None
    return complaint or "\n".join(said[-10:]) or f"exit {done.returncode}, no output"


def _unit_quoted(value: str) -> str:
    """A value inside a unit's double quotes: systemd reads backslashes, quotes and %."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def _exec_word(value: str) -> str:
    """One word of ``ExecStart``: quoted (a space stays inside), and ``%`` and ``$`` kept
    literal (systemd expands both there)."""
    return f'"{_unit_quoted(value).replace("$", "$$")}"'


def install_service(args: argparse.Namespace, ui: Ui) -> int:
    desired = desired_path(args).resolve()
    if not desired.is_file():
        ui.error(f"error: {desired} does not exist")
        return EXIT_ERROR
    carried = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
               "TMUX_TMPDIR": os.environ.get("TMUX_TMPDIR")}
    unit = UNIT.format(exe=_exec_word(sys.executable), desired=_exec_word(str(desired)),
                       state=_exec_word(str(state_dir(args).resolve())),
                       environment="\n".join(f'Environment="{name}={_unit_quoted(value)}"'
                                             for name, value in carried.items() if value))
    if args.print_only:
        sys.stdout.write(unit)
        return EXIT_OK
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    path = config / "systemd" / "user" / "reconciler.service"
    if os.path.lexists(path):
        if path.is_file() and path.read_text(errors="replace") == unit:
            ui.say(f"{path} is already this unit; nothing written")
            return EXIT_OK
        if not args.force:
            ui.error(f"error: {path} exists and differs; nothing written. --print shows the "
                     "new unit; --force replaces it (the old one is moved aside)")
            return EXIT_ERROR
        aside = move_aside(path)
        ui.say(f"moved the old unit aside to {aside}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(unit)
    complaint = _verify(path)
    if complaint:
        ui.error(f"warning: systemd-analyze verify {path} said:\n{complaint}")
    elif shutil.which("systemd-analyze"):
        ui.say(f"systemd-analyze verify {path}: no complaint")
    ui.say(f"wrote {path}\nnow: systemctl --user daemon-reload && "
           "systemctl --user enable --now reconciler && journalctl --user -fu reconciler")
    return EXIT_OK
