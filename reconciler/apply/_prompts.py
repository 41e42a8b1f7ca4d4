"""Learning a shell's empty prompt, at the only moments nothing can have been typed.

Two such moments exist, and the applier is there for both: a session it has just
created (no client has ever attached), and a pane whose Claude it has just stopped
while no client was attached, and none attached since (``session_last_attached``
unchanged). Then the line under the cursor, once it stops changing, is the prompt
this shell draws on an empty line; later launches type only where the line is
exactly that. See ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.apply._context import ExecContext, now_iso
from reconciler.observe import PaneFact, capture_panes, cursor_line, observe_tmux, read_stat
from reconciler.statedir import PromptRecord

POLL = 0.015
EMPTY_PROMPT_AFTER = 1.0
"""A line that stays empty this long is taken as an empty prompt (``PS1=''``)."""


@dataclass(frozen=True)
class Watch:
    """A pane to learn the prompt of: its shell, and the ``session_last_attached`` it
    must still show ("" for a session created just now and never attached)."""

    target: str
    pane_id: str
    shell_pid: int
    mark: str = ""


def _shell_has_keyboard(shell_pid: int) -> bool:
    stat = read_stat(shell_pid)
    return stat is not None and stat.tpgid == stat.pgrp


def _still_quiet(pane: PaneFact, watch: Watch) -> bool:
    facts = pane.input
    return facts.clients == 0 and facts.last_attached == watch.mark and not facts.linked


def learn_prompts(ctx: ExecContext, watches: Mapping[str, Watch],
                  timeout: float) -> list[PromptRecord]:
    """The empty prompts of the watched panes, each once its line is steady; a pane that
    got a client, changed its shell or never settled is left unlearned."""
    started = time.monotonic()
    deadline = started + timeout
    waiting = dict(watches)
    previous: dict[str, str] = {}
    learned: list[PromptRecord] = []
    while waiting and time.monotonic() < deadline:
        time.sleep(POLL)
        fact = observe_tmux(ctx.server)
        by_id = {p.pane_id: p for p in fact.panes}
        ready: list[tuple[Watch, PaneFact]] = []
        for target, watch in list(waiting.items()):
            pane = by_id.get(watch.pane_id)
            if pane is None or pane.pane_pid != watch.shell_pid or not _still_quiet(pane, watch):
                del waiting[target]
            elif not pane.input.mode and _shell_has_keyboard(watch.shell_pid):
                ready.append((watch, pane))
        texts = capture_panes(ctx.server, [pane for _watch, pane in ready], to_cursor=True)
        elapsed = time.monotonic() - started
        for watch, pane in ready:
            if pane.pane_id not in texts:
                continue
            line = cursor_line(texts[pane.pane_id])
            steady = previous.get(watch.target) == line
            previous[watch.target] = line
            if steady and (line or elapsed > EMPTY_PROMPT_AFTER):
                learned.append(PromptRecord(watch.target, watch.shell_pid, line, now_iso()))
                del waiting[watch.target]
    return learned
