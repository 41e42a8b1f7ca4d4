"""Planner tests as data tables: desired + observed -> expected actions. No tmux, no I/O.
The desired state is ``_builders.TABLE_YAML`` (the ``desired`` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from _builders import (
    SID,
    SID2,
    SID3,
    H,
    claude,
    converged,
    d,
    keys,
    pane,
    with_panes,
)

from reconciler.desired import DesiredState
from reconciler.observe import (
    Observed,
    PathFact,
    PathKind,
    StaleSession,
    TmuxFact,
    TmuxStatus,
)
from reconciler.plan import LaunchClaude, RememberSession, StopClaude, plan
from reconciler.statedir import LaunchRecord


def with_entry(account: str, entry: str, fact_kind: PathKind, target: Path | None = None,
               count: int = 0) -> Callable[[Observed], Observed]:
    def change(o: Observed) -> Observed:
        entries = dict(o.home_entries)
        old = entries[(account, entry)]
        entries[(account, entry)] = PathFact(old.path, fact_kind, target, count)
        return replace(o, home_entries=entries)
    return change


def swapped_link(o: Observed) -> Observed:
    return replace(o, link=PathFact(o.link.path, PathKind.LINK, H / ".claude-personal"))


BASE_PANES = (pane("auto-0", 3, "/h"), pane("auto-1", 4, "/h"))
CASES: list[tuple[str, Callable[[Observed], Observed], list[str]]] = [
    ("converged world: nothing to do", lambda o: o, []),
    ("projects is a real dir: merge then link",
     with_entry("personal", "projects", PathKind.DIR, count=3),
     ["merge:personal:projects", "entry:personal:projects"]),
    ("todos is a file: a conflict, never made a link to an empty dir",
     with_entry("work", "todos", PathKind.FILE), []),
    ("entry links elsewhere: relink", with_entry("work", "todos", PathKind.LINK, Path("/x")),
     ["entry:work:todos"]),
    ("link points at the other account: flip only", swapped_link, ["link"]),
    ("link missing: create it",
     lambda o: replace(o, link=PathFact(o.link.path, PathKind.MISSING)), ["link"]),
    ("swap: remember, flip, stop, relaunch, in that order",
     with_panes(pane("api", 1, c=claude(501, "personal")),
                pane("web", 2, "/h/src/web", claude(502, "work", SID2, cwd="/h/src/web")),
                pane("auto-0", 3, "/h", claude(503, "personal", SID3, cwd="/h")),
                pane("auto-1", 4, "/h")),
     ["remember:api/0", "remember:auto-0/0", "stop:api/0", "stop:auto-0/0",
      "launch:api/0", "launch:auto-0/0"]),
    ("one session held by two Claudes: neither is moved",
     with_panes(pane("api", 1, c=claude(501, "personal", SID2)),
                pane("web", 2, "/h/src/web", claude(502, "personal", SID2, cwd="/h/src/web")),
                *BASE_PANES),
     []),
    ("claude without CLAUDE_CONFIG_DIR is moved to the active account",
     with_panes(pane("api", 1, c=claude(501, None)),
                pane("web", 2, "/h/src/web", claude(502, "work", SID2, cwd="/h/src/web")),
                *BASE_PANES),
     ["remember:api/0", "stop:api/0", "launch:api/0"]),
    ("unmanaged sessions are never touched",
     with_panes(pane("api", 1, c=claude(501, "work")),
                pane("web", 2, "/h/src/web", claude(502, "work", SID2, cwd="/h/src/web")),
                pane("mine", 9, "/h", claude(509, "personal")), *BASE_PANES), []),
    ("tmux down: every session is created and launched",
     lambda o: replace(o, tmux=TmuxFact(TmuxStatus.DOWN)),
     ["session:api", "session:web", "session:auto-0", "session:auto-1",
      "launch:api/0", "launch:web/0"]),
    ("pool below min: lowest free index",
     with_panes(pane("api", 1, c=claude(501, "work")),
                pane("web", 2, "/h/src/web", claude(502, "work", SID2, cwd="/h/src/web")),
                pane("auto-1", 4, "/h")),
     ["session:auto-0"]),
    ("pool over max: idle highest first, busy kept",
     with_panes(pane("api", 1, c=claude(501, "work")),
                pane("web", 2, "/h/src/web", claude(502, "work", SID2, cwd="/h/src/web")),
                pane("auto-0", 3, "/h"), pane("auto-1", 4, "/h"),
                pane("auto-2", 5, "/h", claude(505, "work", status="busy")),
                pane("auto-3", 6, "/h", claude(506, "work", status="idle")),
                pane("auto-4", 7, "/h"), created=tuple(f"auto-{i}" for i in range(5))),
     ["kill:auto-4", "kill:auto-1"]),
    ("dedicated without claude: resume from the exit hint",
     with_panes(pane("api", 1, text=f"Resume this session with:\nclaude --resume {SID2}\n$ "),
                pane("web", 2, "/h/src/web", claude(502, "work", SID2, cwd="/h/src/web")),
                *BASE_PANES),
     ["launch:api/0"]),
    ("pane running another program: conflict, no typing",
     with_panes(pane("api", 1, foreground="vim"),
                pane("web", 2, "/h/src/web", claude(502, "work", SID2, cwd="/h/src/web")),
                *BASE_PANES), []),
]


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_plan_table(desired: DesiredState, name: str, change: Callable[[Observed], Observed],
                    expected: list[str]) -> None:
    assert keys(plan(desired, change(converged(desired)))) == expected


def test_plan_is_pure_and_repeatable(desired: DesiredState) -> None:
    world = replace(converged(desired), tmux=TmuxFact(TmuxStatus.DOWN))
    assert plan(desired, world) == plan(desired, world)


def test_relaunch_keeps_session_id_and_switches_config_dir(desired: DesiredState) -> None:
    world = with_panes(pane("api", 1, c=claude(501, "personal")))(converged(desired))
    launch = next(a for a in plan(desired, world).actions if isinstance(a, LaunchClaude))
    assert launch.session_id == SID and launch.resume
    assert launch.line.endswith(f"--resume {SID}")
    assert "CLAUDE_CONFIG_DIR=/h/.claude-work " in launch.line
    assert launch.depends_on[:2] == ("stop:api/0", "remember:api/0")


def test_exit_hint_and_resume_false(desired: DesiredState) -> None:
    hint = f"claude --resume {SID2}\n"
    world = with_panes(pane("api", 1, text=hint), pane("web", 2, "/h/src/web", text=hint))(
        converged(desired))
    world = replace(world, transcripts={"/h/src/api": (SID2,), "/h/src/web": (SID2,)})
    launches = {a.target: a for a in plan(desired, world).actions if isinstance(a, LaunchClaude)}
    assert launches["api/0"].session_id == SID2 and launches["api/0"].resume
    assert launches["web/0"].session_id != SID2 and not launches["web/0"].resume


def test_fresh_id_uses_session_id_flag(desired: DesiredState) -> None:
    world = replace(converged(desired), tmux=TmuxFact(TmuxStatus.DOWN), transcripts={})
    launch = next(a for a in plan(desired, world).actions if isinstance(a, LaunchClaude))
    assert "--session-id" in launch.line and launch.pane_id is None


def test_pending_record_relaunches_after_a_crash(desired: DesiredState) -> None:
    record = LaunchRecord("auto-0/0", SID3, "/h/proj", "personal",  # type: ignore[arg-type]
                          pending_relaunch=True, pid=7)
    world = replace(converged(desired), records={"auto-0/0": record},
                    transcripts={"/h/proj": (SID3,), "/h/src/api": (SID,)})
    launch = [a for a in plan(desired, world).actions if isinstance(a, LaunchClaude)]
    assert [(a.target, a.session_id, a.resume, a.cwd) for a in launch] == [
        ("auto-0/0", SID3, True, "/h/proj")]


def test_stale_session_file_beats_launch_record(desired: DesiredState) -> None:
    record = LaunchRecord("api/0", SID, "/h/src/api", "work", pid=77)
    world = with_panes(pane("api", 1), pane("web", 2, "/h/src/web",
                                             claude(502, "work", SID2, cwd="/h/src/web")))(
        converged(desired))
    world = replace(world, records={"api/0": record},
                    stale_sessions={77: StaleSession(77, SID3, "/h/src/api")})  # type: ignore[arg-type]
    launch = next(a for a in plan(desired, world).actions if isinstance(a, LaunchClaude))
    assert launch.session_id == SID3


def test_link_is_a_real_directory_conflict(desired: DesiredState) -> None:
    world = replace(converged(desired), link=PathFact(H / ".claude", PathKind.DIR))
    result = plan(desired, world)
    assert [c.key for c in result.conflicts] == ["link"]
    assert "`reconcile adopt`" in result.conflicts[0].message


def test_a_real_home_blocks_every_claude_until_adopted(desired: DesiredState) -> None:
    """The user's real ~/.claude, no account home yet: no Claude starts, none stops."""
    world = with_panes(pane("api", 1, c=claude(501, "personal")))(converged(desired))
    world = replace(world, link=PathFact(H / ".claude", PathKind.DIR),
                    homes={**world.homes, "work": PathFact(H / ".claude-work",
                                                           PathKind.MISSING)})
    result = plan(desired, world)
    assert not [a for a in result.actions
                if isinstance(a, (LaunchClaude, StopClaude, RememberSession))]
    [home] = [c for c in result.conflicts if c.key == "dir:/h/.claude-work"]
    assert "`reconcile adopt`" in home.message


