"""The reconciler with the real `claude` CLI from npm, in a sandbox.

Offline, the real CLI prints "Unable to connect to Anthropic services" and exits 1
within a second: the launched process must carry the right argv and
CLAUDE_CONFIG_DIR (read from /proc while it lives), and the crash-loop back-off and
its alert must engage. Skipped, with the reason, where npm is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from _fixtures import World, wait_for

CACHE = Path(os.environ.get("RECONCILER_CLAUDE_NPM_CACHE", "/tmp/reconciler-claude-npm"))
PACKAGE = "@anthropic-ai/claude-code"

pytestmark = pytest.mark.realcli


@pytest.fixture(scope="module")
def real_claude() -> Path:
    binary = CACHE / "node_modules" / ".bin" / "claude"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the real claude CLI cannot be fetched")
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE),
                           PACKAGE], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 or not binary.exists():
        pytest.skip(f"npm install {PACKAGE} failed: {done.stderr.strip()[-300:]}")
    return binary


def test_real_claude_is_launched_right_and_backs_off(world: World, real_claude: Path) -> None:
    flags = "claude --dangerously-skip-permissions"
    text = world.desired.read_text()
    command = next(line for line in text.splitlines() if "--dangerously-skip-permissions" in line)
    world.set_desired(command, f"  command: {real_claude}")  # as root the CLI refuses that flag
    assert flags not in world.desired.read_text().replace(str(world.sandbox.bin_dir), "")
    world.add_alert_file_sink()
    world.start_service()
    seen: dict[str, object] = {}

    def catch() -> bool:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")
                if argv[0].decode() != str(real_claude):
                    continue
                env = Path(entry.path, "environ").read_bytes().split(b"\0")
            except (OSError, IndexError):
                continue
            seen["argv"] = [a.decode() for a in argv if a]
            seen["env"] = [e.decode() for e in env if e.startswith(b"CLAUDE_CONFIG_DIR=")]
            return True
        return False

    wait_for(catch, 30, interval=0.005)
    argv = seen["argv"]
    assert isinstance(argv, list) and argv[1] == "--session-id" and len(argv) == 3
    assert seen["env"] == [f"CLAUDE_CONFIG_DIR={world.sandbox.home}/.claude-work"]
    wait_for(lambda: any(a["kind"] == "crashloop" for a in world.alerts()), 60)
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 2, 30)  # two more cycles: no hot loop
    pane = world.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "=api:").stdout
    assert "Unable to connect to Anthropic services" in pane
    tries = pane.count("--session-id")
    assert 2 <= tries <= 6, f"{tries} launches: back-off must keep this far from a hot loop"
