"""A stand-in for the ``claude`` CLI, for the demo and the tests.

Stdlib only and independent of ``reconciler``: the sandbox copies this file to
``<sandbox>/bin/claude`` behind a ``#!<python>`` shebang, so it must run as a script,
and it must not agree with the reconciler by sharing its code. It behaves like Claude
Code 2.1.337, the current release, or like the oldest supported one with
``STANDIN_CLAUDE_RELEASE=2.1.197`` (or any older version, which ``--version`` then says;
any other value, or none, is 2.1.337).

What it reproduces, because the reconciler depends on it:

* config home: ``$CLAUDE_CONFIG_DIR`` else ``~/.claude``; ``--version``/``-v`` prints
  ``VERSION`` (``2.1.337 (stand-in)``), exit 0;
* ``--resume ID`` / ``-r ID`` / ``--resume=ID`` continues ``projects/<slug>/ID.jsonl`` or
  prints ``No conversation found with session ID: ID``, exit 1; ``--session-id ID``
  starts ID, or prints ``Error: Session ID ID is already in use.``, exit 1, when that
  transcript exists; no flag starts a new uuid4; other flags are accepted and ignored;
* a first prompt, ``claude [flags] -- MESSAGE`` or a MESSAGE not starting with ``-``
  anywhere (one that does, without ``--``, is ``error: unknown option 'MESSAGE'``, exit
  1, unless flag-shaped), is handled like a line typed at the prompt, except that a text
  is a whole turn (below); a ``/word`` the stand-in does not know is such a text;
* ``<home>/sessions/<pid>.json`` (pid, sessionId, cwd, startedAt, version, status
  ``idle``/``busy``/``waiting``, waitingFor while waiting, updatedAt, statusUpdatedAt),
  written atomically at start and removed on exit;
* on SIGTERM, SIGHUP, ``/exit``, a second Ctrl-C or EOF on stdin, mid-turn too (the user
  row stays, no answer): ``Resume this session with:`` / ``claude --resume ID``, exit 0;
  2.1.337 repeats its permission flags: ``claude --dangerously-skip-permissions
  --resume ID``, ``claude --permission-mode plan --resume ID``;
* before the prompt, the gates (no session file until they pass): ``Settings Warning``
  for a hook event in ``settings.json`` the release does not know (Enter, ``1``, ``/esc``
  continue; ``3`` exits 1); the login menu when the home holds no ``.credentials.json``
  and no token is in the environment (never passed); ``Quick safety check`` when
  ``.claude.json`` does not trust the cwd (2.1.197: ``1`` or Enter trusts, ``2`` exits;
  2.1.337: the cursor starts on ``No, exit``: Enter exits 1 with ``Claude Code didn't
  start because this folder isn't trusted.``, ``/down`` then Enter trusts, digits do
  nothing); the bypass disclaimer for ``--dangerously-skip-permissions`` unless
  ``settings.json`` has ``skipDangerousModePermissionPrompt`` (``2`` accepts, ``1`` or
  Enter exits). In each, ``yes`` accepts, ``/up``/``/down`` move, ``/exit``/EOF exit 1;
* ``settings.json``'s signals: the ``statusLine`` command runs at start and after every
  line, with Claude's JSON on stdin (``version``; ``rate_limits`` once a usage is known),
  its output shown; the ``StopFailure`` hooks run on every limit, with the hook's JSON;
* a usage limit: the words (2.1.197 ``You've hit your session limit · resets 2:12am
  (UTC)``, 2.1.337 ``... your 5-hour limit ...``), the transcript row (2.1.337 adds
  ``apiError``, ``apiErrorParams``, ``quotaLimits``), the StopFailure hooks. Then 2.1.197
  opens the limit menu (``waiting``/``dialog open``); 2.1.337 stays ``idle``, writes a
  system ``informational`` row, and continues by itself after the reset: ``∷ Usage
  limit reset · Continuing automatically``, the meta prompt ``Your claude.ai usage limit
  has reset...``, a turn. With ``"autoContinueAtUsageLimit": false`` in settings.json,
  or a reset over a day away, 2.1.337 opens its menu instead, with ``2. Wait here, then
  continue automatically at ...``. At the menu ``1`` or Enter closes it, ``2``
  (2.1.337) arms the continue.

Knobs (environment): ``STANDIN_CLAUDE_RELEASE`` (above); ``STANDIN_CLAUDE_OFFLINE=1``
(``Unable to connect to Anthropic services``, exit 1); ``STANDIN_CLAUDE_STATUS=busy``
(or ``waiting``: the initial status); ``STANDIN_CLAUDE_IGNORE_SIGTERM=1`` (exercise the
SIGKILL path); ``STANDIN_CLAUDE_LOG=FILE`` (one JSON line per successful start: pid,
argv, config_dir, session_id, cwd, mode, first_prompt, time); ``STANDIN_CLAUDE_ANSWER``
(Claude's answer to a turn, default ``Done.``); ``STANDIN_CLAUDE_TURN_SECONDS`` (how
long the first prompt's or a continue's turn is busy, default 0.3);
``STANDIN_CLAUDE_AUTO_DELAY`` (seconds after the reset 2.1.337 continues; the real one
waits 30 to 90; default 1); ``STANDIN_CLAUDE_LIMIT_WORDS`` (a limit's words, in place of
the release's: a wording the reconciler has never seen, beside the row's fields).

Lines on stdin: ``/exit``; ``/busy``, ``/idle``, ``/waiting [WHAT]`` (status; WHAT is
waitingFor, default ``permission prompt``); ``/work N [TEXT]`` (a turn: user row, busy
N seconds, answer, idle); ``/usage P`` (five-hour usage at P percent, for the status
line); ``/limit`` (five hours ahead); ``/limit weekly`` (``You've hit your weekly limit
· resets Dec 13, 1:42am (UTC)``); ``/limit N`` (``Claude AI usage limit reached|<epoch
N s ahead>``: a clock cannot say "in 6 seconds"; 2.1.337 continues N s plus the delay
later); ``/rate-limit-options`` (the menu
again); ``/throttle`` (a 429 that is not a usage limit: ``API Error: Server is temporarily
limiting requests (not your usage limit) ...``, the row, 2.1.337's ``apiErrorIsTransient``,
the StopFailure hooks); ``/esc`` (the Esc key: cancels the continue, closes the menu); ``/say TEXT``
(Claude answers TEXT); anything else is a user row, unanswered.
It never touches ``.credentials.json``; it writes ``.claude.json`` and
``settings.json`` only when their prompt is accepted, like the real one.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from types import FrameType
from typing import NoReturn

OLDEST, CURRENT = "2.1.197", "2.1.337"
_ASKED = os.environ.get("STANDIN_CLAUDE_RELEASE", "")


def _key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return ()


RELEASE = OLDEST if _key(_ASKED) and _key(_ASKED) <= _key(OLDEST) else CURRENT
"""The release whose behaviour it has: the oldest for any version up to it (so a test can
ask for an older one), the current one otherwise."""
NEW = RELEASE == CURRENT
VERSION = f"{_ASKED if _key(_ASKED) else RELEASE} (stand-in)"
"""What ``--version`` says: the version asked for, as a test of the release range needs."""
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FLAG = re.compile(r"^--?[A-Za-z][\w-]*$")
VALUE_FLAGS = frozenset({  # the word after one of these is its value, never a first prompt
    "--resume", "-r", "--session-id", "--permission-mode", "--model", "--fallback-model",
    "--settings", "--setting-sources", "--add-dir", "--mcp-config", "--allowedTools",
    "--allowed-tools", "--disallowedTools", "--disallowed-tools", "--system-prompt",
    "--append-system-prompt", "--agent", "--agents", "--output-format", "--input-format",
    "--plugin-dir", "--betas"})
OFFLINE = "Unable to connect to Anthropic services"
AUTH_ENV = ("CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
HOOKS = (  # the hook events the release knows: as 2.1.197 lists them, 2.1.337's last
    "PreToolUse PostToolUse PostToolUseFailure PostToolBatch Notification UserPromptSubmit "
    "UserPromptExpansion SessionStart SessionEnd Stop StopFailure SubagentStart SubagentStop "
    "PreCompact PostCompact PermissionRequest PermissionDenied Setup TeammateIdle TaskCreated "
    "TaskCompleted Elicitation ElicitationResult ConfigChange WorktreeCreate WorktreeRemove "
    "InstructionsLoaded CwdChanged FileChanged MessageDisplay" + (
        " Interrupt PreModelSwitch PostModelSwitch DirectoryAdded PreSkillShellCommand"
        if NEW else "")).split()
TRUST = (" Accessing workspace:\n {cwd}\n Quick safety check: Is this a project you created "
         "or one you trust? (Like your own code, a well-known open source project, or work "
         "from your team). If not,\n take a moment to review what's in this folder first.\n"
         " Claude Code'll be able to read, edit, and execute files here.\n Security guide")
UNTRUSTED = ("Claude Code didn't start because this folder isn't trusted.\n"
             "Run claude again and choose Yes, or run it in another folder.")
BYPASS = "WARNING: Claude Code running in Bypass Permissions mode"
LOGIN = "Select login method:"
SETTINGS = ("Settings Warning\n{path}\n{lines}\nLearn more: https://code.claude.com/docs/en/"
            "hooks\nThe values listed above were skipped; the rest of the file is in effect.")
UNKNOWN_HOOK = "\u2514 hooks.{0}: Unknown hook event \"{0}\" was ignored. Valid events: {1}"
CURSOR = "\u276f"
CONFIRM = "Enter to confirm \u00b7 Esc to cancel"
RESUMED = ("Your claude.ai usage limit has reset. Continue the task you were working on "
           "when the limit was reached; do not repeat work that is already complete.")
DEFERRED = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
DOUBLE_CTRL_C = 2.0  # seconds: a second Ctrl-C within this exits, like the real TUI
AUTO_HORIZON = 86400  # 2.1.337 arms the automatic continue only for a reset within a day
COMMANDS = ("/exit", "/busy", "/idle", "/waiting", "/work", "/usage", "/limit", "/throttle",
            "/say", "/esc", "/rate-limit-options")

Option = tuple[str, str]
"""A dialog's option: (its label, what choosing it means: yes, exit, continue or stay)."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace(  # noqa: UP017
        "+00:00", "Z")


