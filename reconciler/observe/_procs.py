"""The process table: which Claude runs in which pane, and who holds each pane's terminal.

The one place that reads processes, for observe and apply alike. Raw ``/proc``:
psutil's ``process_iter`` with cmdline costs ~5x a scan of the stat files, and
``exe``, ``cmdline``, ``environ`` and ``cwd`` are read only for processes under
tmux panes. A Claude is recognised by its executable (see ``claudecode``), a shell
by ``/etc/shells``; the terminal's foreground process group (``tpgid``) says whether
the shell is at its prompt or something else has the keyboard.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath

from reconciler.claudecode import (
    CONFIG_ENV,
    Recognised,
    is_interpreter,
    recognise,
    script_argument,
)

_PROC = "/proc"
_NOT_SHELLS = frozenset({"tmux", "screen", "byobu", "nologin", "false", "true"})
_SHELL_NAMES = frozenset({"sh", "bash", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh",
                          "yash", "ash", "rbash", "busybox", "nu", "elvish", "xonsh"})
_WRAPPERS = frozenset({"env", "nice", "nohup", "stdbuf", "timeout", "ionice", "taskset",
                       "sudo", "doas", "npx", "bunx", "exec"})

_SEEN: dict[tuple[int, int, str, frozenset[str]], ClaudeProcess | None] = {}
"""Processes already read, across cycles (see ``ProcessTable._read_claude``)."""
_SEEN_MAX = 20_000

RealPath = Callable[[str | os.PathLike[str]], str]
"""``os.path.realpath``, or the cycle's memo of it (``_fs.RealPaths``)."""


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _link(path: str) -> str | None:
    try:
        return os.readlink(path).removesuffix(" (deleted)")
    except OSError:
        return None


@dataclass(frozen=True)
class ProcStat:
    pid: int
    comm: str
    ppid: int
    pgrp: int
    tpgid: int
    """Foreground process group of the process's terminal (-1: none)."""
    start: int
    """Start time in clock ticks since boot."""


def read_stat(pid: int) -> ProcStat | None:
    raw = _read(f"{_PROC}/{pid}/stat")
    return parse_stat(pid, raw) if raw is not None else None


def parse_stat(pid: int, raw: bytes) -> ProcStat | None:
    """``/proc/<pid>/stat``; None when it does not have the fields it must have."""
    # comm may hold spaces and ')': the fields after the LAST ')' are fixed.
    close = raw.rfind(b")")
    fields = raw[close + 2:].split()
    if len(fields) < 20:
        return None
    comm = raw[raw.find(b"(") + 1:close].decode(errors="replace")
    try:
        return ProcStat(pid, comm, int(fields[1]), int(fields[2]), int(fields[5]),
                        int(fields[19]))
    except ValueError:
        return None


@dataclass(frozen=True)
class Identity:
    """What is a Claude and what is a shell on this machine, resolved once per cycle."""

    claude_paths: frozenset[str]
    shells: frozenset[str]

    @classmethod
    def resolve(cls, launch_command: Iterable[str] = (), path: str | None = None) -> Identity:
        """From the launch command's executable (or its script) and ``claude`` on PATH."""
        words = list(launch_command)
        candidates = ["claude"]
        if words and PurePath(words[0]).name not in _WRAPPERS:
            first = _which(words[0], path)
            script = script_argument(words) if first and is_interpreter(first) else words[0]
            if script is not None:
                candidates.append(script)
        paths = {found for word in candidates if (found := _which(word, path)) is not None}
        return cls(frozenset(p for p in paths if not is_interpreter(p)), _login_shells())

    def is_shell(self, exe: str) -> bool:
        name = PurePath(exe).name
        return name not in _NOT_SHELLS and (exe in self.shells or name in _SHELL_NAMES)


def _which(word: str, path: str | None) -> str | None:
    if "/" in word:  # ~ is expanded once, when the desired file is loaded
        return os.path.realpath(word) if os.path.exists(word) else None
    for folder in (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep):
        candidate = os.path.join(folder or ".", word)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.realpath(candidate)
    return None


def _login_shells() -> frozenset[str]:
    raw = _read("/etc/shells") or b""
    shells = set()
    for entry in raw.decode(errors="replace").splitlines():
        path = entry.strip()
        if path.startswith("/") and PurePath(path).name not in _NOT_SHELLS:
            shells.add(os.path.realpath(path))
    return frozenset(shells)


