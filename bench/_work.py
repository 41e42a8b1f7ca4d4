"""The time until work resumes: a usage limit -> the cut turn running again on the new
account, with the real ``claude`` CLI (the current release, from npm) and N Claudes, one
of them mid-turn, offline against the loopback API (``reconciler.demo.Api``).

ours: ``reconcile run`` (30 s interval: the hook wakes it) from the 429 to the continued
turn's first request, from the other account's token. floor: the same world without
the service, moved by hand with the fewest steps the machine allows, starting the moment
the 429 is answered (it knows at once): one SIGTERM wave through pidfds, one wait, the
link flipped, one chained send-keys of every resume line (the cut one with the message),
until that same request. Each run is a fresh world (its start is not timed).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from bench._harness import Timing, build, down, reconcile, service, stop, tmux, wait_until
from reconciler.claudecode import NEWEST_TESTED
from reconciler.demo import Api, Sandbox, serve
from reconciler.tmux import chunked

MESSAGE = "Continue from where you left off."
PROMPT = "please refactor the parser"


def cli(version: str = NEWEST_TESTED) -> Path | None:
    """The real CLI from npm, cached as the tests cache it; None where it cannot be had."""
    prefix = Path(os.environ.get("RECONCILER_CLAUDE_NPM_CACHE", "/tmp")) / (
        f"reconciler-claude-npm-{version}")
    binary = prefix / "node_modules" / ".bin" / "claude"
    npm = shutil.which("npm")
    if not binary.exists() and npm is not None:
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix),
                        f"@anthropic-ai/claude-code@{version}"], capture_output=True,
                       timeout=900, check=False)
    return binary if binary.exists() else None


def _offline(box: Sandbox, api: Api) -> dict[str, str]:
    tmp = box.root / "tmp"
    tmp.mkdir(exist_ok=True)
    return {"ANTHROPIC_BASE_URL": api.url, "IS_SANDBOX": "1", "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "TMPDIR": str(tmp)}


def _real_world(root: Path, claude: Path, api: Api, size: int) -> Sandbox:
    box = build(root, claudes=size)
    text = box.desired_path.read_text()
    command = next(line for line in text.splitlines() if "command:" in line and "claude" in line)
    text = text.replace(command, f"  command: {claude} --dangerously-skip-permissions")
    text = text.replace("  start_timeout: 300s",
                        f"  start_timeout: 300s\n  env: {json.dumps(_offline(box, api))}")
    box.desired_path.write_text(text)
    done = reconcile(box, "apply")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    wait_until(lambda: all(b"bypass permissions on" in tmux(box, "capture-pane", "-p", "-t",
                                                             f"=d{i}:").stdout.encode()
                           for i in range(size)), 300, 0.2)
    return box


def _cut_then(api: Api, box: Sandbox) -> float:
    """Type the person's prompt into d0 on a limited account; the moment of the 429."""
    api.limit("work", seconds=3 * 3600)
    tmux(box, "send-keys", "-t", "=d0:", "-l", PROMPT, ";", "send-keys", "-t", "=d0:", "Enter")
    wait_until(lambda: any(r.answer == "limit" for r in api.requests), 120, 0.002)
    return next(r.time for r in api.requests if r.answer == "limit")


def _resumed(api: Api) -> float:
    wait_until(lambda: any(MESSAGE in r.prompt for r in api.turns("personal")), 120, 0.005)
    return next(r.time for r in api.turns("personal") if MESSAGE in r.prompt)


def _ours(root: Path, claude: Path, size: int) -> float:
    api = Api()
    serve(api)
    box = _real_world(root, claude, api, size)
    process = service(box)
    try:
        time.sleep(1.0)  # its first cycle: nothing to do
        cut = _cut_then(api, box)
        return _resumed(api) - cut
    finally:
        stop(process)
        down(box)
        api.server.shutdown()


def _claudes(box: Sandbox, size: int) -> dict[int, tuple[int, str]]:
    """Pane index -> (claude pid, session id), from the session files of work."""
    found: dict[int, tuple[int, str]] = {}
    for path in (box.account_home("work") / "sessions").glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            body = json.loads(path.read_text())
            cwd = Path(str(body["cwd"])).name
            if cwd.startswith("d") and cwd[1:].isdigit():
                found[int(cwd[1:])] = (int(body["pid"]), str(body["sessionId"]))
    assert len(found) == size, found
    return found


def _floor(root: Path, claude: Path, size: int) -> float:
    api = Api()
    serve(api)
    box = _real_world(root, claude, api, size)
    try:
        claudes = _claudes(box, size)
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in _offline(box, api).items())
        home = box.account_home("personal")
        _accept(box, home)  # what the reconciler carries in its timed path: here, before
        cut = _cut_then(api, box)
        fds = [os.pidfd_open(pid) for pid, _sid in claudes.values()]
        try:
            for fd in fds:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(fd, signal.SIGTERM)
            flip = box.home / ".claude.bench-tmp"
            flip.symlink_to(home)
            flip.replace(box.home / ".claude")
            poller = select.poll()
            for fd in fds:
                poller.register(fd, select.POLLIN)
            left = set(fds)
            while left:
                for fd, _event in poller.poll(30_000):
                    left.discard(fd)
                    poller.unregister(fd)
        finally:
            for fd in fds:
                os.close(fd)
        commands: list[list[str]] = []
        for index, (_pid, sid) in sorted(claudes.items()):
            line = (f" {env} CLAUDE_CONFIG_DIR={home} {claude} --dangerously-skip-permissions "
                    f"--resume {sid}" + (f" -- {shlex.quote(MESSAGE)}" if index == 0 else ""))
            commands += [["send-keys", "-t", f"=d{index}:", "-l", line],
                         ["send-keys", "-t", f"=d{index}:", "Enter"]]
        for chunk in chunked(commands):
            assert tmux(box, *chunk).returncode == 0
        return _resumed(api) - cut
    finally:
        down(box)
        api.server.shutdown()


def _accept(box: Sandbox, home: Path) -> None:
    """Trust and the bypass disclaimer on the second account, as work has them."""
    work = json.loads((box.account_home("work") / ".claude.json").read_text())
    config = json.loads((home / ".claude.json").read_text())
    config["projects"] = work.get("projects", {})
    (home / ".claude.json").write_text(json.dumps(config))
    settings_path = home / "settings.json"
    settings = json.loads(settings_path.read_text()) if settings_path.exists() else {}
    settings["skipDangerousModePermissionPrompt"] = True
    settings_path.write_text(json.dumps(settings))


def resumes(root: Path, size: int, runs: int) -> dict[str, Any]:
    """ours and the hand floor, alternating, ``runs`` each."""
    claude = cli()
    if claude is None:
        return {"skipped": f"the real claude CLI {NEWEST_TESTED} could not be fetched (npm)"}
    ours, floor = Timing(), Timing()
    failed: list[str] = []
    for run in range(runs):
        for name, timing, fn in (("ours", ours, _ours), ("floor", floor, _floor)):
            for attempt in range(2):  # a world whose CLI never answered: one more, said
                try:
                    timing.samples.append(fn(root / f"{name}-{run}-{attempt}", claude, size))
                    break
                except TimeoutError as exc:
                    failed.append(f"{name} run {run}: {exc}")
    if not ours.samples or not floor.samples:
        return {"skipped": "; ".join(failed) or "no run finished"}
    return {"ours": ours, "floor": floor, **({"retried": "; ".join(failed)} if failed else {})}
