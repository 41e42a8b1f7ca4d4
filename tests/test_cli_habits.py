"""The command line as people use it: help, --version, completion, install-service that
never overwrites a unit by surprise, one service per state dir, a log file outside
systemd, `run --once --json`, a missing desired file that says what to do."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _fixtures import World, wait_for


def cli(*args: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True,
                          text=True, timeout=60, check=False, env=env, cwd=cwd)


def test_bare_reconcile_prints_help_and_changes_nothing(tmp_path: Path) -> None:
    done = cli(cwd=tmp_path)
    assert done.returncode == 0 and "usage: reconcile" in done.stdout
    assert "init" in done.stdout and list(tmp_path.iterdir()) == []


def test_version_and_subcommand_help_shows_only_its_own_options() -> None:
    assert cli("--version").stdout.startswith("reconcile ")
    validate = cli("validate", "--help").stdout
    assert "--lock-timeout" not in validate and "--dry-run" not in validate
    assert "--lock-timeout" in cli("apply", "--help").stdout
    helps = cli("init", "--help").stdout
    assert all(word in helps for word in ("--account", "--socket", "--force", "--print"))
    from reconciler.cli import build_parser

    [commands] = [a for a in build_parser()._actions
                  if isinstance(a, argparse._SubParsersAction)]
    for name, parser in commands.choices.items():
        assert parser.description, f"{name} has a description"
        assert all(a.help for a in parser._actions), f"every option of {name} says what it does"


def test_every_command_the_parser_knows_has_its_module() -> None:
    """Every command the parser knows has its handler: none may be left out."""
    from reconciler.cli import build_parser
    from reconciler.cli._handlers import HANDLERS

    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction)).choices
    assert {c.replace("-", "_") for c in commands} - {"demo"} == set(HANDLERS)


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts(shell: str) -> None:
    done = cli("completion", shell)
    assert done.returncode == 0 and "swap" in done.stdout and "limit-check" in done.stdout
    if shell == "bash" and shutil.which("bash"):
        checked = subprocess.run(["bash", "-n"], input=done.stdout, text=True, check=False,
                                 capture_output=True, timeout=30)
        assert checked.returncode == 0, checked.stderr


def test_a_missing_desired_file_suggests_init(tmp_path: Path) -> None:
    done = cli("plan", cwd=tmp_path)
    assert done.returncode == 1 and "reconcile init" in done.stderr and "-f FILE" in done.stderr
    assert "Traceback" not in done.stderr


def test_install_service_keeps_processes_and_never_overwrites(world: World) -> None:
    unit_path = world.sandbox.root / "xdg-config/systemd/user/reconciler.service"
    first = world.reconcile("install-service")
    assert first.returncode == 0, first.stderr
    assert "systemd-analyze" not in first.stderr, "the unit passes systemd-analyze verify"
    unit = unit_path.read_text()
    assert "KillMode=process" in unit
    assert f'Environment="PATH={world.sandbox.env()["PATH"]}"' in unit, "claude found as now"
    assert world.reconcile("install-service").returncode == 0, "the same unit: nothing to do"
    unit_path.write_text(unit.replace("RestartSec=5", "RestartSec=7"))
    refused = world.reconcile("install-service")
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert "RestartSec=7" in unit_path.read_text()
    forced = world.reconcile("install-service", "--force")
    assert forced.returncode == 0 and unit_path.read_text() == unit
    [aside] = unit_path.parent.glob("reconciler.service.*.bak")
    assert "RestartSec=7" in aside.read_text()
    tmux_dir = world.sandbox.root / 'my "tmux" 100%'
    printed = world.reconcile("install-service", "--print", env={"TMUX_TMPDIR": str(tmux_dir)})
    assert f'Environment="TMUX_TMPDIR={world.sandbox.root}/my \\"tmux\\" 100%%"' \
        in printed.stdout, "the service talks to the tmux server the user does"


def test_top_on_a_pipe_and_a_reader_that_leaves(world: World) -> None:
    """`top` draws on a terminal only; output cut short by `| head` ends quietly."""
    top = world.reconcile("top")
    assert top.returncode == 1 and "reconcile status" in top.stderr
    assert "\x1b[" not in top.stdout, "no screen was drawn into a pipe"
    for command in ("status --json", "status"):
        shell = subprocess.run(  # `true` leaves before anything is written
            ["bash", "-c", f"{sys.executable} -m reconciler {command} -f {world.desired} "
                           "| true; echo ${PIPESTATUS[0]}"],
            capture_output=True, text=True, timeout=60, check=False, env=world.sandbox.env())
        assert shell.stdout == "141\n", (command, shell)
        assert not any(word in shell.stderr for word in ("Broken pipe", "Traceback",
                                                          "Exception")), (command, shell)


def test_a_second_service_exits_at_once_and_the_log_file_is_kept(world: World) -> None:
    world.start_service()
    wait_for(lambda: world.service_cycles() >= 1, 30)
    second = world.reconcile("run")
    assert second.returncode == 1 and "another `reconcile run`" in second.stderr
    log = world.sandbox.state_dir / "service.log"
    assert "reconcile run: pid" in log.read_text()
    assert oct(log.stat().st_mode & 0o777) == oct(0o600)


def test_run_once_json_prints_the_cycles_report(world: World) -> None:
    done = world.reconcile("run", "--once", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["ok"] is True and doc["report"]["results"] and doc["active_account"] == "work"


def test_plan_output_is_short_and_counts_only_changes(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    world.claudes_when(2)
    world.set_desired("active_account: work", "active_account: personal")
    done = world.reconcile("--dry-run")
    assert done.returncode == 2, done.stdout
    home = str(world.sandbox.home)
    assert home not in done.stdout and "~/.claude -> ~/.claude-personal" in done.stdout
    remembered = [line for line in done.stdout.splitlines() if "remember session" in line]
    assert remembered and all(line.lstrip().startswith("·") for line in remembered)
    doc = json.loads(world.reconcile("plan", "--json").stdout)
    assert doc["changes"] == len(doc["actions"]) - len(remembered)
    assert home in json.dumps(doc["actions"]), "the JSON keeps absolute paths"


def test_a_batch_that_takes_more_than_a_second_says_so(world: World) -> None:
    """Claudes that take their time to leave: the apply says it is still working."""
    world.set_desired("  stop_timeout: 3s",
                      "  stop_timeout: 2s\n  env: {STANDIN_CLAUDE_IGNORE_SIGTERM: '1'}")
    assert world.reconcile("apply").returncode == 0
    world.claudes_when(2)
    world.set_desired("active_account: work", "active_account: personal")
    done = world.reconcile("apply")
    assert done.returncode == 0, done.stdout
    assert "…  still working: 2 actions: stop claude" in done.stdout, done.stdout


def test_a_swap_to_a_home_not_through_its_first_run_warns(world: World) -> None:
    (world.sandbox.account_home("personal") / ".claude.json").unlink()
    done = world.reconcile("swap", "personal")
    assert done.returncode == 0 and "not through its first run" in done.stderr, done.stderr


def test_install_service_quotes_odd_paths_and_says_what_systemd_analyze_found(
        world: World) -> None:
    """A desired file under a folder with a space, ``$`` and ``%`` stays one word of
    ExecStart, taken literally; a unit systemd-analyze complains about is said, not hidden."""
    from reconciler.cli._service_commands import _verify

    if shutil.which("systemd-analyze") is None:
        pytest.skip("needs systemd-analyze")
    odd = world.sandbox.root / "my $HOME 100% dir"
    odd.mkdir()
    desired = odd / "desired_state.yaml"
    desired.write_text(world.desired.read_text())
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "install-service", "-f", str(desired),
         "--state-dir", str(world.sandbox.state_dir)],
        capture_output=True, text=True, env=world.sandbox.env(), timeout=60, check=False)
    assert done.returncode == 0 and "no complaint" in done.stdout, done.stdout + done.stderr
    unit = (world.sandbox.root / "xdg-config/systemd/user/reconciler.service").read_text()
    assert f'-f "{odd}/desired_state.yaml"'.replace("$", "$$").replace("%", "%%") in unit
    bad = world.sandbox.root / "bad" / "reconciler.service"
    bad.parent.mkdir()
    bad.write_text(unit.replace("RestartSec=5", "RestartSecc=5"))
    assert "RestartSecc" in (_verify(bad) or ""), "the complaint is said"


@pytest.mark.parametrize(("words", "taken", "state"), [
    (["status", "--format", "tmux"], True, None),
    (["status", "--format=tmux", "--state-dir", "/s"], True, "/s"),
    (["--state-dir=/s", "status", "--format", "tmux", "-f", "d.yaml"], True, "/s"),
    (["status", "--format", "text"], False, None),
    (["status", "--format=text"], False, None),
    (["status", "--format", "tmux", "--json"], False, None),
    (["status", "--format", "tmux", "--state-dir"], False, None),
    (["status", "--format", "tmux", "--state-dir="], False, None),
    (["status"], False, None),
    (["apply", "--format", "tmux"], False, None),
    (["status", "status", "--format", "tmux"], False, None),
])
def test_the_tmux_segment_answers_only_a_command_line_it_takes_whole(
        words: list[str], taken: bool, state: str | None) -> None:
    """Anything else goes to the full parser, which says what is wrong."""
    from reconciler.cli._segment import _state_dir_given

    found, given = _state_dir_given(words)
    assert found is taken and (given == state or not taken)


@pytest.mark.parametrize(("text", "shown"), [
    (None, "#[fg=colour244]reconciler: no service#[default]"),
    ("", "#[fg=colour244]reconciler: no service#[default]"),
    ('{"active": "work"}', "#[fg=colour244]reconciler: no service#[default]"),
    ("0\nwork\n\n", "#[bold]work#[default]"),
    ("0\nwo##rk\n#[fg=green]5h 12%#[default]\n",
     "#[bold]wo##rk#[default] #[fg=green]5h 12%#[default]"),
    ("1000\nwork\n\n", "#[bold]work#[default]"),  # the limit has ended
    ("4900\nwork\n\n", "#[fg=red,bold]work limited 1h05m#[default]"),
    ("1030\nwork\n\n", "#[fg=red,bold]work limited 0m30s#[default]"),
])
def test_the_tmux_segment_reads_what_the_service_left(text: str | None, shown: str) -> None:
    from reconciler import segment

    assert segment.show(text, now=1000) == shown


def test_the_service_leaves_the_segment_styled_and_escaped() -> None:
    from reconciler import segment

    left = segment.leave("a#b", {"five_hour": 95, "seven_day": 71.6, "seven_day_opus": 3}, 99)
    assert left == ("99\na##b\n#[fg=red]5h 95%#[default] #[fg=yellow]7d 72%#[default]\n")
    assert segment.leave("w", {}, None) == "0\nw\n\n"
