"""``reconcile init``: a first desired file that describes the machine as it is.

It only looks: the user's ``~/.claude`` and ``~/.claude.json``, account homes named
``~/.claude-<name>``, and the tmux sessions where Claude runs now (each becomes a
dedicated session on its project, so a swap resumes it). The text is checked with the
same loader ``validate`` uses before a byte is written, and an existing file is never
overwritten without ``--force`` (then it is moved aside, not deleted).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cli._text import tilde
from reconciler.cli._ui import EXIT_ERROR, EXIT_OK, Ui, desired_path
from reconciler.desired import DEFAULT_ENTRIES, UNSAFE_PATH

if TYPE_CHECKING:
    from reconciler.observe import ProcessTable

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_NOT_HOMES = ("shared",)


@dataclass(frozen=True)
class RunningClaude:
    session: str
    pane: str
    pid: int
    cwd: str
    config_dir: str | None
    flags: tuple[str, ...]
    """Its options, less the session ones: what the launch command should keep."""


@dataclass(frozen=True)
class Machine:
    """What init saw; nothing here is changed by init."""

    home: Path
    link_kind: str
    """``dir`` (a real ~/.claude), ``link``, ``missing`` or ``other``."""
    link_target: str | None
    config_file: bool
    homes: tuple[tuple[str, Path], ...]
    claudes: tuple[RunningClaude, ...]
    tmux_note: str | None
    server: TmuxServer | None = None
    """The tmux server the Claudes were found on, when it is not the default one."""


def _default_socket() -> Path:
    """The default server's socket, named outright: inside a pane, a bare ``tmux`` talks
    to the pane's server, which the service (started elsewhere) would not."""
    folder = os.environ.get("TMUX_TMPDIR") or "/tmp"  # noqa: S108 - tmux's own rule
    return Path(folder) / f"tmux-{os.getuid()}" / "default"


@dataclass(frozen=True)
class TmuxServer:
    """A tmux server by the socket its clients name: ``-L name`` when it lives in tmux's
    own socket folder, else ``-S path``."""

    name: str | None
    path: str | None

    @classmethod
    def of_socket(cls, path: str) -> TmuxServer | None:
        """None for the default server (no option needed)."""
        socket = Path(path)
        if socket.parent == _default_socket().parent:
            return None if socket.name == "default" else cls(socket.name, None)
        return cls(None, path)

    @property
    def args(self) -> list[str]:
        return ["-L", self.name] if self.name else ["-S", str(self.path)]

    def __str__(self) -> str:
        return f"-L {self.name}" if self.name else f"-S {self.path}"


def _scalar(text: str) -> str:
    """``text`` as a YAML value that reads back as itself: plain where that is safe, else
    a JSON string (JSON's quoting is valid YAML)."""
    if (re.fullmatch(r"[A-Za-z0-9_~/.][A-Za-z0-9_~/. +=@%-]*", text) and text != "~"
            and not text.endswith(" ")):  # a bare ~ is YAML's null
        return text
    return json.dumps(text, ensure_ascii=False)


def _homes(home: Path) -> list[tuple[str, Path]]:
    found = []
    for path in sorted(home.glob(".claude-*")):
        name = path.name.removeprefix(".claude-")
        if (path.is_dir() and not path.is_symlink() and _NAME.fullmatch(name)
                and name not in _NOT_HOMES and ".reconciler-" not in path.name):
            found.append((name, path))
    return found


def _claudes(home: Path, socket: str | None
             ) -> tuple[tuple[RunningClaude, ...], str | None, TmuxServer | None]:
    """The Claudes in the panes of the server named, else of the default server and of
    every server this user's Claudes say they run under (their ``TMUX`` variable): a
    private socket is found, not missed. The server with the most Claudes is described."""
    from reconciler.errors import ReconcilerError  # noqa: PLC0415
    from reconciler.observe import Identity, ProcessTable  # noqa: PLC0415

    table = ProcessTable.scan(Identity.resolve(["claude"]))
    mine = _users_claudes(table, home)
    servers: list[TmuxServer | None] = [TmuxServer(socket, None)] if socket else [None]
    if not socket:
        for path in sorted({tmux for _pid, tmux in mine if tmux}):
            server = TmuxServer.of_socket(path)
            if server not in servers:
                servers.append(server)
    found: dict[TmuxServer | None, tuple[RunningClaude, ...]] = {}
    failures: list[str] = []
    for server in servers:
        try:
            found[server] = _claudes_on(server, table)
        except ReconcilerError as exc:
            failures.append(f"{server or 'the default tmux server'}: {exc}")
    if not found:
        return (), f"no tmux server answered ({'; '.join(failures)}); no sessions were added", \
            None
    best = max(found, key=lambda s: (len(found[s]), s is None))
    notes = []
    if best is not None and not socket:
        notes.append(f"the Claudes run on the tmux server `{best}` (their TMUX variable said "
                     "so); the tmux section names it")
    others = sum(len(c) for s, c in found.items() if s != best)
    if others:
        notes.append(f"{others} more Claude(s) run on other tmux servers: one file describes "
                     "one server")
    in_panes = {c.pid for c in found[best]}
    outside = sum(1 for pid, tmux in mine if tmux is None and pid not in in_panes)
    if outside:
        notes.append(f"{outside} Claude(s) run outside tmux: only tmux sessions are declared")
    return found[best], "; ".join(notes) or None, best


