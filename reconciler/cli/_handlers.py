"""Each command's handler, written out: mypy checks its signature, import-linter and the
dead-code scan follow it, and its module is imported only when the command runs, so
heavy imports (jsonschema, psutil, tenacity, textual) stay off ``--help`` and the small
commands. The demo drives the CLI, so it is found by name (neither imports the other)."""

# ruff: noqa: PLC0415  (the point of this module: each import waits for its command)

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from reconciler.cli._ui import Ui

Handler = Callable[[argparse.Namespace, Ui], int]


def plan(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._commands import plan as run
    return run(args, ui)


def apply(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._commands import apply as run
    return run(args, ui)


def status(args: argparse.Namespace, ui: Ui) -> int:
    if getattr(args, "format", None) == "tmux":  # with options the fast path does not take
        from reconciler.cli._segment import read_segment
        given = getattr(args, "state_dir", None)
        ui.say(read_segment(str(given) if given else None))
        return 0
    from reconciler.cli._commands import status as run
    return run(args, ui)


def validate(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._commands import validate as run
    return run(args, ui)


def swap(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._commands import swap as run
    return run(args, ui)


def run(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._service_commands import run as service
    return service(args, ui)


def drift(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._service_commands import drift as run
    return run(args, ui)


def install_service(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._service_commands import install_service as run
    return run(args, ui)


def limits(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._limits_commands import limits as run
    return run(args, ui)


def signals(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._limits_commands import signals as run
    return run(args, ui)


def limit_check(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._limit_check import limit_check as run
    return run(args, ui)


def init(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._init import init as run
    return run(args, ui)


def adopt(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._adopt import adopt as run
    return run(args, ui)


def completion(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._completion import completion as run
    return run(args, ui)


def top(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._top import top as run
    return run(args, ui)


def doctor(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._doctor import doctor as run
    return run(args, ui)


def demo(args: argparse.Namespace, ui: Ui, *, cli: Callable[..., int]) -> int:
    """The demo is handed the CLI's entry point to drive."""
    run_demo = importlib.import_module("reconciler.demo").run_demo
    code: int = run_demo(keep=bool(getattr(args, "keep", False)), say=ui.say, cli=cli)
    return code


HANDLERS: dict[str, Handler] = {
    "plan": plan, "apply": apply, "status": status, "validate": validate, "swap": swap,
    "run": run, "drift": drift, "install_service": install_service, "limits": limits,
    "signals": signals, "limit_check": limit_check, "init": init, "adopt": adopt,
    "completion": completion, "top": top, "doctor": doctor,
}
"""Command (``-`` as ``_``) -> its handler; ``demo`` is handed the entry point besides."""
