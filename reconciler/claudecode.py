"""Facts about the Claude Code CLI that every layer must agree on.

Kept in one place so the observer, the planner and the applier read the same
slug rule, the same resume hint and the same idea of "this process is Claude".
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path

CONFIG_ENV = "CLAUDE_CONFIG_DIR"
NEVER_SHARED = frozenset({".credentials.json", ".claude.json", "history.jsonl"})
SESSION_STATUSES = frozenset({"busy", "idle", "waiting"})

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9]")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
UUID_RE = re.compile(rf"^{_UUID}$")
_RESUME_HINT = re.compile(rf"claude\s+--resume\s+({_UUID})")
_ID_FLAGS = ("--resume", "-r", "--session-id")
_SESSION_FLAGS = frozenset({*_ID_FLAGS, "--continue", "-c"})


def project_slug(cwd: str | Path) -> str:
    """Directory name Claude uses under ``projects/`` for an absolute cwd."""
    return _SLUG_UNSAFE.sub("-", str(cwd))


def transcript_dir(home: Path, cwd: str | Path) -> Path:
    return home / "projects" / project_slug(cwd)


def sessions_dir(home: Path) -> Path:
    return home / "sessions"


def last_resume_hint(pane_text: str) -> str | None:
    """The session id of the last ``claude --resume <uuid>`` hint printed on exit."""
    found = _RESUME_HINT.findall(pane_text)
    return found[-1].lower() if found else None


def is_claude_argv(argv: Sequence[str]) -> bool:
    """True for the claude CLI however it was started (binary, node script, stand-in)."""
    if not argv:
        return False
    names = [Path(arg).name for arg in argv[:2]]
    if "claude" in names:
        return True
    return any("@anthropic-ai/claude-code" in arg for arg in argv[:2])


def session_id_from_argv(argv: Sequence[str]) -> str | None:
    """The id given by ``--resume``/``--session-id`` (also ``--flag=value``)."""
    for index, arg in enumerate(argv):
        flag, _, inline = arg.partition("=")
        if flag in _ID_FLAGS:
            value = inline or (argv[index + 1] if index + 1 < len(argv) else "")
            if UUID_RE.match(value):
                return value.lower()
    return None


def launch_words(command: str) -> tuple[str, ...]:
    """Split ``launch.command``; raises ValueError on unbalanced quotes."""
    return tuple(shlex.split(command))


def session_flags_in(words: Sequence[str]) -> list[str]:
    """Flags the reconciler adds itself and so must not be in ``launch.command``."""
    return [w for w in words if w.partition("=")[0] in _SESSION_FLAGS]


def launch_line(
    *,
    command: Sequence[str],
    home: Path,
    cwd: str | Path,
    session_id: str,
    resume: bool,
    env: Sequence[tuple[str, str]] = (),
) -> str:
    """The shell line typed into a pane: every value quoted, nothing left to the shell."""
    assignments = [f"{CONFIG_ENV}={shlex.quote(str(home))}"]
    assignments += [f"{key}={shlex.quote(value)}" for key, value in env]
    flag = "--resume" if resume else "--session-id"
    words = [*assignments, *(shlex.quote(w) for w in command), flag, session_id]
    return f"cd -- {shlex.quote(str(cwd))} && " + " ".join(words)
