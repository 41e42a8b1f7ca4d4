"""Executors that write into Claude's own config files, key by key (see ``_json_file``:
every other key, the layout, the mode and a symlink are kept, under Claude's lock).

* InstallSignals: the StopFailure hook and the status-line wrapper in ``settings.json``
  (and the two small scripts they run, in the state dir). Both commands are the same in
  every home: the scripts tell the homes apart by ``CLAUDE_CONFIG_DIR``, so one settings
  file linked into two homes is right for both. The user's own status line is carried
  inside the wrapper's command (``statusline -- '<theirs>'``), run with the same input,
  and given back exactly by ``reconcile signals remove``.
* CarryAcceptances: project trust in ``.claude.json``, the bypass disclaimer in
  ``settings.json``.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconciler.apply._context import ExecContext, Outcome, each
from reconciler.apply._errors import ActionError
from reconciler.apply._json_file import claude_lock, edit_json
from reconciler.claudecode import project_slug
from reconciler.plan import CarryAcceptances, InstallSignals
from reconciler.statedir import StateDir, UnsafeStateError, read_regular, write_atomic

_HOME = """\
home=$(cd "${{CLAUDE_CONFIG_DIR:-$HOME/.claude}}" 2>/dev/null && pwd -P) || home=unknown
key=$(printf '%s' "$home" | tr -c 'A-Za-z0-9' '-')
"""

STOP_FAILURE = """\
#!/bin/sh
# reconciler: Claude's StopFailure hook. Spools the event (Claude's JSON), the home it
# came from and when, for the reconciler's service, which reads it within a second.
# Always exits 0.
""" + _HOME + """\
dir={events}
umask 077
mkdir -p "$dir" 2>/dev/null || exit 0
tmp="$dir/.$$.tmp"
{{ printf '{{"home": "%s", "time": %s, "event": ' "$key" "$(date +%s)"; cat; printf '}}\\n'; \
}} > "$tmp" 2>/dev/null && mv -f "$tmp" "$dir/$(date +%s%N)-$$.json"
exit 0
"""

STATUS_LINE = """\
#!/bin/sh
# reconciler: Claude's status line. Keeps the JSON Claude gives it (its rate limits say
# how close the account is to its limit), one file per session, then runs the user's own
# status line ("$2" after --), if there is one, with that same input: it prints exactly
# what that prints.
""" + _HOME + """\
dir={status}/"$key"
umask 077
mkdir -p "$dir" 2>/dev/null
tmp="$dir/.$$.tmp"
cat > "$tmp" 2>/dev/null || tmp=/dev/null
code=0
if [ "$1" = "--" ] && [ -n "$2" ]; then /bin/sh -c "$2" < "$tmp"; code=$?; fi
if [ "$tmp" != /dev/null ]; then
  id=$(sed -n 's/.*"session_id"[[:space:]]*:[[:space:]]*"\\([0-9A-Za-z-]\\{{1,64\\}}\\)".*/\\1/p' \
    "$tmp" | head -n 1)
  mv -f "$tmp" "$dir/${{id:-$PPID}}.json"
fi
exit $code
"""


def install_scripts(state: StateDir) -> None:
    """The two scripts the signals run, by absolute path (hooks run in the pane's login
    shell, whose PATH may not hold the reconciler); never written through a link."""
    try:
        state.install_signal_scripts(
            STOP_FAILURE.format(events=_q(state.events_dir().absolute())),
            STATUS_LINE.format(status=_q(state.status_dir.absolute())))
    except UnsafeStateError as exc:
        raise ActionError(f"{exc}; the reconciler never writes the scripts Claude runs "
                          "through one") from None


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def _ours(command: object, prefix: str) -> bool:
    return isinstance(command, str) and (command == prefix or command.startswith(prefix + " "))


def _theirs(command: str, prefix: str, state: StateDir) -> str | None:
    """The user's status line inside our wrapper's command; an older wrapper named its
    account instead, and saved the user's line in the state dir."""
    words = shlex.split(command[len(prefix):])
    if words[:1] == ["--"]:
        return words[1] if len(words) > 1 else None
    if len(words) == 1:
        return state.read_user_statusline(words[0])
    return None


def _wrapper(prefix: str, theirs: str | None) -> str:
    return f"{prefix} -- {shlex.quote(theirs)}" if theirs else prefix


def _slug(settings: Path) -> str:
    """How the state dir names its records about one settings file (its real path)."""
    return project_slug(settings.resolve())


