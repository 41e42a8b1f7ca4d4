"""Facts about the Claude Code CLI that every layer must agree on.

Kept in one place so the observer, the planner and the applier read the same slug
rule, the same idea of a session id, the same resume hint and the same idea of
"this process is Claude". Pure functions: nothing here reads the machine.
"""

from __future__ import annotations

import enum
import functools
import json
import math
import os
import re
import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
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

RELEASES = {"oldest": "2.1.197", "current": "2.1.337"}
"""The release matrix: the oldest release the reconciler supports, and the current one.
Every fact the code relies on (``docs/CLAUDE_FACTS.md``) is checked against both by
``tests/test_claude_facts.py``; ``reconcile doctor`` says where a CLI falls outside."""
OLDEST_SUPPORTED = RELEASES["oldest"]
NEWEST_TESTED = RELEASES["current"]

_HOOKS_2_1_197 = frozenset({
    "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Notification",
    "UserPromptSubmit", "UserPromptExpansion", "SessionStart", "SessionEnd", "Stop",
    "StopFailure", "SubagentStart", "SubagentStop", "PreCompact", "PostCompact",
    "PermissionRequest", "PermissionDenied", "Setup", "TeammateIdle", "TaskCreated",
    "TaskCompleted", "Elicitation", "ElicitationResult", "ConfigChange", "WorktreeCreate",
    "WorktreeRemove", "InstructionsLoaded", "CwdChanged", "FileChanged", "MessageDisplay"})
HOOK_EVENTS = {
    "2.1.197": _HOOKS_2_1_197,
    "2.1.337": _HOOKS_2_1_197 | {"Interrupt", "PreModelSwitch", "PostModelSwitch",
                                 "DirectoryAdded", "PreSkillShellCommand"},
}
"""The hook events each tested release accepts in ``settings.json``; an event a release
does not know stops it at a settings dialog. The reconciler itself installs only
``StopFailure`` (and a ``statusLine``), which every supported release knows."""


def release_key(version: str) -> tuple[int, ...]:
    """``2.1.197`` as numbers, for ordering releases; anything else sorts first."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)

SessionId = NewType("SessionId", str)
"""A canonical session id: a lowercase, hyphenated UUID, the only form Claude writes.
Made only by :func:`session_id`, so a value from a file cannot reach a shell unchecked."""

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9]")
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_RESUME_HINT = re.compile(r"\bclaude(?:[ \t]+-[^\s]{1,60}(?:[ \t]+[a-z][\w-]{0,30})?){0,6}"
                          r"[ \t]+--resume[ \t]+(\S+)")
"""``claude --resume ID``, and since 2.1.3xx with the permission flags it was launched with
(``claude --dangerously-skip-permissions --resume ID``, ``claude --permission-mode
default --resume ID``): a bounded run of options, so a long line costs linear time."""
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


ENV_LOADER = '. "$0" && rm -f -- "$0" && exec "$@"'
"""What runs ``launch.env``'s file: ``sh -c LOADER FILE claude ...`` sources the file (its
``export`` lines), removes it, and becomes Claude (``exec``: the same process, the pane's
shell its parent). A file that is gone runs nothing."""
ENV_FILE_SHOWN = "<launch.env file>"


def env_file_text(env: Sequence[tuple[str, str]]) -> str:
    """The file ``launch.env`` goes through: one quoted ``export`` per value."""
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in env)


def launch_line(
    *,
    command: Sequence[str],
    home: Path,
    cwd: str | PurePath,
    session: SessionId,
    resume: bool,
    env_file: str | None = None,
    message: str | None = None,
) -> str:
    """The shell line typed into a pane: every word quoted, nothing left to the shell.

    It starts with a space, so shells that skip such lines (bash's ``ignorespace``,
    zsh's ``HIST_IGNORE_SPACE``) keep it out of the history. ``launch.env``'s values are
    never on it (they would stay in the pane's scrollback and the shell's history): they
    go through ``env_file`` (a 0600 file of the state dir, removed as it is read; see
    ``ENV_LOADER``). ``message`` is the resumed session's first prompt (``claude --resume
    ID -- MSG`` starts the interactive session and sends it, in every supported release):
    one quoted word after ``--``, so it is never an option and never run by the shell.
    """
    if session_id(session) is None:
        raise ValueError(f"not a canonical session id: {session!r}")
    unsafe = [w for w in (str(home), str(cwd), *command, env_file or "",
                          *([message] if message is not None else []))
              if not terminal_safe(w)]
    if unsafe:
        raise ValueError(f"control characters in {unsafe[0]!r}: not typed into a terminal")
    words = [f"{CONFIG_ENV}={shlex.quote(str(home))}"]
    if env_file is not None:
        words += ["sh", "-c", shlex.quote(ENV_LOADER), shlex.quote(env_file)]
    flag = "--resume" if resume else "--session-id"
    words += [*(shlex.quote(w) for w in command), flag, shlex.quote(session)]
    if message is not None:
        words += ["--", shlex.quote(message)]
    line = f" cd -- {shlex.quote(str(cwd))} && " + " ".join(words)
    if len(line.encode()) >= LINE_MAX:
        raise ValueError(f"the launch line would be {len(line.encode())} bytes; a terminal "
                         f"takes at most {LINE_MAX - 1} in one line (shorten "
                         "launch.command, failover.continue or the project's path)")
    return line


# -- transcript rows ----------------------------------------------------------------------

USAGE_LIMIT_API_ERROR = "usage_limit_reached"
"""``apiError`` of a transcript row whose request the account's usage limit refused (written
by current releases beside ``apiErrorParams.rate_limit_info``)."""


@dataclass(frozen=True)
class ApiErrorRow:
    """An API-error row of a transcript, by its fields (``isApiErrorMessage``). The oldest
    supported release writes ``error`` and ``apiErrorStatus``; current ones add
    ``apiError`` and ``apiErrorParams.rate_limit_info {resetsAt, rateLimitType}``."""

    uuid: str | None
    error: str | None
    """``rate_limit`` for every 429, a usage limit or not."""
    status: int | None
    api_error: str | None
    window: str | None
    """``rateLimitType``: ``five_hour``, ``seven_day``, ``seven_day_opus`` ..."""
    resets_at: float | None
    """``resetsAt``, epoch seconds: the reset to the second."""
    text: str
    timestamp: str

    @property
    def rate_limited(self) -> bool:
        """A 429 of any kind (a usage limit, or a transient throttle)."""
        return self.error == "rate_limit" or self.status == 429 or self.usage_limit is True

    @property
    def usage_limit(self) -> bool | None:
        """True where the fields say the usage limit refused the request; None where the
        fields cannot tell (the oldest release: then the words or the status line do)."""
        if self.api_error == USAGE_LIMIT_API_ERROR or self.resets_at is not None:
            return True
        return None


def _number(value: object) -> float | None:
    """A finite number, or None (JSON gives NaN, Infinity and ints no float holds)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def row_text(row: Mapping[str, object]) -> str:
    """The text of a transcript row's message (a string, or its text blocks)."""
    message = row.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return ""