def _users_claudes(table: ProcessTable, home: Path) -> list[tuple[int, str | None]]:
    """This home's Claudes (their ``HOME``, or no ``HOME`` at all) and the tmux socket
    each runs under, if any: another user's or another sandbox's are not ours to describe."""
    from reconciler.observe import environ_value  # noqa: PLC0415

    found = []
    for pid in table.pids():
        if table.claude(pid) is None or environ_value(pid, "HOME") not in (str(home), None):
            continue
        tmux = environ_value(pid, "TMUX")
        found.append((pid, tmux.rsplit(",", 2)[0] if tmux else None))
    return found


def _claudes_on(server: TmuxServer | None, table: ProcessTable) -> tuple[RunningClaude, ...]:
    from reconciler import tmux  # noqa: PLC0415

    where = server.args if server else ["-S", str(_default_socket())]
    listing = tmux.run(where, "list-panes", "-a", "-F",
                       "#{session_name}\t#{session_name}:#{window_index}.#{pane_index}"
                       "\t#{pane_pid}")
    found = []
    for line in listing.splitlines():
        session, pane, pid = [*line.split("\t"), "", "", ""][:3]
        if not pid.isdigit():
            continue
        claude = table.pane(int(pid)).claude
        if claude is not None and claude.cwd:
            found.append(RunningClaude(session, pane, claude.pid, claude.cwd, claude.config_dir,
                                       _flags(claude.argv)))
    return tuple(found)


_SESSION_FLAGS = {"--resume", "-r", "--session-id", "--continue", "-c"}


def _flags(argv: tuple[str, ...]) -> tuple[str, ...]:
    """The options after the program (and its script, under node), without the ones
    that name a session: those the reconciler sets itself."""
    words = list(argv[1:])
    if words and (words[0].endswith((".js", ".mjs", ".cjs")) or "/" in words[0]):
        words = words[1:]
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word.split("=", 1)[0] in _SESSION_FLAGS:
            skip = "=" not in word and word not in ("--continue", "-c")
        else:
            kept.append(word)
    return tuple(kept)


def look(home: Path, socket: str | None) -> Machine:
    link = home / ".claude"
    if link.is_symlink():
        kind, target = "link", str(link.readlink())
    elif link.is_dir():
        kind, target = "dir", None
    elif os.path.lexists(link):
        kind, target = "other", None
    else:
        kind, target = "missing", None
    claudes, note, server = _claudes(home, socket)
    return Machine(home, kind, target, (home / ".claude.json").is_file(),
                   tuple(_homes(home)), claudes, note, server)


def _accounts(machine: Machine, first: str) -> tuple[list[str], str]:
    """Account lines and the active account's name."""
    lines: list[str] = []
    homes = list(machine.homes)
    active = None
    if machine.link_kind == "dir":
        name = first
        taken = {n for n, _ in homes}
        while name in taken:
            name = f"{name}2"
        lines.append(f"  - {{name: {name}, home: ~/.claude-{name}}}   # your ~/.claude today: "
                     "`reconcile adopt` moves it here")
        active = name
    elif machine.link_kind == "link" and machine.link_target:
        target = Path(machine.link_target)
        target = target if target.is_absolute() else machine.home / target
        active = next((n for n, p in homes if p.resolve() == target.resolve()), None)
        # the account in use comes first: it is the primary failover returns to
        homes.sort(key=lambda item: item[0] != active)
    for name, path in homes:
        lines.append(f"  - {{name: {name}, home: {tilde(path)}}}")
    if not lines:
        lines.append(f"  - {{name: {first}, home: ~/.claude-{first}}}   # create it and log in: "
                     f"CLAUDE_CONFIG_DIR=~/.claude-{first} claude, then /login")
    if len(lines) == 1:
        lines.append("  # - {name: personal, home: ~/.claude-personal}   # a second account to "
                     "fail over to")
    return lines, active or lines[0].split("name: ")[1].split(",")[0]


def _sessions(machine: Machine) -> list[str]:
    lines: list[str] = []
    seen: set[str] = set()
    for claude in machine.claudes:
        where = f"# claude pid {claude.pid} in {claude.pane}"
        if claude.session in seen:
            lines.append(f"    {where}, {tilde(claude.cwd)}: one Claude per "
                         "dedicated session; this one is left to you")
            continue
        seen.add(claude.session)
        if not _NAME.fullmatch(claude.session):
            lines.append(f"    {where}: session name {claude.session!r} cannot be declared "
                         "(letters, digits, _ and - only); rename it to manage it")
            continue
        if any(ord(c) < 32 or ord(c) == 127 for c in claude.cwd):
            lines.append(f"    {where}: its directory has control characters; a launch line "
                         "holding it is never typed, so it is left to you")
            continue
        if UNSAFE_PATH.search(claude.cwd) or ".." in Path(claude.cwd).parts:
            lines.append(f"    {where}: its directory has quotes, $, wildcards or the like, "
                         "which a desired path may not hold; it is left to you")
            continue
        project = _scalar(tilde(claude.cwd))
        lines.append(f"    - {{name: {claude.session}, project: {project}, resume: true}}"
                     f"   {where}")
    return lines