def test_tmux_error_plans_no_session_change(desired: DesiredState) -> None:
    world = replace(converged(desired), tmux=TmuxFact(TmuxStatus.ERROR, error="boom"))
    result = plan(desired, world)
    assert result.actions == () and [c.key for c in result.conflicts] == ["tmux"]


def test_active_home_conflict_stops_nothing(desired: DesiredState) -> None:
    world = with_panes(pane("api", 1, c=claude(501, "personal")))(converged(desired))
    homes = dict(world.homes)
    homes["work"] = PathFact(H / ".claude-work", PathKind.FILE)
    result = plan(desired, replace(world, homes=homes))
    assert not {"remember:api/0", "stop:api/0", "launch:api/0"} & set(keys(result))
    messages = {c.key: c.message for c in result.conflicts}
    assert "not a directory" in messages["launch:api/0"]


def test_missing_project_is_a_conflict(desired: DesiredState) -> None:
    world = replace(converged(desired), tmux=TmuxFact(TmuxStatus.DOWN),
                    projects={"api": PathFact(H / "src/api", PathKind.MISSING),
                              "web": d(H / "src/web")})
    result = plan(desired, world)
    assert "session:api" in [c.key for c in result.conflicts]
    assert "launch:api/0" in [a.key for a, _ in result.blocked]