@dataclass(frozen=True)
class ClaudeProcess:
    pid: int
    start: int
    exe: str
    argv: tuple[str, ...]
    config_dir: str | None
    cwd: str | None
    recognised: Recognised = Recognised.CLAUDE


@dataclass(frozen=True)
class PaneProcesses:
    """What runs in one pane, from its own process down."""

    shell: bool
    claude: ClaudeProcess | None
    foreground: str | None
    """The program holding the keyboard when it is neither the shell nor a Claude."""
    others: bool
    """Anything besides the shell and the Claude's own tree (background jobs too)."""


class ProcessTable:
    """Parents and children from every ``/proc/<pid>/stat`` (``scan``), or read pid by
    pid on demand (``lazy``: the applier's checks of a few known processes)."""

    def __init__(self, identity: Identity, stats: Mapping[int, ProcStat] | None = None,
                 real_path: RealPath = os.path.realpath) -> None:
        self.identity = identity
        self._real_path = real_path
        self._scanned = stats is not None
        self._stats: dict[int, ProcStat] = dict(stats or {})
        self._children: dict[int, list[int]] = {}
        for stat in self._stats.values():
            self._children.setdefault(stat.ppid, []).append(stat.pid)
        self._claudes: dict[int, ClaudeProcess | None] = {}
        self._exes: dict[int, str | None] = {}

    @classmethod
    def scan(cls, identity: Identity, real_path: RealPath = os.path.realpath) -> ProcessTable:
        stats = {}
        for entry in os.scandir(_PROC):
            if entry.name.isdigit() and (stat := read_stat(int(entry.name))) is not None:
                stats[stat.pid] = stat
        return cls(identity, stats, real_path)

    @classmethod
    def lazy(cls, identity: Identity) -> ProcessTable:
        return cls(identity)

    def pids(self) -> tuple[int, ...]:
        """Every process the scan saw (none for a lazy table)."""
        return tuple(self._stats)

    def stat(self, pid: int) -> ProcStat | None:
        if pid not in self._stats and not self._scanned:
            found = read_stat(pid)
            if found is None:
                return None
            self._stats[pid] = found
        return self._stats.get(pid)

    def children(self, pid: int) -> list[int]:
        if self._scanned:
            return self._children.get(pid, [])
        found: list[int] = []
        try:
            tasks = os.listdir(f"{_PROC}/{pid}/task")
        except OSError:
            return found
        for task in tasks:
            raw = _read(f"{_PROC}/{pid}/task/{task}/children") or b""
            found += [int(p) for p in raw.split()]
        return found

    def descendants(self, pid: int) -> list[int]:
        """Breadth first, so the shallowest match wins; iterative, any depth."""
        out: list[int] = []
        seen = {pid}
        queue = deque(self.children(pid))
        while queue:
            child = queue.popleft()
            if child in seen:
                continue
            seen.add(child)
            out.append(child)
            queue.extend(self.children(child))
        return out

    def claude(self, pid: int) -> ClaudeProcess | None:
        """The process as a Claude, or None when its executable is not Claude's."""
        if pid in self._claudes:
            return self._claudes[pid]
        found = self._read_claude(pid)
        self._claudes[pid] = found
        return found

    def exe(self, pid: int) -> str | None:
        if pid not in self._exes:
            self._exes[pid] = _link(f"{_PROC}/{pid}/exe")
        return self._exes[pid]

    def _read_claude(self, pid: int) -> ClaudeProcess | None:
        """Read once per process: (pid, start time, executable) names one process image
        (a reused pid has another start time; an exec another executable), and what makes
        it a Claude cannot change while it lives."""
        stat = self.stat(pid)
        exe = self.exe(pid)
        if stat is None or exe is None:
            return None  # gone, a zombie, or not ours to read
        key = (pid, stat.start, exe, self.identity.claude_paths)
        if key in _SEEN:
            return _SEEN[key]
        if len(_SEEN) > _SEEN_MAX:
            _SEEN.clear()
        found, settled = self._first_read(pid, stat, exe)
        if settled:
            _SEEN[key] = found
        return found

    def _first_read(self, pid: int, stat: ProcStat, exe: str) -> tuple[ClaudeProcess | None, bool]:
        """The process as a Claude, and whether that answer is final. Just after an
        exec the kernel shows the new executable before the new argument list: an
        interpreter with no arguments yet is read again next time, not remembered."""
        argv: tuple[str, ...] = ()
        cwd: str | None = None
        script = None
        if is_interpreter(exe):  # else the executable alone decides: no more reads
            argv = _argv(pid)
            if not argv:
                return None, False
            cwd = _link(f"{_PROC}/{pid}/cwd")
            if (word := script_argument(argv)) is not None:
                script = self._real_path(os.path.join(cwd or "/", word))
        found = recognise(exe, script, self.identity.claude_paths)
        if found is None:
            return None, True
        if not argv:
            argv, cwd = _argv(pid), _link(f"{_PROC}/{pid}/cwd")
        return ClaudeProcess(pid, stat.start, exe, argv, environ_value(pid, CONFIG_ENV), cwd,
                             found), True

    def is_shell(self, pid: int) -> bool:
        exe = self.exe(pid)
        return exe is not None and self.identity.is_shell(exe)

    def pane(self, pane_pid: int) -> PaneProcesses:
        root = self.stat(pane_pid)
        if root is None:
            return PaneProcesses(False, None, "(no process)", False)
        own = self.claude(pane_pid)
        if own is not None:  # `exec claude`: the pane's process is the Claude itself
            return PaneProcesses(False, self._innermost(own), None, False)
        shell = self.is_shell(pane_pid)
        below = self.descendants(pane_pid)
        claude = next((c for pid in below if (c := self.claude(pid)) is not None), None)
        if claude is not None:
            outer = claude.pid
            claude = self._innermost(claude)
            inside = {outer, *self.descendants(outer)}
        else:
            inside = set()
        others = any(pid not in inside for pid in below)
        return PaneProcesses(shell, claude, self._foreground(root, shell, claude), others)

    def _innermost(self, claude: ClaudeProcess) -> ClaudeProcess:
        """Under a launcher (a wrapper such as ``op run -- claude``, or the launch
        command's own script) the real Claude is the one it started: that is the
        process to signal, never the wrapper, which would leave its Claude behind."""
        while claude.recognised is Recognised.LAUNCHER:
            inner = next((c for pid in self.descendants(claude.pid)
                          if (c := self.claude(pid)) is not None), None)
            if inner is None:
                return claude
            claude = inner
        return claude

    def _foreground(self, root: ProcStat, shell: bool, claude: ClaudeProcess | None) -> str | None:
        group = root.tpgid
        if shell and group == root.pgrp:
            return None
        if claude is not None and (own := self.stat(claude.pid)) and group == own.pgrp:
            return None
        if not shell and group in (root.pgrp, -1, 0):
            return root.comm
        leader = self.stat(group) if group > 0 else None
        return leader.comm if leader is not None else "another program"


