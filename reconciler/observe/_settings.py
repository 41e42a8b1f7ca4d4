"""Does a project's ``.claude/settings.json`` already hold the safety hook?"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.statedir import read_regular


class SettingsState(enum.Enum):
    HAS_HOOK = "has_hook"
    NEEDS_HOOK = "needs_hook"
    MISSING = "missing"
    BROKEN = "broken"


@dataclass(frozen=True)
class SettingsFact:
    path: Path
    state: SettingsState
    error: str = ""


def settings_path(project: Path) -> Path:
    return project / ".claude" / "settings.json"


def has_hook(settings: Any, matcher: str, command: str) -> bool:
    """True when a PreToolUse entry for ``matcher`` runs ``command``."""
    if not isinstance(settings, dict):
        return False
    hooks = settings.get("hooks")
    entries = hooks.get("PreToolUse") if isinstance(hooks, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("matcher") == matcher:
            inner = entry.get("hooks")
            for hook in inner if isinstance(inner, list) else []:  # "hooks": NaN is no list
                if isinstance(hook, dict) and hook.get("command") == command:
                    return True
    return False


def observe_settings(project: Path, matcher: str, command: str) -> SettingsFact:
    path = settings_path(project)
    try:
        raw = read_regular(path, 1 << 22).decode("utf-8")
    except FileNotFoundError:
        return SettingsFact(path, SettingsState.MISSING)
    except (OSError, UnicodeDecodeError) as exc:
        return SettingsFact(path, SettingsState.BROKEN, str(exc))
    try:
        settings = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return SettingsFact(path, SettingsState.BROKEN, f"not valid JSON: {exc}")
    if not isinstance(settings, dict):
        return SettingsFact(path, SettingsState.BROKEN, "not a JSON object")
    if has_hook(settings, matcher, command):
        return SettingsFact(path, SettingsState.HAS_HOOK)
    return SettingsFact(path, SettingsState.NEEDS_HOOK)