# (id, change, the conflict key and words it must give); the planner never moves or uses
# what is not clearly ours.
REFUSALS: list[tuple[str, Callable[[Observed], Observed], str, str]] = [
    ("a home entry that is a file", with_entry("work", "todos", PathKind.FILE),
     "entry:work:todos", "is a file; todos is shared as a directory"),
    ("a shared entry that is a file",
     lambda o: replace(o, shared_entries={**o.shared_entries, "todos": PathFact(
         o.shared_entries["todos"].path, PathKind.FILE)}),
     "dir:/h/.claude-shared/todos", "is a file, not a directory"),
    ("a shared dir another user owns",
     lambda o: replace(o, shared_dir=replace(o.shared_dir, foreign_owner=4242)),
     "dir:/h/.claude-shared", "owned by uid 4242, not by you"),
    ("a home another user owns",
     lambda o: replace(o, homes={**o.homes, "work": replace(o.homes["work"],
                                                            foreign_owner=4242)}),
     "dir:/h/.claude-work", "owned by uid 4242"),
    ("a home every user may write in",
     lambda o: replace(o, homes={**o.homes, "personal": replace(o.homes["personal"],
                                                                others_write=True)}),
     "dir:/h/.claude-personal", "`chmod o-w /h/.claude-personal`"),
    ("a shared entry every user may write in",
     lambda o: replace(o, shared_entries={**o.shared_entries, "todos": replace(
         o.shared_entries["todos"], others_write=True)}),
     "dir:/h/.claude-shared/todos", "writable by every user"),
]


@pytest.mark.parametrize(("name", "change", "key", "words"), REFUSALS,
                         ids=[c[0] for c in REFUSALS])
def test_plan_refuses(desired: DesiredState, name: str, change: Callable[[Observed], Observed],
                      key: str, words: str) -> None:
    the_plan = plan(desired, change(converged(desired)))
    assert any(c.key == key and words in c.message for c in the_plan.conflicts), \
        the_plan.conflicts
    assert not [a for a in the_plan.actions if a.key.startswith("aside:")]
