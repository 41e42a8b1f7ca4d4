"""What every command shares with the person at the terminal: where its text goes
(stdout, or stderr when stdout carries JSON), its exit codes, and where its files are.

Standard library only: every command imports it, ``limit-check`` among them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from reconciler.cli._paths import state_root

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
DESIRED_ENV = "RECONCILER_DESIRED"


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
            sys.stdout.flush()  # a reader gone now is told here, not at exit


def desired_path(args: argparse.Namespace) -> Path:
    given = getattr(args, "file", None)
    if given is not None:
        return Path(given)
    return Path(os.environ.get(DESIRED_ENV) or "desired_state.yaml")


def state_dir(args: argparse.Namespace) -> Path:
    given = getattr(args, "state_dir", None)
    return Path(state_root(str(given) if given else None))
