"""Filesystem executors. Each checks first (idempotent) and never deletes data:
things in the way are moved aside into a dated backup directory."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

from reconciler.apply._errors import ActionError, TransientError
from reconciler.plan import EnsureSafetyHook, MakeDir, MergeIntoShared, MoveAside, Symlink
from reconciler.statedir import DIR_MODE, write_atomic

CHANGED, OK = True, False


def _free_name(path: Path) -> Path:
    """``path``, or ``path.1``, ``path.2`` ... whichever does not exist yet."""
    candidate, n = path, 0
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def _move(source: Path, dest: Path) -> None:
    """Rename, or copy-then-remove across filesystems (shutil.move): a move, never a loss."""
    dest.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    try:
        source.rename(dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(str(source), str(dest))


def make_dir(action: MakeDir) -> bool:
    if action.path.is_dir():
        return OK
    if os.path.lexists(action.path):
        raise ActionError(f"{action.path} exists and is not a directory")
    action.path.mkdir(parents=True, mode=DIR_MODE)
    return CHANGED


def move_aside(action: MoveAside) -> bool:
    if not os.path.lexists(action.path) or action.path.is_symlink():
        return OK
    _move(action.path, _free_name(action.backup / action.path.name))
    return CHANGED


def merge_into_shared(action: MergeIntoShared) -> bool:
    source = action.source
    if source.is_symlink() or not source.is_dir():
        return OK
    action.dest.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _merge_tree(source, action.dest, action.backup)
    try:
        source.rmdir()
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise TransientError(f"{source} got new files during the merge") from exc
        raise
    return CHANGED


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _merge_tree(source: Path, dest: Path, backup: Path) -> None:
    """Move every entry of ``source`` into ``dest``; directories merge, clashes go to backup."""
    for entry in sorted(source.iterdir()):
        target = dest / entry.name
        if not os.path.lexists(target):
            _move(entry, target)
        elif _real_dir(entry) and _real_dir(target):
            _merge_tree(entry, target, backup / entry.name)
            entry.rmdir()
        else:
            _move(entry, _free_name(backup / entry.name))


def symlink(action: Symlink) -> bool:
    """Create or re-point a link with a rename, so the path is never missing."""
    path, target = action.path, action.target
    if path.is_symlink() and path.readlink() == target:
        return OK
    if os.path.lexists(path) and not path.is_symlink():
        raise ActionError(f"{path} is a real {'directory' if path.is_dir() else 'file'}; refusing")
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    temp = path.with_name(f".{path.name}.reconciler-{os.getpid()}")
    if os.path.lexists(temp):
        temp.unlink()
    temp.symlink_to(target)
    temp.replace(path)
    return CHANGED


def ensure_safety_hook(action: EnsureSafetyHook) -> bool:
    """Merge the hook into settings.json; keep every other key; refuse broken JSON."""
    path = action.settings
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        settings, mode = {}, 0o644
    except (OSError, ValueError) as exc:
        raise ActionError(f"{path} is not readable JSON ({exc}); left alone") from exc
    if not isinstance(settings, dict):
        raise ActionError(f"{path} is not a JSON object; left alone")
    hooks = settings.setdefault("hooks", {})
    entries = hooks.setdefault("PreToolUse", []) if isinstance(hooks, dict) else None
    if not isinstance(entries, list):
        raise ActionError(f"{path}: hooks.PreToolUse is not a list; left alone")
    hook = {"type": "command", "command": action.command}
    for entry in entries:
        if isinstance(entry, dict) and entry.get("matcher") == action.matcher:
            present = entry.setdefault("hooks", [])
            if any(isinstance(h, dict) and h.get("command") == action.command for h in present):
                return OK
            present.append(hook)
            break
    else:
        entries.append({"matcher": action.matcher, "hooks": [hook]})
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(settings, indent=2) + "\n").encode(), mode=mode)
    return CHANGED
