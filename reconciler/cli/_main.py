"""``reconcile``: parses, finds the command's module by name, and turns the project's
errors into messages and exit codes.

Each command's module is imported only when it runs, so heavy imports (jsonschema,
psutil, tenacity, textual) stay off ``--help`` and the small commands; the commands
import ``_ui`` and never this module, so the CLI has no import cycle.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence

from reconciler.cli._parser import build_parser
from reconciler.cli._ui import EXIT_ERROR, EXIT_OK, Ui

# command -> the module under reconciler.cli that defines a function of that name
_MODULES = {
    "plan": "_commands", "apply": "_commands", "status": "_commands",
    "validate": "_commands", "swap": "_commands",
    "run": "_service_commands", "drift": "_service_commands",
    "install_service": "_service_commands",
    "limits": "_limits_commands", "signals": "_limits_commands",
    "limit_check": "_limit_check", "init": "_init", "adopt": "_adopt",
    "completion": "_completion", "top": "_top", "doctor": "_doctor",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None and not getattr(args, "dry_run", False):
        parser.print_help()
        return EXIT_OK
    command = (args.command or "plan").replace("-", "_")
    if command == "apply" and getattr(args, "dry_run", False):
        command = "plan"
    ui = Ui(bool(getattr(args, "json", False)))
    from reconciler.errors import DesiredStateError, ReconcilerError  # noqa: PLC0415

    handler = _handler(command, args)
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
    except BrokenPipeError:
        # The reader left (`reconcile status | head`): quiet, as a program that SIGPIPE
        # ended, and nothing more is written to the closed pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        ui.error(f"error: {exc.strerror or exc}{where}")
        ui.document({"ok": False, "errors": [f"{exc.strerror or exc}{where}"]})
        return EXIT_ERROR


def _handler(command: str, args: argparse.Namespace | None = None
             ) -> Callable[[argparse.Namespace, Ui], int]:
    if command == "demo":
        return _demo
    if command == "status" and getattr(args, "format", None) == "tmux":
        from reconciler.cli._segment import status_segment  # noqa: PLC0415  (tmux runs it often)

        return status_segment
    module = importlib.import_module(f"reconciler.cli.{_MODULES[command]}")
    return getattr(module, command)  # type: ignore[no-any-return]


def _demo(args: argparse.Namespace, ui: Ui) -> int:
    """The demo drives the CLI, so neither imports the other: the CLI finds the demo by
    name and hands it this entry point to drive."""
    run_demo = importlib.import_module("reconciler.demo").run_demo
    code: int = run_demo(keep=bool(getattr(args, "keep", False)), say=ui.say, cli=main)
    return code
