"""The hands' invariants, each on a real tmux server with real processes:

1. never run text a person typed;  2. know what a Claude is;  3. one session id, one
live Claude;  4. every value that reaches a shell is checked and quoted;  5. pool names
are exact;  6. the loop survives anything one cycle throws;  7. a swap never restarts
a Claude that is already on the target account.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import pytest
from _fixtures import World, deep_tree, remove_deep_tree, wait_for

from reconciler.claudecode import project_slug

SLOW = 30.0
PWNED = "pwned-marker"


def plan_doc(world: World) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(world.reconcile("plan", "--json").stdout)
    return result


def conflicts(world: World) -> dict[str, str]:
    return {c["key"]: c["message"] for c in plan_doc(world)["conflicts"]}


def line_of(world: World, target: str) -> str:
    """The pane's cursor line as tmux shows it."""
    y = world.tmux("display", "-p", "-t", target, "#{cursor_y}").stdout.strip()
    return world.tmux("capture-pane", "-p", "-J", "-t", target, "-S", y, "-E", y).stdout.rstrip()


def learned_prompt(world: World, target: str) -> str:
    book = json.loads((world.sandbox.state_dir / "panes.json").read_text())
    prompt: str = book["prompts"][target]["prompt"]
    return prompt


def kill_claude(world: World, target: str, sig: int = signal.SIGKILL) -> int:
    pid: int = world.claudes()[target]["claude_pid"]
    os.kill(pid, sig)
    wait_for(lambda: target not in world.claudes())
    return pid


def at_prompt(world: World, target: str) -> None:
    """Wait until the pane's shell has drawn its prompt again."""
    wait_for(lambda: line_of(world, target).endswith("$"))