def now_ms() -> int:  # the session file's clock
    return int(time.time() * 1000)


def slug(cwd: str) -> str:
    """The ``projects/`` directory name: every char outside [A-Za-z0-9] becomes '-'."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


def clock(epoch: int, now: float | None = None) -> str:
    """A reset as Claude words it (in UTC here): rounded down to its minute, ``:00``
    dropped, lower-case am/pm, the date in front when it is more than a day away."""
    at = datetime.fromtimestamp(epoch, timezone.utc)  # noqa: UP017
    text = at.strftime("%I:%M%p").lstrip("0").lower().replace(":00", "")
    far = epoch - (time.time() if now is None else now) > AUTO_HORIZON
    return f"{at:%b} {at.day}, {text}" if far else text


def limit_words(arg: str) -> tuple[str, int, str]:
    """(the words, the reset epoch, the window) of ``/limit ARG``."""
    if arg.isdigit():  # a clock with minutes cannot say "in 6 seconds"
        epoch = int(time.time()) + int(arg)
        return f"Claude AI usage limit reached|{epoch}", epoch, "five_hour"
    if arg == "weekly":
        epoch = int(time.time()) + 5 * 86400
        return f"You've hit your weekly limit \u00b7 resets {clock(epoch)} (UTC)", epoch, \
            "seven_day"
    reset = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(  # noqa: UP017
        hours=5, minutes=1)
    epoch, name = int(reset.timestamp()), "5-hour" if NEW else "session"
    return f"You've hit your {name} limit \u00b7 resets {clock(epoch)} (UTC)", epoch, "five_hour"


def load_json(path: str) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def save_json(path: str, value: dict[str, object]) -> None:
    """Atomic, and through a link as the real CLI writes (a link stays a link)."""
    path = os.path.realpath(path)
    temp = f"{path}.standin.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)
    os.replace(temp, path)


def split_argv(argv: list[str]) -> tuple[list[tuple[str, str]], str | None]:
    """((flag, value) pairs, the first prompt). Flag-shaped words are flags (``--f=v`` or
    ``--f v`` for the flags that take a value), the word after ``--`` or the first other
    word the prompt; a word starting with ``-`` that is not flag-shaped is a message
    without its ``--``, which the real CLI refuses as an unknown option."""
    flags: list[tuple[str, str]] = []
    prompt: str | None = None
    words = iter(argv)
    for arg in words:
        if arg == "--":
            return flags, next(words, prompt)
        flag, eq, value = arg.partition("=")
        if len(arg) > 1 and arg.startswith("-"):
            if not FLAG.match(flag):
                fail(f"error: unknown option '{arg}'")
            if not eq and flag in VALUE_FLAGS:
                value = next(words, "")
                if value == "--":  # a flag without its value, then the prompt
                    return [*flags, (flag, "")], next(words, prompt)
            flags.append((flag, value))
        elif prompt is None:
            prompt = arg
    return flags, prompt


def parse_session(flags: list[tuple[str, str]]) -> tuple[str, str]:
    """``(session_id, mode)`` from ``--resume``/``-r``/``--session-id`` (also ``=ID``)."""
    for flag, value in flags:
        if flag in ("--resume", "-r", "--session-id"):
            if not UUID.match(value):
                fail(f"error: {flag} needs a session id (uuid), got {value!r}")
            return value.lower(), "new" if flag == "--session-id" else "resume"
    return str(uuid.uuid4()), "new"


def permission_flags(flags: list[tuple[str, str]]) -> list[str]:
    """The flags 2.1.337 repeats in its resume hint, in the order given."""
    return [word for flag, value in flags
            for word in {"--dangerously-skip-permissions": [flag],
                         "--permission-mode": [flag, value]}.get(flag, [])]


def fail(message: str) -> NoReturn:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def seconds_env(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def pause(seconds: float) -> None:
    """Claude at work: the exit signals are taken (a SIGTERM cuts the turn short)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, DEFERRED)
    try:
        time.sleep(seconds)
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)


