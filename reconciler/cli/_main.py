"""``reconcile``: the command line. Parses, loads, and hands over to the layers.

Heavy imports (jsonschema, psutil, tenacity) happen inside the commands that
need them, so ``--help`` and small commands stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
DESIRED_ENV = "RECONCILER_DESIRED"
STATE_ENV = "RECONCILER_STATE_DIR"


def interval_arg(text: str) -> float:
    """``--interval``: the desired file's duration forms and bounds (1s to 1 day)."""
    from reconciler.desired._build import BOUNDS, duration_problem, parse_duration  # noqa: PLC0415

    form = re.fullmatch(r"\s*([0-9]+(\.[0-9]+)?\s*(ms|s|m|h|d)\s*)+|[0-9]+(\.[0-9]+)?", text)
    if form is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (30, 30s, 5m, 1h)")
    seconds = parse_duration(float(text) if form.group(1) is None else text)
    why = duration_problem(seconds, BOUNDS["service.interval"])
    if why is not None:
        raise argparse.ArgumentTypeError(f"{text!r}: {why}")
    return seconds


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-f", "--file", type=Path, default=argparse.SUPPRESS,
                        help=f"desired-state file (else ${DESIRED_ENV}, else ./desired_state.yaml)")
    common.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS,
                        help="state dir (default $XDG_STATE_HOME/reconciler)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="one JSON document on stdout; human text on stderr")
    common.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS,
                        help="show the plan and change nothing (same as `reconcile plan`)")
    common.add_argument("--lock-timeout", type=float, default=argparse.SUPPRESS,
                        help="seconds to wait for another apply to finish (default: wait)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="reconcile", parents=[common],
        description="Keep Claude Code accounts, shared dirs and tmux sessions as declared.",
        epilog="With no command: apply (or, with --dry-run, plan).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in [
        ("plan", "show what apply would do; exit 0 none, 2 changes pending, 1 error"),
        ("apply", "converge the world to the desired state"),
        ("status", "observed accounts, sessions and Claudes"),
        ("validate", "check the desired file and exit"),
    ]:
        sub.add_parser(name, parents=[common], help=text, description=text)
    swap = sub.add_parser("swap", parents=[common], help="make ACCOUNT the active account",
                          description="Rewrite active_account in the desired file (only that "
                          "value) and record the swap; --apply converges right away; --dry-run "
                          "writes and records nothing and shows what an apply would do.")
    swap.add_argument("account")
    swap.add_argument("--apply", action="store_true", dest="then_apply",
                      help="apply the new desired state now")
    run = sub.add_parser("run", parents=[common], help="the periodic loop service",
                         description="Observe, plan and apply every interval; alert on drift.")
    run.add_argument("--interval", type=interval_arg, help="time between cycles, as in the "
                     "file (30, 30s, 5m, 1h; default: service.interval, else 30s)")
    run.add_argument("--once", action="store_true", help="run one cycle and exit")
    sub.add_parser("drift", parents=[common],
                   help="print drift from the last converge; exit 0 none, 2 drift, 1 error")
    unit = sub.add_parser("install-service", parents=[common],
                          help="write a systemd user unit for `reconcile run`")
    unit.add_argument("--print", action="store_true", dest="print_only",
                      help="print the unit instead of writing it")
    check = sub.add_parser("limit-check", help="is TEXT a usage limit, and when does it reset?")
    check.add_argument("text", help="the message, or - for stdin")
    check.add_argument("--now", help="pin the clock (ISO 8601)")
    check.add_argument("--tz", help="pin the local zone (IANA name)")
    limits = sub.add_parser(
        "limits", parents=[common], help="known usage limits: list, clear, import",
        description="With no action: every known limit (account, kind, reset, where it was "
                    "read, the session and Claude's words), each account's usage from its "
                    "status line, and the history. `clear ACCOUNT` forgets a limit (a running "
                    "service honours it at once); `import FILE|-` takes limits another host "
                    "saw (the JSON `limits --json` prints); a later reset always wins.")
    limits.add_argument("action", nargs="?", choices=["list", "clear", "import"],
                        default="list")
    limits.add_argument("target", nargs="?", help="ACCOUNT for clear; FILE or - for import")
    signals = sub.add_parser(
        "signals", parents=[common], help="remove Claude's limit signals from every home",
        description="`remove` takes the StopFailure hook and the status-line wrapper out of "
                    "every account's settings.json and gives back your own status line. "
                    "(They come back on the next apply unless failover.signals is false.)")
    signals.add_argument("action", choices=["remove"])
    demo = sub.add_parser("demo", parents=[common], help="run a throw-away sandbox end to end")
    demo.add_argument("--keep", action="store_true", help="keep the sandbox and its tmux server")
    return parser


class Ui:
    """Where text goes: stdout normally, stderr when stdout carries JSON."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def say(self, line: str = "") -> None:
        print(line, file=sys.stderr if self.as_json else sys.stdout, flush=True)

    def error(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def document(self, value: Any) -> None:
        if self.as_json:
            json.dump(value, sys.stdout, indent=2)
            sys.stdout.write("\n")


def _opt(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)


def desired_path(args: argparse.Namespace) -> Path:
    given = _opt(args, "file")
    if given is not None:
        return Path(given)
    return Path(os.environ.get(DESIRED_ENV) or "desired_state.yaml")


def state_dir(args: argparse.Namespace) -> Path:
    from reconciler.statedir import default_state_dir  # noqa: PLC0415

    given = _opt(args, "state_dir") or os.environ.get(STATE_ENV)
    return Path(given) if given else default_state_dir()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = (args.command or ("plan" if _opt(args, "dry_run") else "apply")).replace("-", "_")
    if command == "apply" and _opt(args, "dry_run"):
        command = "plan"
    ui = Ui(bool(_opt(args, "json", False)))
    from reconciler.desired import DesiredStateError  # noqa: PLC0415
    from reconciler.errors import ReconcilerError  # noqa: PLC0415

    handler = _handler(command)
    try:
        return handler(args, ui)
    except DesiredStateError as exc:
        for problem in exc.problems:
            ui.error(str(problem))
        ui.document({"ok": False, "errors": [str(p) for p in exc.problems]})
        return EXIT_ERROR
    except ReconcilerError as exc:
        ui.error(f"error: {exc}")
        ui.document({"ok": False, "errors": [str(exc)]})
        return EXIT_ERROR
    except KeyboardInterrupt:
        ui.error("interrupted")
        return 130
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        ui.error(f"error: {exc.strerror or exc}{where}")
        ui.document({"ok": False, "errors": [f"{exc.strerror or exc}{where}"]})
        return EXIT_ERROR


def _commands() -> Any:
    from reconciler.cli import _commands as commands  # noqa: PLC0415

    return commands


def _handler(command: str) -> Callable[[argparse.Namespace, Ui], int]:
    if command == "limit_check":
        from reconciler.cli._limit_check import limit_check  # noqa: PLC0415

        return limit_check
    if command in {"limits", "signals"}:
        from reconciler.cli import _limits_commands  # noqa: PLC0415

        return getattr(_limits_commands, command)  # type: ignore[no-any-return]
    if command in {"run", "drift", "install_service"}:
        from reconciler.cli import _service_commands  # noqa: PLC0415

        return getattr(_service_commands, command)  # type: ignore[no-any-return]
    return getattr(_commands(), command)  # type: ignore[no-any-return]
