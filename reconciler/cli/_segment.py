"""``reconcile status --format tmux``: the active account, its five-hour and weekly use,
and a countdown while it is limited, in tmux's ``#[...]`` style for ``status-right``.

It reads one small file the service writes each cycle (``segment.txt``, see
``reconciler.segment``): no tmux call, no observe, no desired file. tmux runs it every few
seconds, so it answers before argparse, ``pathlib`` or any command is imported: the
CLI's entry asks ``fast_segment`` first, and a command line it does not take whole goes
to the full parser.
"""

from __future__ import annotations

import os
import sys
import time

from reconciler import segment
from reconciler.cli._paths import state_root

TYPE_CHECKING = False  # not `typing`: its import costs a third of the segment's budget
if TYPE_CHECKING:
    from collections.abc import Sequence

def _state_dir_given(words: Sequence[str]) -> tuple[bool, str | None]:
    """Whether ``words`` are exactly ``status --format tmux`` with ``--state-dir DIR`` or
    ``-f FILE`` (the file is not read) in any order; and the state dir given."""
    seen_status = seen_format = False
    state: str | None = None
    i = 0
    while i < len(words):
        word = words[i]
        key, eq, inline = word.partition("=")
        if word == "status" and not seen_status:
            seen_status = True
        elif key == "--format" and (inline if eq else words[i + 1:i + 2] == ["tmux"]):
            if eq and inline != "tmux":
                return False, None
            seen_format = True
            i += 0 if eq else 1
        elif key in ("--state-dir", "-f", "--file") and (eq or i + 1 < len(words)):
            value = inline if eq else words[i + 1]
            if not value:
                return False, None
            state = value if key == "--state-dir" else state
            i += 0 if eq else 1
        else:
            return False, None
        i += 1
    return seen_status and seen_format, state


def fast_segment(words: Sequence[str]) -> int | None:
    """The segment's exit code when ``words`` ask for it (and nothing else), else None."""
    wanted, given = _state_dir_given(words)
    if not wanted:
        return None
    sys.stdout.write(read_segment(given) + "\n")
    sys.stdout.flush()
    return 0


def read_segment(given: str | None) -> str:
    """The segment for the state dir given (else the default one)."""
    try:
        path = os.path.join(state_root(given), segment.FILE)  # noqa: PTH118  (no pathlib)
        with open(path, "rb") as handle:  # noqa: PTH123
            text = handle.read(4096).decode(errors="replace")
    except OSError:
        text = None
    return segment.show(text, time.time())
