"""Executors that write into Claude's own config files, key by key (see ``_json_file``:
every other key, the layout, the mode and a symlink are kept, under Claude's lock).

* InstallSignals: the StopFailure hook and the status-line wrapper in ``settings.json``
  (what goes in, and how, is ``reconciler.signals``'s; the hands write it), and the two
  scripts they run into the state dir. ``reconcile signals remove`` gives the user's
  settings back exactly.
* CarryAcceptances: project trust in ``.claude.json``, the bypass disclaimer in
  ``settings.json``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.apply._context import ExecContext, Outcome, each
from reconciler.apply._errors import ActionError
from reconciler.apply._json_file import claude_lock, edit_json
from reconciler.claudecode import project_slug
from reconciler.plan import CarryAcceptances, InstallSignals
from reconciler.signals import ShapeError, SignalCommands, SignalDir, put_in, take_out
from reconciler.statedir import StateDir, UnsafeStateError, read_regular, write_atomic


def install_scripts(state: StateDir) -> None:
    """The two scripts the signals run, by absolute path (hooks run in the pane's login
    shell, whose PATH may not hold the reconciler); never written through a link."""
    try:
        SignalDir(state.root).install_scripts()
    except UnsafeStateError as exc:
        raise ActionError(f"{exc}; the reconciler never writes the scripts Claude runs "
                          "through one") from None


def _slug(settings: Path) -> str:
    """How the state dir names its records about one settings file (its real path)."""
    return project_slug(settings.resolve())


def _read_bytes(path: Path) -> bytes | None:
    try:
        return read_regular(path.resolve())
    except OSError:
        return None


def _remember_original(state: SignalDir, settings: Path, before: bytes | None,
                       commands: tuple[str, str]) -> None:
    """The settings' bytes before the signals first went in, and a digest of what we
    wrote: while the file stays as we left it, removal gives those bytes back exactly
    (inline arrays, CRLF, number spellings, empty keys and all)."""
    after = _read_bytes(settings)
    if before is None or after is None:
        return
    if any(c.encode() in before for c in commands):  # not the user's own: keep the first
        saved = state.read_original(_slug(settings))
        if saved is not None:
            saved["written"] = hashlib.sha256(after).hexdigest() if saved.get(
                "written") == hashlib.sha256(before).hexdigest() else None
            state.write_original(_slug(settings), saved)
        return
    state.write_original(_slug(settings), {
        "original": before.decode("utf-8", errors="surrogateescape"),
        "written": hashlib.sha256(after).hexdigest()})


def _restore_exactly(state: SignalDir, settings: Path) -> bool:
    """The user's own bytes back, when the file is still exactly what we wrote."""
    saved = state.read_original(_slug(settings))
    if saved is None or "original" not in saved:
        return False  # none, or not one we can trust (a link is never read)
    state.forget_original(_slug(settings))
    current = _read_bytes(settings)
    if current is None or saved.get("written") != hashlib.sha256(current).hexdigest():
        return False  # changed since (by the user, or Claude): taken apart key by key
    real = settings.resolve()
    with claude_lock(real):
        write_atomic(real, str(saved["original"]).encode("utf-8", errors="surrogateescape"),
                     mode=real.stat().st_mode & 0o7777)
    return True


def install_signals(action: InstallSignals, state: StateDir) -> bool:
    install_scripts(state)
    spool = SignalDir(state.root)
    commands = SignalCommands(action.stop_failure, action.status_line)
    if not action.settings.exists():
        spool.mark_created(_slug(action.settings))
    before = _read_bytes(action.settings)
    shape = ""

    def change(settings: dict[str, Any]) -> bool:
        nonlocal shape
        shape = json.dumps(settings, sort_keys=True)
        try:
            put_in(settings, commands, spool.read_user_statusline)
        except ShapeError as exc:
            raise ActionError(f"{action.settings}: {exc}; left alone") from None
        return json.dumps(settings, sort_keys=True) != shape

    changed = edit_json(action.settings, change)
    if changed:
        _remember_original(spool, action.settings, before, (commands.stop_failure,
                                                           commands.status_line))
    return changed


def remove_signals(settings_path: Path, state: StateDir, commands: SignalCommands) -> bool:
    """Take the signals out of a settings file and give back the user's own status line
    (or none, when there was none); a file the signals created, left empty, goes."""
    if not settings_path.exists():
        return False
    spool = SignalDir(state.root)
    slug = _slug(settings_path)
    if not spool.was_created(slug) and _restore_exactly(spool, settings_path):
        return True
    emptied = False

    def change(settings: dict[str, Any]) -> bool:
        nonlocal emptied
        try:
            changed = take_out(settings, commands, spool.read_user_statusline)
        except ShapeError as exc:
            raise ActionError(f"{settings_path}: {exc}; left alone") from None
        emptied = not settings
        return changed

    changed = edit_json(settings_path, change)
    if emptied and spool.was_created(slug):
        settings_path.resolve().unlink()  # our own creation, now "{}": nothing of theirs
        spool.forget_created(slug)
    return changed


# -- acceptances ---------------------------------------------------------------------------

def carry_acceptances(action: CarryAcceptances) -> bool:
    changed = False
    if action.trust:
        def trust(config: dict[str, Any]) -> bool:
            projects = config.setdefault("projects", {})
            if not isinstance(projects, dict):
                raise ActionError(f"{action.config}: projects is not an object; left alone")
            done = False
            for directory in action.trust:
                entry = projects.setdefault(directory, {})
                if isinstance(entry, dict) and entry.get("hasTrustDialogAccepted") is not True:
                    entry["hasTrustDialogAccepted"] = True
                    done = True
            return done

        changed |= edit_json(action.config, trust)
    if action.bypass:
        def bypass(settings: dict[str, Any]) -> bool:
            if settings.get("skipDangerousModePermissionPrompt") is True:
                return False
            settings["skipDangerousModePermissionPrompt"] = True
            return True

        changed |= edit_json(action.settings, bypass)
    return changed



def install_signals_batch(batch: Sequence[InstallSignals],
                          ctx: ExecContext) -> dict[str, Outcome]:
    def one(action: InstallSignals) -> bool:
        return install_signals(action, ctx.state)

    return each(one)(batch, ctx)
