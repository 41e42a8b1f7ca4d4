"""The tests' pytest plugin (registered in ``conftest.py``, as libtmux ships its own):
every test that touches the world gets a sandbox HOME, an isolated tmux server and a
stand-in claude; nothing reaches the real home or the default server. Tests take the
fixtures by name and import the helpers (``World``, ``wait_for``, ...) from here.

Three fences, from the outside in:

* for the whole run (``conftest.py``, before collection) HOME is a decoy dir,
  TMUX_TMPDIR a private dir (so even a bare ``tmux`` never meets the user's default
  server) and CLAUDE_CONFIG_DIR, TMUX, CLAUDECODE and the XDG dirs from the outside
  are dropped;
* every test body fails loudly if HOME is the real home when it starts;
* ``sandbox``/``world`` point HOME, PATH and the rest at a fresh sandbox and, on the
  way out, kill its tmux server and stand-ins and assert that nothing survived and
  nothing of it landed in the real ``~/.claude``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from libtmux import Server

from reconciler.demo import Sandbox, build_sandbox, kill_tmux_server

REAL_HOMES = frozenset(
    Path(p).resolve() for p in (pwd.getpwuid(os.getuid()).pw_dir, os.environ.get("HOME"))
    if p
)
REAL_HOME = Path(pwd.getpwuid(os.getuid()).pw_dir)
HAVE_TMUX = shutil.which("tmux") is not None
needs_tmux = pytest.mark.skipif(not HAVE_TMUX, reason="tmux is not installed "
                                "(apt-get install -y tmux; .ci/run installs it)")

def _is_real_home(path: str | Path | None) -> bool:
    return path is not None and Path(path).resolve() in REAL_HOMES


def _check_environ(item: pytest.Item, when: str) -> None:
    if _is_real_home(os.environ.get("HOME")):
        pytest.fail(f"{item.nodeid}: HOME is the real home ({os.environ['HOME']}) {when}; "
                    "use the sandbox fixture", pytrace=False)
    config = os.environ.get("CLAUDE_CONFIG_DIR")
    if config and ({Path(config).resolve(), Path(config).resolve().parent} & REAL_HOMES):
        pytest.fail(f"{item.nodeid}: CLAUDE_CONFIG_DIR={config} is in the real home {when}",
                    pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Around each test body, after its fixtures: never the real HOME or config home."""
    _check_environ(item, "before the test")
    result = yield
    _check_environ(item, "after the test")
    return result


# -- helpers (import them: ``from _fixtures import wait_for, tmux``) ---------------------


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll until ``predicate()`` is truthy and return that value; AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


