"""One executor per action kind, each a batch -> outcomes function, written out.

Written out rather than looked up by name, so mypy checks each executor's signature
against its action kind, import-linter sees each import and the dead-code scan sees each
executor used. Each imports its module when its first batch runs: an apply with nothing
to do loads none of them.
"""

# ruff: noqa: PLC0415  (the point of this module: each import waits for its first batch)

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reconciler.apply._context import ExecContext, Executor, Outcome, each
from reconciler.plan import (
    Action,
    AwaitTurn,
    CarryAcceptances,
    CreateSession,
    EnsureSafetyHook,
    InstallSignals,
    KillSession,
    LaunchClaude,
    MakeDir,
    MergeIntoShared,
    ReleaseInput,
    RememberSession,
    StopClaude,
    Symlink,
)

Outcomes = dict[str, Outcome]


def make_dirs(batch: Sequence[MakeDir], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._fs_ops import make_dir
    return each(make_dir)(batch, ctx)


def merge_into_shared(batch: Sequence[MergeIntoShared], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._fs_ops import merge_into_shared as merge
    return each(merge)(batch, ctx)


def symlinks(batch: Sequence[Symlink], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._fs_ops import symlink
    return each(symlink)(batch, ctx)


def ensure_safety_hooks(batch: Sequence[EnsureSafetyHook], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._fs_ops import ensure_safety_hook
    return each(ensure_safety_hook)(batch, ctx)


def carry_acceptances(batch: Sequence[CarryAcceptances], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._claude_config import carry_acceptances as carry
    return each(carry)(batch, ctx)


def install_signals(batch: Sequence[InstallSignals], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._claude_config import install_signals_batch
    return install_signals_batch(batch, ctx)


def remember_sessions(batch: Sequence[RememberSession], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._stop import remember_sessions as remember
    return remember(batch, ctx)


def await_turns(batch: Sequence[AwaitTurn], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._stop import await_turns as wait
    return wait(batch, ctx)


def stop_claudes(batch: Sequence[StopClaude], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._stop import stop_claudes as stop
    return stop(batch, ctx)


def create_sessions(batch: Sequence[CreateSession], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._session_ops import create_sessions as create
    return create(batch, ctx)


def kill_sessions(batch: Sequence[KillSession], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._session_ops import kill_sessions as kill
    return kill(batch, ctx)


def release_inputs(batch: Sequence[ReleaseInput], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._session_ops import release_inputs as release
    return release(batch, ctx)


def launch_claudes(batch: Sequence[LaunchClaude], ctx: ExecContext) -> Outcomes:
    from reconciler.apply._launch import launch_claudes as launch
    return launch(batch, ctx)


EXECUTORS: dict[type[Action], Executor[Any]] = {
    MakeDir: make_dirs,
    MergeIntoShared: merge_into_shared,
    Symlink: symlinks,
    EnsureSafetyHook: ensure_safety_hooks,
    RememberSession: remember_sessions,
    AwaitTurn: await_turns,
    StopClaude: stop_claudes,
    CreateSession: create_sessions,
    KillSession: kill_sessions,
    LaunchClaude: launch_claudes,
    ReleaseInput: release_inputs,
    InstallSignals: install_signals,
    CarryAcceptances: carry_acceptances,
}
"""Action kind -> its executor; the runner takes the batch's kind from its first action."""
