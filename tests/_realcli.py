"""The real ``claude`` CLI in tests, every supported release (a pytest plugin).

``real_claude`` is parametrized over the release matrix (``claudecode.RELEASES``: the
oldest supported and the current one), fetched once per machine with npm into a cache
dir. Where it cannot be fetched the test skips with the reason, except under
``CI=true``, where it fails with it: a CI machine without npm is not green without the
tests that prove failover on the real CLI.

``real_world`` turns a sandbox world into one whose launch command is that CLI, offline,
as the facts say: the loopback API (``_api``), each account its own token in its
``.credentials.json`` (the sandbox writes them), ``IS_SANDBOX=1`` (root with
``--dangerously-skip-permissions``), no auto-update, no non-essential traffic, ``TMPDIR``
inside the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from _api import Api
from _fixtures import World, wait_for

from reconciler.claudecode import RELEASES

SLOW = 60.0


@dataclass(frozen=True)
class RealClaude:
    release: str
    """``oldest`` or ``current``."""
    version: str
    binary: Path

    @property
    def current(self) -> bool:
        return self.release == "current"


def cache_dir(version: str) -> Path:
    return Path(os.environ.get("RECONCILER_CLAUDE_NPM_CACHE", "/tmp")) / (
        f"reconciler-claude-npm-{version}")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the real claude CLI is needed under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def fetch(version: str) -> Path:
    """The CLI of ``version`` from npm (cached), checked to say that version."""
    prefix = cache_dir(version)
    binary = prefix / "node_modules" / ".bin" / "claude"
    package = f"@anthropic-ai/claude-code@{version}"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable(f"npm is not installed: {package} cannot be fetched "
                         "(apt-get install -y npm; .ci/run installs it)")
        assert npm is not None
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix",
                               str(prefix), package], capture_output=True, text=True,
                              timeout=900, check=False)
        if done.returncode != 0 or not binary.exists():
            _unavailable(f"npm install {package} failed: {done.stderr.strip()[-300:]}")
    said = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ,
                                                        "DISABLE_AUTOUPDATER": "1"})
    assert said.stdout.startswith(version), said.stdout + said.stderr
    return binary


@pytest.fixture(scope="session", params=sorted(RELEASES), ids=sorted(RELEASES))
def real_claude(request: pytest.FixtureRequest) -> RealClaude:
    release = str(request.param)
    return RealClaude(release, RELEASES[release], fetch(RELEASES[release]))


def offline_env(world: World, api: Api) -> dict[str, str]:
    tmp = world.sandbox.root / "tmp"
    tmp.mkdir(exist_ok=True)
    return {"ANTHROPIC_BASE_URL": api.url, "IS_SANDBOX": "1", "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "TMPDIR": str(tmp)}


def with_real_claude(world: World, claude: RealClaude, api: Api, interval: str,
                     failover: str = "cooldown: 0s, grace: 0s") -> World:
    """The sandbox's launch command becomes the real CLI, offline; the user has a status
    line of their own in the work account."""
    text = world.desired.read_text()
    command = next(line for line in text.splitlines() if "command:" in line and "claude" in line)
    text = text.replace(command, f"  command: {claude.binary} --dangerously-skip-permissions")
    text = text.replace("  start_timeout: 5s", "  start_timeout: 30s\n"
                        f"  env: {json.dumps(offline_env(world, api))}")
    text = text.replace("service: {interval: 1s}", f"service: {{interval: {interval}}}")
    text = text.replace("failover: {cooldown: 0s, grace: 0s, usage_url: \"http://127.0.0.1:9",
                        f"failover: {{{failover}, usage_url: \"{api.url}")
    world.desired.write_text(text)
    settings = world.sandbox.account_home("work") / "settings.json"
    mine = json.loads(settings.read_text())
    mine["statusLine"] = {"type": "command", "command": "echo USER-STATUS-LINE"}
    settings.write_text(json.dumps(mine))
    return world


def ready(world: World, sessions: tuple[str, ...] = ("api", "web")) -> dict[str, str]:
    """The real Claudes up on work, at their prompt, the user's status line showing."""
    ids: dict[str, str] = wait_for(lambda: world.on("work", len(sessions)), SLOW, interval=0.2)
    wait_for(lambda: all("USER-STATUS-LINE" in world.screen(s) for s in sessions),
             SLOW, interval=0.2)
    return ids


RealWorld = Callable[..., World]