def _read_bytes(path: Path) -> bytes | None:
    try:
        return read_regular(path.resolve())
    except OSError:
        return None


def _remember_original(state: StateDir, settings: Path, before: bytes | None,
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


def _restore_exactly(state: StateDir, settings: Path) -> bool:
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
    hook, prefix = action.stop_failure, action.status_line
    if not action.settings.exists():
        state.mark_created(_slug(action.settings))
    before = _read_bytes(action.settings)

    def change(settings: dict[str, Any]) -> bool:
        if settings.get("hooks") is None:
            settings["hooks"] = {}
        hooks = settings["hooks"]
        if not isinstance(hooks, dict):
            raise ActionError(f"{action.settings}: hooks is not an object; left alone")
        if hooks.get("StopFailure") is None:
            hooks["StopFailure"] = []
        entries = hooks["StopFailure"]
        if not isinstance(entries, list):
            raise ActionError(f"{action.settings}: hooks.StopFailure is not a list; left alone")
        present = [h for e in entries if isinstance(e, dict) for h in e.get("hooks") or []
                   if isinstance(h, dict) and _ours(h.get("command"), hook)]
        if [h.get("command") for h in present] != [hook]:
            _drop_hooks(settings, hook)
            settings.setdefault("hooks", {}).setdefault("StopFailure", []).append(
                {"hooks": [{"type": "command", "command": hook}]})
        line = settings.get("statusLine")
        if line is None or isinstance(line, dict):  # any other form is left as it is
            line = dict(line or {})
            command = line.get("command")
            if _ours(command, prefix):
                theirs = _theirs(str(command), prefix, state)
            else:
                theirs = command if isinstance(command, str) and command.strip() else None
            settings["statusLine"] = {**line, "type": "command",
                                      "command": _wrapper(prefix, theirs)}
        return json.dumps(settings, sort_keys=True) != shape

    shape = ""

    def remembered(settings: dict[str, Any]) -> bool:
        nonlocal shape
        shape = json.dumps(settings, sort_keys=True)
        return change(settings)

    changed = edit_json(action.settings, remembered)
    if changed:
        _remember_original(state, action.settings, before, (hook, prefix))
    return changed


def _drop_hooks(settings: dict[str, Any], hook: str) -> bool:
    """Every StopFailure hook of ours out; entries and keys left empty by that go too."""
    hooks = settings.get("hooks")
    entries = hooks.get("StopFailure") if isinstance(hooks, dict) else None
    if not isinstance(hooks, dict) or not isinstance(entries, list):
        return False
    kept = []
    for entry in entries:
        inner = entry.get("hooks") if isinstance(entry, dict) else None
        if not isinstance(inner, list):
            kept.append(entry)
            continue
        mine = [h for h in inner if isinstance(h, dict) and _ours(h.get("command"), hook)]
        if not mine:
            kept.append(entry)
        elif len(mine) < len(inner):
            kept.append({**entry, "hooks": [h for h in inner if h not in mine]})
    if kept == entries:
        return False
    if kept:
        hooks["StopFailure"] = kept
    else:
        del hooks["StopFailure"]
    if not hooks:
        del settings["hooks"]
    return True


def remove_signals(settings_path: Path, state: StateDir, commands: tuple[str, str]) -> bool:
    """Take the signals out of a settings file and give back the user's own status line
    (or none, when there was none); a file the signals created, left empty, goes."""
    hook, prefix = commands
    if not settings_path.exists():
        return False
    slug = _slug(settings_path)
    if not state.was_created(slug) and _restore_exactly(state, settings_path):
        return True
    emptied = False

    def change(settings: dict[str, Any]) -> bool:
        nonlocal emptied
        changed = _drop_hooks(settings, hook)
        line = settings.get("statusLine")
        if isinstance(line, dict) and _ours(line.get("command"), prefix):
            theirs = _theirs(str(line["command"]), prefix, state)
            rest = {k: v for k, v in line.items() if k not in ("type", "command")}
            if theirs is not None:
                settings["statusLine"] = {**line, "command": theirs}
            elif rest:
                settings["statusLine"] = rest
            else:
                del settings["statusLine"]
            changed = True
        emptied = not settings
        return changed

    changed = edit_json(settings_path, change)
    if emptied and state.was_created(slug):
        settings_path.resolve().unlink()  # our own creation, now "{}": nothing of theirs
        state.forget_created(slug)
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
