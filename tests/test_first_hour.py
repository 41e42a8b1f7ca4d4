"""The first hour of a real user, end to end: a machine with a real ``~/.claude`` (logged
in, history, transcripts), ``~/.claude.json`` and two Claudes started by hand in tmux,
taken through ``init`` -> ``--dry-run`` -> ``adopt`` -> ``apply`` -> ``swap`` -> ``status``.
Nothing may be lost, every Claude is resumed with its own id, no prompt is shown."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _fixtures import World, wait_for

from reconciler.claudecode import project_slug
from reconciler.cli._status import Status, build_status
from reconciler.cli._top import TopApp
from reconciler.desired import load_desired
from reconciler.statedir import StateDir

TRANSCRIPT = '{"type":"user","message":"hello"}\n{"type":"assistant","message":"hi"}\n'
SID = "0b9d4c1e-5f7a-4d2b-8c3e-1a2b3c4d5e6f"


def real_users_machine(world: World) -> dict[str, bytes]:
    """~/.claude-work becomes ~/.claude (a real directory), its .claude.json goes to
    ~/.claude.json; the desired file is removed (init writes it). Returns the bytes
    that must survive, by path relative to HOME."""
    home = world.sandbox.home
    work = world.sandbox.account_home("work")
    (work / ".claude.json").rename(home / ".claude.json")
    work.rename(home / ".claude")
    (home / ".claude" / "history.jsonl").write_text('{"display":"fix the bug"}\n')
    project = home / ".claude" / "projects" / project_slug(home / "src/api")
    project.mkdir(parents=True)
    (project / f"{SID}.jsonl").write_text(TRANSCRIPT)
    world.desired.unlink()
    keep = [".claude/.credentials.json", ".claude/history.jsonl", ".claude.json",
            f".claude/projects/{project.name}/{SID}.jsonl"]
    return {name: (home / name).read_bytes() for name in keep}


def start_by_hand(world: World) -> dict[str, int]:
    """Two sessions, a Claude typed into each, as a person does: no CLAUDE_CONFIG_DIR."""
    home = world.sandbox.home
    for name in ("api", "web"):
        world.tmux("new-session", "-d", "-s", name, "-c", str(home / "src" / name))
        world.type_in(f"={name}:", "claude --dangerously-skip-permissions")
    registry = home / ".claude" / "sessions"

    def started() -> dict[str, int] | None:
        found = {json.loads(p.read_text())["cwd"].rsplit("/", 1)[-1]: int(p.stem)
                 for p in registry.glob("*.json")} if registry.is_dir() else {}
        return found if len(found) == 2 else None
    result: dict[str, int] = wait_for(started, 10)
    return result


def top_shows(world: World, predicate: Callable[[Status], bool]) -> bool:
    """``reconcile top`` headless (Textual's pilot): its snapshot on screen, once it holds."""
    desired = load_desired(world.desired)
    state = StateDir(world.sandbox.state_dir)

    async def drive() -> bool:
        app = TopApp(lambda: build_status(desired, state), interval=3600)
        async with app.run_test(size=(120, 50)) as pilot:
            for _ in range(250):
                if app.shown is not None and predicate(app.shown):
                    return True
                await pilot.pause(0.02)
        return False
    return asyncio.run(drive())


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@pytest.mark.usefixtures("world")
def test_init_adopt_apply_swap_status(world: World) -> None:
    home = world.sandbox.home
    precious = real_users_machine(world)
    pids = start_by_hand(world)
    command = f"{world.sandbox.bin_dir / 'claude'} --dangerously-skip-permissions"

    made = world.reconcile("init", "--socket", world.sandbox.socket_name, "--command", command)
    assert made.returncode == 0, made.stderr
    assert "do not create it: `reconcile adopt`" in made.stdout, made.stdout
    text = world.desired.read_text()
    assert "{name: work, home: ~/.claude-work}" in text
    assert "{name: personal, home: ~/.claude-personal}" in text
    assert "{name: api, project: ~/src/api, resume: true}" in text
    again = world.reconcile("init")
    assert again.returncode == 1 and "exists" in again.stderr and world.desired.read_text() == text

    dry = world.reconcile("--dry-run")
    assert dry.returncode == 1, dry.stdout
    assert "`reconcile adopt`" in dry.stdout
    assert "launch claude" not in dry.stdout and "stop claude" not in dry.stdout
    assert "session id is unknown" not in dry.stdout, "the link conflict is the one reason"

    adopted = world.reconcile("adopt", "--yes")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert (home / ".claude").readlink() == home / ".claude-work"
    assert (home / ".claude.json").is_symlink()
    assert json.loads((home / ".claude.json").read_text())["hasCompletedOnboarding"] is True
    assert all(alive(pid) for pid in pids.values()), "the running Claudes keep working"

    applied = world.reconcile("apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert all(alive(pid) for pid in pids.values()), "hand-started Claudes on the active account"
    assert world.reconcile("--dry-run").returncode == 0, "converged"
    for name, body in precious.items():
        assert (home / name).read_bytes() == body, name

    before = {row["pane"].split(":")[0]: row["session_id"] for row in world.claudes().values()}
    swapped = world.reconcile("swap", "personal", "--apply")
    assert swapped.returncode == 0, swapped.stdout + swapped.stderr
    after = world.claudes_when(2, timeout=15)
    assert {r["pane"].split(":")[0]: r["session_id"] for r in after.values()} == before
    assert {r["account"] for r in after.values()} == {"personal"}
    for pane in ("=api:", "=web:"):
        screen = world.tmux("capture-pane", "-p", "-t", pane).stdout
        assert "trust" not in screen.lower() and "login" not in screen.lower(), screen

    status = world.reconcile("status")
    assert status.returncode == 0 and "personal (active)" in status.stdout
    assert top_shows(world, lambda s: [(a.name, a.claudes) for a in s.accounts if a.active]
                     == [("personal", 2)])
    transcript = home / ".claude-shared/projects" / project_slug(home / "src/api") / f"{SID}.jsonl"
    assert transcript.read_text().startswith(TRANSCRIPT)


# -- adopt refuses before its first step, and changes nothing ------------------------------

def _tree(root: Path) -> dict[str, bytes | str]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink()
                                        else str(p.readlink()) if p.is_symlink() else "dir")
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize(("name", "arrange", "why"), [
    ("the home already holds files",
     lambda h: (h / ".claude-work").mkdir() or (h / ".claude-work/x").write_text("x"),
     "already holds files"),
    ("~/.claude is already a link", lambda h: (h / ".claude").symlink_to(
        (h / ".claude").rename(h / ".claude-old")), "already a link"),
    ("no ~/.claude at all", lambda h: (h / ".claude").rename(h / ".claude-old"),
     "does not exist"),
])
def test_adopt_refuses_what_it_cannot_do_safely(tmp_path: Path, name: str, arrange: object,
                                                why: str) -> None:
    from reconciler.apply import RefusedError, plan_adopt

    home = tmp_path / "home"
    (home / ".claude/projects").mkdir(parents=True)
    (home / ".claude/.credentials.json").write_text("{}")
    (home / ".claude.json").write_text("{}")
    arrange(home)  # type: ignore[operator]
    before = _tree(home)
    with pytest.raises(RefusedError, match=why):
        plan_adopt(home / ".claude", home / ".claude-work", home)
    assert _tree(home) == before, name


@pytest.mark.parametrize(("newer", "kept", "aside_in"), [
    ("outer", {"outer": True}, ".claude-work"),  # ~/.claude.json is the live identity
    ("inner", {"inner": True}, "."),            # a CLAUDE_CONFIG_DIR=~/.claude habit
])
def test_adopt_keeps_the_newer_config_and_sets_the_other_aside(
        tmp_path: Path, newer: str, kept: dict[str, bool], aside_in: str) -> None:
    from reconciler.apply import carry_out, plan_adopt

    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    inner, outer = home / ".claude/.claude.json", home / ".claude.json"
    inner.write_text('{"inner": true}')
    outer.write_text('{"outer": true}')
    os.utime(inner if newer == "outer" else outer, (1_000_000, 1_000_000))
    carry_out(plan_adopt(home / ".claude", home / ".claude-work", home))
    assert json.loads((home / ".claude.json").read_text()) == kept
    assert json.loads((home / ".claude-work/.claude.json").read_text()) == kept
    [aside] = (home / aside_in).glob(".claude.json.reconciler-adopted-*")
    other = {"inner": True} if newer == "outer" else {"outer": True}
    assert json.loads(aside.read_text()) == other, "the other one is kept aside, not lost"
    assert (home / ".claude").readlink() == home / ".claude-work"
    assert carry_out(plan_adopt(home / ".claude", home / ".claude-work", home)) is None
    assert plan_adopt(home / ".claude", home / ".claude-work", home).done, "twice: done"


def test_adopt_follows_a_dotfiles_link_and_refuses_a_home_inside_itself(tmp_path: Path) -> None:
    from reconciler.apply import RefusedError, carry_out, plan_adopt

    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / "dotfiles").mkdir()
    (home / "dotfiles/claude.json").write_text('{"mine": 1}')
    (home / ".claude.json").symlink_to("dotfiles/claude.json")
    (home / "alias").symlink_to(".claude")
    with pytest.raises(RefusedError, match="inside"):
        plan_adopt(home / ".claude", home / "alias/work", home)
    assert (home / ".claude").is_dir() and not (home / ".claude").is_symlink()
    carry_out(plan_adopt(home / ".claude", home / ".claude-work", home))
    assert json.loads((home / ".claude-work/.claude.json").read_text()) == {"mine": 1}
    assert (home / ".claude.json").readlink() == Path("dotfiles/claude.json"), "left as it was"


