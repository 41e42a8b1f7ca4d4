"""``reconcile completion bash|zsh``: completion scripts generated from the parser itself
by shtab, so they never fall behind a new option (and nothing runs at each Tab)."""

from __future__ import annotations

import argparse

from reconciler.cli._parser import build_parser
from reconciler.cli._ui import EXIT_OK, Ui


def completion(args: argparse.Namespace, _ui: Ui) -> int:
    import shtab  # noqa: PLC0415  (only for this command)

    print(shtab.complete(build_parser(), shell=args.shell), end="")
    return EXIT_OK
