"""``reconcile``: parses, hands the command to its handler (``_handlers``), and turns the
project's errors into messages and exit codes. The commands import ``_ui`` and never this
module, so the CLI has no import cycle.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Sequence

from reconciler.cli import _handlers as handlers
from reconciler.cli._handlers import HANDLERS, Handler
from reconciler.cli._parser import build_parser
from reconciler.cli._ui import EXIT_ERROR, EXIT_OK, Ui


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


def _handler(command: str) -> Handler:
    if command == "demo":
        return functools.partial(handlers.demo, cli=main)
    return HANDLERS[command]