# -- init writes what reads back, keeps the primary first, keeps the running options ------

def test_init_text_reads_back_for_any_directory_and_keeps_what_runs(tmp_path: Path) -> None:
    from reconciler.cli._init import Machine, RunningClaude, _flags, launch_command, render
    from reconciler.desired import load_desired_bytes

    home = tmp_path / "home"
    (home / ".claude-work").mkdir(parents=True)
    (home / ".claude-alpha").mkdir()
    (home / ".claude").symlink_to(home / ".claude-work")
    odd = ["src/a: b, {c}", "src/it's #1", 'src/say "hi"', "src/line\nbreak"]
    claudes = tuple(RunningClaude(f"s{i}", f"s{i}:0.0", 100 + i, str(home / d), None,
                                  _flags(("claude", "--dangerously-skip-permissions",
                                          "--resume", "0b9d4c1e-5f7a-4d2b-8c3e-1a2b3c4d5e6f")))
                    for i, d in enumerate(odd))
    machine = Machine(home, "link", str(home / ".claude-work"), False,
                      (("alpha", home / ".claude-alpha"), ("work", home / ".claude-work")),
                      claudes, None)
    command = launch_command(machine, None)
    assert command == "claude --dangerously-skip-permissions", "a swap keeps their options"
    text = render(machine, first="work", socket=None, command=command,
                  now=datetime(2026, 11, 25, tzinfo=UTC))
    desired = load_desired_bytes(tmp_path / "d.yaml", text.encode(), {"HOME": str(home)})
    assert [a.name for a in desired.accounts] == ["work", "alpha"], "the one in use first"
    assert [str(d.project) for d in desired.dedicated] == [str(home / odd[0])]
    assert "control characters" in text and "quotes, $" in text, "left to the user, said why"


