"""The signals as they stand in a ``settings.json``: a ``StopFailure`` hook and a
status-line wrapper that still runs the user's own status line. Pure functions on the
parsed document: whether they are in, putting them in, taking them out. The file itself
is read by observe and written by the hands (``apply``, under Claude's lock).

Both commands are the same in every home: the scripts tell the homes apart by
``CLAUDE_CONFIG_DIR``, so one settings file linked into two homes is right for both. The
user's status line rides inside the wrapper's command (``statusline -- '<theirs>'``) and
is given back exactly when the signals are taken out. Only ``StopFailure`` is written: a
hook event every supported release knows (one it does not know stops it at a dialog).
"""

from __future__ import annotations

import enum
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

EVENT = "StopFailure"


@dataclass(frozen=True)
class SignalCommands:
    """The commands the reconciler installs in every home's settings."""

    stop_failure: str
    status_line: str
    """The wrapper's command; the user's own status line may follow it (`` -- '...'``)."""


class SignalState(enum.StrEnum):
    INSTALLED = "installed"
    MISSING = "missing"
    BROKEN = "broken"
    """The settings file cannot be read (not JSON, not an object): left alone."""


@dataclass(frozen=True)
class SignalsFact:
    state: SignalState
    hook: bool
    """Our StopFailure hook is in (and its script can run): Claude reports its own limits,
    so pane text is no evidence (the status line alone does not decide this)."""
    why: str = ""
    """What is broken, for a ``BROKEN`` file."""

    def __str__(self) -> str:
        return f"{self.state}: {self.why}" if self.why else str(self.state)


Saved = Callable[[str], str | None]
"""An account name -> the user's status line an older wrapper saved for it."""


def ours(command: object, prefix: str) -> bool:
    return isinstance(command, str) and (command == prefix or command.startswith(prefix + " "))


def theirs(command: str, prefix: str, saved: Saved) -> str | None:
    """The user's status line inside our wrapper's command; an older wrapper named its
    account instead, and saved the user's line in the state dir."""
    try:
        words = shlex.split(command[len(prefix):])
    except ValueError:  # an unclosed quote: not what the wrapper wrote
        raise ShapeError("statusLine.command has an unclosed quote") from None
    if words[:1] == ["--"]:
        return words[1] if len(words) > 1 else None
    if len(words) == 1:
        return saved(words[0])
    return None


def wrapper(prefix: str, user_line: str | None) -> str:
    return f"{prefix} -- {shlex.quote(user_line)}" if user_line else prefix


def state_of(exists: bool, settings: Any, commands: SignalCommands | None) -> SignalsFact:
    """Are the signals in this parsed settings document (None: missing or unreadable)?"""
    if commands is None:
        return SignalsFact(SignalState.INSTALLED, True)
    if settings is None and exists:
        return SignalsFact(SignalState.BROKEN, False, "not valid JSON")
    if settings is not None and not isinstance(settings, dict):
        return SignalsFact(SignalState.BROKEN, False, "not a JSON object")
    settings = settings or {}
    line = settings.get("statusLine")
    command = line.get("command") if isinstance(line, dict) else None
    prefix = commands.status_line
    status_ok = (line is not None and not isinstance(line, dict)) or (  # another form: kept
        isinstance(command, str) and (command == prefix or command.startswith(prefix + " -- ")))
    hooks = settings.get("hooks")
    entries = hooks.get(EVENT) if isinstance(hooks, dict) else None
    found = [h.get("command") for e in (entries if isinstance(entries, list) else [])
             if isinstance(e, dict) and isinstance(e.get("hooks"), list)
             for h in e["hooks"] if isinstance(h, dict)
             and str(h.get("command", "")).startswith(commands.stop_failure)]
    scripts = all(os.access(shlex.split(c)[0], os.X_OK)
                  for c in (commands.stop_failure, commands.status_line))
    hook = found == [commands.stop_failure] and scripts  # a hook whose script is gone: none
    return SignalsFact(SignalState.INSTALLED if status_ok and hook else SignalState.MISSING,
                       hook)


class ShapeError(ValueError):
    """A key the signals go into has another shape: the file is left alone."""


def put_in(settings: dict[str, Any], commands: SignalCommands, saved: Saved) -> None:
    """The hook (once, beside the user's own) and the wrapper around the user's status
    line; a status line in another form than a command object is left as it is."""
    if settings.get("hooks") is None:
        settings["hooks"] = {}
    hooks = settings["hooks"]
    if not isinstance(hooks, dict):
        raise ShapeError("hooks is not an object")
    if hooks.get(EVENT) is None:
        hooks[EVENT] = []
    entries = hooks[EVENT]
    if not isinstance(entries, list):
        raise ShapeError(f"hooks.{EVENT} is not a list")
    hook, prefix = commands.stop_failure, commands.status_line
    present = [h for e in entries if isinstance(e, dict) and isinstance(e.get("hooks"), list)
               for h in e["hooks"] if isinstance(h, dict) and ours(h.get("command"), hook)]
    if [h.get("command") for h in present] != [hook]:
        drop_hooks(settings, hook)
        settings.setdefault("hooks", {}).setdefault(EVENT, []).append(
            {"hooks": [{"type": "command", "command": hook}]})
    line = settings.get("statusLine")
    if line is None or isinstance(line, dict):  # any other form is left as it is
        line = dict(line or {})
        command = line.get("command")
        if ours(command, prefix):
            user_line = theirs(str(command), prefix, saved)
        else:
            user_line = command if isinstance(command, str) and command.strip() else None
        settings["statusLine"] = {**line, "type": "command",
                                  "command": wrapper(prefix, user_line)}


def drop_hooks(settings: dict[str, Any], hook: str) -> bool:
    """Every StopFailure hook of ours out; entries and keys left empty by that go too."""
    hooks = settings.get("hooks")
    entries = hooks.get(EVENT) if isinstance(hooks, dict) else None
    if not isinstance(hooks, dict) or not isinstance(entries, list):
        return False
    kept = []
    for entry in entries:
        inner = entry.get("hooks") if isinstance(entry, dict) else None
        if not isinstance(inner, list):
            kept.append(entry)
            continue
        mine = [h for h in inner if isinstance(h, dict) and ours(h.get("command"), hook)]
        if not mine:
            kept.append(entry)
        elif len(mine) < len(inner):
            kept.append({**entry, "hooks": [h for h in inner if h not in mine]})
    if kept == entries:
        return False
    if kept:
        hooks[EVENT] = kept
    else:
        del hooks[EVENT]
    if not hooks:
        del settings["hooks"]
    return True


def take_out(settings: dict[str, Any], commands: SignalCommands, saved: Saved) -> bool:
    """Our hook out, and the user's own status line back (or none, when there was none)."""
    changed = drop_hooks(settings, commands.stop_failure)
    prefix = commands.status_line
    line = settings.get("statusLine")
    if isinstance(line, dict) and ours(line.get("command"), prefix):
        user_line = theirs(str(line["command"]), prefix, saved)
        rest = {k: v for k, v in line.items() if k not in ("type", "command")}
        if user_line is not None:
            settings["statusLine"] = {**line, "command": user_line}
        elif rest:
            settings["statusLine"] = rest
        else:
            del settings["statusLine"]
        changed = True
    return changed
