"""Builders for tests that need no tmux: THE desired-file factory, and observed worlds
for the planner's data tables. A pytest plugin (see ``conftest.py``); tests import the
builders from here and get the ``desired`` fixture from it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.claudecode import SessionId
from reconciler.desired import DesiredState, load_desired
from reconciler.observe import (
    ClaudeFact,
    Observed,
    PaneFact,
    PaneInput,
    PathFact,
    PathKind,
    PromptRecord,
    TmuxFact,
    TmuxStatus,
)
from reconciler.plan import Plan

H = Path("/h")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SID = SessionId("11111111-2222-3333-4444-555555555555")
SID2 = SessionId("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
SID3 = SessionId("33333333-3333-4333-8333-333333333333")

Dedicated = tuple[str, str, bool | None]
"""(name, project, resume); None leaves ``resume`` out (its default is true)."""


def desired_yaml(
    *,
    active: str = "work",
    accounts: Sequence[str] = ("work", "personal"),
    link: str | None = "~/.claude",
    shared: str | None = "{dir: ~/.claude-shared, entries: [projects, todos]}",
    tmux: str | None = "{socket_name: t}",
    autonomous: str | None = "{prefix: auto-, start_index: 0, min: 1, max: 2}",
    dedicated: Sequence[Dedicated] = (("api", "~/src/api", True),),
    launch: str | None = "{command: claude --dangerously-skip-permissions}",
    extra: str = "",
) -> str:
    """The one factory for desired files: every key on a line of its own (its line number
    is known), flow style inside; None leaves a key out; ``extra`` is appended."""
    lines = ["version: 1", f"active_account: {active}", "accounts:"]
    lines += [f"  - {{name: {a}, home: ~/.claude-{a}}}" for a in accounts]
    lines += [f"{key}: {value}" for key, value in
              (("link", link), ("shared", shared), ("tmux", tmux)) if value is not None]
    if autonomous is not None or dedicated:
        lines.append("pool:")
        if autonomous is not None:
            lines.append(f"  autonomous: {autonomous}")
        if dedicated:
            lines.append("  dedicated:")
            for name, project, resume in dedicated:
                tail = "" if resume is None else f", resume: {str(resume).lower()}"
                lines.append(f"    - {{name: {name}, project: {project}{tail}}}")
    if launch is not None:
        lines.append(f"launch: {launch}")
    return "\n".join(lines) + "\n" + extra


def load_text(path: Path, text: str, home: Path | str = H) -> DesiredState:
    """Write ``text`` to ``path`` and load it with ``HOME`` set to ``home``."""
    path.write_text(text)
    return load_desired(path, environ={"HOME": str(home)})


TABLE_YAML = desired_yaml(
    autonomous="{prefix: auto-, start_index: 0, min: 2, max: 3}",
    dedicated=(("api", "~/src/api", None), ("web", "~/src/web", False)))
"""The planner tables' desired state: two dedicated sessions (web never resumes), a
pool of 2 to 3, two accounts, HOME /h."""


@pytest.fixture(scope="module")
def desired(tmp_path_factory: pytest.TempPathFactory) -> DesiredState:
    return load_text(tmp_path_factory.mktemp("d") / "desired.yaml", TABLE_YAML)


# -- observed worlds for the planner's tables -------------------------------------------

def d(path: Path) -> PathFact:
    return PathFact(path, PathKind.DIR)


def claude(pid: int, account: str | None, sid: str | None = SID, status: str = "idle",
           cwd: str = "/h/src/api") -> ClaudeFact:
    home = H / f".claude-{account}" if account else None
    return ClaudeFact(pid, pid * 10, ("claude",), home, account,
                      SessionId(sid) if sid else None, status, cwd)


def pane(session: str, n: int, cwd: str = "/h/src/api", c: ClaudeFact | None = None,
         foreground: str | None = None, text: str | None = None, ordinal: int = 0,
         line: str | None = "$", **facts: Any) -> PaneFact:
    """A pane whose shell (pid 1000 + n) sits at the prompt ``$ `` unless told otherwise."""
    return PaneFact(session, ordinal, 0, ordinal, f"%{n}", 1000 + n, cwd, claude=c,
                    foreground=foreground, text=text, line=None if c else line,
                    input=PaneInput(**facts))


def prompts_for(panes: Sequence[PaneFact]) -> dict[str, PromptRecord]:
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
        home_entries={(a.name, e): PathFact(a.home / e, PathKind.LINK, shared / e)
                      for a in desired.accounts for e in entries},
        shared_dir=d(shared),
        shared_entries={e: d(shared / e) for e in entries},
        projects={s.name: d(s.project) for s in desired.dedicated},
        tmux=TmuxFact(TmuxStatus.UP, panes),
        prompts=prompts_for(panes),
        transcripts={"/h/src/api": (SID,), "/h/src/web": (SID2,)},
    )


def with_panes(*panes: PaneFact, created: tuple[str, ...] = ()) -> Callable[[Observed], Observed]:
    return lambda o: replace(o, tmux=TmuxFact(TmuxStatus.UP, panes), prompts=prompts_for(panes),
                             created=frozenset(created))


def keys(result: Plan) -> list[str]:
    return [a.key for a in result.actions]