def test_force_never_overwrites_an_older_backup(tmp_path: Path) -> None:
    from reconciler.statedir import move_aside

    path = tmp_path / "desired_state.yaml"
    seen = []
    for body in ("# hand edited\n", "# first init\n", "# second init\n"):
        path.write_text(body)
        seen.append(move_aside(path))
    assert [p.read_text() for p in seen] == ["# hand edited\n", "# first init\n",
                                             "# second init\n"]
    assert len(set(seen)) == 3 and not path.exists()


def test_init_writes_the_home_directory_itself_as_a_string_not_null() -> None:
    import yaml

    from reconciler.cli._init import _scalar

    assert yaml.safe_load(f"project: {_scalar('~')}") == {"project": "~"}
    assert yaml.safe_load(f"project: {_scalar('~/src/api')}") == {"project": "~/src/api"}


def test_init_reads_back_when_no_running_claude_can_be_declared(tmp_path: Path) -> None:
    from reconciler.cli._init import Machine, RunningClaude, render
    from reconciler.desired import load_desired_bytes

    home = tmp_path / "home"
    (home / ".claude-work").mkdir(parents=True)
    odd = RunningClaude("my session", "my session:0.0", 7, str(home / "src"), None, ())
    machine = Machine(home, "missing", None, False, (("work", home / ".claude-work"),),
                      (odd,), None)
    text = render(machine, first="work", socket=None, command="claude",
                  now=datetime(2026, 11, 25, tzinfo=UTC))
    desired = load_desired_bytes(tmp_path / "d.yaml", text.encode(), {"HOME": str(home)})
    assert desired.dedicated == () and "cannot be declared" in text


def test_init_finds_the_claudes_on_a_private_tmux_socket(world: World) -> None:
    """No ``--socket``: the Claudes' own TMUX variable names their server, and the file
    written names it too (the service would look at the default server otherwise)."""
    real_users_machine(world)
    start_by_hand(world)
    made = world.reconcile("init", "--print")
    assert made.returncode == 0, made.stderr
    assert f"socket_name: {world.sandbox.socket_name}" in made.stdout, made.stdout
    assert "{name: api, project: ~/src/api, resume: true}" in made.stdout
    assert "TMUX variable" in made.stdout, "says where it found them"