def _argv(pid: int) -> tuple[str, ...]:
    """Each argument ends in a NUL; an empty one keeps its place (``--flag ''``)."""
    raw = _read(f"{_PROC}/{pid}/cmdline") or b""
    if not raw:
        return ()
    return tuple(p.decode(errors="replace") for p in raw.removesuffix(b"\0").split(b"\0"))


def environ_value(pid: int, key: str) -> str | None:
    raw = _read(f"{_PROC}/{pid}/environ") or b""
    prefix = key.encode() + b"="
    for item in raw.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix):].decode(errors="replace")
    return None


def homes_by_dir(homes: Mapping[str, Path],
                 real_path: RealPath = os.path.realpath) -> dict[str, tuple[str, ...]]:
    """realpath -> the accounts whose home it is, in the file's order (more than one only
    where a link made after the file was loaded joined two homes)."""
    found: dict[str, tuple[str, ...]] = {}
    for name, home in homes.items():
        real = real_path(home)
        found[real] = (*found.get(real, ()), name)
    return found


def home_index(homes: Mapping[str, Path], link: Path,
               real_path: RealPath = os.path.realpath,
               by_dir: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, str]:
    """realpath -> account, resolved once per cycle; the link maps to its target's account.
    Homes joined into one directory map to the first (the planner holds every Claude
    while they are: see ``Observed.one_directory``)."""
    by_dir = homes_by_dir(homes, real_path) if by_dir is None else by_dir
    index = {real: names[0] for real, names in by_dir.items()}
    linked = index.get(real_path(link))
    if linked is not None:
        index[str(link)] = linked
    return index
