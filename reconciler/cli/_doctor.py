"""``reconcile doctor``: is everything in place for failover to work here?

Which ``claude`` the launch command runs (its path, its version, an npm or a native
install) and whether that version is inside the tested release range; whether a login
shell finds it (a pane's shell types the launch line); per account home: logged in (the
token's expiry, never its value), first run done, the dedicated projects trusted, the
bypass disclaimer accepted where the launch command asks for it, the limit signals
installed, and hook events in its settings that a supported release does not know (an
older release stops at a settings dialog on them). Each problem says the command that
fixes it. Exit 0 healthy, 1 not; ``--json`` for programs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reconciler.claudecode import (
    HOOK_EVENTS,
    NEWEST_TESTED,
    OLDEST_SUPPORTED,
    RELEASES,
    release_key,
)
from reconciler.cli._launcher import claude_word, login_shell_finds
from reconciler.cli._text import short
from reconciler.cli._ui import EXIT_ERROR, EXIT_OK, Ui, desired_path, state_dir
from reconciler.desired import DesiredState, load_desired
from reconciler.observe import observe_account, signal_commands
from reconciler.signals import SignalState
from reconciler.statedir import StateDir, read_regular

_VERSION = re.compile(r"\b(\d+\.\d+\.\d+)\b")
BYPASS_FLAG = "--dangerously-skip-permissions"


@dataclass(frozen=True)
class Check:
    subject: str
    """``claude`` or ``account NAME``."""
    ok: bool | None
    """True fine, False will not work, None a warning (works, worth knowing)."""
    says: str
    fix: str = ""


def _words(ok: bool | None) -> str:
    return {True: "ok", False: "FAIL", None: "warn"}[ok]


def _version_of(binary: str) -> tuple[str | None, str]:
    """(version, what ``--version`` said), without updating anything."""
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True,
                              timeout=30, check=False, stdin=subprocess.DEVNULL,
                              env={**os.environ, "DISABLE_AUTOUPDATER": "1"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    found = _VERSION.search(done.stdout)
    return (found.group(1) if found else None), (done.stdout or done.stderr).strip()[:200]


def install_kind(real: str) -> str:
    if "/node_modules/@anthropic-ai/claude-code" in real:
        return "npm"
    if "/claude/versions/" in real or "/.local/share/claude/" in real:
        return "native"
    return "unknown"


def claude_checks(desired: DesiredState, *, run: bool) -> tuple[list[Check], str | None]:
    """The CLI the launch command runs; and its version, when it could be asked."""
    word = claude_word(desired.launch.command)
    found = shutil.which(word) if "/" not in word else (word if Path(word).exists() else None)
    checks: list[Check] = []
    if found is None:
        return [Check("claude", False, f"{word!r} (launch.command) is not found on this PATH",
                      "install Claude Code (npm install -g @anthropic-ai/claude-code, or the "
                      "native installer) or give launch.command its full path")], None
    real = os.path.realpath(found)
    kind = install_kind(real)
    checks.append(Check("claude", True, f"launch.command runs {found} ({kind} install"
                        + (f": {real}" if real != found else "") + ")"))
    shell_finds = login_shell_finds(word)
    if shell_finds is False:
        checks.append(Check("claude", False, f"a login shell ($SHELL -l, what a tmux pane "
                            f"starts) does not find {word!r}: panes would say 'command not "
                            "found'", f"add its directory ({Path(found).parent}) to PATH in "
                            "~/.profile, or give launch.command the full path"))
    if not run:
        return checks, None
    version, said = _version_of(found)
    if version is None:
        checks.append(Check("claude", False, f"`{found} --version` said {said!r}",
                            "run it by hand to see why it does not start"))
        return checks, None
    if release_key(version) < release_key(OLDEST_SUPPORTED):
        checks.append(Check("claude", False, f"version {version} is older than the oldest "
                            f"supported release {OLDEST_SUPPORTED}", "update Claude Code "
                            "(claude update, or npm install -g @anthropic-ai/claude-code)"))
    elif release_key(version) > release_key(NEWEST_TESTED):
        checks.append(Check("claude", None, f"version {version} is newer than the newest "
                            f"tested release {NEWEST_TESTED}: failover reads Claude's fields "
                            "first, so it should hold; docs/CLAUDE_FACTS.md lists what it "
                            "relies on"))
    else:
        checks.append(Check("claude", True, f"version {version}, inside the tested range "
                            f"{OLDEST_SUPPORTED} .. {NEWEST_TESTED}"))
    return checks, version


def _credentials(home: Path, now: float) -> Check | None:
    """The login's expiry, from ``claudeAiOauth.expiresAt`` (ms); the token is never read
    into anything that is shown or kept."""
    try:
        raw = json.loads(read_regular(home / ".credentials.json", 1 << 20))
    except (OSError, ValueError, RecursionError):
        return None
    oauth = raw.get("claudeAiOauth") if isinstance(raw, dict) else None
    expires = oauth.get("expiresAt") if isinstance(oauth, dict) else None
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        return None
    if not (isinstance(oauth, dict) and oauth.get("accessToken")):
        return Check("", False, "its stored login is empty (logged out)",
                     f"CLAUDE_CONFIG_DIR={home} claude, then /login")
    if expires / 1000 <= now:
        return Check("", None, "its access token has expired: Claude refreshes it at its next "
                     "start; the reconciler never does")
    return None


def _hook_events(settings: Any) -> set[str]:
    hooks = settings.get("hooks") if isinstance(settings, dict) else None
    return {str(k) for k in hooks} if isinstance(hooks, dict) else set()


def account_checks(desired: DesiredState, state: StateDir, version: str | None) -> list[Check]:
    now = time.time()
    commands = signal_commands(desired, state)
    bypass = BYPASS_FLAG in desired.launch.command
    checks: list[Check] = []
    for account in desired.accounts:
        subject, home = f"account {account.name}", account.home
        if not home.is_dir():
            checks.append(Check(subject, False, f"{home} does not exist",
                                f"mkdir -p {home}; CLAUDE_CONFIG_DIR={home} claude, then /login"))
            continue
        fact = observe_account(account.name, home, commands, dict(desired.launch.env))
        found: list[Check] = []
        if not fact.logged_in:
            found.append(Check(subject, False, "not logged in (no .credentials.json)",
                               f"CLAUDE_CONFIG_DIR={home} claude, then /login"))
        elif (login := _credentials(home, now)) is not None:
            found.append(Check(subject, login.ok, login.says, login.fix))
        if not fact.onboarded:
            found.append(Check(subject, False, "Claude's first run is not done there (no "
                               "hasCompletedOnboarding): a resumed Claude would stop at it",
                               f"CLAUDE_CONFIG_DIR={home} claude (once, to the prompt)"))
        untrusted = [str(d.project) for d in desired.dedicated if not d.trust and not any(
            str(d.project) == t or str(d.project).startswith(t.rstrip("/") + "/")
            for t in fact.trusted)]
        if untrusted:
            found.append(Check(subject, None, f"has not trusted {', '.join(untrusted)}: the "
                               "reconciler carries trust from another account before a move, "
                               "or set trust: true on the session"))
        if bypass and not fact.bypass_accepted:
            found.append(Check(subject, None, "has not accepted the bypass-permissions "
                               "disclaimer: it is carried from another account before a move"))
        if commands is not None and fact.signals.state is not SignalState.INSTALLED:
            found.append(Check(subject, False, f"limit signals are {fact.signals}: failover "
                               "hears of a limit only from pane text there",
                               "reconcile apply (installs them)"))
        found += _settings_checks(subject, home, version)
        checks += found or [Check(subject, True, f"ready ({home})")]
    return checks


def _known_for(version: str) -> frozenset[str]:
    """The hook events of the newest tested release not newer than ``version`` (a newer
    release knows at least those; one older than the oldest is taken as the oldest)."""
    tested = sorted(HOOK_EVENTS, key=release_key)
    fitting = [v for v in tested if release_key(v) <= release_key(version)]
    return HOOK_EVENTS[fitting[-1] if fitting else tested[0]]


def _settings_checks(subject: str, home: Path, version: str | None) -> list[Check]:
    """Hook events a release does not know stop it at a settings dialog: the running
    one's (a failure), the oldest supported one's (a warning: a Claude of that release
    using this home would stop)."""
    try:
        settings = json.loads(read_regular(home / "settings.json", 1 << 24))
    except (OSError, ValueError, RecursionError):
        return []
    events = _hook_events(settings)
    fix = (f"remove them from {home / 'settings.json'}, or update Claude Code everywhere "
           "this home is used")
    checks = []
    unknown = sorted(events - _known_for(version)) if version is not None else []
    if unknown:
        checks.append(Check(subject, False, f"settings.json has hook events Claude Code "
                            f"{version} does not know ({', '.join(unknown)}): it stops at a "
                            "settings dialog", fix))
    older = sorted(events - HOOK_EVENTS[OLDEST_SUPPORTED] - set(unknown))
    if older:
        checks.append(Check(subject, None, f"settings.json has hook events the oldest "
                            f"supported release {OLDEST_SUPPORTED} does not know "
                            f"({', '.join(older)}): a Claude of that release would stop at a "
                            "settings dialog", fix))
    return checks


def doctor(args: argparse.Namespace, ui: Ui) -> int:
    desired = load_desired(desired_path(args))
    state = StateDir(state_dir(args))
    checks, version = claude_checks(desired, run=not getattr(args, "no_run", False))
    checks += account_checks(desired, state, version)
    for check in checks:
        ui.say(short(f"{_words(check.ok):>4}  {check.subject}: {check.says}"))
        if check.fix and check.ok is not True:
            ui.say(short(f"      fix: {check.fix}"))
    healthy = not any(c.ok is False for c in checks)
    ui.say("healthy" if healthy else "not healthy: see FAIL above")
    ui.document({"ok": healthy, "claude_version": version, "tested": RELEASES,
                 "checks": [asdict(c) for c in checks]})
    return EXIT_OK if healthy else EXIT_ERROR
