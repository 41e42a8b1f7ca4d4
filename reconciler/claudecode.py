"""Facts about the Claude Code CLI that every layer must agree on.

Kept in one place so the observer, the planner and the applier read the same slug
rule, the same idea of a session id, the same resume hint and the same idea of
"this process is Claude". Pure functions: nothing here reads the machine.
"""

from __future__ import annotations

import enum
import functools
import os
import re
import shlex
from collections.abc import Collection, Sequence
from pathlib import Path, PurePath
from typing import NewType

CONFIG_ENV = "CLAUDE_CONFIG_DIR"
NEVER_SHARED = frozenset({".credentials.json", ".claude.json", "history.jsonl"})
HOME_FILES = frozenset({*NEVER_SHARED, "settings.json", "settings.local.json", "CLAUDE.md",
                        "keybindings.json"})
"""Files, not directories, in a config home: a shared entry is a directory linked into
every home, so none of these can be one (settings.json carries each account's hooks)."""
REDACTED = "<redacted>"
LINE_MAX = 4095
"""Bytes a terminal takes in one line in canonical mode (Linux's n_tty keeps 4096, the
last for the newline): past that a shell without a line editor (sh, dash) receives the
line cut short, without its session id."""

SessionId = NewType("SessionId", str)
"""A canonical session id: a lowercase, hyphenated UUID, the only form Claude writes.
Made only by :func:`session_id`, so a value from a file cannot reach a shell unchecked."""

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9]")
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RESUME_HINT = re.compile(r"claude\s+--resume\s+(\S+)")
_ID_FLAGS = ("--resume", "-r", "--session-id")
_SESSION_FLAGS = frozenset({*_ID_FLAGS, "--continue", "-c"})

# What a Claude process looks like, by its executable (never by an argv word):
_NATIVE_NAMES = frozenset({"claude", "claude.exe"})
_NATIVE_DIRS = ("/claude/versions/", "/@anthropic-ai/claude-code")
_PACKAGE_DIR = "/@anthropic-ai/claude-code/"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_INTERPRETERS = re.compile(r"(node|nodejs|bun|deno|sh|bash|dash|zsh|pypy[0-9.]*|python[0-9.]*)")


def session_id(value: object) -> SessionId | None:
    """``value`` as a session id, or None unless it is exactly a canonical UUID."""
    if isinstance(value, str) and _CANONICAL.fullmatch(value):
        return SessionId(value)
    return None


def project_slug(cwd: str | PurePath) -> str:
    """Directory name Claude uses under ``projects/`` for an absolute cwd."""
    return _SLUG_UNSAFE.sub("-", str(cwd))


def home_key(home: str | PurePath) -> str:
    """How the signal scripts name a config home: its physical path (``pwd -P``) as a
    slug. A Claude started without ``CLAUDE_CONFIG_DIR`` reports the home ``~/.claude``
    links to at that moment, so every event names an account's real directory. Byte by
    byte, as ``tr -c 'A-Za-z0-9' '-'`` does it."""
    return re.sub(rb"[^A-Za-z0-9]", b"-", os.fsencode(os.path.realpath(home))).decode()


def transcript_dir(home: Path, cwd: str | PurePath) -> Path:
    return home / "projects" / project_slug(cwd)


def sessions_dir(home: Path) -> Path:
    return home / "sessions"


def last_resume_hint(pane_text: str) -> str | None:
    """The word after the last ``claude --resume`` printed in a pane, unchecked: it may be
    anything a program printed, so callers pass it through :func:`session_id`."""
    found = _RESUME_HINT.findall(pane_text)
    return found[-1] if found else None


class Recognised(enum.Enum):
    """How sure we are that a process is a Claude."""

    CLAUDE = "claude"
    """Claude Code itself: the native binary, or node running Claude Code's package."""
    LAUNCHER = "launcher"
    """The launch command or ``claude`` on PATH: a Claude, or a wrapper that starts one
    (``op run -- claude``); a Claude under it is the real one."""


def recognise(exe: str, script: str | None, known: Collection[str]) -> Recognised | None:
    """Is a process with this executable a Claude?

    ``exe`` is the realpath of ``/proc/<pid>/exe``; ``script`` the realpath of the first
    non-option argument when ``exe`` is an interpreter (node, python, sh...), else None;
    ``known`` the realpaths of executables that start Claude here (the launch command,
    ``claude`` on PATH). Recognised by what runs, never by an argv word: ``vim claude``
    is not a Claude.
    """
    if exe.rpartition("/")[2] in _NATIVE_NAMES or any(part in exe for part in _NATIVE_DIRS):
        return Recognised.CLAUDE
    if script is not None and is_interpreter(exe) and _PACKAGE_DIR in script:
        return Recognised.CLAUDE
    if exe in known or (script is not None and is_interpreter(exe) and script in known):
        return Recognised.LAUNCHER
    return None


def terminal_safe(text: str) -> bool:
    """No control characters: typed into a terminal, ``^U`` or ``^C`` inside a quoted
    word would still erase or interrupt the line before the shell ever sees quotes."""
    return not _CONTROL.search(text)


@functools.lru_cache(maxsize=256)
def is_interpreter(exe: str) -> bool:
    return _INTERPRETERS.fullmatch(exe.rpartition("/")[2]) is not None


def script_argument(argv: Sequence[str]) -> str | None:
    """The script an interpreter runs: its first argument that is not an option."""
    for arg in argv[1:]:
        if arg == "-c":
            return None  # `sh -c TEXT`, `python -c TEXT`: no script file
        if not arg.startswith("-"):
            return arg
    return None


def session_id_from_argv(argv: Sequence[str]) -> SessionId | None:
    """The id given by ``--resume``/``--session-id`` (also ``--flag=value``), if canonical."""
    for index, arg in enumerate(argv):
        flag, eq, inline = arg.partition("=")
        if flag in _ID_FLAGS:
            value = inline if eq else (argv[index + 1] if index + 1 < len(argv) else "")
            return session_id(value)
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
    cwd: str | PurePath,
    session: SessionId,
    resume: bool,
    env: Sequence[tuple[str, str]] = (),
    redact: bool = False,
) -> str:
    """The shell line typed into a pane: every word quoted, nothing left to the shell.

    It starts with a space, so shells that skip such lines (bash's ``ignorespace``,
    zsh's ``HIST_IGNORE_SPACE``) keep ``launch.env`` values out of the history. With
    ``redact`` the values read ``<redacted>``: the form plans, logs and alerts show.
    """
    if session_id(session) is None:
        raise ValueError(f"not a canonical session id: {session!r}")
    unsafe = [w for w in (str(home), str(cwd), *command, *(v for _k, v in env))
              if not terminal_safe(w)]
    if unsafe:
        raise ValueError(f"control characters in {unsafe[0]!r}: not typed into a terminal")
    assignments = [f"{CONFIG_ENV}={shlex.quote(str(home))}"]
    assignments += [f"{key}={REDACTED if redact else shlex.quote(value)}" for key, value in env]
    flag = "--resume" if resume else "--session-id"
    words = [*assignments, *(shlex.quote(w) for w in command), flag, shlex.quote(session)]
    line = f" cd -- {shlex.quote(str(cwd))} && " + " ".join(words)
    if not redact and len(line.encode()) >= LINE_MAX:
        raise ValueError(f"the launch line would be {len(line.encode())} bytes; a terminal "
                         f"takes at most {LINE_MAX - 1} in one line (shorten launch.env, "
                         "launch.command or the project's path)")
    return line
