"""What each account home can take: is it logged in, which projects has it trusted,
has it accepted the bypass-permissions disclaimer, are the reconciler's signals in its
``settings.json``. A Claude is moved only to a home that can take it, so a resume never
strands at a login, trust or disclaimer prompt.

``.claude.json`` can be large; it is parsed again only when its size or mtime changes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from reconciler.signals import SignalCommands, SignalsFact, state_of
from reconciler.statedir import FileIdentity, file_identity, read_regular

MAX_JSON = 1 << 24
"""A config file larger than this is taken as broken, not read into memory."""

AUTH_ENV = ("CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
"""A Claude started with one of these does not need the home's stored login."""


@dataclass(frozen=True)
class AccountFact:
    name: str
    logged_in: bool
    """Credentials stored in the home (``.credentials.json``), or a token in the launch
    environment."""
    trusted: frozenset[str]
    """Project directories whose trust prompt this account has accepted."""
    bypass_accepted: bool
    """``skipDangerousModePermissionPrompt`` (or the older ``bypassPermissionsModeAccepted``)."""
    signals: SignalsFact
    """Are Claude's limit signals in its ``settings.json`` (``reconciler.signals`` says)."""
    onboarded: bool = True
    """``hasCompletedOnboarding`` in the home's ``.claude.json``: without it Claude starts
    its first-run screens instead of resuming."""


@lru_cache(maxsize=64)
def _load(path: str, _stamp: FileIdentity) -> Any:
    try:
        return json.loads(read_regular(path, MAX_JSON))
    except (OSError, ValueError, RecursionError):
        return None


def read_json_cached(path: Path) -> Any:
    """The parsed file (None when missing or broken), parsed again only when it changed."""
    identity = file_identity(path)
    return None if identity is None else _load(str(path), identity)


def observe_account(name: str, home: Path, commands: SignalCommands | None,
                    launch_env: dict[str, str]) -> AccountFact:
    config = read_json_cached(home / ".claude.json")
    settings_path = home / "settings.json"
    settings = read_json_cached(settings_path)
    projects = config.get("projects") if isinstance(config, dict) else None
    trusted = frozenset(
        str(d) for d, p in (projects.items() if isinstance(projects, dict) else ())
        if isinstance(p, dict) and p.get("hasTrustDialogAccepted") is True)
    bypass = (isinstance(settings, dict) and settings.get("skipDangerousModePermissionPrompt")
              is True) or (isinstance(config, dict)
                           and config.get("bypassPermissionsModeAccepted") is True)
    credentials = home / ".credentials.json"
    logged_in = (credentials.is_file() and credentials.stat().st_size > 2) or any(
        launch_env.get(k) or os.environ.get(k) for k in AUTH_ENV)
    onboarded = isinstance(config, dict) and config.get("hasCompletedOnboarding") is True
    signals = state_of(settings_path.exists(), settings, commands)
    return AccountFact(name, bool(logged_in), trusted, bool(bypass), signals, onboarded)
