"""Executors that write into Claude's own config files, key by key.

Both files are Claude's: every other key is kept, the file keeps its mode, the write
is atomic, and it happens under Claude's own lock (``<file>.lock``, a directory, the
way proper-lockfile makes it), so a Claude writing at the same moment waits for us or
we for it. A file that is not valid JSON is left alone and reported.

* InstallSignals: the StopFailure hook and the status-line wrapper in ``settings.json``
  (and the two small scripts they run, in the state dir). The user's own status line
  is saved and run by the wrapper, and given back by ``reconcile signals remove``.
* CarryAcceptances: project trust in ``.claude.json``, the bypass disclaimer in
  ``settings.json``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from reconciler.apply._context import ExecContext, Outcome, each
from reconciler.apply._errors import ActionError, TransientError
from reconciler.plan import CarryAcceptances, InstallSignals
from reconciler.statedir import StateDir, write_atomic

LOCK_STALE = 10.0
LOCK_WAIT = 5.0

STOP_FAILURE = """\
#!/bin/sh
# reconciler: Claude's StopFailure hook for account $1. Spools the event (Claude's JSON)
# for the reconciler's service, which reads it within a second. Always exits 0.
dir={events}
umask 077
mkdir -p "$dir" 2>/dev/null || exit 0
tmp="$dir/.$$.tmp"
{{ printf '{{"account": "%s", "event": ' "$1"; cat; printf '}}\\n'; }} > "$tmp" 2>/dev/null \\
  && mv -f "$tmp" "$dir/$(date +%s%N)-$$.json"
exit 0
"""

STATUS_LINE = """\
#!/bin/sh
# reconciler: the status line of account $1. Keeps the JSON Claude gives it (its rate
# limits say how close the account is to its limit), one file per Claude ($PPID), then
# runs the user's own status line, if there is one, with that same input: it prints
# exactly what that prints.
dir={status}"/$1"
user={user}"/$1.sh"
umask 077
mkdir -p "$dir" 2>/dev/null
tmp="$dir/.$$.tmp"
cat > "$tmp" 2>/dev/null || tmp=/dev/null
code=0
if [ -f "$user" ]; then /bin/sh "$user" < "$tmp"; code=$?; fi
[ "$tmp" = /dev/null ] || mv -f "$tmp" "$dir/$PPID.json"
exit $code
"""


@contextlib.contextmanager
def claude_lock(path: Path) -> Iterator[None]:
    """Claude's lock on ``path``: the directory ``<realpath>.lock``; one older than 10 s
    is stale (its holder died), as proper-lockfile decides."""
    lock = Path(str(path.resolve()) + ".lock")
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            lock.mkdir()
            break
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - lock.stat().st_mtime > LOCK_STALE:
                    lock.rmdir()
                    continue
            if time.monotonic() > deadline:
                raise TransientError(f"{path} is locked by Claude ({lock})") from None
            time.sleep(0.05)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.rmdir()


def merge_json(path: Path, change: Callable[[dict[str, Any]], bool], mode: int = 0o600) -> bool:
    """Read, change and write back a JSON object file under Claude's lock; True when
    ``change`` changed something. A broken file is an error, and left as it is."""
    with claude_lock(path):
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            current = {}
        except (OSError, ValueError) as exc:
            raise ActionError(f"{path} is not readable JSON ({exc}); left alone") from exc
        if not isinstance(current, dict):
            raise ActionError(f"{path} is not a JSON object; left alone")
        if not change(current):
            return False
        write_atomic(path, (json.dumps(current, indent=2) + "\n").encode(), mode=mode)
        return True


# -- signals -----------------------------------------------------------------------------

def install_scripts(state: StateDir) -> None:
    """The two scripts the signals run, by absolute path (hooks run in the pane's login
    shell, whose PATH may not hold the reconciler)."""
    root = state.signals_dir.absolute()
    bin_dir = root / "bin"
    for name, text in (("stop-failure", STOP_FAILURE.format(events=_q(root / "events"))),
                       ("statusline", STATUS_LINE.format(status=_q(root / "status"),
                                                         user=_q(root / "user-statusline")))):
        path = bin_dir / name
        with contextlib.suppress(OSError):
            if path.read_text() == text:
                continue
        write_atomic(path, text.encode(), mode=0o700)


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "'\"'\"'") + "'"


def install_signals(action: InstallSignals, state: StateDir) -> bool:
    install_scripts(state)
    saved = state.signals_dir / "user-statusline"

    def change(settings: dict[str, Any]) -> bool:
        changed = False
        hooks = settings.setdefault("hooks", {})
        if not isinstance(hooks, dict):
            raise ActionError(f"{action.settings}: hooks is not an object; left alone")
        entries = hooks.setdefault("StopFailure", [])
        if not isinstance(entries, list):
            raise ActionError(f"{action.settings}: hooks.StopFailure is not a list; left alone")
        if not any(isinstance(h, dict) and h.get("command") == action.stop_failure
                   for e in entries if isinstance(e, dict) for h in e.get("hooks") or []):
            entries.append({"hooks": [{"type": "command", "command": action.stop_failure}]})
            changed = True
        line = settings.get("statusLine")
        if not (isinstance(line, dict) and line.get("command") == action.status_line):
            if isinstance(line, dict) and isinstance(line.get("command"), str):
                write_atomic(saved / f"{action.account}.json", json.dumps(line).encode())
                write_atomic(saved / f"{action.account}.sh", (line["command"] + "\n").encode(),
                             mode=0o700)
            base = dict(line) if isinstance(line, dict) else {}
            settings["statusLine"] = {**base, "type": "command", "command": action.status_line}
            changed = True
        return changed

    return merge_json(action.settings, change)


def remove_signals(settings_path: Path, account: str, state: StateDir,
                   commands: tuple[str, str]) -> bool:
    """Take the signals out of an account's settings and give back the user's own
    status line (or none, when there was none)."""
    stop_failure, status_line = commands
    saved = state.signals_dir / "user-statusline" / f"{account}.json"

    def change(settings: dict[str, Any]) -> bool:
        changed = False
        hooks = settings.get("hooks")
        entries = hooks.get("StopFailure") if isinstance(hooks, dict) else None
        if isinstance(hooks, dict) and isinstance(entries, list):
            kept = [e for e in entries if not (isinstance(e, dict) and any(
                isinstance(h, dict) and h.get("command") == stop_failure
                for h in e.get("hooks") or []))]
            if kept != entries:
                changed = True
                if kept:
                    hooks["StopFailure"] = kept
                else:
                    del hooks["StopFailure"]
                if not hooks:
                    del settings["hooks"]
        line = settings.get("statusLine")
        if isinstance(line, dict) and line.get("command") == status_line:
            try:
                settings["statusLine"] = json.loads(saved.read_text())
            except (OSError, ValueError):
                del settings["statusLine"]
            changed = True
        return changed

    if not settings_path.exists():
        return False
    changed = merge_json(settings_path, change)
    for path in (saved, saved.with_suffix(".sh")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
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

        changed |= merge_json(action.config, trust)
    if action.bypass:
        def bypass(settings: dict[str, Any]) -> bool:
            if settings.get("skipDangerousModePermissionPrompt") is True:
                return False
            settings["skipDangerousModePermissionPrompt"] = True
            return True

        changed |= merge_json(action.settings, bypass)
    return changed



def install_signals_batch(batch: Sequence[InstallSignals],
                          ctx: ExecContext) -> dict[str, Outcome]:
    def one(action: InstallSignals) -> bool:
        return install_signals(action, ctx.state)

    return each(one)(batch, ctx)
