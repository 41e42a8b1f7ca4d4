"""A stand-in for the ``claude`` CLI (Claude Code 2.1.x), for the demo and the tests.

Stdlib only and independent of ``reconciler``: the sandbox copies this file to
``<sandbox>/bin/claude`` behind a ``#!<python>`` shebang, so it must run as a
script, and it must not agree with the reconciler by sharing its code.

What it reproduces, because the reconciler depends on it:

* config home: ``$CLAUDE_CONFIG_DIR`` else ``~/.claude``;
* ``--resume ID`` / ``-r ID`` / ``--resume=ID`` continues ``projects/<slug>/ID.jsonl``
  or prints ``No conversation found with session ID: ID`` and exits 1;
  ``--session-id ID`` starts ID, or prints ``Error: Session ID ID is already in use.``
  and exits 1 when that transcript exists; no flag starts a new uuid4; every other
  flag is accepted and ignored;
* ``<home>/sessions/<pid>.json`` (pid, sessionId, cwd, startedAt, status), written
  atomically at start and removed on exit;
* on SIGTERM, SIGHUP, ``/exit``, a second Ctrl-C or EOF on stdin: the two lines
  ``Resume this session with:`` / ``claude --resume ID``, then exit 0.

Knobs (environment):

* ``STANDIN_CLAUDE_OFFLINE=1``: print ``Unable to connect to Anthropic services``, exit 1;
* ``STANDIN_CLAUDE_STATUS=busy``: initial status in the sessions file;
* ``STANDIN_CLAUDE_IGNORE_SIGTERM=1``: SIGTERM is ignored (exercise the SIGKILL path);
* ``STANDIN_CLAUDE_LOG=FILE``: one JSON line per successful start
  (pid, argv, config_dir, session_id, cwd, mode, time).

* before the prompt, the gates of 2.1.197: the login menu when the home holds no
  ``.credentials.json`` (and no token is in the environment); ``Quick safety check``
  when ``.claude.json`` does not trust the cwd (``1`` trusts it there, ``2`` exits);
  the bypass disclaimer for ``--dangerously-skip-permissions`` unless ``settings.json``
  has ``skipDangerousModePermissionPrompt`` (``2`` accepts, ``1`` exits);
* the signals of ``settings.json``: the ``statusLine`` command runs at start and after
  every line, with Claude's JSON on stdin (``rate_limits`` once a usage is known), its
  output shown; the ``StopFailure`` hooks run on a limit, with the hook's JSON.

Lines on stdin: ``/exit``; ``/busy``, ``/idle``, ``/waiting`` (status); ``/usage P``
(five-hour usage at P percent, shown to the status line); ``/limit`` (2.1.197's
``You've hit your session limit · resets 2:12am (UTC)``, five hours ahead, the limit
menu, the transcript row, the StopFailure hooks); ``/limit N`` (the same with
``Claude AI usage limit reached|<epoch N s ahead>``); ``/say TEXT`` (Claude answers
TEXT: an ordinary assistant row); anything else is a user row.
It never touches ``.credentials.json``; it writes ``.claude.json`` and
``settings.json`` only when their prompt is accepted, like the real one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from types import FrameType
from typing import NoReturn

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
VERSION = "2.1.0 (stand-in)"
OFFLINE = "Unable to connect to Anthropic services"
AUTH_ENV = ("CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
TRUST = ("Quick safety check: Is this a project you created or one you trust?\n"
         "\u276f 1. Yes, I trust this folder\n  2. No, exit")
BYPASS = ("WARNING: Claude Code running in Bypass Permissions mode\n"
          "\u276f 1. No, exit\n  2. Yes, I accept")
LOGIN = "Select login method:\n\u276f 1. Claude account with subscription"
MENU = ("What do you want to do?\n\u276f 1. Stop and wait for limit to reset\n"
        "  2. Upgrade your plan")
DEFERRED = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
DOUBLE_CTRL_C = 2.0  # seconds: a second Ctrl-C within this exits, like the real TUI


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace(  # noqa: UP017
        "+00:00", "Z")


def slug(cwd: str) -> str:
    """The ``projects/`` directory name: every char outside [A-Za-z0-9] becomes '-'."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


