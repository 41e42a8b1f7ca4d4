"""A throw-away world: temp HOME, two account homes, projects, a stand-in claude,
a desired file and a private tmux socket. Shared by ``reconcile demo`` and tests."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

STANDIN = Path(__file__).with_name("standin_claude.py")

DESIRED = """\
# yaml-language-server: $schema={schema}
# Sandbox desired state (reconcile demo / tests).
version: 1
active_account: {active}            # the swap lever
accounts:                       # ordered: first = primary
{accounts}
link: ~/.claude                 # symlink selecting the active home
shared:
  dir: ~/.claude-shared
  entries: [projects, file-history, session-env, todos]
tmux:
  socket_name: {socket}
pool:
  autonomous: {{prefix: ccl-auto-, start_index: 0, min: {auto_min}, max: {auto_max}}}
  dedicated:
{dedicated}
launch:
  command: {claude} --dangerously-skip-permissions
  stop_timeout: 3s
  start_timeout: 5s
service: {{interval: 1s}}
failover: {{cooldown: 0s, grace: 0s}}
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

    def env(self) -> dict[str, str]:
        """A full environment that sees only the sandbox (HOME, PATH, state, socket)."""
        env = {k: v for k, v in os.environ.items()
               if k not in {"CLAUDE_CONFIG_DIR", "TMUX", "TMUX_PANE", "RECONCILER_STATE_DIR"}}
        env.update({
            "HOME": str(self.home),
            "PATH": f"{self.bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
            "XDG_STATE_HOME": str(self.root / "xdg-state"),
            "XDG_CONFIG_HOME": str(self.root / "xdg-config"),
            "XDG_CACHE_HOME": str(self.root / "xdg-cache"),
            "RECONCILER_DESIRED": str(self.desired_path),
            "STANDIN_CLAUDE_LOG": str(self.log_path),
            "SHELL": "/bin/sh",
        })
        return env

    def account_home(self, name: str) -> Path:
        return self.home / f".claude-{name}"


def install_standin(bin_dir: Path) -> Path:
    """``bin/claude``: the stand-in behind this interpreter's shebang."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    target = bin_dir / "claude"
    target.write_text(f"#!{sys.executable}\n" + STANDIN.read_text())
    target.chmod(0o755)
    return target


def build_sandbox(
    root: Path,
    *,
    socket_name: str | None = None,
    accounts: Sequence[str] = ("work", "personal"),
    dedicated: Sequence[tuple[str, str]] = (("api", "src/api"), ("web", "src/web")),
    autonomous_min: int = 2,
    autonomous_max: int = 4,
) -> Sandbox:
    home = root / "home"
    sandbox = Sandbox(
        root=root, home=home, bin_dir=root / "bin", state_dir=root / "state",
        desired_path=root / "desired_state.yaml",
        socket_name=socket_name or f"reconciler-sbx-{secrets.token_hex(4)}",
        log_path=root / "launches.jsonl",
    )
    for name in accounts:
        account = sandbox.account_home(name)
        account.mkdir(parents=True, exist_ok=True)
        for secret in (".credentials.json", ".claude.json"):
            path = account / secret
            path.write_text(f'{{"sandbox": true, "account": "{name}"}}\n')
            path.chmod(0o600)
    for _name, project in dedicated:
        (home / project).mkdir(parents=True, exist_ok=True)
    install_standin(sandbox.bin_dir)  # named by absolute path: login shells may reset PATH
    schema = Path(__file__).resolve().parents[2] / "schemas" / "desired_state.schema.json"
    sandbox.desired_path.write_text(DESIRED.format(
        schema=schema, active=accounts[0], socket=sandbox.socket_name,
        accounts="\n".join(f"  - {{name: {a}, home: ~/.claude-{a}}}" for a in accounts),
        dedicated="\n".join(f"    - {{name: {n}, project: ~/{p}, resume: true}}"
                            for n, p in dedicated) or "    []",
        auto_min=autonomous_min, auto_max=autonomous_max, claude=sandbox.bin_dir / "claude",
    ))
    return sandbox


def kill_tmux_server(socket_name: str) -> None:
    subprocess.run(["tmux", "-L", socket_name, "kill-server"], capture_output=True, check=False,
                   timeout=10)
