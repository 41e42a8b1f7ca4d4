"""Session executors: create and remove tmux sessions, many in one tmux call.

Creating 50 sessions one tmux call each costs ~3x one chained call. A new session is
created with its keyboard held, in the same tmux step, so its first prompt is learned
before anything can be typed there; every later launch in that shell can then prove
its line is empty.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler import tmux
from reconciler.apply._context import ExecContext, Outcome
from reconciler.apply._keyboard import HELD, Watch, learn_prompts, release
from reconciler.observe import observe_tmux
from reconciler.plan import CreateSession, KillSession, ReleaseInput

SIZE = ("-x", "200", "-y", "50")


def _session_names(ctx: ExecContext) -> set[str]:
    try:
        out = tmux.run(ctx.server, "list-sessions", "-F", "#{session_name}")
    except tmux.TmuxServerDownError:
        return set()
    return set(out.split("\n"))


def create_sessions(batch: Sequence[CreateSession], ctx: ExecContext) -> dict[str, Outcome]:
    existing = _session_names(ctx)
    todo = [a for a in batch if a.name not in existing]
    if todo:
        commands: list[list[str]] = []
        for action in todo:
            first = f"={action.name}:"
            commands += [["new-session", "-d", "-s", action.name, "-c", str(action.cwd), *SIZE],
                         ["select-pane", "-d", "-t", first],
                         ["set-option", "-p", "-t", first, HELD, "1"]]
        tmux.chained(ctx.server, commands)
        ctx.created.update(a.name for a in todo)
        ctx.checkpoint(f"created {len(todo)} session(s)")
        names = {a.name for a in todo}
        firsts = [p for p in observe_tmux(ctx.server).panes
                  if p.ordinal == 0 and p.session_name in names]
        ctx.held |= {p.pane_id for p in firsts}
        watches = {p.target: Watch(p.target, p.pane_id, p.pane_pid) for p in firsts}
        learned = learn_prompts(ctx, watches, ctx.desired.launch.start_timeout)
        release(ctx, [p.pane_id for p in firsts])
        ctx.learned(learned)
        ctx.state.update_panes(prompts=learned, created=[a.name for a in todo if a.pool],
                               forget_sessions=names)
        ctx.checkpoint("first prompts learned")
    return {a.key: a.name not in existing for a in batch}


def kill_sessions(batch: Sequence[KillSession], ctx: ExecContext) -> dict[str, Outcome]:
    existing = _session_names(ctx)
    todo = [a for a in batch if a.name in existing]
    if todo:
        tmux.chained(ctx.server, [["kill-session", "-t", f"={a.name}"] for a in todo])
        ctx.state.update_panes(forget_sessions=[a.name for a in todo])
        ctx.checkpoint(f"removed {len(todo)} session(s)")
    return {a.key: a.name in existing for a in batch}


def release_inputs(batch: Sequence[ReleaseInput], ctx: ExecContext) -> dict[str, Outcome]:
    release(ctx, [a.pane_id for a in batch])
    return {a.key: True for a in batch}
