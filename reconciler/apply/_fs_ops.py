"""Filesystem executors. Each checks first (idempotent) and never deletes data:
what is in the way is moved aside, never removed; directories made on the way are 0700."""

from __future__ import annotations

import json
import os

from reconciler.apply._errors import ActionError
from reconciler.apply._merge import free_name, merge_tree
from reconciler.plan import EnsureSafetyHook, MakeDir, MergeIntoShared, Symlink
from reconciler.statedir import make_private_parents, write_atomic

CHANGED, OK = True, False


def make_dir(action: MakeDir) -> bool:
    if action.path.is_dir():
        return OK
    if os.path.lexists(action.path):
        raise ActionError(f"{action.path} exists and is not a directory")
    make_private_parents(action.path)
    return CHANGED


def merge_into_shared(action: MergeIntoShared) -> bool:
    """See ``_merge``: renames on one filesystem, copy-verify-move-aside across two."""
    source = action.source
    if source.is_symlink() or not source.is_dir():
        return OK
    make_private_parents(action.dest)
    merge_tree(source, action.dest, action.backup)
    return CHANGED


def symlink(action: Symlink) -> bool:
    """Create or re-point a link with a rename, so the path is never missing."""
    path, target = action.path, action.target
    if path.is_symlink() and path.readlink() == target:
        return OK
    if os.path.lexists(path) and not path.is_symlink():
        raise ActionError(f"{path} is a real {'directory' if path.is_dir() else 'file'}; refusing")
    make_private_parents(path.parent)
    temp = path.with_name(f".{path.name}.reconciler-{os.getpid()}")
    if os.path.lexists(temp):  # not ours to delete, whatever it is: moved aside
        temp.rename(free_name(temp.with_name(f"{temp.name}.aside")))
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