def tmux(sandbox: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """tmux on the sandbox's private socket, never the default server; never raises."""
    return subprocess.run(["tmux", "-u", "-L", sandbox.socket_name, *args],
                          capture_output=True, text=True, timeout=10, check=False)


def read_launch_log(sandbox: Sandbox) -> list[dict[str, Any]]:
    """What the stand-in logged per start: pid, argv, config_dir, session_id, cwd, mode."""
    try:
        lines = sandbox.log_path.read_text().splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def standin_pids(sandbox: Sandbox) -> list[int]:
    """Live stand-in claude processes of this sandbox (their argv names its bin dir)."""
    pids = []
    marker = str(sandbox.bin_dir).encode()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline:  # a zombie has an empty cmdline: it is already dead
                pids.append(int(entry.name))
    return pids


def tmux_server_alive(sandbox: Sandbox) -> bool:
    return HAVE_TMUX and tmux(sandbox, "list-sessions").returncode == 0


def _leaks_into_real_home(sandbox: Sandbox) -> list[str]:
    """Files of this sandbox's Claudes that landed in the real ``~/.claude``."""
    found: list[str] = []
    real = REAL_HOME / ".claude"
    prefix = "".join(c if c.isalnum() else "-" for c in str(sandbox.root))
    with contextlib.suppress(OSError):
        found += [str(p) for p in (real / "projects").iterdir() if p.name.startswith(prefix)]
    with contextlib.suppress(OSError):
        for path in (real / "sessions").glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                if str(json.loads(path.read_text()).get("cwd", "")).startswith(str(sandbox.root)):
                    found.append(str(path))
    return found


def teardown_sandbox(sandbox: Sandbox) -> None:
    """Kill the private tmux server and every stand-in, then assert nothing is left."""
    kill_tmux_server(sandbox.socket_name)
    for pid in standin_pids(sandbox):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(AssertionError):
        wait_for(lambda: not standin_pids(sandbox), timeout=5)
    survivors = standin_pids(sandbox)
    assert not survivors, f"stand-in claude processes survived the teardown: {survivors}"
    assert not tmux_server_alive(sandbox), f"tmux server -L {sandbox.socket_name} survived"
    leaks = _leaks_into_real_home(sandbox)
    assert not leaks, f"the sandbox wrote into the real ~/.claude: {leaks}"


def sandbox_environ(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    """Make ``os.environ`` exactly ``sandbox.env()`` for this test (undone by monkeypatch)."""
    env = sandbox.env()
    for key in list(os.environ):
        if key not in env:
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert not _is_real_home(os.environ["HOME"]) and "CLAUDE_CONFIG_DIR" not in os.environ


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A fresh sandbox; in-process code sees its HOME/PATH; torn down and leak-checked."""
    built = build_sandbox(tmp_path / "sbx")
    assert not _is_real_home(built.home)
    sandbox_environ(monkeypatch, built)
    try:
        yield built
    finally:
        teardown_sandbox(built)


class World:
    """A sandbox plus the commands a test runs against it."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.services: list[subprocess.Popen[bytes]] = []

    @property
    def desired(self) -> Path:
        return self.sandbox.desired_path

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return tmux(self.sandbox, *args)

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
        return read_launch_log(self.sandbox)

    def on(self, account: str, count: int = 2) -> dict[str, str] | None:
        """Pane -> session id once exactly ``count`` Claudes run, all on ``account``, each
        with its id (for ``wait_for``); else None."""
        found = self.claudes()
        if len(found) == count and all(r["account"] == account and r["session_id"]
                                       for r in found.values()):
            return {t: r["session_id"] for t, r in found.items()}
        return None

    def active(self) -> str:
        """``active_account`` as the desired file says now."""
        for line in self.desired.read_text().splitlines():
            if line.startswith("active_account:"):
                return line.split(":", 1)[1].split("#")[0].strip()
        raise AssertionError("no active_account")

    def screen(self, session: str) -> str:
        """The visible text of the session's first pane, wrapped lines joined, with the
        last 60 lines of history."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-60", "-t", f"={session}:").stdout

    def limits(self) -> dict[str, Any]:
        done = self.reconcile("limits", "--json")
        assert done.returncode == 0, done.stderr
        body: dict[str, Any] = json.loads(done.stdout)
        return body

    def settings(self, account: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(
            (self.sandbox.account_home(account) / "settings.json").read_text())
        return body

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
        return [json.loads(line) for line in path.read_text().splitlines()]  # NDJSON

    def add_alert_file_sink(self) -> None:
        """A command sink (argv, no shell quoting games) appending each alert to a file:
        plain ``cat``, so the file is NDJSON only if the sink writes whole lines."""
        path = self.sandbox.root / "alerts.jsonl"
        with self.desired.open("a") as handle:
            handle.write(f"alerts:\n  - {{type: command, command: [sh, -c, 'cat >> \"$0\"', "
                         f"{path}]}}\n")

    def stop_services(self) -> None:
        """SIGTERM every running service and wait for it to finish its cycle and go."""
        for service in self.services:
            if service.poll() is None:
                service.terminate()
                service.wait(30)

    def type_in(self, target: str, line: str) -> None:
        self.tmux("send-keys", "-t", target, "-l", line, ";", "send-keys", "-t", target, "Enter")

    def start_by_hand(self, target: str, account: str = "work", *extra: str) -> None:
        """What a person does: type a stand-in claude into a pane's shell."""
        sbx = self.sandbox
        self.type_in(target, " ".join([f"CLAUDE_CONFIG_DIR={sbx.account_home(account)}",
                                       str(sbx.bin_dir / "claude"), *extra]))

    def service_lines(self, kind: str, log: str = "service.log") -> list[str]:
        """Lines of one kind (action, alert, ...) of a service log, timestamps cut off."""
        out = []
        for line in self.service_log(log).splitlines():
            words = line.split(" ", 2)
            if len(words) == 3 and words[1] == kind:
                out.append(words[2])
        return out

    def service_cycles(self) -> int:
        """Cycles the service has finished (its status file), for waiting on a cycle."""
        try:
            return int(json.loads((self.sandbox.state_dir / "service.json").read_text())
                       ["cycles"])
        except (OSError, ValueError, KeyError):
            return 0


@contextlib.contextmanager
def make_world(root: Path, **options: Any) -> Iterator[World]:
    """A sandbox world (``options`` go to ``build_sandbox``), torn down on exit: services,
    tmux server, stand-ins."""
    if not HAVE_TMUX:
        pytest.skip("tmux is not installed (apt-get install -y tmux; .ci/run installs it)")
    built = build_sandbox(root, **options)
    assert not _is_real_home(built.home)
    world = World(built)
    try:
        yield world
    finally:
        for service in world.services:
            if service.poll() is None:
                service.kill()
                service.wait(10)
        teardown_sandbox(built)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: Server) -> Iterator[World]:
    """The default sandbox world, on libtmux's isolated test server (its pytest plugin
    names the socket and reaps the server and its socket file afterwards)."""
    with make_world(tmp_path / "sbx", socket_name=server.socket_name) as made:
        sandbox_environ(monkeypatch, made.sandbox)
        yield made


@pytest.fixture
def world_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               server: Server) -> Iterator[Callable[..., World]]:
    """Build one world with ``build_sandbox`` options (five dedicated sessions, ...)."""
    stack = contextlib.ExitStack()

    def build(**options: Any) -> World:
        made = stack.enter_context(make_world(tmp_path / "sbx", socket_name=server.socket_name,
                                              **options))
        sandbox_environ(monkeypatch, made.sandbox)
        return made

    with stack:
        yield build


def deep_tree(root: Path, depth: int) -> None:
    """``root/d/d/.../d``, made level by level through directory fds (no long paths)."""
    root.mkdir()
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
        Path(f"/proc/self/fd/{fd}", "f").write_text("deep\n")
    finally:
        os.close(fd)


def remove_deep_tree(root: Path) -> None:
    """Undo ``deep_tree`` level by level: rmtree would recurse past Python's limit."""
    while (child := root / "d").is_dir():
        for entry in child.iterdir():
            if entry.name != "d":
                entry.unlink()
        if (child / "d").is_dir():
            (child / "d").rename(root / "d.next")
            child.rmdir()
            (root / "d.next").rename(child)
        else:
            child.rmdir()
    root.rmdir()


@contextlib.contextmanager
def mounted(*argv: str, target: Path) -> Iterator[None]:
    """A real mount (tmpfs, read-only bind) for the test, skipped where not permitted."""
    done = subprocess.run(["mount", *argv, str(target)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)
