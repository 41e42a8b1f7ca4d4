"""The hostile filesystem, on real mounts and real files: a merge across filesystems with a
writer appending, trees 1,100 levels deep, backups private whatever the umask, a planted
link temp, an unsafe state dir and links planted in it, another user's shared dir."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _builders import desired_yaml
from _fixtures import World, deep_tree, mounted, remove_deep_tree

from reconciler.apply._fs_ops import merge_into_shared, symlink
from reconciler.claudecode import project_slug
from reconciler.cli import main
from reconciler.observe._fs import count_files, dir_fact
from reconciler.plan import Kind, MergeIntoShared, Symlink

WRITER = """
import os, sys
path, stop = sys.argv[1], sys.argv[2]
count = 0
with open(path, "a", buffering=1) as out:   # one fd held open, like a live transcript
    def line():
        global count
        out.write(f"line {count}\\n")
        count += 1
    for _ in range(200):
        line()
    print("ready", flush=True)
    while not os.path.exists(stop):
        line()
    for _ in range(200):
        line()
print(count)
"""


def merge(source: Path, dest: Path, backup: Path) -> bool:
    return merge_into_shared(MergeIntoShared(key="m", kind=Kind.CHANGE, description="merge",
                                             source=source, dest=dest, backup=backup))


@pytest.fixture
def other_fs(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs: another filesystem than the test's temp dir."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=32m,mode=700", "tmpfs", target=mount):
        yield mount


def test_a_merge_across_filesystems_loses_no_byte_while_a_writer_appends(
        tmp_path: Path, other_fs: Path) -> None:
    home = tmp_path / ".claude-work"
    source = home / "projects"
    (source / "p").mkdir(parents=True)
    (source / "p" / "old.jsonl").write_text("old\n" * 1000)
    dest = other_fs / "shared" / "projects"
    dest.mkdir(parents=True)
    assert source.stat().st_dev != dest.stat().st_dev
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(source / "p" / "live.jsonl"),
                               str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        assert merge(source, dest, other_fs / "backup")
    finally:
        stop.touch()
        written = int(writer.communicate(timeout=60)[0])
    assert not source.exists(), "the link's place is free"
    [aside] = home.glob(".projects.reconciler-merged-*")  # moved aside, never deleted
    kept = (aside / "p" / "live.jsonl").read_text().splitlines()
    shared = (dest / "p" / "live.jsonl").read_text().splitlines()
    assert kept == [f"line {i}" for i in range(written)], "every byte, in order"
    assert len(shared) >= 200 and shared == kept[: len(shared)]
    assert (dest / "p" / "old.jsonl").read_text() == "old\n" * 1000


def test_merge_and_count_a_tree_1100_levels_deep_on_both_sides(tmp_path: Path) -> None:
    source, dest = tmp_path / "home" / "todos", tmp_path / "shared" / "todos"
    source.parent.mkdir()
    dest.parent.mkdir()
    deep_tree(source, 1100)
    deep_tree(dest, 1100)
    assert count_files(source) == 1
    bottom = "/".join(["d"] * 1100)
    try:
        assert merge(source, dest, tmp_path / "backup")  # the bottom files clash
        assert not source.exists()
        assert count_files(dest) == 1
        assert count_files(tmp_path / "backup") == 1, "the clash is kept, 1,100 levels down"
        assert (tmp_path / "backup" / bottom / "f").read_text() == "deep\n"
    finally:  # pytest's own clean-up would recurse past Python's limit
        for tree in (source, dest, tmp_path / "backup"):
            if tree.exists():
                remove_deep_tree(tree)


def test_every_backup_dir_is_private_whatever_the_umask(tmp_path: Path) -> None:
    source, dest = tmp_path / "home" / "projects", tmp_path / "shared" / "projects"
    for side in (source, dest):
        (side / "a" / "b").mkdir(parents=True)
        (side / "a" / "b" / "clash.jsonl").write_text(side.parent.name)
    backup = tmp_path / "shared.reconciler-backup" / "20260101T000000Z" / "work" / "projects"
    old = os.umask(0)
    try:
        assert merge(source, dest, backup)
    finally:
        os.umask(old)
    assert (backup / "a" / "b" / "clash.jsonl").read_text() == "home"
    folder = backup / "a" / "b"
    while folder != tmp_path:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        folder = folder.parent


def test_whatever_sits_at_the_link_temp_name_is_moved_aside(tmp_path: Path) -> None:
    link, target = tmp_path / ".claude", tmp_path / ".claude-work"
    target.mkdir()
    planted = tmp_path / f"..claude.reconciler-{os.getpid()}"  # the link's temporary name
    planted.write_text("someone's notes")
    assert symlink(Symlink(key="link", kind=Kind.CREATE, description="link", path=link,
                           target=target))
    assert link.readlink() == target
    [aside] = tmp_path.glob("..claude.reconciler-*.aside")
    assert aside.read_text() == "someone's notes"


ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")


@pytest.fixture
def world_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """A desired file whose homes exist, and a state dir path; HOME is private."""
    home = tmp_path / "home"
    for name in (".claude-work", ".claude-personal", "src/api"):
        (home / name).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    desired = tmp_path / "desired.yaml"
    socket = f"reconciler-fs-{secrets.token_hex(4)}"
    desired.write_text(desired_yaml(tmux=f"{{socket_name: {socket}}}"))
    yield desired, tmp_path / "state"
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


@pytest.mark.parametrize(("name", "spoil", "words"), [
    pytest.param("owned by another user", lambda p: os.chown(p, 4242, 4242),
                 "is owned by uid 4242", marks=ROOT_ONLY),
    ("writable by others", lambda p: p.chmod(0o777), "is writable by group or others"),
    ("writable by the group", lambda p: p.chmod(0o770), "chmod 700"),
])
def test_an_unsafe_state_dir_is_refused(world_files: tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str],
                                        name: str, spoil: object, words: str) -> None:
    desired, state = world_files
    state.mkdir(mode=0o700)
    (state / "swaps.jsonl").write_text("")
    spoil(state)  # type: ignore[operator]
    before = sorted(p.name for p in state.iterdir())
    for command in (["status"], ["apply"], ["swap", "personal"]):
        assert main([*command, "-f", str(desired), "--state-dir", str(state)]) == 1
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
    assert sorted(p.name for p in state.iterdir()) == before
    assert "active_account: work" in desired.read_text()


@pytest.mark.parametrize(("planted", "command"), [
    ("lock", ["apply"]),
    ("swaps.jsonl", ["swap", "personal"]),
    ("active.json", ["swap", "personal"]),
])
def test_a_link_planted_in_the_state_dir_is_never_followed(
        world_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        planted: str, command: list[str]) -> None:
    desired, state = world_files
    state.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (state / planted).symlink_to(victim)
    before = desired.read_bytes()
    assert main([*command, "-f", str(desired), "--state-dir", str(state)]) == 1
    err = capsys.readouterr().err
    assert "is a symbolic link" in err and "Traceback" not in err, err
    assert victim.read_text() == "precious\n"
    assert desired.read_bytes() == before, "a swap that cannot be recorded is not made"


@ROOT_ONLY
def test_a_shared_dir_owned_by_another_user_is_a_conflict(
        world_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    desired, state = world_files
    shared = Path(os.environ["HOME"]) / ".claude-shared"
    shared.mkdir()
    os.chown(shared, 4242, 4242)
    assert dir_fact(shared).foreign_owner == 4242
    assert main(["plan", "-f", str(desired), "--state-dir", str(state)]) == 1
    out = capsys.readouterr().out
    assert "shared dir ~/.claude-shared is owned by uid 4242, not by you" in out  # ~: HOME
    assert list(shared.iterdir()) == [], "nothing was put into it"


def test_fifos_where_claude_keeps_files_never_hang_a_command(world: World) -> None:
    """A FIFO (planted, or left by a tool) where Claude keeps a JSON file is read as
    'not a file': plan, status and a service cycle finish, and say what they can."""
    assert world.reconcile("apply").returncode == 0
    world.claudes_when(2)
    home = world.sandbox.account_home("work")
    slug = home / "projects" / project_slug(world.sandbox.home / "src/api")
    slug.mkdir(parents=True, exist_ok=True)
    for path in (home / "settings.json", home / ".claude.json", home / "sessions/4242.json",
                 slug / "01234567-89ab-4cde-8f01-23456789abcd.jsonl",
                 world.sandbox.account_home("personal") / "settings.json"):
        path.unlink(missing_ok=True)
        os.mkfifo(path)
    for args in (["plan"], ["status"], ["run", "--once"], ["limits"]):
        done = world.reconcile(*args, timeout=60)
        assert "Traceback" not in done.stderr, (args, done.stderr[-2000:])
