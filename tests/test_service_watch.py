"""What wakes the sleeping service: an edit saved any way an editor saves, a spool that
appears later, a signal; and the stat poll where inotify is missing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from reconciler.service import _watch
from reconciler.service._watch import Watcher

LONG = 30.0  # a wait that ends early only if something woke it


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    desired = tmp_path / "conf" / "desired_state.yaml"
    desired.parent.mkdir()
    desired.write_text("version: 1\n")
    return desired, tmp_path / "state" / "signals" / "events"


def armed(desired: Path, spool: Path) -> Watcher:
    watcher = Watcher((desired,), (spool,)).open()
    watcher.wait(0)  # watches placed; nothing waited for
    return watcher


def woken_within(watcher: Watcher, limit: float) -> bool:
    started = time.monotonic()
    watcher.wait(LONG)
    return time.monotonic() - started < limit


def test_a_save_by_rename_wakes(paths: tuple[Path, Path]) -> None:
    desired, spool = paths
    watcher = armed(desired, spool)
    try:
        assert watcher.inotify
        temp = desired.with_name(".desired.tmp")
        temp.write_text("version: 1\nactive_account: b\n")
        temp.replace(desired)
        assert woken_within(watcher, LONG / 2)
    finally:
        watcher.close()


def test_a_save_in_place_wakes(paths: tuple[Path, Path]) -> None:
    desired, spool = paths
    watcher = armed(desired, spool)
    try:
        with desired.open("a") as handle:
            handle.write("# edited\n")
        assert woken_within(watcher, LONG / 2)
    finally:
        watcher.close()


def test_the_edit_of_a_linked_file_wakes(tmp_path: Path, paths: tuple[Path, Path]) -> None:
    real, spool = paths
    link = tmp_path / "desired_link.yaml"
    link.symlink_to(real)
    watcher = armed(link, spool)
    try:
        with real.open("a") as handle:
            handle.write("# edited through its real path\n")
        assert woken_within(watcher, LONG / 2)
    finally:
        watcher.close()


def test_other_files_beside_it_do_not_wake(paths: tuple[Path, Path]) -> None:
    desired, spool = paths
    watcher = armed(desired, spool)
    try:
        (desired.parent / "notes.txt").write_text("unrelated\n")
        started = time.monotonic()
        watcher.wait(0.3)
        assert time.monotonic() - started >= 0.3
    finally:
        watcher.close()


def test_a_spool_made_after_the_start_wakes(paths: tuple[Path, Path]) -> None:
    desired, spool = paths
    spool.parents[1].mkdir()  # the state dir exists; signals/events do not yet
    watcher = armed(desired, spool)
    try:
        spool.mkdir(parents=True)
        assert woken_within(watcher, LONG / 2)
        watcher.wait(0)  # armed on the spool itself now
        (spool / "1.json").write_text("{}\n")
        assert woken_within(watcher, LONG / 2)
    finally:
        watcher.close()


def test_wake_ends_a_wait_even_when_it_comes_first(paths: tuple[Path, Path]) -> None:
    desired, spool = paths
    watcher = armed(desired, spool)
    try:
        watcher.wake()  # as a signal handler does, between the loop's check and the wait
        assert woken_within(watcher, LONG / 2)
    finally:
        watcher.close()


def test_without_inotify_it_polls(monkeypatch: pytest.MonkeyPatch,
                                  paths: tuple[Path, Path]) -> None:
    monkeypatch.setattr(_watch, "_inotify", lambda: None)
    desired, spool = paths
    watcher = armed(desired, spool)
    try:
        assert not watcher.inotify
        assert woken_within(watcher, LONG / 2)  # one poll period, then the caller stats
    finally:
        watcher.close()


def test_a_refused_watch_falls_back_to_polling(monkeypatch: pytest.MonkeyPatch,
                                               paths: tuple[Path, Path]) -> None:
    import inotify_simple

    def refuse(_self: object, _path: object, _mask: int) -> int:
        raise OSError(28, os.strerror(28))  # ENOSPC: no watches left

    monkeypatch.setattr(inotify_simple.INotify, "add_watch", refuse)
    desired, spool = paths
    watcher = Watcher((desired,), (spool,)).open()
    try:
        assert woken_within(watcher, LONG / 2)  # one poll period
        assert not watcher.inotify
    finally:
        watcher.close()
