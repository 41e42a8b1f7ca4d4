"""A stand-in for the ``claude`` CLI, for the demo and the tests. Stdlib only.

It behaves like Claude Code 2.1.x where the reconciler can tell: config home is
$CLAUDE_CONFIG_DIR else ~/.claude; ``--session-id`` starts that id, ``--resume``
continues an existing transcript (and fails like the real one when there is
none); it writes ``<home>/sessions/<pid>.json`` and appends to
``<home>/projects/<slug>/<id>.jsonl``; on SIGTERM/SIGHUP it prints the resume
hint, removes its session file and exits.

Knobs (environment): STANDIN_CLAUDE_OFFLINE=1 (print the offline error, exit 1),
STANDIN_CLAUDE_STATUS=busy, STANDIN_CLAUDE_IGNORE_SIGTERM=1, STANDIN_CLAUDE_LOG=<file>
(one JSON line per start). Lines typed on stdin: /exit, /busy, /idle, /limit [SECONDS].
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import time
import uuid
from datetime import datetime, timezone
from types import FrameType

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")  # noqa: UP017


class Standin:
    def __init__(self, argv: list[str]) -> None:
        self.home = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.expanduser("~/.claude")
        self.cwd = os.getcwd()
        self.session_id, self.mode = self._session(argv)
        slug = re.sub(r"[^A-Za-z0-9]", "-", self.cwd)
        self.transcript = os.path.join(self.home, "projects", slug, f"{self.session_id}.jsonl")
        self.session_file = os.path.join(self.home, "sessions", f"{os.getpid()}.json")
        self.status = os.environ.get("STANDIN_CLAUDE_STATUS", "idle")

    @staticmethod
    def _session(argv: list[str]) -> tuple[str, str]:
        for flag, mode in (("--resume", "resume"), ("-r", "resume"), ("--session-id", "new")):
            if flag in argv:
                index = argv.index(flag)
                value = argv[index + 1] if index + 1 < len(argv) else ""
                if not UUID.match(value):
                    print(f"error: {flag} needs a session id (uuid)", file=sys.stderr)
                    sys.exit(1)
                return value.lower(), mode
        return str(uuid.uuid4()), "new"

    def append(self, row: dict[str, object]) -> None:
        os.makedirs(os.path.dirname(self.transcript), exist_ok=True)
        row = {"sessionId": self.session_id, "cwd": self.cwd, "timestamp": now_iso(), **row}
        with open(self.transcript, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")

    def write_session_file(self) -> None:
        os.makedirs(os.path.dirname(self.session_file), exist_ok=True)
        body = {"pid": os.getpid(), "sessionId": self.session_id, "cwd": self.cwd,
                "startedAt": int(time.time() * 1000), "status": self.status}
        temp = f"{self.session_file}.tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(body, handle)
        os.replace(temp, self.session_file)

    def leave(self, code: int = 0) -> None:
        print("\nResume this session with:")
        print(f"claude --resume {self.session_id}", flush=True)
        with contextlib.suppress(OSError):
            os.unlink(self.session_file)
        sys.exit(code)

    def log_start(self, argv: list[str]) -> None:
        log = os.environ.get("STANDIN_CLAUDE_LOG")
        if log:
            line = {"pid": os.getpid(), "argv": argv, "config_dir": self.home, "cwd": self.cwd,
                    "session_id": self.session_id, "mode": self.mode, "time": now_iso()}
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")

    def limit(self, seconds: int | None = None) -> None:
        """Hit the usage limit: ``/limit`` as 2.1.x words it, ``/limit N`` resets in N s."""
        epoch = int(time.time()) + (seconds if seconds is not None else 3 * 3600)
        if seconds is None:
            print("You've hit your limit · resets 8am (Europe/London)", flush=True)
        else:
            print(f"Claude AI usage limit reached|{epoch}", flush=True)
        self.append({"type": "assistant", "isApiErrorMessage": True, "message": {
            "role": "assistant", "content": [
                {"type": "text", "text": f"Claude AI usage limit reached|{epoch}"}]}})

    def run(self, argv: list[str]) -> None:
        if os.environ.get("STANDIN_CLAUDE_OFFLINE") == "1":
            print("Unable to connect to Anthropic services", file=sys.stderr, flush=True)
            sys.exit(1)
        if self.mode == "resume" and not os.path.exists(self.transcript):
            print(f"No conversation found with session ID: {self.session_id}", flush=True)
            sys.exit(1)

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            self.leave(0)

        signal.signal(signal.SIGHUP, on_signal)
        if os.environ.get("STANDIN_CLAUDE_IGNORE_SIGTERM") == "1":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGTERM, on_signal)
        self.log_start(argv)
        self.append({"type": "system", "subtype": self.mode, "account_home": self.home})
        self.write_session_file()
        print(f"stand-in claude · session {self.session_id} · {self.mode} · {self.home}",
              flush=True)
        self.loop()

    def loop(self) -> None:
        while True:
            line = sys.stdin.readline()
            if not line:
                time.sleep(3600)
                continue
            command = line.strip()
            if command == "/exit":
                self.leave(0)
            elif command in ("/busy", "/idle"):
                self.status = command[1:]
                self.write_session_file()
            elif command.startswith("/limit"):
                arg = command.removeprefix("/limit").strip()
                self.limit(int(arg) if arg.isdigit() else None)
            elif command:
                self.append({"type": "user", "message": {"role": "user", "content": command}})


def main() -> None:
    argv = sys.argv[1:]
    Standin(argv).run(argv)


if __name__ == "__main__":
    main()
