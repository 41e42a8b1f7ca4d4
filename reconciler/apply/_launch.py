"""Launch executor: the second half of moving a Claude, and every first start.

Each pane is checked again at the last moment (the one process table, the pane's
line against the prompt learned for its shell), then the whole batch is typed in one
chained tmux call, each line under a condition tmux checks in the same step as the keys
(pane, cursor and mode unchanged; a held keyboard is given back right there). One
shared wait for every Claude; records and prompts land in one write.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace

from reconciler import tmux
from reconciler.apply._context import ExecContext, Outcome, now_iso
from reconciler.apply._errors import ActionError, RefusedError, TransientError
from reconciler.apply._keyboard import HELD, hold, release
from reconciler.claudecode import env_file_text, launch_line, session_id_from_argv
from reconciler.observe import (
    PaneFact,
    ProcessTable,
    TmuxStatus,
    capture_panes,
    cursor_line,
    observe_tmux,
)
from reconciler.plan import LaunchClaude, typing_blocker
from reconciler.statedir import LaunchRecord, PromptRecord

POLL = 0.02


def _buffer(pane_id: str) -> str:
    return f"reconciler-{pane_id.lstrip('%')}"


def _typing(pane: PaneFact, line: str) -> list[list[str]]:
    """The line goes into a paste buffer (argv: no quoting by tmux), and is pasted only if
    the pane is still as checked: same shell, no mode, cursor where it was, input on or
    held by us. A held keyboard is given back in the same step, right before the line."""
    facts = pane.input
    keys_pass = (f"#{{||:{tmux.fmt_eq('pane_input_off', 0)},"
                 f"#{{==:#{{{HELD}}},1}}}}")
    unchanged = tmux.fmt_all(
        tmux.fmt_eq("pane_pid", pane.pane_pid), tmux.fmt_eq("pane_in_mode", 0),
        tmux.fmt_eq("pane_dead", 0), keys_pass,
        tmux.fmt_eq("pane_synchronized", 0), tmux.fmt_eq("cursor_x", facts.cursor_x),
        tmux.fmt_eq("cursor_y", facts.cursor_y))
    pane_id, buffer = pane.pane_id, _buffer(pane.pane_id)
    give_back = (f"select-pane -e -t {pane_id} ; set-option -p -u -t {pane_id} {HELD} ; "
                 if facts.held else "")
    then = (f"{give_back}paste-buffer -d -b {buffer} -t {pane_id} ; "
            f"send-keys -t {pane_id} Enter ; "
            f"display-message -p -t {pane_id} 'typed:#{{pane_id}}'")
    otherwise = f"delete-buffer -b {buffer}"
    return [["set-buffer", "-b", buffer, "--", line],
            tmux.if_format(pane_id, unchanged, then, otherwise)]


def _same_dir(a: str | None, b: os.PathLike[str] | str) -> bool:
    return a is not None and os.path.realpath(a) == os.path.realpath(b)


def _check(action: LaunchClaude, pane: PaneFact | None, table: ProcessTable,
           ctx: ExecContext) -> Outcome | PaneFact:
    """The pane, refreshed from the process table, or the outcome when nothing is typed."""
    if pane is None:
        return TransientError(f"no pane for {action.target}")
    if pane.session_name != action.session_name:
        return ActionError(f"pane {pane.pane_id} is no longer in {action.session_name}")
    if action.shell_pid is not None and pane.pane_pid != action.shell_pid:
        return RefusedError(f"{action.target}: its shell changed since the plan")
    found = table.pane(pane.pane_pid)
    if found.claude is not None:
        if _same_dir(found.claude.config_dir, action.home):
            return False
        return RefusedError(f"{action.target} already runs claude pid {found.claude.pid}")
    return replace(pane, shell=found.shell, foreground=found.foreground, others=found.others)


def launch_claudes(batch: Sequence[LaunchClaude], ctx: ExecContext) -> dict[str, Outcome]:
    fact = observe_tmux(ctx.server)
    if fact.status is not TmuxStatus.UP:
        raise TransientError(f"tmux: {fact.error}")
    by_id = {p.pane_id: p for p in fact.panes}
    first = {p.session_name: p for p in fact.panes if p.ordinal == 0}
    table = ProcessTable.lazy(ctx.identity)
    outcomes: dict[str, Outcome] = {}
    candidates: list[tuple[LaunchClaude, PaneFact]] = []
    touched: set[str] = set()
    for action in batch:
        pane = by_id.get(action.pane_id) if action.pane_id else first.get(action.session_name)
        touched |= {pane.pane_id} if pane is not None else set()
        checked = _check(action, pane, table, ctx)
        if isinstance(checked, PaneFact):
            candidates.append((action, checked))
        else:
            outcomes[action.key] = checked
    candidates = _held(ctx, candidates, outcomes)
    texts = capture_panes(ctx.server, [p for _a, p in candidates], to_cursor=True)
    stored = ctx.state.read_panes().prompts
    commands: list[list[str]] = []
    typing: list[tuple[LaunchClaude, PaneFact, str]] = []
    for action, checked in candidates:
        text = texts.get(checked.pane_id)
        pane = replace(checked, line=cursor_line(text) if text is not None else None)
        prompt = ctx.prompt_for(action.target, pane.pane_pid, stored)
        blocker = typing_blocker(pane, prompt)
        if blocker is not None or prompt is None:
            outcomes[action.key] = RefusedError(blocker or "no known prompt")
            continue
        try:
            env_file = (str(ctx.state.write_launch_env(env_file_text(ctx.desired.launch.env)))
                        if ctx.desired.launch.env else None)
            line = launch_line(command=action.command, home=action.home, cwd=action.cwd,
                               session=action.session_id, resume=action.resume,
                               env_file=env_file, message=action.message)
        except ValueError as exc:
            outcomes[action.key] = RefusedError(f"{action.target}: {exc}")
            continue
        commands += _typing(pane, line)
        typing.append((action, pane, prompt))
    typed = _type(ctx, commands) if commands else set()
    ctx.held -= typed
    release(ctx, touched & ctx.held)  # refused or changed: the keyboard goes back anyway
    waiting = []
    for action, pane, prompt in typing:
        if pane.pane_id in typed:
            waiting.append((action, pane, prompt))
        else:
            outcomes[action.key] = RefusedError(
                f"{action.target} changed between the check and the typing (a key, a mode, "
                "a new shell); nothing was typed")
    outcomes.update(_await_claudes(waiting, ctx))
    if ctx.desired.launch.env:
        ctx.state.clear_launch_envs()
    return outcomes


def _held(ctx: ExecContext, candidates: list[tuple[LaunchClaude, PaneFact]],
          outcomes: dict[str, Outcome]) -> list[tuple[LaunchClaude, PaneFact]]:
    """Every pane typed into is held and flushed first, not only those the reconciler
    emptied itself: a Claude that exited on its own, or a command that ran there, may
    have left keys in the terminal that no screen shows (sh and dash draw nothing of
    unread input), and our newline would run them. A pane that cannot be held is not
    typed into."""
    loose = [pane for _action, pane in candidates if not pane.input.held
             and pane.pane_id not in ctx.held and pane.input.blocks_typing() is None]
    now_held = hold(ctx, loose) if loose else set()
    kept: list[tuple[LaunchClaude, PaneFact]] = []
    for action, pane in candidates:
        if pane.pane_id in now_held:
            kept.append((action, replace(pane, input=replace(pane.input, held=True,
                                                               input_off=True))))
        elif pane.input.held or pane.pane_id in ctx.held or pane.input.blocks_typing():
            kept.append((action, pane))  # typing_blocker says why, if it must
        else:
            outcomes[action.key] = TransientError(f"{action.target}: its keyboard could not "
                                                  "be held; nothing was typed")
    return kept


def _type(ctx: ExecContext, commands: list[list[str]]) -> set[str]:
    try:
        out = tmux.chained(ctx.server, commands)
    except tmux.TmuxError as exc:
        out = exc.stdout  # panes before the failing chunk were typed into
    ctx.checkpoint("typed")
    return {line.removeprefix("typed:") for line in out.splitlines() if line.startswith("typed:")}


def _await_claudes(waiting: list[tuple[LaunchClaude, PaneFact, str]],
                   ctx: ExecContext) -> dict[str, Outcome]:
    """One shared wait for every typed launch; records and prompts land in one write."""
    outcomes: dict[str, Outcome] = {}
    records: list[LaunchRecord] = []
    prompts: list[PromptRecord] = []
    deadline = time.monotonic() + max((a.start_timeout for a, _p, _l in waiting), default=0)
    left = list(waiting)
    while left and time.monotonic() < deadline:
        time.sleep(POLL)
        table = ProcessTable.lazy(ctx.identity)
        for item in list(left):
            action, pane, prompt = item
            claude = table.pane(pane.pane_pid).claude
            if claude is None or not _same_dir(claude.config_dir, action.home):
                continue
            started = session_id_from_argv(claude.argv)
            if started is not None and started != action.session_id:
                outcomes[action.key] = ActionError(
                    f"claude started in {action.target} with session {started}, not "
                    f"{action.session_id} (its launch line did not arrive whole); not recorded")
                left.remove(item)
                continue
            outcomes[action.key] = True
            records.append(LaunchRecord(
                target=action.target, session_id=action.session_id, cwd=action.cwd,
                account=action.account, pid=claude.pid, time=now_iso(),
                continued=action.cut if action.message else "",
                moved_from=action.moved_from if action.moved_from != action.account else "",
                why=action.why if action.moved_from != action.account else ""))
            prompts.append(PromptRecord(action.target, pane.pane_pid, prompt, now_iso()))
            left.remove(item)
    if records:
        ctx.state.update_panes(launches=records, prompts=prompts)
        ctx.checkpoint(f"launched {len(records)} claude(s)")
        moved = [r for r in records if r.moved_from]
        if moved:
            ctx.state.record_moves(moved[0].account, len(moved),
                                   sum(bool(r.continued) for r in moved))
    for action, pane, _prompt in left:
        outcomes[action.key] = ActionError(
            f"claude did not start in {action.target} within {action.start_timeout:g}s; "
            f"pane says: {_last_line(ctx, pane)}")
    return outcomes


def _last_line(ctx: ExecContext, pane: PaneFact) -> str:
    """The pane's last words, for the error. The launch line itself (still at the prompt,
    or echoed) carries the launch environment, so it is named, never quoted."""
    text = capture_panes(ctx.server, [pane.pane_id], lines=5).get(pane.pane_id, "")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return "(no output)"
    if "CLAUDE_CONFIG_DIR=" in lines[-1]:
        return "(its launch line, not run yet)"
    return ctx.desired.redact(lines[-1].strip())
