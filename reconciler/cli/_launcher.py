"""Will a pane's login shell find the launch command?

A tmux pane starts a login shell, whose PATH comes from the user's profile, not from
the service's environment: ``claude`` found here may still be ``command not found``
there. Asked by ``doctor``, ``init`` and a plan that launches, before a launch line is
typed (the service starts no process but tmux: a pane that says ``command not found``
anyway is named by the crash-loop alert, with this fix).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path


def claude_word(command: Sequence[str]) -> str:
    """The word of the launch command that is Claude (a wrapper's ``claude`` after it)."""
    return next((w for w in command if Path(w).name in ("claude", "claude.exe")), command[0])


def login_shell_finds(word: str, shell: str | None = None) -> bool | None:
    """True or False as ``$SHELL -lc 'command -v WORD'`` says; None when it cannot say
    (no shell, a profile that hangs past 20 s)."""
    if "/" in word:
        return Path(word).exists()
    shell = shell or os.environ.get("SHELL") or "/bin/sh"
    try:
        done = subprocess.run([shell, "-lc", f"command -v {shlex.quote(word)}"],
                              capture_output=True, text=True, timeout=20, check=False,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.returncode == 0 and bool(done.stdout.strip())


def launcher_missing(command: Sequence[str]) -> str | None:
    """What to tell a person when panes would say ``command not found``; None when the
    login shell finds it or cannot say."""
    word = claude_word(command)
    if login_shell_finds(word) is not False:
        return None
    return (f"a login shell ($SHELL -l, what a tmux pane starts) does not find {word!r}: "
            "its panes would say 'command not found'; add its folder to PATH in ~/.profile "
            "or give launch.command the full path")