def limit_line(seconds: int | None) -> tuple[str, int]:
    """(the message, the reset epoch): 2.1.197's wording five hours ahead, or the epoch
    form N seconds ahead (a clock with minutes cannot say "in 6 seconds")."""
    if seconds is not None:
        epoch = int(time.time()) + seconds
        return f"Claude AI usage limit reached|{epoch}", epoch
    reset = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(  # noqa: UP017
        hours=5, minutes=1)
    clock = reset.strftime("%I:%M%p").lstrip("0").lower().replace(":00", "")
    return f"You've hit your session limit · resets {clock} (UTC)", int(reset.timestamp())


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


def parse_session(argv: list[str]) -> tuple[str, str]:
    """``(session_id, mode)`` from ``--resume``/``-r``/``--session-id`` (also ``=ID``)."""
    for index, arg in enumerate(argv):
        flag, eq, inline = arg.partition("=")
        if flag not in ("--resume", "-r", "--session-id"):
            continue
        value = inline if eq else (argv[index + 1] if index + 1 < len(argv) else "")
        if not UUID.match(value):
            fail(f"error: {flag} needs a session id (uuid), got {value!r}")
        return value.lower(), "new" if flag == "--session-id" else "resume"
    return str(uuid.uuid4()), "new"


def fail(message: str) -> NoReturn:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


