"""The keyboard of a pane: held while the reconciler works in it, flushed, given back.

A pane's prompt is learned, and a Claude is stopped and relaunched, only while the
reconciler holds the pane's input (``select-pane -d``, marked ``@reconciler-held``):
tmux then drops every key, from an attached client or from ``send-keys``, and the
terminal's input queue is flushed, so nothing typed before can reach the shell either.
The line under the cursor is then what the shell drew by itself: its empty prompt.
Holds are given back in the same tmux step as the launch line is typed, at the end of
the apply for any left, and by the next apply for any a crash left behind.
"""

from __future__ import annotations

import contextlib
import os
import termios
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reconciler import tmux
from reconciler.apply._context import ExecContext, now_iso
from reconciler.observe import PaneFact, capture_panes, cursor_line, observe_tmux, read_stat
from reconciler.statedir import PromptRecord

HELD = "@reconciler-held"
POLL = 0.015


def hold(ctx: ExecContext, panes: Iterable[PaneFact]) -> set[str]:
    """Take the keyboard of ``panes`` (one tmux step), then flush what was typed before;
    the pane ids now held."""
    panes = list(panes)
    commands: list[list[str]] = []
    for pane in panes:
        # A keyboard someone else turned off is left theirs: not marked, never given back
        # by us, and never typed into (an unmarked, disabled pane is refused).
        commands.append(tmux.if_format(
            pane.pane_id, "#{pane_input_off}", "",
            f"select-pane -d -t {pane.pane_id} ; set-option -p -t {pane.pane_id} {HELD} 1"))
    if not commands:
        return set()
    try:
        tmux.chained(ctx.server, commands)
    except tmux.TmuxError:
        return set()  # not held: nothing will be learned there
    held = {p.pane_id for p in panes}
    ctx.held |= held
    flush(p.tty for p in panes)
    return held


def release_commands(pane_id: str) -> list[str]:
    """Give the keyboard back, only if the reconciler took it (a pane whose input the
    user turned off stays off)."""
    return tmux.if_format(pane_id, f"#{{{HELD}}}",
                          f"select-pane -e -t {pane_id} ; set-option -p -u -t {pane_id} {HELD}")


def release(ctx: ExecContext, pane_ids: Iterable[str]) -> None:
    ids = list(pane_ids)
    if ids:
        with contextlib.suppress(tmux.TmuxError):
            tmux.chained(ctx.server, [release_commands(p) for p in ids])
        ctx.held -= set(ids)


def flush(ttys: Iterable[str]) -> None:
    """Drop input typed but not yet read (TCIFLUSH): in canonical mode it sits in the
    terminal, invisible, until a newline, which our launch line would supply."""
    for tty in ttys:
        if not tty.startswith("/dev/"):
            continue
        try:
            fd = os.open(tty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            termios.tcflush(fd, termios.TCIFLUSH)
        except termios.error:
            pass
        finally:
            os.close(fd)


@dataclass(frozen=True)
class Watch:
    """A held pane whose empty prompt is to be learned."""

    target: str
    pane_id: str
    shell_pid: int


def _shell_has_keyboard(shell_pid: int) -> bool:
    stat = read_stat(shell_pid)
    return stat is not None and stat.tpgid == stat.pgrp


def learn_prompts(ctx: ExecContext, watches: Mapping[str, Watch],
                  timeout: float) -> list[PromptRecord]:
    """The empty prompts of held panes, each once its line is drawn and steady; a pane
    that lost its hold, changed its shell or never drew a prompt is left unlearned
    (an empty line is never taken for a prompt: it may be a shell still starting)."""
    deadline = time.monotonic() + timeout
    waiting = dict(watches)
    previous: dict[str, str] = {}
    learned: list[PromptRecord] = []
    first = True
    while waiting and time.monotonic() < deadline:
        if not first:  # the first look is at once: a steady line takes one POLL, not two
            time.sleep(POLL)
        first = False
        fact = observe_tmux(ctx.server)
        by_id = {p.pane_id: p for p in fact.panes}
        ready: list[tuple[Watch, PaneFact]] = []
        for target, watch in list(waiting.items()):
            pane = by_id.get(watch.pane_id)
            if pane is None or pane.pane_pid != watch.shell_pid or not pane.input.held:
                del waiting[target]
            elif not pane.input.mode and _shell_has_keyboard(watch.shell_pid):
                ready.append((watch, pane))
        texts = capture_panes(ctx.server, [pane for _watch, pane in ready], to_cursor=True)
        for watch, pane in ready:
            if pane.pane_id not in texts:
                continue
            line = cursor_line(texts[pane.pane_id])
            steady = previous.get(watch.target) == line
            previous[watch.target] = line
            if steady and line:
                learned.append(PromptRecord(watch.target, watch.shell_pid, line, now_iso()))
                del waiting[watch.target]
    return learned
