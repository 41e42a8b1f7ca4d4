"""``reconcile demo``: the whole product on a throw-away sandbox, in seconds.

Temp HOME, two accounts, a private tmux server and a stand-in ``claude``; it
plans, applies, swaps by editing the desired file, and shows every Claude
resumed on the other account with its own session id. Nothing outside the
sandbox is read or written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from reconciler import tmux
from reconciler.demo._sandbox import Sandbox, build_sandbox, kill_tmux_server
from reconciler.desired import load_desired
from reconciler.observe import observe
from reconciler.statedir import StateDir

Say = Callable[[str], None]
Cli = Callable[[Sequence[str]], int]
"""The CLI's entry point, handed in by the CLI: the demo drives it without importing it."""


@contextlib.contextmanager
def _sandbox_environ(sandbox: Sandbox, keep: bool) -> Iterator[None]:
    """Run inside the sandbox's environment (built from the caller's, before it is
    cleared), and stop the sandbox's tmux server before the caller's comes back: the
    server lives where the sandbox's TMUX_TMPDIR says."""
    saved = dict(os.environ)
    inside = {**sandbox.env(), "TMUX_TMPDIR": str(_tmux_dir(sandbox))}
    os.environ.clear()
    os.environ.update(inside)
    try:
        yield
    finally:
        if not keep:
            kill_tmux_server(sandbox.socket_name)
        os.environ.clear()
        os.environ.update(saved)


def _tmux_dir(sandbox: Sandbox) -> Path:
    """Where the demo's tmux server keeps its socket: in the sandbox, so nothing of the
    demo is left outside its temp dir (tmux never removes its socket file)."""
    path = sandbox.root / "tmux"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _claudes(sandbox: Sandbox) -> dict[str, tuple[str | None, str | None]]:
    """Session id and account of the Claude in every pane that has one."""
    desired = load_desired(sandbox.desired_path)
    observed = observe(desired, StateDir(sandbox.state_dir))
    return {
        pane.target: (pane.claude.session_id, pane.claude.account)
        for pane in observed.tmux.panes if pane.claude is not None
    }


def _wait_for_claudes(sandbox: Sandbox, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _claudes(sandbox)
        if len(found) >= count and all(sid for sid, _ in found.values()):
            return
        time.sleep(0.05)


def _seed_existing_user_data(sandbox: Sandbox) -> None:
    """What a new user has: real ``projects``/``todos`` dirs in the first account's home."""
    work = sandbox.home / ".claude-work"
    old = work / "projects" / "-home-me-old-project"
    old.mkdir(parents=True, exist_ok=True)
    (old / "0b9c5a2e-1c7f-4f53-9d0e-1d2e3f405162.jsonl").write_text('{"type":"user"}\n')
    (work / "todos").mkdir(exist_ok=True)
    (work / "todos" / "note.json").write_text("[]\n")


def run_demo(*, cli: Cli, keep: bool = False, say: Say = print) -> int:
    if keep:
        return _run(Path(tempfile.mkdtemp(prefix="reconciler-demo-")), True, say, cli)
    with tempfile.TemporaryDirectory(prefix="reconciler-demo-", ignore_cleanup_errors=True) as tmp:
        return _run(Path(tmp), False, say, cli)


def _run(root: Path, keep: bool, say: Say, main: Cli) -> int:
    sandbox = build_sandbox(root)
    args = ["-f", str(sandbox.desired_path), "--state-dir", str(sandbox.state_dir)]

    def step(title: str) -> None:
        say("")
        say(f"=== {title}")

    try:
        with _sandbox_environ(sandbox, keep):
            say(f"Sandbox: HOME={sandbox.home}, tmux socket -L {sandbox.socket_name}")
            _seed_existing_user_data(sandbox)
            step("1. Plan on a fresh machine (reconcile --dry-run)")
            main([*args, "--dry-run"])
            step("2. Apply")
            if main([*args, "apply"]) != 0:
                return 1
            by_hand = f"CLAUDE_CONFIG_DIR={sandbox.home}/.claude-work {sandbox.bin_dir}/claude"
            tmux.run(load_desired(sandbox.desired_path).tmux.server_args(), "send-keys", "-t",
                     "=ccl-auto-0:", by_hand, "Enter")
            _wait_for_claudes(sandbox, 3)
            before = _claudes(sandbox)
            step("3. Status (a Claude was also started by hand in ccl-auto-0)")
            main([*args, "status"])
            step("4. Swap (reconcile swap personal: rewrites active_account only), then plan")
            main([*args, "swap", "personal"])
            main([*args, "--dry-run"])
            step("5. Apply the swap")
            main([*args, "apply"])
            _wait_for_claudes(sandbox, len(before))
            after = _claudes(sandbox)
            main([*args, "status"])
            step("6. Apply again: nothing left to do")
            second = main([*args, "apply"])
            return _verdict(before, after, second, say)
    finally:
        if keep:
            say(f"\nKept: {root} (TMUX_TMPDIR={_tmux_dir(sandbox)} tmux -L "
                f"{sandbox.socket_name} attach)")


def _verdict(
    before: dict[str, tuple[str | None, str | None]],
    after: dict[str, tuple[str | None, str | None]],
    second_apply: int,
    say: Say,
) -> int:
    step_ok = True
    say("")
    say("=== Result")
    for target, (sid, account) in sorted(before.items()):
        new_sid, new_account = after.get(target, (None, None))
        same = new_sid == sid and new_account == "personal"
        step_ok &= same
        mark = "ok  " if same else "FAIL"
        say(f"{mark} {target}: {sid} on {account} -> {new_sid} on {new_account}")
    step_ok &= second_apply == 0
    say("Every Claude resumed on 'personal' with its own session id; second apply: 0 changes."
        if step_ok else "Something did not converge: see above.")
    return 0 if step_ok else 1
