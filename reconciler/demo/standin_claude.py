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

Lines on stdin: ``/exit``; ``/busy``, ``/idle``, ``/waiting`` (status); ``/limit``
(the 2.1.x usage-limit line, reset at the next 8am Europe/London); ``/limit N``
(``Claude AI usage limit reached|<epoch N s ahead>``); anything else is a user row.
It never reads or writes ``.claude.json`` or ``.credentials.json``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import uuid
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from types import FrameType
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
VERSION = "2.1.0 (stand-in)"
OFFLINE = "Unable to connect to Anthropic services"
LIMIT_LINE = "You've hit your limit · resets 8am (Europe/London)"
DEFERRED = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
DOUBLE_CTRL_C = 2.0  # seconds: a second Ctrl-C within this exits, like the real TUI


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace(  # noqa: UP017
        "+00:00", "Z")


def slug(cwd: str) -> str:
    """The ``projects/`` directory name: every char outside [A-Za-z0-9] becomes '-'."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


def next_8am_london() -> int:
    """The epoch of the reset the ``/limit`` line announces, so pane and transcript agree."""
    try:
        zone = ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:  # no tz database on this machine
        return int(time.time()) + 3 * 3600
    local = datetime.now(zone)
    reset = local.replace(hour=8, minute=0, second=0, microsecond=0)
    if reset <= local:
        reset += timedelta(days=1)
    return int(reset.timestamp())


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

    # -- files -------------------------------------------------------------------------

    def append(self, row: dict[str, object]) -> None:
        """One transcript row, in one write, chained like the real ``parentUuid`` links."""
        os.makedirs(os.path.dirname(self.transcript), exist_ok=True)
        row_id = str(uuid.uuid4())
        full = {"parentUuid": self.last_row, "uuid": row_id, "sessionId": self.session_id,
                "cwd": self.cwd, "version": VERSION, "timestamp": now_iso(), **row}
        append_line(self.transcript, full)
        self.last_row = row_id

    def write_session_file(self) -> None:
        os.makedirs(os.path.dirname(self.session_file), exist_ok=True)
        body = {"pid": os.getpid(), "sessionId": self.session_id, "cwd": self.cwd,
                "startedAt": self.started_ms, "status": self.status}
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
        self.log_start()
        self.append({"type": "system", "subtype": self.mode, "account_home": self.home})
        self.write_session_file()
        print(f"* stand-in Claude Code {VERSION}\n"
              f"  session {self.session_id} ({self.mode})\n"
              f"  config  {self.home}\n"
              f"  cwd     {self.cwd}\n> ", end="", flush=True)

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
        elif text == "/limit" or text.startswith("/limit "):
            arg = text.removeprefix("/limit").strip()
            self.limit(int(arg) if arg.isdigit() else None)
        elif text:
            self.append({"type": "user", "message": {"role": "user", "content": text}})
        print("> ", end="", flush=True)

    def limit(self, seconds: int | None) -> None:
        """Hit the usage limit: the 2.1.x pane line, and the API error row in the transcript."""
        if seconds is None:
            epoch = next_8am_london()
            print(LIMIT_LINE, flush=True)
        else:
            epoch = int(time.time()) + seconds
            print(f"Claude AI usage limit reached|{epoch}", flush=True)
        self.append({"type": "assistant", "isApiErrorMessage": True, "message": {
            "role": "assistant", "content": [
                {"type": "text", "text": f"Claude AI usage limit reached|{epoch}"}]}})

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
