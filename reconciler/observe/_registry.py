"""Claude's own registry: ``sessions/<pid>.json`` and transcripts under ``projects/``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from reconciler.claudecode import UUID_RE, sessions_dir, transcript_dir
from reconciler.desired import DesiredState
from reconciler.observe._model import StaleSession


def _load(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def session_file(home: Path, pid: int) -> dict[str, Any] | None:
    return _load(sessions_dir(home) / f"{pid}.json")


def account_of(desired: DesiredState, config_dir: str | None) -> str | None:
    """The account whose home is ``config_dir`` (symlinks resolved on both sides)."""
    if not config_dir:
        return None
    real = os.path.realpath(config_dir)
    for account in desired.accounts:
        if os.path.realpath(account.home) == real:
            return account.name
    return None


def _homes(desired: DesiredState) -> list[Path]:
    """Account homes, each real directory once."""
    seen: set[str] = set()
    homes = []
    for account in desired.accounts:
        real = os.path.realpath(account.home)
        if real not in seen:
            seen.add(real)
            homes.append(account.home)
    return homes


def stale_sessions(desired: DesiredState) -> dict[int, StaleSession]:
    """Session files whose process is gone: a Claude killed before it could clean up."""
    stale: dict[int, StaleSession] = {}
    for home in _homes(desired):
        try:
            entries = list(os.scandir(sessions_dir(home)))
        except OSError:
            continue
        for entry in entries:
            stem = entry.name.removesuffix(".json")
            if not stem.isdigit() or stem == entry.name or Path(f"/proc/{stem}").exists():
                continue
            raw = _load(Path(entry.path))
            if raw and isinstance(raw.get("sessionId"), str):
                pid = int(stem)
                stale[pid] = StaleSession(pid, raw["sessionId"], str(raw.get("cwd", "")))
    return stale


def transcripts(desired: DesiredState, cwds: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Session ids with a transcript for each cwd, newest first, across homes and shared."""
    roots = [*_homes(desired), desired.shared.dir]
    found: dict[str, tuple[str, ...]] = {}
    for cwd in {c for c in cwds if c}:
        seen: set[str] = set()
        stamped: dict[str, float] = {}
        for root in roots:
            folder = transcript_dir(root, cwd)
            real = os.path.realpath(folder)
            if real in seen:
                continue
            seen.add(real)
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                stem = entry.name.removesuffix(".jsonl")
                if stem != entry.name and UUID_RE.match(stem):
                    try:
                        mtime = entry.stat().st_mtime
                    except OSError:
                        continue
                    stamped[stem.lower()] = max(mtime, stamped.get(stem.lower(), 0.0))
        if stamped:
            found[cwd] = tuple(sorted(stamped, key=lambda s: -stamped[s]))
    return found
