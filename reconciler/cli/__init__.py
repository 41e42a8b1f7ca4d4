"""Command line: ``reconcile``. The top of the house; nothing imports it.

``reconcile status --format tmux`` (tmux runs it every few seconds) is answered before
argparse and the commands are imported; every other command line goes to ``_main``.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not `typing`: its import costs a third of the segment's budget
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from reconciler.cli._parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    from reconciler.cli._segment import fast_segment  # noqa: PLC0415  (os, json, time)

    words = list(sys.argv[1:] if argv is None else argv)
    code = fast_segment(words)
    if code is not None:
        return code
    from reconciler.cli._main import main as run  # noqa: PLC0415

    return run(words)


def __getattr__(name: str) -> Any:
    if name == "build_parser":
        from reconciler.cli._parser import build_parser as found  # noqa: PLC0415

        return found
    raise AttributeError(name)