def api_error_row(row: Mapping[str, object]) -> ApiErrorRow | None:
    """The row as an API-error row, or None when it is not one."""
    if row.get("type") != "assistant" or not row.get("isApiErrorMessage"):
        return None
    params = row.get("apiErrorParams")
    info = params.get("rate_limit_info") if isinstance(params, dict) else None
    info = info if isinstance(info, dict) else {}
    resets = _number(info.get("resetsAt"))
    if resets is not None and resets > 1e11:  # milliseconds
        resets /= 1000
    window = info.get("rateLimitType")
    status = _number(row.get("apiErrorStatus"))
    uuid = row.get("uuid")
    return ApiErrorRow(
        uuid=uuid if isinstance(uuid, str) else None,
        error=row["error"] if isinstance(row.get("error"), str) else None,  # type: ignore[arg-type]
        status=int(status) if status is not None else None,
        api_error=row["apiError"] if isinstance(row.get("apiError"), str) else None,  # type: ignore[arg-type]
        window=window if isinstance(window, str) else None,
        resets_at=resets if resets is not None and resets > 0 else None,
        text=row_text(row), timestamp=str(row.get("timestamp", "")))


_LINE = re.compile(rb"[^\r\n]+")
"""A line, as ``bytes.splitlines`` cuts them (empty ones are no rows)."""


def transcript_rows(data: bytes) -> list[dict[str, object]]:
    """The JSON rows of a transcript, or of its tail (a first line cut short is skipped,
    as is any line that is not a JSON object). One line at a time: a tail of short rows
    never holds a list of its lines beside its rows."""
    rows = []
    for line in _LINE.finditer(data):
        try:
            row = json.loads(line.group())
        except (ValueError, RecursionError):
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def last_turn_cut(rows: Sequence[Mapping[str, object]]) -> ApiErrorRow | None:
    """The rate-limit row that ended a transcript's last turn, if one did: the last
    user or assistant row is that error (a row typed after it, the continuing message
    among them, means the turn went on). Meta rows and other row types do not count."""
    for row in reversed(rows):
        if row.get("type") not in ("user", "assistant") or row.get("isMeta"):
            continue
        error = api_error_row(row)
        return error if error is not None and error.rate_limited else None
    return None
