"""The core end to end: real tmux (private socket), real files, real processes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _fixtures import World, wait_for

FIRST = "+ create session api"


def converge(world: World) -> dict[str, object]:
    report = world.apply_json()
    assert report["ok"], json.dumps(report, indent=1)
    return report


def test_dry_run_changes_nothing_and_starts_no_server(world: World) -> None:
    done = world.reconcile("--dry-run")
    assert done.returncode == 2, done.stderr
    assert FIRST in done.stdout and "Plan: " in done.stdout
    assert world.tmux("ls").returncode != 0, "dry-run must not start a tmux server"
    assert not (world.sandbox.home / ".claude").exists()
    assert not (world.sandbox.home / ".claude-shared").exists()


def test_first_converge_then_idempotent(world: World) -> None:
    report = converge(world)
    assert report["counts"]["changed"] > 10  # type: ignore[index]
    home = world.sandbox.home
    assert (home / ".claude").readlink() == home / ".claude-work"
    for account in ("work", "personal"):
        for entry in ("projects", "file-history", "session-env", "todos"):
            assert (home / f".claude-{account}" / entry).readlink() == (
                home / ".claude-shared" / entry)
    sessions = world.tmux("ls", "-F", "#{session_name}").stdout.split()
    assert sorted(sessions) == ["api", "ccl-auto-0", "ccl-auto-1", "web"]
    claudes = world.claudes()
    assert sorted(claudes) == ["api/0", "web/0"]
    assert all(c["account"] == "work" for c in claudes.values())
    again = world.apply_json()
    assert again["counts"] == {"ok": 0, "changed": 0, "failed": 0, "refused": 0,
                              "skipped": 0}
    plan = world.reconcile("plan")
    assert plan.returncode == 0 and "No changes" in plan.stdout


def test_swap_relaunches_every_claude_with_its_own_id(world: World) -> None:
    converge(world)
    world.type_in("=ccl-auto-0:", f"CLAUDE_CONFIG_DIR={world.sandbox.home}/.claude-work "
                                  f"{world.sandbox.bin_dir}/claude")
    before = world.claudes_when(3)
    world.set_desired("active_account: work", "active_account: personal")
    report = converge(world)
    assert report["counts"]["failed"] == 0  # type: ignore[index]
    home = world.sandbox.home
    assert (home / ".claude").readlink() == home / ".claude-personal"
    after = world.claudes()
    assert sorted(after) == sorted(before)
    for target, row in before.items():
        assert after[target]["session_id"] == row["session_id"], target
        assert after[target]["account"] == "personal"
        assert after[target]["claude_pid"] != row["claude_pid"]
        env = Path(f"/proc/{after[target]['claude_pid']}/environ").read_bytes().split(b"\0")
        assert f"CLAUDE_CONFIG_DIR={home}/.claude-personal".encode() in env
    resumed = [e for e in world.launches() if e["mode"] == "resume"]
    assert sorted(e["session_id"] for e in resumed) == sorted(
        r["session_id"] for r in before.values())
    assert world.apply_json()["counts"]["changed"] == 0  # type: ignore[index]


def test_real_directory_is_merged_into_shared_nothing_lost(world: World) -> None:
    home = world.sandbox.home
    shared = home / ".claude-shared" / "projects" / "-p"
    shared.mkdir(parents=True)
    (shared / "same.jsonl").write_text("shared copy\n")
    for account in ("work", "personal"):
        mine = home / f".claude-{account}" / "projects" / "-p"
        mine.mkdir(parents=True)
        (mine / f"{account}.jsonl").write_text(f"{account}\n")
        (mine / "same.jsonl").write_text(f"{account} copy\n")
    converge(world)
    assert (shared / "work.jsonl").read_text() == "work\n"
    assert (shared / "personal.jsonl").read_text() == "personal\n"
    assert (shared / "same.jsonl").read_text() == "shared copy\n"
    backups = sorted(p.read_text() for p in (home / ".claude-shared.reconciler-backup")
                     .rglob("same.jsonl*"))
    assert backups == ["personal copy\n", "work copy\n"]
    assert (home / ".claude-work" / "projects").is_symlink()


def test_manual_sessions_are_untouched(world: World) -> None:
    world.tmux("new-session", "-d", "-s", "mine", "-c", str(world.sandbox.home))
    world.type_in("=mine:", f"CLAUDE_CONFIG_DIR={world.sandbox.home}/.claude-personal "
                            f"{world.sandbox.bin_dir}/claude")
    mine = wait_for(lambda: world.claudes().get("mine/0"))
    converge(world)
    world.set_desired("active_account: work", "active_account: personal")
    converge(world)
    world.set_desired("active_account: personal", "active_account: work")
    converge(world)
    assert world.claudes()["mine/0"]["claude_pid"] == mine["claude_pid"]


def test_pool_shrink_keeps_busy_sessions(world: World) -> None:
    world.set_desired("min: 2, max: 4", "min: 4, max: 4")
    converge(world)
    for name in ("ccl-auto-2", "ccl-auto-3"):
        sbx = world.sandbox
        world.type_in(f"={name}:", f"STANDIN_CLAUDE_STATUS=busy CLAUDE_CONFIG_DIR="
                                   f"{sbx.home}/.claude-work {sbx.bin_dir}/claude")
    world.claudes_when(4)
    world.set_desired("min: 4, max: 4", "min: 1, max: 1")
    converge(world)
    sessions = set(world.tmux("ls", "-F", "#{session_name}").stdout.split())
    assert {"ccl-auto-2", "ccl-auto-3"} <= sessions, "busy sessions must stay"
    assert "ccl-auto-0" not in sessions and "ccl-auto-1" not in sessions


def test_tmux_down_recreates_sessions_and_resumes(world: World) -> None:
    converge(world)
    before = world.claudes()
    world.tmux("kill-server")
    wait_for(lambda: world.tmux("ls").returncode != 0)
    plan = world.reconcile("plan")
    assert plan.returncode == 2 and FIRST in plan.stdout
    converge(world)
    after = world.claudes()
    assert {t: r["session_id"] for t, r in after.items()} == {
        t: r["session_id"] for t, r in before.items()}


def test_bad_desired_file_changes_nothing(world: World) -> None:
    world.set_desired("active_account: work", "active_account: nobody")
    done = world.reconcile("apply")
    assert done.returncode == 1
    assert f"{world.desired}:4: active_account:" in done.stderr
    assert world.tmux("ls").returncode != 0
    assert not (world.sandbox.home / ".claude").exists()


def test_link_that_is_a_real_directory_is_refused(world: World) -> None:
    real = world.sandbox.home / ".claude"
    real.mkdir()
    (real / "keep.txt").write_text("mine")
    done = world.reconcile("apply")
    assert done.returncode == 1
    assert "is a real directory" in done.stdout and "`reconcile adopt`" in done.stdout
    assert "waits on conflict link" in done.stdout and world.launches() == [], \
        "nothing that needs the home runs"
    assert (real / "keep.txt").read_text() == "mine" and not real.is_symlink()


def test_json_plan_document(world: World) -> None:
    done = world.reconcile("plan", "--json")
    assert done.returncode == 2
    doc = json.loads(done.stdout)
    assert doc["active_account"] == "work" and doc["changes"] == len(doc["actions"])
    assert {a["symbol"] for a in doc["actions"]} <= {"+", "~", "-", "↻"}
    assert "Plan:" in done.stderr


def test_the_demo_runs_and_leaves_nothing_running(tmp_path: Path) -> None:
    """`reconcile demo` as a new user runs it: its own HOME, its own tmux server (its
    socket inside the sandbox, not in the caller's TMUX_TMPDIR), and nothing of it left
    once it returns."""
    tmux_dir = Path(tempfile.mkdtemp(prefix="rcl-demo-"))
    env = {**os.environ, "TMUX_TMPDIR": str(tmux_dir)}
    try:
        done = subprocess.run([sys.executable, "-m", "reconciler", "demo"],
                              capture_output=True, text=True, timeout=120, env=env, check=False)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr
        assert "Every Claude resumed on 'personal' with its own session id" in done.stdout
        socket = re.search(r"tmux socket -L (\S+)", done.stdout)
        assert socket is not None
        assert [p.name for p in tmux_dir.rglob("*") if p.is_socket()] == [], \
            "tmux leaves its socket file behind: the demo's is in its own temp dir"
    finally:
        shutil.rmtree(tmux_dir, ignore_errors=True)
    sandbox = re.search(r"HOME=(\S+)/home,", done.stdout)
    assert sandbox is not None
    leftovers = [e.name for e in os.scandir("/proc") if e.name.isdigit()
                 and sandbox.group(1).encode() in _cmdline(e.name)]
    assert leftovers == [], "no stand-in claude outlives the demo"
    assert not Path(sandbox.group(1)).exists(), "the sandbox is gone"
    servers = [e.name for e in os.scandir("/proc") if e.name.isdigit()
               and socket.group(1).encode() in _cmdline(e.name)]
    assert servers == [], "the demo's tmux server is stopped"


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