def launch_command(machine: Machine, given: str | None) -> str:
    """``--command``, else ``claude`` with the options every running Claude shares (a
    swap relaunches each with them), else plain ``claude``."""
    if given:
        return given
    flags = {c.flags for c in machine.claudes}
    return " ".join(["claude", *next(iter(flags))]) if len(flags) == 1 else "claude"


def _tmux_lines(machine: Machine, socket: str | None) -> list[str]:
    server = TmuxServer(socket, None) if socket else machine.server
    if server is not None and server.path:
        return [f"  socket_path: {_scalar(tilde(server.path))}   # where the Claudes run"]
    name = server.name if server else None
    return [f"  socket_name: {name or 'null'}             # null = your default tmux server"]


def render(machine: Machine, *, first: str, socket: str | None, command: str,
           now: datetime) -> str:
    accounts, active = _accounts(machine, first)
    sessions = _sessions(machine)
    kind = "a real directory" if machine.link_kind == "dir" else machine.link_kind
    seen = (f"~/.claude is {kind}"
            + (f" -> {machine.link_target}" if machine.link_target else "")
            + ("; ~/.claude.json exists" if machine.config_file else ""))
    head = [
        f"# Written by `reconcile init` on {now:%Y-%m-%d %H:%M} UTC from what runs here:",
        f"#   {seen}; {len(machine.homes)} account home(s) found; "
        f"{len(machine.claudes)} Claude(s) running in tmux.",
        "# Next: `reconcile validate`, then `reconcile --dry-run` (changes nothing), then",
        "# `reconcile adopt` if ~/.claude is still a real directory, then `reconcile apply`.",
        "version: 1",
        f"active_account: {active}            # the swap lever (`reconcile swap NAME`)",
        "accounts:                       # ordered: the first is the primary",
        *accounts,
        "link: ~/.claude                 # the link selecting the active home",
        "shared:                         # one copy of these, linked into every home",
        "  dir: ~/.claude-shared",
        f"  entries: [{', '.join(DEFAULT_ENTRIES)}]",
        "tmux:",
        *_tmux_lines(machine, socket),
        "pool:",
        "  autonomous: null              # or {prefix: ccl-auto-, min: 1, max: 4, cwd: ~/src}",
        *(["  dedicated:                    # one Claude each, resumed on a swap"]
          if any(line.startswith("    - ") for line in sessions) else
          ["  dedicated: []                 # none declared from what runs now"]),
        *sessions,
        "launch:",
        f"  command: {_scalar(command)}",
        "  stop_timeout: 10s",
        "service: {interval: 30s}",
        "drift: {policy: correct}",
    ]
    if machine.tmux_note:
        head.insert(4, f"#   {machine.tmux_note}")
    return "\n".join(head) + "\n"


def init(args: argparse.Namespace, ui: Ui) -> int:
    from reconciler.cli._launcher import launcher_missing  # noqa: PLC0415
    from reconciler.desired import load_desired_bytes  # noqa: PLC0415
    from reconciler.statedir import move_aside  # noqa: PLC0415

    target = desired_path(args)
    machine = look(Path.home(), args.socket)
    text = render(machine, first=args.account, socket=args.socket,
                  command=launch_command(machine, args.launch_command), now=datetime.now(UTC))
    desired = load_desired_bytes(target.absolute(), text.encode())  # raises, names the line
    if missing := launcher_missing(desired.launch.command):
        ui.error(f"note: {missing}")  # stderr: --print's output is the file
    if args.print_only:
        print(text, end="")
        return EXIT_OK
    if os.path.lexists(target) and not args.force:
        ui.error(f"error: {target} exists; nothing written. `reconcile init --print` shows "
                 "what init would write; --force moves the old file aside first")
        return EXIT_ERROR
    if os.path.lexists(target):
        aside = move_aside(target)
        ui.say(f"moved the old {target} aside to {aside}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("x", encoding="utf-8") as handle:
        handle.write(text)
    ui.say(f"wrote {target}: {len(desired.accounts)} account(s), active "
           f"{desired.active_account}, {len(desired.dedicated)} dedicated session(s)")
    for warning in desired.warnings:
        ui.say(f"  note: {warning}")
    ui.say("next: reconcile --dry-run" + (
        "; then reconcile adopt (your ~/.claude becomes the first account's home)"
        if machine.link_kind == "dir" else "") + "; then reconcile apply")
    ui.document({"ok": True, "desired": str(target), "text": text})
    return EXIT_OK
