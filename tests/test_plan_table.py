"""Planner tests as data tables: desired + observed -> expected actions. No tmux, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.desired import DesiredState, load_desired
from reconciler.observe import (
    ClaudeFact,
    Observed,
    PaneFact,
    PaneInput,
    PathFact,
    PathKind,
    StaleSession,
    TmuxFact,
    TmuxStatus,
)
from reconciler.plan import LaunchClaude, Plan, plan
from reconciler.statedir import LaunchRecord, PromptRecord

H = Path("/h")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SID = "11111111-2222-3333-4444-555555555555"
SID2 = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SID3 = "33333333-3333-4333-8333-333333333333"
YAML = """\
version: 1
active_account: work
accounts:
  - {name: work, home: ~/.claude-work}
  - {name: personal, home: ~/.claude-personal}
shared: {dir: ~/.claude-shared, entries: [projects, todos]}
tmux: {socket_name: t}
pool:
  autonomous: {prefix: auto-, start_index: 0, min: 2, max: 3}
  dedicated:
    - {name: api, project: ~/src/api}
    - {name: web, project: ~/src/web, resume: false}
launch: {command: claude --dangerously-skip-permissions}
"""


@pytest.fixture(scope="module")
def desired(tmp_path_factory: pytest.TempPathFactory) -> DesiredState:
    path = tmp_path_factory.mktemp("d") / "desired.yaml"
    path.write_text(YAML)
    return load_desired(path, environ={"HOME": str(H)})


def d(path: Path) -> PathFact:
    return PathFact(path, PathKind.DIR)


def claude(pid: int, account: str | None, sid: str | None = SID, status: str = "idle",
           cwd: str = "/h/src/api") -> ClaudeFact:
    home = H / f".claude-{account}" if account else None
    return ClaudeFact(pid, pid * 10, ("claude",), home, account, sid,  # type: ignore[arg-type]
                      status, cwd)


def pane(session: str, n: int, cwd: str = "/h/src/api", c: ClaudeFact | None = None,
         foreground: str | None = None, text: str | None = None, ordinal: int = 0,
         line: str | None = "$", **facts: Any) -> PaneFact:
    """A pane whose shell (pid 1000 + n) sits at the prompt ``$ `` unless told otherwise."""
    return PaneFact(session, ordinal, 0, ordinal, f"%{n}", 1000 + n, cwd, claude=c,
                    foreground=foreground, text=text, line=None if c else line,
                    input=PaneInput(**facts))


def prompts_for(panes: tuple[PaneFact, ...]) -> dict[str, PromptRecord]:
    """The reconciler saw each of these shells' empty prompt (``$ ``)."""
    return {p.target: PromptRecord(p.target, p.pane_pid, "$ ") for p in panes}


def converged(desired: DesiredState) -> Observed:
    """The world exactly as desired: the planner must have nothing to say."""
    panes = (
        pane("api", 1, c=claude(501, "work")),
        pane("web", 2, "/h/src/web", claude(502, "work", SID2, cwd="/h/src/web")),
        pane("auto-0", 3, "/h"),
        pane("auto-1", 4, "/h"),
    )
    entries = desired.shared.entries
    shared = desired.shared.dir
    return Observed(
        now=NOW,
        link=PathFact(desired.link, PathKind.LINK, desired.active.home),
        homes={a.name: d(a.home) for a in desired.accounts},
        home_entries={
            (a.name, e): PathFact(a.home / e, PathKind.LINK, shared / e)
            for a in desired.accounts for e in entries
        },
        shared_dir=d(shared),
        shared_entries={e: d(shared / e) for e in entries},
        projects={s.name: d(s.project) for s in desired.dedicated},
        tmux=TmuxFact(TmuxStatus.UP, panes),
        prompts=prompts_for(panes),
        transcripts={"/h/src/api": (SID,), "/h/src/web": (SID2,)},  # type: ignore[dict-item]
    )


def keys(result: Plan) -> list[str]:
    return [a.key for a in result.actions]


def with_panes(*panes: PaneFact, created: tuple[str, ...] = ()) -> Callable[[Observed], Observed]:
    return lambda o: replace(o, tmux=TmuxFact(TmuxStatus.UP, panes), prompts=prompts_for(panes),
                             created=frozenset(created))


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
    ("todos is a file: move aside then link",
     with_entry("work", "todos", PathKind.FILE),
     ["aside:/h/.claude-work/todos", "entry:work:todos"]),
    ("entry links elsewhere: relink", with_entry("work", "todos", PathKind.LINK, Path("/x")),
     ["entry:work:todos"]),
    ("link points at the other account: flip only", swapped_link, ["link"]),
    ("link missing: create it",
     lambda o: replace(o, link=PathFact(o.link.path, PathKind.MISSING)), ["link"]),
    ("swap: remember, flip, stop, relaunch, in that order",
     with_panes(pane("api", 1, c=claude(501, "personal")),
                pane("web", 2, "/h/src/web", claude(502, "work", SID2, cwd="/h/src/web")),
                pane("auto-0", 3, "/h", claude(503, "personal", SID2, cwd="/h")),
                pane("auto-1", 4, "/h")),
     ["remember:api/0", "remember:auto-0/0", "stop:api/0", "stop:auto-0/0",
      "launch:api/0", "launch:auto-0/0"]),
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
    assert "mv /h/.claude /h/.claude-work" in result.conflicts[0].message


def test_tmux_error_plans_no_session_change(desired: DesiredState) -> None:
    world = replace(converged(desired), tmux=TmuxFact(TmuxStatus.ERROR, error="boom"))
    result = plan(desired, world)
    assert result.actions == () and [c.key for c in result.conflicts] == ["tmux"]


def test_active_home_conflict_blocks_stops(desired: DesiredState) -> None:
    world = with_panes(pane("api", 1, c=claude(501, "personal")))(converged(desired))
    homes = dict(world.homes)
    homes["work"] = PathFact(H / ".claude-work", PathKind.FILE)
    result = plan(desired, replace(world, homes=homes))
    assert "stop:api/0" not in keys(result)
    assert {a.key for a, _ in result.blocked} >= {"stop:api/0", "launch:api/0"}
    assert "remember:api/0" in keys(result)


def test_missing_project_is_a_conflict(desired: DesiredState) -> None:
    world = replace(converged(desired), tmux=TmuxFact(TmuxStatus.DOWN),
                    projects={"api": PathFact(H / "src/api", PathKind.MISSING),
                              "web": d(H / "src/web")})
    result = plan(desired, world)
    assert "session:api" in [c.key for c in result.conflicts]
    assert "launch:api/0" in [a.key for a, _ in result.blocked]
