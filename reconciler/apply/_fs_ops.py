"""Filesystem executors. Each checks first (idempotent) and never deletes data:
what is in the way is moved aside, never removed; directories made on the way are 0700."""

from __future__ import annotations

import os
from typing import Any

from reconciler.apply._errors import ActionError
from reconciler.apply._json_file import edit_json
from reconciler.apply._merge import free_name, merge_tree
from reconciler.plan import EnsureSafetyHook, MakeDir, MergeIntoShared, Symlink
from reconciler.statedir import make_private_parents

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
    """Merge the hook into the project's settings.json with the one JSON editor
    (``_json_file``: Claude's lock, layout and non-ASCII kept, a link written through,
    a number JSON cannot hold or a broken file left alone); every other key kept."""
    hook = {"type": "command", "command": action.command}

    def add(settings: dict[str, Any]) -> bool:
        hooks = settings.setdefault("hooks", {})
        entries = hooks.setdefault("PreToolUse", []) if isinstance(hooks, dict) else None
        if not isinstance(entries, list):
            raise ActionError(f"{action.settings}: hooks.PreToolUse is not a list; left alone")
        for entry in entries:
            if isinstance(entry, dict) and entry.get("matcher") == action.matcher:
                present = entry.setdefault("hooks", [])
                if not isinstance(present, list):
                    raise ActionError(f"{action.settings}: a PreToolUse entry's hooks is not "
                                      "a list; left alone")
                if any(isinstance(h, dict) and h.get("command") == action.command
                       for h in present):
                    return False
                present.append(hook)
                return True
        entries.append({"matcher": action.matcher, "hooks": [hook]})
        return True

    make_private_parents(action.settings.parent)
    return CHANGED if edit_json(action.settings, add, mode=0o644) else OK
