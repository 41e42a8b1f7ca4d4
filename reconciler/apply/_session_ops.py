"""Session executors: create and remove tmux sessions, many in one tmux call.

Creating 50 sessions one tmux call each costs ~3x one chained call. A new session's
first prompt is learned right after it is created (nobody can have typed there yet),
so its launch, and every later one in that shell, can prove its line is empty.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler import tmux
from reconciler.apply._context import ExecContext, Outcome
from reconciler.apply._prompts import Watch, learn_prompts
from reconciler.observe import TmuxStatus, observe_tmux
from reconciler.plan import CreateSession, KillSession

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
        tmux.chained(ctx.server, [["new-session", "-d", "-s", a.name, "-c", str(a.cwd), *SIZE]
                                  for a in todo])
        ctx.created.update(a.name for a in todo)
        ctx.checkpoint(f"created {len(todo)} session(s)")
        fact = observe_tmux(ctx.server)
        firsts = {p.session_name: p for p in fact.panes
                  if p.ordinal == 0 and fact.status is TmuxStatus.UP}
        watches = {p.target: Watch(p.target, p.pane_id, p.pane_pid)
                   for a in todo if (p := firsts.get(a.name)) is not None}
        timeout = ctx.desired.launch.start_timeout
        learned = learn_prompts(ctx, watches, timeout)
        ctx.learned(learned)
        ctx.state.update_panes(prompts=learned, created=[a.name for a in todo if a.pool],
                               forget_sessions=[a.name for a in todo])
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
