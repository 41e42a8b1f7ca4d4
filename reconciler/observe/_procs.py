"""One scan of /proc per cycle: who is whose child, and which of them is Claude.

psutil's process_iter with cmdline costs ~5x a raw scan of the stat files, and
cmdline/environ are read only for the few processes under tmux panes.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from reconciler.claudecode import CONFIG_ENV, is_claude_argv

_PROC = Path("/proc")


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


@dataclass(frozen=True)
class ClaudeProcess:
    pid: int
    argv: tuple[str, ...]
    config_dir: str | None
    cwd: str | None


class ProcessTable:
    """Parent -> children from every ``/proc/<pid>/stat``, read once."""

    def __init__(self) -> None:
        self.children: dict[int, list[int]] = {}
        for entry in os.scandir(_PROC):
            if not entry.name.isdigit():
                continue
            stat = _read(_PROC / entry.name / "stat")
            if stat is None:
                continue
            # comm may hold spaces and ')': the fields after the LAST ')' are fixed.
            fields = stat[stat.rfind(b")") + 2:].split()
            if len(fields) > 1:
                self.children.setdefault(int(fields[1]), []).append(int(entry.name))

    def descendants(self, pid: int) -> list[int]:
        """Breadth first, so the shallowest match wins."""
        out: list[int] = []
        queue = deque(self.children.get(pid, ()))
        while queue:
            child = queue.popleft()
            out.append(child)
            queue.extend(self.children.get(child, ()))
        return out

    @staticmethod
    def argv(pid: int) -> tuple[str, ...]:
        raw = _read(_PROC / str(pid) / "cmdline") or b""
        return tuple(p.decode(errors="replace") for p in raw.split(b"\0") if p)

    @staticmethod
    def environ_value(pid: int, key: str) -> str | None:
        raw = _read(_PROC / str(pid) / "environ") or b""
        prefix = key.encode() + b"="
        for item in raw.split(b"\0"):
            if item.startswith(prefix):
                return item[len(prefix):].decode(errors="replace")
        return None

    @staticmethod
    def cwd(pid: int) -> str | None:
        try:
            return str((_PROC / str(pid) / "cwd").readlink())
        except OSError:
            return None

    def under_pane(self, pane_pid: int) -> tuple[ClaudeProcess | None, bool]:
        """(the outermost Claude under the pane shell, whether anything else runs there)."""
        below = self.descendants(pane_pid)
        claude: ClaudeProcess | None = None
        for pid in below:
            argv = self.argv(pid)
            if is_claude_argv(argv):
                claude = ClaudeProcess(pid, argv, self.environ_value(pid, CONFIG_ENV),
                                       self.cwd(pid))
                break
        inside = {claude.pid, *self.descendants(claude.pid)} if claude else set()
        other = any(pid not in inside for pid in below)
        return claude, other