@contextlib.contextmanager
def attached(world: World, session: str) -> Iterator[IO[bytes]]:
    """A real client attached to ``session`` (a terminal made by script(1)); what is
    written to the yielded stream is typed on that client's keyboard."""
    env = {**world.sandbox.env(), "TERM": "xterm"}
    client = subprocess.Popen(
        ["script", "-qfec", f"tmux -L {world.sandbox.socket_name} attach -t ={session}",
         "/dev/null"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env=env)
    assert client.stdin is not None
    wait_for(lambda: world.tmux("display", "-p", "-t", f"={session}:",
                                "#{session_attached}").stdout.strip() == "1")
    try:
        yield client.stdin
    finally:
        world.tmux("detach-client", "-s", f"={session}")
        client.stdin.close()
        client.wait(10)


# -- 1. never run text a person typed --------------------------------------------------

def test_half_typed_text_is_never_run_and_the_launch_waits(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    kill_claude(world, "api/0", signal.SIGTERM)
    at_prompt(world, "=api:")
    world.tmux("send-keys", "-t", "=api:", "-l", f"touch {PWNED}")  # typed, no Enter
    wait_for(lambda: line_of(world, "=api:").endswith(f"touch {PWNED}"))
    for _ in range(2):
        done = world.reconcile("apply")
        assert done.returncode == 1
        assert "api/0: its command line is not the empty prompt" in done.stdout
    assert line_of(world, "=api:").endswith(f"$ touch {PWNED}"), "no key was sent"
    assert not list(world.sandbox.home.rglob(PWNED))
    assert "api/0" not in world.claudes()
    world.tmux("send-keys", "-t", "=api:", "C-u")
    wait_for(lambda: line_of(world, "=api:").endswith("$"))
    assert world.reconcile("apply").returncode == 0
    assert "api/0" in world.claudes_when(2)
    assert not list(world.sandbox.home.rglob(PWNED))


@pytest.mark.parametrize("how", ["typed while a command ran", "typed into the claude"])
def test_unread_keys_no_screen_shows_are_never_run_by_a_launch(world: World, how: str) -> None:
    """sh draws nothing of input it has not read: keys typed while a command ran (or into
    a Claude that then exited) wait in the terminal under an empty-looking prompt, and
    the launch line's newline would run them. Every launch holds and flushes first."""
    assert world.reconcile("apply").returncode == 0
    if how == "typed into the claude":
        world.tmux("send-keys", "-t", "=api:", "-l", f"touch {PWNED} &&")
        kill_claude(world, "api/0")
        at_prompt(world, "=api:")
    else:
        kill_claude(world, "api/0", signal.SIGTERM)
        at_prompt(world, "=api:")
        # keys typed while a command runs wait for the shell, unread
        fifo = world.sandbox.root / "go"
        os.mkfifo(fifo)
        world.tmux("send-keys", "-t", "=api:", f"read -r _ <{fifo}; echo build-finished",
                   "Enter")
        world.tmux("send-keys", "-t", "=api:", "-l", f"touch {PWNED} &&")
        wait_for(lambda: f"touch {PWNED} &&" in line_of(world, "=api:"))
        fifo.write_text("done\n")
        wait_for(lambda: "build-finished" in world.tmux("capture-pane", "-p", "-t",
                                                        "=api:").stdout)
    wait_for(lambda: line_of(world, "=api:") == "$")  # the screen shows an empty prompt
    assert world.reconcile("apply").returncode == 0
    assert "api/0" in world.claudes_when(2)
    assert not list(world.sandbox.home.rglob(PWNED)), "the unread keys were dropped, not run"


def test_a_keyboard_the_person_turned_off_stays_off_and_untyped(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    kill_claude(world, "api/0", signal.SIGTERM)
    at_prompt(world, "=api:")
    world.tmux("select-pane", "-d", "-t", "=api:")
    done = world.reconcile("apply")
    assert done.returncode == 1 and "has input disabled" in done.stdout, done.stdout
    assert world.tmux("display", "-p", "-t", "=api:", "#{pane_input_off}").stdout.strip() \
        == "1", "theirs to turn on again"
    assert "api/0" not in world.claudes()


def test_copy_mode_is_a_conflict_until_it_ends(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    kill_claude(world, "api/0", signal.SIGTERM)
    at_prompt(world, "=api:")
    world.tmux("copy-mode", "-t", "=api:")
    assert "tmux mode" in conflicts(world)["launch:api/0"]
    assert world.reconcile("apply").returncode == 1
    assert "api/0" not in world.claudes()
    world.tmux("send-keys", "-t", "=api:", "-X", "cancel")
    assert world.reconcile("apply").returncode == 0
    assert "api/0" in world.claudes_when(2)


def test_a_shell_the_reconciler_did_not_start_is_never_typed_into(world: World) -> None:
    world.tmux("new-session", "-d", "-s", "api", "-c", str(world.sandbox.home / "src/api"))
    wait_for(lambda: line_of(world, "=api:").endswith("$"))
    message = conflicts(world)["launch:api/0"]
    assert "empty prompt was never seen" in message
    done = world.reconcile("apply")
    assert done.returncode == 1 and "api/0" not in world.claudes()
    assert line_of(world, "=api:").endswith("$"), "nothing was typed"


@pytest.mark.parametrize(("shell", "how"), [("sh", "send-keys"), ("bash", "send-keys"),
                                           ("sh", "attached client")])
def test_text_typed_into_a_claude_never_reaches_the_shell_after_a_swap(
        world_with: Callable[..., World], shell: str, how: str) -> None:
    """Keys a person typed into the Claude being moved (and not read by it yet) are
    flushed while the reconciler holds the pane; keys typed during the swap are dropped."""
    world = world_with()
    if shell == "bash":
        profile = world.sandbox.home / ".profile"
        profile.write_text(profile.read_text() + "PS1='$ ' exec bash --norc --noprofile\n")
    assert world.reconcile("apply").returncode == 0
    before = world.claudes_when(2)
    typed = f"touch {PWNED}"
    with attached(world, "api") if how == "attached client" else contextlib.nullcontext() as client:
        if client is None:
            world.tmux("send-keys", "-t", "=api:", "-l", typed)
        else:
            client.write(typed.encode())
            client.flush()
        wait_for(lambda: typed in world.tmux("capture-pane", "-p", "-t", "=api:").stdout)
        world.set_desired("active_account: work", "active_account: personal")
        assert world.reconcile("apply").returncode == 0
    after = world.claudes_when(2)
    assert after["api/0"]["session_id"] == before["api/0"]["session_id"]
    assert after["api/0"]["account"] == "personal"
    assert not list(world.sandbox.root.rglob(PWNED)) and not Path(PWNED).exists()
    assert learned_prompt(world, "api/0") == "$"
    assert world.tmux("display", "-p", "-t", "=api:", "#{pane_input_off}").stdout.strip() == "0"


def test_a_keyboard_left_held_by_a_crash_is_given_back(world: World) -> None:
    from reconciler.apply import FAULT_ENV

    assert world.reconcile("apply").returncode == 0
    world.set_desired("active_account: work", "active_account: personal")
    trace = world.sandbox.root / "trace"
    world.reconcile("plan")  # nothing held yet
    # crash points: carry to personal, remember, link, then the first SIGTERM (panes held)
    crashed = world.reconcile("apply", env={FAULT_ENV: "4", "RECONCILER_FAULT_TRACE": str(trace)})
    assert crashed.returncode == -9, trace.read_text()
    held = world.tmux("list-panes", "-a", "-F", "#{pane_input_off}#{@reconciler-held}").stdout
    assert "11" in held.split(), "a pane was left held by the crash"
    assert "give the keyboard of" in world.reconcile("plan").stdout
    assert world.reconcile("apply").returncode == 0
    held = world.tmux("list-panes", "-a", "-F", "#{pane_input_off}#{@reconciler-held}").stdout
    assert set(held.split()) == {"0"}
    assert {r["account"] for r in world.claudes_when(2).values()} == {"personal"}


def test_the_guard_types_nothing_when_the_pane_moved(world: World) -> None:
    """The tmux condition checked with the keys: a cursor elsewhere means no keys at all."""
    from reconciler.apply._launch import _typing  # the executor's own command builder
    from reconciler.observe import PaneInput, observe_tmux
    from reconciler.tmux import chained

    world.tmux("new-session", "-d", "-s", "t", "-c", str(world.sandbox.home))
    wait_for(lambda: line_of(world, "=t:").endswith("$"))
    server = ("-L", world.sandbox.socket_name)
    [pane] = [p for p in observe_tmux(server).panes if p.session_name == "t"]
    moved = PaneInput(cursor_x=pane.input.cursor_x + 1, cursor_y=pane.input.cursor_y)
    out = chained(server, _typing(replace(pane, input=moved), f"touch {PWNED}"))
    assert "typed:" not in out and world.tmux("list-buffers").stdout == ""
    assert line_of(world, "=t:").endswith("$")
    out = chained(server, _typing(pane, " true"))
    assert f"typed:{pane.pane_id}" in out


def test_a_prompt_that_changes_is_learned_again_at_each_stop(
        world_with: Callable[..., World]) -> None:
    """A clock in the prompt: the line after a stop is not the one seen at creation, and
    the swap still relaunches, because the prompt drawn right after a Claude we stopped
    (nobody attached) is learned there and then."""
    world = world_with()
    profile = world.sandbox.home / ".profile"
    profile.write_text(profile.read_text() + "PS1='\\t \\$ ' exec bash --norc --noprofile\n")
    assert world.reconcile("apply").returncode == 0
    before = {t: r["session_id"] for t, r in world.claudes_when(2).items()}
    first = learned_prompt(world, "api/0")
    assert first[:8].count(":") == 2, first
    world.set_desired("active_account: work", "active_account: personal")
    wait_for(lambda: time.strftime("%H:%M:%S") != first[:8])  # the clock moved on
    assert world.reconcile("apply").returncode == 0
    after = world.claudes_when(2)
    assert {t: r["session_id"] for t, r in after.items()} == before
    assert {r["account"] for r in after.values()} == {"personal"}
    assert learned_prompt(world, "api/0") != first


def test_a_line_the_line_editor_fills_after_a_stop_is_never_taken_for_the_prompt(
        world_with: Callable[..., World]) -> None:
    """bash's Ctrl-O runs a line and puts the next history line on the fresh prompt: when
    the Claude it started is stopped, the prompt comes back already holding a command
    the person ran before. It is not the empty prompt, so nothing is typed after it."""
    world = world_with()
    profile = world.sandbox.home / ".profile"
    profile.write_text(profile.read_text() + "PS1='$ ' exec bash --norc --noprofile\n")
    assert world.reconcile("apply").returncode == 0
    world.claudes_when(2)
    kill_claude(world, "api/0")
    at_prompt(world, "=api:")
    world.start_by_hand("=api:")  # the person's own Claude, then /exit
    wait_for(lambda: "api/0" in world.claudes())
    world.type_in("=api:", "/exit")
    wait_for(lambda: "api/0" not in world.claudes())
    at_prompt(world, "=api:")
    marker = world.sandbox.root / "ran"
    world.type_in("=api:", f"echo ran >> {marker}")  # their own command, once
    wait_for(marker.exists)
    for key in ("Up", "Up", "C-o"):  # their Claude again, with Ctrl-O
        world.tmux("send-keys", "-t", "=api:", key)
    world.claudes_when(2)
    world.set_desired("active_account: work", "active_account: personal")
    done = world.reconcile("apply")
    assert f"echo ran >> {marker}" in line_of(world, "=api:"), "the editor filled the line"
    assert done.returncode == 1 and "api/0: its command line is not the empty prompt" \
        in done.stdout
    assert marker.read_text() == "ran\n", "the person's command did not run again"
    assert "api/0" not in world.claudes() and "web/0" in world.claudes()


def test_a_prompt_like_the_continuation_prompt_is_refused(world_with: Callable[..., World]) -> None:
    """PS1 '> ' is also the shells' PS2: a fresh line and an unfinished command look
    alike, so nothing is typed there."""
    world = world_with()
    profile = world.sandbox.home / ".profile"
    profile.write_text(profile.read_text().replace("PS1='$ '", "PS1='> '"))
    done = world.reconcile("apply")
    assert done.returncode == 1 and "continuation prompt" in done.stdout
    assert world.claudes() == {}


def test_control_characters_in_a_claudes_cwd_are_never_typed(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    odd = world.sandbox.home / f"\x15touch {PWNED} #"
    odd.mkdir()
    world.type_in("=ccl-auto-0:", "cd \"$(printf '\\025touch " + PWNED + " #')\"")
    world.start_by_hand("=ccl-auto-0:")
    hand = world.claudes_when(3)["ccl-auto-0/0"]
    world.set_desired("active_account: work", "active_account: personal")
    assert "control characters" in conflicts(world)["launch:ccl-auto-0/0"]
    assert world.reconcile("apply").returncode == 1
    assert world.claudes()["ccl-auto-0/0"]["claude_pid"] == hand["claude_pid"]
    assert not list(world.sandbox.root.rglob(PWNED)) and not Path(PWNED).exists()


# -- 2. know what a Claude is ----------------------------------------------------------

def test_a_program_named_with_claude_is_not_a_claude(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    kill_claude(world, "api/0", signal.SIGTERM)
    at_prompt(world, "=api:")
    (world.sandbox.home / "src/api/claude").write_text("notes\n")
    world.type_in("=api:", "tail claude -f")
    wait_for(lambda: world.tmux("display", "-p", "-t", "=api:", "#{pane_current_command}")
             .stdout.strip() == "tail")
    tail = int(world.tmux("display", "-p", "-t", "=api:", "#{pane_pid}").stdout)
    world.set_desired("active_account: work", "active_account: personal")
    assert "runs tail in the foreground" in conflicts(world)["launch:api/0"]
    assert world.reconcile("apply").returncode == 1
    assert "api/0" not in world.claudes()
    children = Path(f"/proc/{tail}/task/{tail}/children").read_text().split()
    assert children and all(Path(f"/proc/{c}").exists() for c in children), "tail was not signalled"


def test_an_execd_claude_is_seen_and_left_alone(world: World) -> None:
    world.tmux("new-session", "-d", "-s", "api", "-c", str(world.sandbox.home / "src/api"))
    sbx = world.sandbox
    world.type_in("=api:", f"exec env CLAUDE_CONFIG_DIR={sbx.account_home('work')} "
                           f"{sbx.bin_dir / 'claude'}")
    row = world.claudes_when(1)["api/0"]
    pane_pid = int(world.tmux("display", "-p", "-t", "=api:", "#{pane_pid}").stdout)
    assert row["claude_pid"] == pane_pid, "the Claude is the pane's own process"
    world.set_desired("active_account: work", "active_account: personal")
    assert "started with exec" in conflicts(world)["launch:api/0"]
    world.reconcile("apply")
    assert world.claudes()["api/0"]["claude_pid"] == pane_pid


def test_a_wrapper_in_the_launch_command_is_not_mistaken_for_its_claude(world: World) -> None:
    """``launch.command: with-secrets claude``: the wrapper is not the Claude. The Claude
    under it is the one stopped, and the relaunch goes to the shell, not into a Claude."""
    wrapper = world.sandbox.bin_dir / "with-secrets"
    wrapper.write_text('#!/bin/sh\n"$@"\n')
    wrapper.chmod(0o755)
    claude = world.sandbox.bin_dir / "claude"
    world.set_desired(f"command: {claude} ", f"command: {wrapper} {claude} ")
    assert world.reconcile("apply").returncode == 0
    before = world.claudes_when(2)["api/0"]
    argv = Path(f"/proc/{before['claude_pid']}/cmdline").read_bytes().split(b"\0")
    assert argv[1] == str(claude).encode(), "status names the Claude, not its wrapper"
    world.set_desired("active_account: work", "active_account: personal")
    assert world.reconcile("apply").returncode == 0
    after = world.claudes_when(2)["api/0"]
    assert (after["session_id"], after["account"]) == (before["session_id"], "personal")
    transcripts = world.sandbox.home.glob(".claude-shared/projects/*/*.jsonl")
    rows = [json.loads(line) for t in transcripts for line in t.read_text().splitlines()]
    assert not [r for r in rows if "CLAUDE_CONFIG_DIR" in json.dumps(r.get("message", ""))], \
        "no launch line was ever typed into a Claude"


def test_process_table_knows_claudes_by_their_executable(tmp_path: Path) -> None:
    from reconciler.observe import Identity, ProcessTable

    package = tmp_path / "node_modules/@anthropic-ai/claude-code"
    package.mkdir(parents=True)
    (package / "cli.js").write_text("setTimeout(() => {}, 600000)\n")
    (tmp_path / "other.js").write_text("setTimeout(() => {}, 600000)\n")
    native = tmp_path / "bin" / "claude"
    native.parent.mkdir()
    native.write_bytes(Path("/bin/sleep").read_bytes())
    native.chmod(0o755)
    script = tmp_path / "standin"
    script.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(600)\n")
    script.chmod(0o755)
    (tmp_path / "claude").write_text("x\n")
    cases = {
        "node + claude-code package": (["node", str(package / "cli.js")], True),
        "native binary named claude": ([str(native), "600"], True),
        "the launch command's script": ([str(script)], True),
        "node + another script": (["node", str(tmp_path / "other.js"), "claude"], False),
        "tail claude -f": (["tail", "claude", "-f"], False),
        "python -c ... claude": ([sys.executable, "-c", "import time; time.sleep(600)",
                                  "claude"], False),
    }
    # Popen returns once the program is exec'd; the kernel shows the new argument list a
    # moment later, and the table must not remember the gap (a Claude caught there is
    # read again by the next scan), so the table is asked both in the gap and after it.
    procs = {name: subprocess.Popen(argv, cwd=tmp_path) for name, (argv, _) in cases.items()}
    try:
        ProcessTable.scan(Identity.resolve([str(script)]))
        for p in procs.values():
            wait_for(lambda p=p: Path(f"/proc/{p.pid}/cmdline").read_bytes() != b"")
        table = ProcessTable.scan(Identity.resolve([str(script)]))
        found = {name: table.claude(p.pid) is not None for name, p in procs.items()}
        assert found == {name: expected for name, (_argv, expected) in cases.items()}
    finally:
        for p in procs.values():
            p.kill()
            p.wait()


# -- 3. one session id, one live Claude ------------------------------------------------

def test_an_exit_hint_of_another_session_is_not_adopted(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    ids = {t: r["session_id"] for t, r in world.claudes_when(2).items()}
    kill_claude(world, "api/0", signal.SIGTERM)
    at_prompt(world, "=api:")
    world.type_in("=api:", f"echo claude --resume {ids['web/0']}")  # another session's hint
    wait_for(lambda: line_of(world, "=api:").endswith("$")
             and ids["web/0"] in world.tmux("capture-pane", "-p", "-t", "=api:").stdout)
    assert world.reconcile("apply").returncode == 0
    after = {t: r["session_id"] for t, r in world.claudes_when(2).items()}
    assert after == ids, "api resumed its own session; web's id stayed on one Claude"


def test_two_dedicated_sessions_on_one_project_get_two_ids(
        world_with: Callable[..., World]) -> None:
    w = world_with(dedicated=(("api", "src/api"), ("api2", "src/api")))
    old = "0b9c5a2e-1c7f-4f53-9d0e-1d2e3f405162"
    slug = project_slug(w.sandbox.home / "src/api")
    folder = w.sandbox.account_home("work") / "projects" / slug
    folder.mkdir(parents=True)
    (folder / f"{old}.jsonl").write_text('{"type":"user"}\n')
    assert w.reconcile("apply").returncode == 0
    ids = [r["session_id"] for r in w.claudes_when(2).values()]
    assert len(set(ids)) == 2 and old in ids


def test_an_id_held_by_a_claude_outside_tmux_is_not_launched_again(world: World) -> None:
    home, bin_dir = world.sandbox.home, world.sandbox.bin_dir
    held = "0b9c5a2e-1c7f-4f53-9d0e-1d2e3f405162"
    slug = project_slug(home / "src/api")
    folder = world.sandbox.account_home("work") / "projects" / slug
    folder.mkdir(parents=True)
    (folder / f"{held}.jsonl").write_text('{"type":"user"}\n')
    env = {**world.sandbox.env(), "CLAUDE_CONFIG_DIR": str(world.sandbox.account_home("work"))}
    outside = subprocess.Popen([str(bin_dir / "claude"), "--resume", held], cwd=home / "src/api",
                               env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        session_file = world.sandbox.account_home("work") / "sessions" / f"{outside.pid}.json"
        wait_for(session_file.exists)
        launch = next(a for a in plan_doc(world)["actions"] if a["key"] == "launch:api/0")
        assert launch["session_id"] != held
        assert world.reconcile("apply").returncode == 0
        assert world.claudes_when(2)["api/0"]["session_id"] != held
        assert outside.poll() is None
    finally:
        outside.kill()
        outside.wait()


# -- 4. every value that reaches a shell is checked and quoted --------------------------

def test_one_session_held_by_two_claudes_moves_neither(world: World) -> None:
    """A /resume of web's conversation inside api's Claude: two live Claudes on one id.
    Relaunching both would put that id on two Claudes (and drop api's own): a conflict,
    and both stay as they are."""
    assert world.reconcile("apply").returncode == 0
    before = world.claudes_when(2)
    registry = world.sandbox.account_home("work") / "sessions"
    api_file = registry / f"{before['api/0']['claude_pid']}.json"
    body = json.loads(api_file.read_text())
    api_file.write_text(json.dumps({**body, "sessionId": before["web/0"]["session_id"]}))
    world.set_desired("active_account: work", "active_account: personal")
    done = world.reconcile("apply")
    assert done.returncode == 1 and "is also held by claude pid" in done.stdout, done.stdout
    after = world.claudes()
    assert {t: r["claude_pid"] for t, r in after.items()} == \
        {t: r["claude_pid"] for t, r in before.items()}, "neither was stopped"


def test_planted_session_ids_are_ignored_with_a_note(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    ids = {t: r["session_id"] for t, r in world.claudes_when(2).items()}
    pid = kill_claude(world, "api/0")  # SIGKILL: its sessions/<pid>.json stays behind
    stale = world.sandbox.account_home("work") / "sessions" / f"{pid}.json"
    body = json.loads(stale.read_text())
    stale.write_text(json.dumps({**body, "sessionId": f"x; touch {PWNED} #"}))
    panes = world.sandbox.state_dir / "panes.json"
    book = json.loads(panes.read_text())
    book["launches"]["web/0"]["session_id"] = f"$(touch {PWNED})"
    panes.write_text(json.dumps(book))
    # a name that is no pid: '²'.isdigit() is true, int('²') raises
    (stale.parent / "\u00b2.json").write_text(json.dumps({**body, "pid": 2}))
    doc = plan_doc(world)
    notes = "\n".join(doc["notes"])
    assert "not a canonical session id" in notes and "web/0" in notes
    assert world.reconcile("apply").returncode == 0
    assert world.claudes_when(2)["api/0"]["session_id"] == ids["api/0"]
    assert not list(world.sandbox.root.rglob(PWNED)) and not Path(PWNED).exists()


def test_launch_env_values_never_leave_the_launch(world: World) -> None:
    secret = "s3cr3t-VALUE-42"  # noqa: S105
    world.set_desired("  start_timeout: 5s", f"  start_timeout: 5s\n  env: {{API_TOKEN: {secret}}}")
    world.add_alert_file_sink()
    outputs = [world.reconcile(*a) for a in (("plan", "--json"), ("apply", "--json"))]
    world.set_desired("active_account: work", "active_account: personal")
    outputs += [world.reconcile(*a) for a in (("plan", "--json"), ("apply", "--json"),
                                              ("status", "--json"), ("run", "--once"))]
    text = "".join(o.stdout + o.stderr for o in outputs)
    text += "".join(p.read_text(errors="replace") for p in world.sandbox.state_dir.rglob("*")
                    if p.is_file())
    assert secret not in text
    assert "API_TOKEN=<redacted>" in text
    pid = world.claudes_when(2)["api/0"]["claude_pid"]
    assert f"API_TOKEN={secret}".encode() in Path(f"/proc/{pid}/environ").read_bytes()


def test_a_launch_line_a_terminal_would_cut_is_never_typed(world: World) -> None:
    """A terminal takes 4,095 bytes in one line; sh would run the line cut short, without
    its session id. Such a launch is a conflict, and nothing is typed."""
    long_value = "/".join(["v" * 250] * 16)  # a project 4,000 bytes deep
    (world.sandbox.home / long_value).mkdir(parents=True)
    world.set_desired("project: ~/src/api,", f"project: ~/{long_value},")
    message = conflicts(world)["launch:api/0"]
    assert "bytes; a terminal takes at most 4094 in one line" in message, message
    assert world.reconcile("apply").returncode == 1
    assert "api/0" not in world.claudes(), "no line was typed"
    assert not [e for e in world.launches() if "vvvv" in e["cwd"]]


# -- 5. pool names are exact -----------------------------------------------------------

def test_pool_never_touches_names_it_does_not_own(world: World) -> None:
    for name in ("ccl-auto-007", "ccl-auto-123456"):
        world.tmux("new-session", "-d", "-s", name, "-c", str(world.sandbox.home))
    world.start_by_hand("=ccl-auto-007:")
    mine = world.claudes_when(1)["ccl-auto-007/0"]
    world.set_desired("min: 2, max: 4", "min: 0, max: 0")
    assert world.reconcile("apply").returncode == 0
    world.set_desired("active_account: work", "active_account: personal")
    assert world.reconcile("apply").returncode == 0
    sessions = set(world.tmux("ls", "-F", "#{session_name}").stdout.split())
    assert {"ccl-auto-007", "ccl-auto-123456"} <= sessions
    assert world.claudes()["ccl-auto-007/0"]["claude_pid"] == mine["claude_pid"]


def test_a_hand_started_claude_on_the_link_is_named_when_the_link_moves(world: World) -> None:
    """Never touched, but its config moves under it: the swap's plan says so."""
    assert world.reconcile("apply").returncode == 0
    world.tmux("new-session", "-d", "-s", "gamma", "-c", str(world.sandbox.home))
    world.type_in("=gamma:", str(world.sandbox.bin_dir / "claude"))  # no CLAUDE_CONFIG_DIR
    mine = wait_for(lambda: world.claudes().get("gamma/0"))
    assert not [n for n in plan_doc(world)["notes"] if "gamma/0" in n], "no move, no note"
    world.set_desired("active_account: work", "active_account: personal")
    [note] = [n for n in plan_doc(world)["notes"] if "gamma/0" in n]
    assert "started by hand" in note and "left running" in note and "personal" in note
    assert world.reconcile("apply").returncode == 0
    assert world.claudes()["gamma/0"]["claude_pid"] == mine["claude_pid"]


# -- 6. the loop survives anything one cycle throws ------------------------------------

def test_the_loop_survives_a_hung_tmux_and_a_pathological_tree(world: World) -> None:
    world.add_alert_file_sink()
    world.start_service()
    world.claudes_when(2, timeout=SLOW)
    server = int(world.tmux("display", "-p", "#{pid}").stdout)
    os.kill(server, signal.SIGSTOP)  # every tmux call now hangs until its timeout
    try:
        wait_for(lambda: any(a["kind"] == "conflict" and "tmux" in a["message"]
                             for a in world.alerts()), SLOW)
    finally:
        os.kill(server, signal.SIGCONT)
    deep = world.sandbox.account_home("personal") / "todos"
    deep.unlink()  # a real directory 1,100 levels deep where a link belongs
    deep_tree(deep, 1100)
    shared = world.sandbox.home / ".claude-shared" / "todos"
    try:  # observed and merged without recursion: the link comes back, the tree is shared
        wait_for(lambda: deep.is_symlink() and (shared / "d").is_dir(), SLOW)
        cycles = world.service_cycles()
        wait_for(lambda: world.service_cycles() >= cycles + 2, SLOW)
        assert world.services[0].poll() is None, "the loop is still running"
        assert not [a for a in world.alerts() if a["kind"] == "cycle_failed"]
    finally:
        (shared / "d").rename(world.sandbox.home / "deep")
        remove_deep_tree(world.sandbox.home / "deep")


def test_a_broken_alert_book_does_not_stop_the_loop(world: World) -> None:
    world.sandbox.state_dir.mkdir(parents=True, exist_ok=True)
    (world.sandbox.state_dir / "alerts.json").write_text('{"conflict": [], "cycle_failed": []}')
    world.tmux("new-session", "-d", "-s", "api", "-c", str(world.sandbox.home / "src/api"))
    world.start_service()
    wait_for(lambda: world.service_cycles() >= 3, SLOW)
    assert world.services[0].poll() is None
    assert "Traceback" not in world.service_log()


def test_each_failing_cycle_alerts_once_and_resolves(world: World) -> None:
    from reconciler.service import Service

    boom = {"on": True}

    from reconciler.failover import Failover

    wing = Failover()

    def hook(*args: Any) -> Any:
        if boom["on"]:
            raise RuntimeError("a bug in a wing")
        return wing(*args)

    lines: list[str] = []
    service = Service(world.desired, world.sandbox.state_dir, say=lines.append, wing=hook)
    service._guarded_cycle()
    service._guarded_cycle()
    boom["on"] = False
    service._guarded_cycle()
    alerts = [line for line in lines if line.startswith("alert ")]
    assert [a.split()[1:3] for a in alerts] == [["firing", "cycle_failed"],
                                                ["resolved", "cycle_failed"]]
    assert sum("cycle failed: RuntimeError: a bug in a wing" in line for line in lines) == 2


# -- 7. a swap never restarts a Claude already on the target account --------------------

def test_a_claude_already_on_the_target_account_is_not_restarted(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    world.start_by_hand("=ccl-auto-0:", "personal")
    wait_for(lambda: "Quick safety check" in world.tmux("capture-pane", "-p", "-t",
                                                        "=ccl-auto-0:").stdout)
    world.type_in("=ccl-auto-0:", "yes")  # the person trusts the folder for personal
    before = world.claudes_when(3)
    world.set_desired("active_account: work", "active_account: personal")
    assert world.reconcile("apply").returncode == 0
    after = world.claudes_when(3)
    assert after["ccl-auto-0/0"]["claude_pid"] == before["ccl-auto-0/0"]["claude_pid"]
    assert after["api/0"]["claude_pid"] != before["api/0"]["claude_pid"]


def test_homes_that_become_one_directory_while_loaded_stop_nothing(world: World) -> None:
    """The file was checked when it was loaded; a link made since puts two accounts on
    one directory. A running service must not stop and relaunch its Claudes each cycle
    (they would look as if on the other account): a conflict holds every Claude."""
    from reconciler.apply import apply_plan
    from reconciler.desired import load_desired
    from reconciler.observe import observe
    from reconciler.plan import plan
    from reconciler.statedir import StateDir

    world.set_desired("active_account: work", "active_account: personal")
    assert world.reconcile("apply").returncode == 0
    before = {t: c["claude_pid"] for t, c in world.claudes_when(2).items()}
    desired = load_desired(world.desired)  # what a running service holds
    work = world.sandbox.account_home("work")
    work.rename(work.with_name(".claude-work.aside"))
    work.symlink_to(world.sandbox.account_home("personal"))
    state = StateDir(world.sandbox.state_dir)
    for _cycle in range(2):
        the_plan = plan(desired, observe(desired, state))
        assert any("are one directory now" in c.message for c in the_plan.conflicts)
        assert not [a for a in the_plan.actions if a.key.startswith(("stop:", "launch:"))]
        apply_plan(the_plan, desired, state)
    work.unlink()  # apart again: the file loads, and `status` can say who runs where
    work.with_name(".claude-work.aside").rename(work)
    assert {t: c["claude_pid"] for t, c in world.claudes().items()} == before


# -- stopping only what is ours ----------------------------------------------------------

def _stop_action(row: dict[str, Any], start: int) -> Any:
    from reconciler.plan import Kind, StopClaude

    return StopClaude(key="stop:x", kind=Kind.RELAUNCH, description="stop", target=row["pane"],
                      pane_id=row["pane_id"], pid=row["claude_pid"], start=start, timeout=3.0,
                      shell_pid=0, tty="")


def _context(world: World) -> Any:
    from reconciler.apply import ExecContext
    from reconciler.desired import load_desired
    from reconciler.observe import Identity
    from reconciler.statedir import StateDir

    desired = load_desired(world.desired)
    return ExecContext(desired, StateDir(world.sandbox.state_dir),
                       Identity.resolve(desired.launch.command), checkpoint=lambda _name: None)


def test_a_reused_pid_is_never_signalled(world: World) -> None:
    """The plan names a Claude by pid and start time: another start time is another
    process (the pid was reused), and nothing is signalled."""
    from reconciler.apply._stop import stop_claudes
    from reconciler.observe import read_stat

    assert world.reconcile("apply").returncode == 0
    row = world.claudes_when(2)["api/0"]
    stat = read_stat(row["claude_pid"])
    assert stat is not None
    outcomes = stop_claudes([_stop_action(row, stat.start + 1)], _context(world))
    assert outcomes == {"stop:x": False}
    assert world.claudes()["api/0"]["claude_pid"] == row["claude_pid"]
    outcomes = stop_claudes([_stop_action(row, stat.start)], _context(world))
    assert outcomes == {"stop:x": True} and "api/0" not in world.claudes()


def test_without_pidfds_psutil_stops_the_same_way(world: World,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.apply import _stop
    from reconciler.observe import read_stat

    monkeypatch.setattr(_stop, "PIDFDS", False)
    assert world.reconcile("apply").returncode == 0
    row = world.claudes_when(2)["api/0"]
    stat = read_stat(row["claude_pid"])
    assert stat is not None
    ctx = _context(world)
    assert _stop.stop_claudes([_stop_action(row, stat.start + 1)], ctx) == {"stop:x": False}
    assert world.claudes()["api/0"]["claude_pid"] == row["claude_pid"]
    assert _stop.stop_claudes([_stop_action(row, stat.start)], ctx) == {"stop:x": True}
    assert "api/0" not in world.claudes()
