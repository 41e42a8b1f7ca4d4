"""A throw-away world: temp HOME, account homes, projects, a stand-in claude, a desired
file and a private tmux socket. Shared by ``reconcile demo``, the tests and the bench,
so none of them can reach the real home, the real ``~/.claude`` or the default tmux
server."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler import tmux

STANDIN = Path(__file__).with_name("standin_claude.py")

# Variables that would let a sandboxed process reach something real: another config
# home, the user's tmux client, the user's reconciler state, a real Claude account.
_DROPPED_PREFIXES = ("CLAUDE_", "ANTHROPIC_")
_DROPPED = frozenset({"CLAUDECODE", "TMUX", "TMUX_PANE", "RECONCILER_STATE_DIR"})

# Line 4 is active_account (tests check FILE:LINE errors); tests and the swap feature
# rewrite single values in place, so every value sits on a line of its own and the
# comments must survive such edits.
DESIRED = """\
# yaml-language-server: $schema={schema}
# Sandbox desired state (reconcile demo / tests). Edit active_account to swap.
version: 1
active_account: {active}            # the swap lever
accounts:                       # ordered: first = primary
{accounts}
link: ~/.claude                 # symlink selecting the active home
shared:
  dir: ~/.claude-shared         # one copy of these, linked into every home
  entries: [projects, file-history, session-env, todos]
tmux:
  socket_name: {socket}   # private server: never the user's
pool:
  autonomous: {{prefix: ccl-auto-, start_index: 0, min: {auto_min}, max: {auto_max}}}
  dedicated:
{dedicated}
launch:
  # the stand-in by absolute path: a login shell in a pane may reset PATH, and a bare
  # `claude` must never reach a real one
  command: {claude} --dangerously-skip-permissions
  stop_timeout: 3s              # SIGTERM, wait this long, then SIGKILL
  start_timeout: 5s
service: {{interval: 1s}}
# never the real usage endpoint from a sandbox: port 9 (discard) refuses at once
failover: {{cooldown: 0s, grace: 0s, usage_url: "http://127.0.0.1:9/api/oauth/usage"}}
"""

PROFILE = """\
# Sandbox login shells (tmux panes): a bare `claude` is the stand-in, and the prompt is
# the same for every user (root's would be '# ').
PATH="{bin}:$PATH"; export PATH
PS1='$ '
"""


@dataclass(frozen=True)
class Sandbox:
    root: Path
    home: Path
    bin_dir: Path
    state_dir: Path
    desired_path: Path
    socket_name: str
    log_path: Path
    """The stand-in's launch log: one JSON line per started claude."""

    def env(self) -> dict[str, str]:
        """A full environment for subprocesses that sees only the sandbox."""
        env = {k: v for k, v in os.environ.items()
               if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)}
        env.update({
            "HOME": str(self.home),
            "PATH": f"{self.bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
            "XDG_STATE_HOME": str(self.root / "xdg-state"),
            "XDG_CONFIG_HOME": str(self.root / "xdg-config"),
            "XDG_CACHE_HOME": str(self.root / "xdg-cache"),
            "RECONCILER_DESIRED": str(self.desired_path),
            "STANDIN_CLAUDE_LOG": str(self.log_path),
            "SHELL": "/bin/sh",  # panes start a known shell, not the user's rc files
        })
        return env

    def account_home(self, name: str) -> Path:
        return self.home / f".claude-{name}"


TOKEN_PREFIX = "sk-ant-oat01-sandbox-"  # noqa: S105  (a made-up prefix, never a token)
"""A sandbox account's token: this and the account's name. Never a real token; a
loopback API stand-in tells the accounts apart by it."""


def _credentials(account: str) -> str:
    """A login as Claude stores it (``claudeAiOauth``), valid for a year: the real CLI
    refreshes a token only within minutes of its expiry, and never here."""
    expires = int((time.time() + 365 * 86400) * 1000)
    return json.dumps({"claudeAiOauth": {
        "accessToken": f"{TOKEN_PREFIX}{account}",
        "refreshToken": f"sk-ant-ort01-sandbox-{account}",
        "expiresAt": expires, "scopes": ["user:inference", "user:profile"],
        "subscriptionType": "max"}}) + "\n"


def install_standin(bin_dir: Path) -> Path:
    """``bin/claude``: the stand-in behind this interpreter's shebang, mode 0755."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = bin_dir / "claude"
    target.write_text(f"#!{sys.executable}\n" + STANDIN.read_text())
    target.chmod(0o755)
    return target


def _schema_path() -> Path:
    """For the editor modeline only: the repo's schema, else the installed copy."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here.parent / "schemas", here / "_schemas"):
        if candidate.is_dir():
            return candidate / "desired_state.schema.json"
    return here / "_schemas" / "desired_state.schema.json"


def build_sandbox(
    root: Path,
    *,
    socket_name: str | None = None,
    accounts: Sequence[str] = ("work", "personal"),
    dedicated: Sequence[tuple[str, str]] = (("api", "src/api"), ("web", "src/web")),
    autonomous_min: int = 2,
    autonomous_max: int = 4,
) -> Sandbox:
    """Create the sandbox under ``root``; nothing is started (no tmux, no claude)."""
    if not accounts:
        raise ValueError("a sandbox needs at least one account")
    root = root.absolute()
    home = root / "home"
    sandbox = Sandbox(
        root=root, home=home, bin_dir=root / "bin", state_dir=root / "state",
        desired_path=root / "desired_state.yaml",
        socket_name=socket_name or f"reconciler-sbx-{secrets.token_hex(4)}",
        log_path=root / "launches.jsonl",
    )
    home.mkdir(parents=True, exist_ok=True)
    for _name, project in dedicated:
        (home / project).mkdir(parents=True, exist_ok=True)
    trusted = {str(home): {"hasTrustDialogAccepted": True},
               **{str(home / p): {"hasTrustDialogAccepted": True} for _n, p in dedicated}}
    for index, name in enumerate(accounts):
        account = sandbox.account_home(name)
        account.mkdir(parents=True, exist_ok=True)
        # Like a real user: logged in everywhere, but the projects were trusted and the
        # bypass disclaimer accepted in the first account only.
        config = {"hasCompletedOnboarding": True, "sandbox": True, "account": name,
                  **({"projects": trusted} if index == 0 else {})}
        for secret, body in ((".credentials.json", _credentials(name)),
                             (".claude.json", json.dumps(config, indent=2) + "\n")):
            path = account / secret
            path.write_text(body)
            path.chmod(0o600)
        if index == 0:
            (account / "settings.json").write_text(
                '{\n  "skipDangerousModePermissionPrompt": true\n}\n')
    claude = install_standin(sandbox.bin_dir)
    (home / ".profile").write_text(PROFILE.format(bin=sandbox.bin_dir))
    sandbox.desired_path.write_text(DESIRED.format(
        schema=_schema_path(), active=accounts[0], socket=sandbox.socket_name,
        accounts="\n".join(f"  - {{name: {a}, home: ~/.claude-{a}}}" for a in accounts),
        dedicated="\n".join(f"    - {{name: {n}, project: ~/{p}, resume: true}}"
                            for n, p in dedicated) or "    []",
        auto_min=autonomous_min, auto_max=autonomous_max, claude=claude,
    ))
    return sandbox


def kill_tmux_server(socket_name: str) -> None:
    """Stop the sandbox's private tmux server; no server (or no tmux) is fine."""
    with contextlib.suppress(tmux.TmuxError):
        tmux.run(("-L", socket_name), "kill-server")