class Standin:
    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.home = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.expanduser("~/.claude")
        self.cwd = os.getcwd()
        self.session_id, self.mode = parse_session(argv)
        self.transcript = os.path.join(self.home, "projects", slug(self.cwd),
                                       f"{self.session_id}.jsonl")
        self.session_file = os.path.join(self.home, "sessions", f"{os.getpid()}.json")
        self.status = os.environ.get("STANDIN_CLAUDE_STATUS", "idle")
        self.started_ms = int(time.time() * 1000)
        self.last_row: str | None = None
        self.last_ctrl_c = 0.0
        self.usage: int | None = None
        self.settings = load_json(os.path.join(self.home, "settings.json"))

    # -- files -------------------------------------------------------------------------

    def append(self, row: dict[str, object]) -> None:
        """One transcript row, in one write, chained like the real ``parentUuid`` links."""
        os.makedirs(os.path.dirname(self.transcript), exist_ok=True)
        row_id = str(uuid.uuid4())
        full = {"parentUuid": self.last_row, "uuid": row_id, "sessionId": self.session_id,
                "cwd": self.cwd, "version": VERSION, "timestamp": now_iso(), **row}
        append_line(self.transcript, full)
        self.last_row = row_id

    def write_session_file(self, waiting_for: str | None = None) -> None:
        os.makedirs(os.path.dirname(self.session_file), exist_ok=True)
        body: dict[str, object] = {"pid": os.getpid(), "sessionId": self.session_id,
                                   "cwd": self.cwd, "startedAt": self.started_ms,
                                   "status": self.status}
        if waiting_for:
            body["waitingFor"] = waiting_for
        temp = f"{self.session_file}.tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(body, handle)
        os.replace(temp, self.session_file)

    def log_start(self) -> None:
        log = os.environ.get("STANDIN_CLAUDE_LOG")
        if log:
            append_line(log, {"pid": os.getpid(), "argv": self.argv, "config_dir": self.home,
                              "session_id": self.session_id, "cwd": self.cwd,
                              "mode": self.mode, "time": now_iso()})

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        """Everything up to the prompt; runs with the exit signals held."""
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

    # -- the prompts that stand between a start and the prompt -----------------------------

    def gates(self) -> None:
        creds = os.path.join(self.home, ".credentials.json")
        if not any(os.environ.get(k) for k in AUTH_ENV) and not (
                os.path.isfile(creds) and os.path.getsize(creds) > 2):
            self.ask(LOGIN, {})  # never passes: the stand-in cannot log in
        # As the real CLI: inside the home only when CLAUDE_CONFIG_DIR names it.
        config_path = (os.path.join(self.home, ".claude.json")
                       if os.environ.get("CLAUDE_CONFIG_DIR")
                       else os.path.expanduser("~/.claude.json"))
        config = load_json(config_path)
        found = config.get("projects")
        projects: dict[str, object] = found if isinstance(found, dict) else {}
        path, trusted = self.cwd, False
        while True:
            entry = projects.get(path)
            if isinstance(entry, dict) and entry.get("hasTrustDialogAccepted") is True:
                trusted = True
                break
            if path == os.path.dirname(path):
                break
            path = os.path.dirname(path)
        if not trusted:
            self.ask(TRUST, {"1": "yes", "2": "exit"})
            entry = projects.get(self.cwd)
            projects[self.cwd] = {**(entry if isinstance(entry, dict) else {}),
                                  "hasTrustDialogAccepted": True}
            save_json(config_path, {**config, "projects": projects})
        if "--dangerously-skip-permissions" in self.argv and self.settings.get(
                "skipDangerousModePermissionPrompt") is not True:
            self.ask(BYPASS, {"2": "yes", "1": "exit"})
            self.settings["skipDangerousModePermissionPrompt"] = True
            save_json(os.path.join(self.home, "settings.json"), self.settings)

    def ask(self, prompt: str, answers: dict[str, str]) -> None:
        """A prompt that holds the start until it is answered (a line on stdin)."""
        print(prompt, flush=True)
        while True:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, DEFERRED)
            try:
                line = sys.stdin.readline()
            finally:
                signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)
            answer = answers.get(line.strip()) if line else "exit"
            if answer == "yes":
                return
            if answer == "exit" or line.strip() == "/exit":
                os._exit(1)

    # -- Claude's own signals, as settings.json asks ------------------------------------------

    def status_line(self) -> None:
        line = self.settings.get("statusLine")
        command = line.get("command") if isinstance(line, dict) else None
        if not isinstance(command, str):
            return
        body: dict[str, object] = {
            "session_id": self.session_id, "transcript_path": self.transcript,
            "cwd": self.cwd, "version": VERSION,
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
                        "cwd": self.cwd, "hook_event_name": "StopFailure",
                        "error": "rate_limit", "last_assistant_message": message})

    def run(self, command: str, body: dict[str, object]) -> str | None:
        """A settings command: ``sh -c``, the JSON on stdin, its stdout back."""
        try:
            done = subprocess.run(["/bin/sh", "-c", command], input=json.dumps(body),
                                  capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout

    def leave(self, code: int = 0) -> NoReturn:
        """The resume hint, then the session file goes; exit without further I/O."""
        with suppress(OSError):  # the terminal may be gone (SIGHUP)
            sys.stdout.write(f"\nResume this session with:\nclaude --resume {self.session_id}\n")
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

    def command(self, line: str) -> None:
        text = line.strip()
        if text == "/exit":
            self.leave(0)
        elif text in ("/busy", "/idle", "/waiting"):
            self.status = text[1:]
            self.write_session_file()
        elif text.startswith("/usage ") and text[7:].strip().isdigit():
            self.usage = int(text[7:].strip())
        elif text == "/limit" or text.startswith("/limit "):
            arg = text.removeprefix("/limit").strip()
            self.limit(int(arg) if arg.isdigit() else None)
        elif text.startswith("/say "):  # Claude's own answer, whatever it says
            print(f"\u23fa {text[5:]}", flush=True)
            self.append({"type": "assistant", "message": {
                "role": "assistant", "content": [{"type": "text", "text": text[5:]}]}})
        elif text:
            self.append({"type": "user", "message": {"role": "user", "content": text}})
        self.status_line()
        print("> ", end="", flush=True)

    def limit(self, seconds: int | None) -> None:
        """Hit the usage limit as 2.1.197 does: the line, the transcript row, the session
        waiting at the limit menu, the StopFailure hooks."""
        message, _epoch = limit_line(seconds)
        print(f"  \u23bf  {message}", flush=True)
        self.append({"type": "assistant", "isApiErrorMessage": True, "error": "rate_limit",
                     "apiErrorStatus": 429, "message": {
                         "role": "assistant", "content": [{"type": "text", "text": message}]}})
        self.status = "waiting"
        self.write_session_file(waiting_for="dialog open")
        self.stop_failure(message)
        print(MENU, flush=True)

    def loop(self) -> NoReturn:
        """Signals are only taken while waiting for a line, never mid-write."""
        while True:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, DEFERRED)
            try:
                line = sys.stdin.readline()
            except OSError:  # EIO: the terminal is gone
                line = ""
            finally:
                signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)
            if not line:  # EOF: Ctrl-D on a tty, a closed pipe
                self.leave(0)
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
    signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)  # until the prompt; then see loop()
    standin = Standin(sys.argv[1:])
    for signum in DEFERRED:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, standin.on_signal)
    standin.start()
    standin.loop()


if __name__ == "__main__":
    main()
