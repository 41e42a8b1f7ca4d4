"""Fixtures: every test that touches the world gets a sandbox HOME, a private tmux
socket and a stand-in claude; nothing reaches the real home or the default server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.demo import Sandbox, build_sandbox, kill_tmux_server

REAL_HOME = Path("~").expanduser()
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture(autouse=True, scope="session")
def _guard_real_home() -> Iterator[None]:
    """No test runs with a CLAUDE_CONFIG_DIR or tmux client from the outside."""
    for key in ("CLAUDE_CONFIG_DIR", "TMUX", "TMUX_PANE", "RECONCILER_DESIRED",
                "RECONCILER_STATE_DIR"):
        os.environ.pop(key, None)
    yield


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


def standin_pids(sandbox: Sandbox) -> list[int]:
    """Stand-in claude processes of this sandbox (found by their argv)."""
    pids = []
    marker = str(sandbox.bin_dir).encode()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline:
                pids.append(int(entry.name))
    return pids


class World:
    """A sandbox plus the commands a test runs against it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.services: list[subprocess.Popen[bytes]] = []

    @property
    def desired(self) -> Path:
        return self.sandbox.desired_path

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-u", "-L", self.sandbox.socket_name, *args],
                              capture_output=True, text=True, timeout=10, check=False)

    def reconcile(self, *args: str, timeout: float = 60,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """The real CLI in a subprocess, in the sandbox environment (plus ``env``)."""
        argv = [sys.executable, "-m", "reconciler", *args, "-f", str(self.desired),
                "--state-dir", str(self.sandbox.state_dir)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env={**self.sandbox.env(), **(env or {})}, check=False)

    def apply_json(self) -> dict[str, Any]:
        done = self.reconcile("apply", "--json")
        assert done.stdout, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def status(self) -> dict[str, Any]:
        done = self.reconcile("status", "--json")
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def claudes(self) -> dict[str, dict[str, Any]]:
        """Rows of `status` that have a Claude, by pane target."""
        return {r["pane"]: r for r in self.status()["sessions"] if r["claude_pid"]}

    def claudes_when(self, count: int, timeout: float = 5.0) -> dict[str, dict[str, Any]]:
        """Wait until ``count`` Claudes run (each with a session id), then return them."""
        def ready() -> dict[str, dict[str, Any]] | None:
            found = self.claudes()
            return found if len(found) == count and all(
                r["session_id"] for r in found.values()) else None
        result: dict[str, dict[str, Any]] = wait_for(ready, timeout)
        return result

    def launches(self) -> list[dict[str, Any]]:
        try:
            lines = self.sandbox.log_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines]

    def set_desired(self, old: str, new: str) -> None:
        text = self.desired.read_text()
        assert old in text, old
        self.desired.write_text(text.replace(old, new, 1))

    def start_service(self, *args: str, log: str = "service.log") -> subprocess.Popen[bytes]:
        """`reconcile run` as a real background process; its output goes to ``log``."""
        out = (self.sandbox.root / log).open("ab")
        argv = [sys.executable, "-m", "reconciler", "run", "-f", str(self.desired),
                "--state-dir", str(self.sandbox.state_dir), *args]
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                   env=self.sandbox.env(), stdin=subprocess.DEVNULL)
        self.services.append(process)
        return process

    def service_log(self, log: str = "service.log") -> str:
        return (self.sandbox.root / log).read_text(errors="replace")

    def alerts(self) -> list[dict[str, Any]]:
        path = self.sandbox.root / "alerts.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def add_alert_file_sink(self) -> None:
        """A command sink (argv, no shell quoting games) appending each alert to a file."""
        path = self.sandbox.root / "alerts.jsonl"
        with self.desired.open("a") as handle:
            handle.write(f"alerts:\n  - {{type: command, command: [sh, -c, 'cat >> \"$0\"; "
                         f"echo >> \"$0\"', {path}]}}\n")

    def type_in(self, target: str, line: str) -> None:
        self.tmux("send-keys", "-t", target, "-l", line, ";", "send-keys", "-t", target, "Enter")


@contextlib.contextmanager
def make_world(root: Path) -> Iterator[World]:
    """A sandbox world that is torn down (tmux server, services, stand-ins) on exit."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sandbox = build_sandbox(root)
    assert sandbox.home != REAL_HOME
    world = World(sandbox)
    try:
        yield world
    finally:
        for service in world.services:
            if service.poll() is None:
                service.kill()
                service.wait(10)
        kill_tmux_server(sandbox.socket_name)
        for pid in standin_pids(sandbox):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with make_world(tmp_path / "sbx") as made:
        for key, value in made.sandbox.env().items():
            monkeypatch.setenv(key, value)
        yield made
