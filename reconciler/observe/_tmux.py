"""tmux facts from ONE ``list-panes -a`` call; captures chained into one call too.

A cycle never walks sessions one by one: one short ``-F`` format gives every
pane of every session, which is what libtmux's object walk costs tens of times.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from reconciler.desired import TmuxSpec
from reconciler.observe._model import PaneFact, TmuxFact, TmuxStatus

_SEP = "|~|"
"""Printable on purpose: without a UTF-8 locale tmux turns control characters into '_'."""
_FIELDS = ("session_name", "window_index", "pane_index", "pane_id", "pane_pid",
           "pane_current_path")
_FORMAT = _SEP.join("#{%s}" % f for f in _FIELDS)  # noqa: UP031  (tmux's own #{} syntax)
_DOWN_MARKERS = ("no server running", "error connecting to", "server exited unexpectedly")


def run_tmux(spec: TmuxSpec, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
    """Run tmux on the desired server: argv only, never a shell.

    ``-u`` makes tmux treat the client as UTF-8 whatever the service's locale, so
    non-ASCII paths and names come back as they are.
    """
    argv = ["tmux", "-u", *spec.server_args(), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


CHAIN_BYTES = 8000
"""A tmux client sends its whole command line in one message (16 KiB at most):
longer chains are cut into chunks well under that."""


def chunked(commands: Sequence[Sequence[str]], limit: int = CHAIN_BYTES) -> list[list[str]]:
    """``a ; b ; c`` argument lists, each under ``limit`` bytes of arguments."""
    chunks: list[list[str]] = []
    size = limit
    for command in commands:
        length = sum(len(arg.encode()) + 1 for arg in command) + 2
        if size + length > limit:
            chunks.append([])
            size = 0
        elif chunks[-1]:
            chunks[-1].append(";")
        chunks[-1].extend(command)
        size += length
    return chunks


def run_chained(spec: TmuxSpec, commands: Sequence[Sequence[str]],
                timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Many tmux commands in as few invocations as fit; stops at the first failure."""
    done = subprocess.CompletedProcess[str](["tmux"], 0, "", "")
    outputs: list[str] = []
    for chunk in chunked(commands):
        done = run_tmux(spec, *chunk, timeout=timeout)
        outputs.append(done.stdout)
        if done.returncode != 0:
            break
    return subprocess.CompletedProcess(done.args, done.returncode, "".join(outputs), done.stderr)


def _parse(stdout: str) -> tuple[PaneFact, ...]:
    rows: list[tuple[str, int, int, str, int, str]] = []
    for line in stdout.splitlines():
        parts = line.split(_SEP)
        if len(parts) != len(_FIELDS):
            continue
        try:
            rows.append((parts[0], int(parts[1]), int(parts[2]), parts[3], int(parts[4]),
                         parts[5]))
        except ValueError:
            continue
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    panes: list[PaneFact] = []
    ordinal: dict[str, int] = {}
    for name, window, pane, pane_id, pid, cwd in rows:
        n = ordinal.get(name, 0)
        ordinal[name] = n + 1
        panes.append(PaneFact(name, n, window, pane, pane_id, pid, cwd))
    return tuple(panes)


def observe_tmux(spec: TmuxSpec) -> TmuxFact:
    """Every pane; DOWN when no server runs (sessions missing), ERROR when tmux won't say."""
    try:
        done = run_tmux(spec, "list-panes", "-a", "-F", _FORMAT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return TmuxFact(TmuxStatus.ERROR, error=f"tmux: {exc}")
    if done.returncode == 0:
        return TmuxFact(TmuxStatus.UP, _parse(done.stdout))
    error = done.stderr.strip()
    if any(marker in error for marker in _DOWN_MARKERS):
        return TmuxFact(TmuxStatus.DOWN, error=error)
    return TmuxFact(TmuxStatus.ERROR, error=error or f"tmux exited {done.returncode}")


def capture_panes(spec: TmuxSpec, pane_ids: Sequence[str], lines: int = 50) -> dict[str, str]:
    """The last ``lines`` of many panes in one chained tmux call (one call each on failure)."""
    if not pane_ids:
        return {}
    commands: list[list[str]] = []
    for pane in pane_ids:
        # The marker names the pane through #{pane_id}: display-message also runs its
        # text through strftime, where a literal "%69" would be read as a field width.
        commands += [["display-message", "-p", "-t", pane, f"{_SEP}#{{pane_id}}{_SEP}"],
                     ["capture-pane", "-p", "-J", "-S", f"-{lines}", "-t", pane]]
    try:
        done = run_chained(spec, commands)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if done.returncode == 0:
        texts: dict[str, str] = {}
        chunks = done.stdout.split(_SEP)
        for index in range(1, len(chunks) - 1, 2):
            texts[chunks[index]] = chunks[index + 1].lstrip("\n").rstrip()
        return texts
    out: dict[str, str] = {}
    for pane in pane_ids:
        single = run_tmux(spec, "capture-pane", "-p", "-J", "-S", f"-{lines}", "-t", pane)
        if single.returncode == 0:
            out[pane] = single.stdout.rstrip()
    return out