class Lines:
    """stdin read unbuffered, line by line: ``select`` must see a line that is typed
    while a timer runs (sys.stdin's buffer would hide a second line from it)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.eof = False

    def get(self, deadline: float | None = None) -> str | None:
        """The next line (``""`` at EOF), or None once ``deadline`` (epoch s) passed.
        The exit signals are taken only while waiting here, never mid-write."""
        while b"\n" not in self.buffer and not self.eof:
            wait = None if deadline is None else max(0.0, deadline - time.time())
            signal.pthread_sigmask(signal.SIG_UNBLOCK, DEFERRED)
            try:
                ready = select.select([0], [], [], wait)[0]
                chunk = os.read(0, 4096) if ready else None
            except OSError:  # EIO: the terminal is gone
                chunk = b""
            finally:
                signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)
            if chunk is None:
                return None
            self.eof = not chunk
            self.buffer += chunk
        line, newline, self.buffer = self.buffer.partition(b"\n")
        return (line + newline).decode(errors="replace")


class Standin:
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.flags, self.first_prompt = split_argv(argv)
        self.names = {flag for flag, _value in self.flags}
        if {"--version", "-v"} & self.names:
            print(VERSION, flush=True)
            sys.exit(0)
        self.home = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.expanduser("~/.claude")
        self.cwd = os.getcwd()
        self.session_id, self.mode = parse_session(self.flags)
        self.transcript = os.path.join(self.home, "projects", slug(self.cwd),
                                       f"{self.session_id}.jsonl")
        self.session_file = os.path.join(self.home, "sessions", f"{os.getpid()}.json")
        status = os.environ.get("STANDIN_CLAUDE_STATUS", "idle")
        self.status = status if status in ("busy", "waiting") else "idle"
        self.waiting_for = "permission prompt" if self.status == "waiting" else None
        self.started_ms = self.status_ms = now_ms()
        self.last_row: str | None = None
        self.prompt_id: str | None = None
        self.last_ctrl_c = 0.0
        self.usage: int | None = None
        self.auto_at: float | None = None  # when an armed automatic continue fires
        self.menu: int | None = None  # the reset epoch of the open limit menu
        self.reset = 0  # the reset epoch of the last limit
        self.lines = Lines()
        self.settings_path = os.path.join(self.home, "settings.json")
        self.settings = load_json(self.settings_path)

    # -- files -------------------------------------------------------------------------

    def append(self, row: dict[str, object]) -> None:
        """One transcript row, in one write, chained like the real ``parentUuid`` links."""
        os.makedirs(os.path.dirname(self.transcript), exist_ok=True)
        row_id = str(uuid.uuid4())
        full = {"parentUuid": self.last_row, "uuid": row_id, "sessionId": self.session_id,
                "cwd": self.cwd, "version": RELEASE, "timestamp": now_iso(), **row}
        append_line(self.transcript, full)
        self.last_row = row_id

    def set_status(self, status: str, waiting_for: str | None = None) -> None:
        if (status, waiting_for) != (self.status, self.waiting_for):
            self.status, self.waiting_for, self.status_ms = status, waiting_for, now_ms()
        self.write_session_file()

    def write_session_file(self) -> None:
        os.makedirs(os.path.dirname(self.session_file), exist_ok=True)
        body: dict[str, object] = {"pid": os.getpid(), "sessionId": self.session_id,
                                   "cwd": self.cwd, "startedAt": self.started_ms,
                                   "version": RELEASE, "status": self.status}
        if self.status == "waiting" and self.waiting_for:
            body["waitingFor"] = self.waiting_for
        body.update(updatedAt=now_ms(), statusUpdatedAt=self.status_ms)
        temp = f"{self.session_file}.tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(body, handle)
        os.replace(temp, self.session_file)

    def log_start(self) -> None:
        log = os.environ.get("STANDIN_CLAUDE_LOG")
        if log:
            append_line(log, {"pid": os.getpid(), "argv": self.argv, "config_dir": self.home,
                              "session_id": self.session_id, "cwd": self.cwd,
                              "mode": self.mode, "first_prompt": self.first_prompt,
                              "time": now_iso()})

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        """Everything up to the prompt, then the first prompt; the exit signals are held
        but where a line is awaited or Claude works."""
        if os.environ.get("STANDIN_CLAUDE_OFFLINE") == "1":
            fail(OFFLINE)
        exists = os.path.exists(self.transcript)
        if self.mode == "resume" and not exists:
            print(f"No conversation found with session ID: {self.session_id}", flush=True)
            sys.exit(1)
        if self.mode == "new" and exists:
            fail(f"Error: Session ID {self.session_id} is already in use.")
        self.gates()
        self.log_start()
        self.append({"type": "system", "subtype": self.mode, "account_home": self.home})
        self.write_session_file()
        print(f"* stand-in Claude Code {VERSION}\n"
              f"  session {self.session_id} ({self.mode})\n"
              f"  config  {self.home}\n"
              f"  cwd     {self.cwd}", flush=True)
        self.status_line()
        print("> ", end="", flush=True)
        if self.first_prompt is not None:
            print(self.first_prompt, flush=True)
            self.command(self.first_prompt, typed=False)

    # -- the prompts that stand between a start and the prompt -----------------------------

    def gates(self) -> None:
        self.settings_warning()
        creds = os.path.join(self.home, ".credentials.json")
        if not any(os.environ.get(k) for k in AUTH_ENV) and not (
                os.path.isfile(creds) and os.path.getsize(creds) > 2):
            self.choose(LOGIN, [("Claude account with subscription", "stay")])
        # As the real CLI: inside the home only when CLAUDE_CONFIG_DIR names it.
        config_path = (os.path.join(self.home, ".claude.json")
                       if os.environ.get("CLAUDE_CONFIG_DIR")
                       else os.path.expanduser("~/.claude.json"))
        config = load_json(config_path)
        found = config.get("projects")
        projects: dict[str, object] = found if isinstance(found, dict) else {}
        if not self.trusted(projects):
            yes, no = ("Yes, I trust this folder", "yes"), ("No, exit", "exit")
            # 2.1.337 puts the cursor on "No, exit", unnumbered: Enter refuses.
            if self.choose(TRUST.format(cwd=self.cwd), [no, yes] if NEW else [yes, no],
                           numbered=not NEW, keys={"yes": "yes"}) != "yes":
                if NEW:
                    print(UNTRUSTED, flush=True)
                os._exit(1)
            entry = projects.get(self.cwd)
            projects[self.cwd] = {**(entry if isinstance(entry, dict) else {}),
                                  "hasTrustDialogAccepted": True}
            save_json(config_path, {**config, "projects": projects})
        if "--dangerously-skip-permissions" in self.names and self.settings.get(
                "skipDangerousModePermissionPrompt") is not True:
            if self.choose(BYPASS, [("No, exit", "exit"), ("Yes, I accept", "yes")],
                           numbered=not NEW, keys={"1": "exit", "2": "yes", "yes": "yes"},
                           ) != "yes":
                os._exit(1)
            self.settings["skipDangerousModePermissionPrompt"] = True
            save_json(self.settings_path, self.settings)

    def trusted(self, projects: dict[str, object]) -> bool:
        """The cwd or a directory above it has accepted the trust dialog."""
        path = self.cwd
        while True:
            entry = projects.get(path)
            if isinstance(entry, dict) and entry.get("hasTrustDialogAccepted") is True:
                return True
            if path == os.path.dirname(path):
                return False
            path = os.path.dirname(path)

    def settings_warning(self) -> None:
        """Hook events this release does not know are skipped, behind a dialog that holds
        the start (other unknown keys pass silently)."""
        hooks = self.settings.get("hooks")
        unknown = [event for event in hooks if event not in HOOKS] \
            if isinstance(hooks, dict) else []
        if not unknown:
            return
        lines = "\n".join(UNKNOWN_HOOK.format(e, ", ".join(HOOKS)) for e in unknown)
        if self.choose(SETTINGS.format(path=self.settings_path, lines=lines), [
                ("Continue", "continue"), ("Fix with Claude", "stay"),
                ("Exit and fix manually", "exit")],
                keys={"/esc": "continue"}, footer=CONFIRM) == "exit":
            os._exit(1)

    def choose(self, head: str, options: Sequence[Option], *, numbered: bool = True,
               keys: Mapping[str, str] | None = None, footer: str = "") -> str:
        """A select dialog that holds the start, read as lines: an empty line is Enter on
        the option under the cursor (the first one at first), ``/down`` and ``/up`` move
        it, a number picks a numbered option, one of ``keys`` answers at once.
        EOF and ``/exit`` exit 1; an option the stand-in cannot follow ("stay") does
        nothing. Returns what the chosen option means."""
        print(head, flush=True)
        cursor = 0
        while True:
            for index, (label, _means) in enumerate(options):
                mark = CURSOR if index == cursor else " "
                print(f"{mark} {f'{index + 1}. ' if numbered else ''}{label}", flush=True)
            if footer:
                print(footer, flush=True)
            answer = "stay"
            while answer == "stay":
                line = self.lines.get()
                text = (line or "").strip()
                if not line or text == "/exit":
                    os._exit(1)
                if text in ("/up", "/down"):
                    step = 1 if text == "/down" else -1
                    cursor = max(0, min(len(options) - 1, cursor + step))
                    break
                picks = {**(keys or {}), "": options[cursor][1]}
                if numbered:
                    picks.update({str(i + 1): means for i, (_l, means) in enumerate(options)})
                answer = picks.get(text, "stay")
            if answer != "stay":
                return answer

    # -- Claude's own signals, as settings.json asks ------------------------------------------

    def status_line(self) -> None:
        line = self.settings.get("statusLine")
        command = line.get("command") if isinstance(line, dict) else None
        if not isinstance(command, str):
            return
        body: dict[str, object] = {
            "session_id": self.session_id, "transcript_path": self.transcript,
            "cwd": self.cwd, "version": RELEASE,
            "model": {"id": "claude-stand-in", "display_name": "Stand-in"},
            "workspace": {"current_dir": self.cwd, "project_dir": self.cwd}}
        if self.usage is not None:
            reset = int(time.time()) + 5 * 3600
            body["rate_limits"] = {
                "five_hour": {"used_percentage": self.usage, "resets_at": reset},
                "seven_day": {"used_percentage": min(self.usage, 10),
                              "resets_at": reset + 6 * 86400}}
        out = self.run(command, body)
        if out is not None and out.strip():
            print(f"  {out.strip()}", flush=True)

    def stop_failure(self, message: str) -> None:
        hooks = self.settings.get("hooks")
        entries = hooks.get("StopFailure") if isinstance(hooks, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            for hook in entry.get("hooks") or [] if isinstance(entry, dict) else []:
                if isinstance(hook, dict) and isinstance(hook.get("command"), str):
                    self.run(hook["command"], {
                        "session_id": self.session_id, "transcript_path": self.transcript,
                        "cwd": self.cwd, "prompt_id": self.prompt_id or str(uuid.uuid4()),
                        "hook_event_name": "StopFailure", "error": "rate_limit",
                        "last_assistant_message": message})

    def run(self, command: str, body: dict[str, object]) -> str | None:
        """A settings command: ``sh -c``, the JSON on stdin, its stdout back."""
        try:
            done = subprocess.run(["/bin/sh", "-c", command], input=json.dumps(body),
                                  capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout

    # -- the way out -------------------------------------------------------------------

    def leave(self, code: int = 0) -> NoReturn:
        """The resume hint, then the session file goes; exit without further I/O."""
        words = ["claude", *(permission_flags(self.flags) if NEW else []),
                 "--resume", self.session_id]
        with suppress(OSError):  # the terminal may be gone (SIGHUP)
            sys.stdout.write(f"\nResume this session with:\n{' '.join(words)}\n")
            sys.stdout.flush()
        with suppress(OSError):
            os.unlink(self.session_file)
        os._exit(code)

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT:
            now = time.monotonic()
            if now - self.last_ctrl_c > DOUBLE_CTRL_C:
                self.last_ctrl_c = now
                with suppress(OSError):
                    print("\nPress Ctrl-C again to exit", flush=True)
                return
        self.leave(0)

    # -- the prompt ----------------------------------------------------------------------

    def command(self, line: str, *, typed: bool = True) -> None:
        """One line at the prompt. The first prompt of the command line comes here too
        (``typed`` False): there a text is a whole turn, as the real one sends it."""
        text = line.strip()
        word, _space, arg = text.partition(" ")
        arg = arg.strip()
        if self.menu is not None and text in ("", "1", "2", "/esc"):
            self.answer_menu(text)
        elif word not in COMMANDS:
            if text and typed:
                self.user_row(text)
            elif text:
                self.turn(text, seconds_env("STANDIN_CLAUDE_TURN_SECONDS", 0.3))
        elif word == "/exit":
            self.leave(0)
        elif word in ("/busy", "/idle", "/waiting"):
            self.set_status(word[1:], (arg or "permission prompt") if word == "/waiting"
                            else None)
        elif word == "/work" and arg.partition(" ")[0].replace(".", "", 1).isdigit():
            seconds, _space, said = arg.partition(" ")
            self.turn(said.strip() or f"work for {seconds} seconds", float(seconds))
        elif word == "/usage" and arg.isdigit():
            self.usage = int(arg)
        elif word == "/limit":
            self.limit(arg)
        elif word == "/throttle":
            self.throttle()
        elif word == "/say" and arg:  # Claude's own answer, whatever it says
            self.say(arg)
        elif word == "/rate-limit-options" and self.reset:
            self.open_menu(self.reset)
        elif word == "/esc" and self.auto_at is not None:
            self.auto_at = None
            print("\u2237 Automatic continue cancelled \u00b7 /rate-limit-options to wait again",
                  flush=True)
        self.status_line()
        print("> ", end="", flush=True)

    def user_row(self, text: str, *, meta: bool = False) -> None:
        """A prompt as sent: typed (also the command line's), or 2.1.337's own meta one."""
        self.prompt_id = str(uuid.uuid4())
        row: dict[str, object] = {"type": "user", "promptId": self.prompt_id, "message": {
            "role": "user", "content": text}}
        row.update({"isMeta": True, "origin": {"kind": "auto-continuation"}} if meta
                   else {"promptSource": "typed"})
        self.append(row)

    def say(self, text: str) -> None:
        print(f"\u23fa {text}", flush=True)
        self.append({"type": "assistant", "message": {
            "role": "assistant", "content": [{"type": "text", "text": text}]}})

    def turn(self, text: str, seconds: float, *, meta: bool = False) -> None:
        """A prompt and its answer: the user row when it is sent, busy while Claude
        works (a signal then ends it all: the user row stays, no answer), the answer."""
        self.user_row(text, meta=meta)
        self.set_status("busy")
        pause(seconds)
        self.say(os.environ.get("STANDIN_CLAUDE_ANSWER") or "Done.")
        self.set_status("idle")

    # -- the usage limit -----------------------------------------------------------------

    def limit(self, arg: str) -> None:
        """Hit the usage limit: the words, the transcript row, the limit menu (2.1.197, or
        2.1.337 without its automatic continue) or the continue armed (2.1.337), then the
        StopFailure hooks: a hook that reads the session file sees what follows."""
        words, epoch, window = limit_words(arg)
        words = os.environ.get("STANDIN_CLAUDE_LIMIT_WORDS") or words
        self.reset = epoch
        print(f"  \u23bf  {words}", flush=True)
        row: dict[str, object] = {
            "type": "assistant", "isApiErrorMessage": True, "error": "rate_limit",
            "apiErrorStatus": 429, "message": {
                "role": "assistant", "content": [{"type": "text", "text": words}]}}
        if NEW:
            info = {"status": "rejected", "resetsAt": epoch, "rateLimitType": window,
                    "isUsingOverage": False}
            row.update(apiError="usage_limit_reached", apiErrorType="rate_limit_error",
                       apiErrorParams={"rate_limit_info": info, "plan_limit_line": words},
                       quotaLimits={**info, "unifiedRateLimitFallbackAvailable": False})
        self.append(row)
        if NEW and self.settings.get("autoContinueAtUsageLimit") is not False \
                and epoch - time.time() <= AUTO_HORIZON:
            self.arm(epoch, f"\u2237 Usage limit reached \u00b7 set to continue "
                            f"automatically at {clock(epoch)}")
        else:
            self.open_menu(epoch)
        self.stop_failure(words)

    def throttle(self) -> None:
        """A 429 that is not a usage limit (the server limiting requests): the same
        ``error`` in the row and the hook, other words; 2.1.337 marks the row transient."""
        words = ("API Error: Server is temporarily limiting requests (not your usage limit) "
                 "\u00b7 Number of request tokens has exceeded your per-minute rate limit")
        print(f"\u25cf {words}", flush=True)
        row: dict[str, object] = {
            "type": "assistant", "isApiErrorMessage": True, "error": "rate_limit",
            "apiErrorStatus": 429, "message": {
                "role": "assistant", "content": [{"type": "text", "text": words}]}}
        if NEW:
            row.update(apiErrorIsTransient=True, apiErrorType="rate_limit_error")
        self.append(row)
        self.stop_failure(words)

    def open_menu(self, epoch: int) -> None:
        """``/rate-limit-options``: it holds the session at ``waiting``/``dialog open``."""
        self.menu = epoch
        self.auto_at = None
        self.set_status("waiting", "dialog open")
        options = ["Stop and wait for limit to reset", "Upgrade your plan"]
        if NEW:
            options.insert(1, f"Wait here, then continue automatically at {clock(epoch)}")
        print("What do you want to do?", flush=True)
        for index, label in enumerate(options):
            print(f"{CURSOR if index == 0 else ' '} {index + 1}. {label}", flush=True)
        print(CONFIRM, flush=True)

    def answer_menu(self, text: str) -> None:
        """1 or Enter: stop and wait; 2.1.337's 2: wait, then continue; Esc: close.
        The upgrade cannot be followed: nothing happens."""
        epoch = self.menu
        if epoch is None or (text == "2" and not NEW):
            return
        self.menu = None
        self.set_status("idle")
        if text == "2":
            self.arm(epoch, f"  \u23bf  Claude Code will continue automatically at "
                            f"{clock(epoch)}. Keep this session open; it may still pause "
                            "for permission prompts.")

    def arm(self, epoch: int, said: str) -> None:
        """2.1.337 waits at ``idle`` and sends the continue prompt itself after the reset
        (the real one 30 to 90 s after it; here ``STANDIN_CLAUDE_AUTO_DELAY``)."""
        self.auto_at = epoch + seconds_env("STANDIN_CLAUDE_AUTO_DELAY", 1.0)
        self.set_status("idle")
        self.append({"type": "system", "subtype": "informational", "level": "notice",
                     "content": f"Usage limit reached \u00b7 set to continue automatically "
                                f"at {clock(epoch)}"})
        print(f"{said}\n  \u26a0 Usage limit reached \u00b7 limit resets {clock(epoch)}\n"
              f"    Continuing automatically at {clock(epoch)} \u00b7 Esc to cancel", flush=True)

    def auto_continue(self) -> None:
        self.auto_at = None
        print("\u2237 Usage limit reset \u00b7 Continuing automatically", flush=True)
        self.turn(RESUMED, seconds_env("STANDIN_CLAUDE_TURN_SECONDS", 0.3), meta=True)
        self.status_line()
        print("> ", end="", flush=True)

    def loop(self) -> NoReturn:
        while True:
            line = self.lines.get(self.auto_at)
            if line is None:  # the armed continue is due
                self.auto_continue()
            elif not line:  # EOF: Ctrl-D on a tty, a closed pipe
                self.leave(0)
            else:
                self.command(line)


def append_line(path: str, row: dict[str, object]) -> None:
    """O_APPEND and a single write: concurrent starts never interleave lines."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(row) + "\n").encode())
    finally:
        os.close(fd)


def main() -> None:
    if os.environ.get("STANDIN_CLAUDE_IGNORE_SIGTERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)  # taken only in Lines.get / pause
    standin = Standin(sys.argv[1:])
    for signum in DEFERRED:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, standin.on_signal)
    standin.start()
    standin.loop()


if __name__ == "__main__":
    main()
