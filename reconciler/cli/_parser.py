"""The ``reconcile`` parser: every command, its own options, each with a description.

Kept apart from the dispatch in ``_main`` so the completion scripts (shtab) and the
tests read the very parser the command line uses.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from reconciler.cli._ui import DESIRED_ENV


def interval_arg(text: str) -> float:
    """``--interval``: the desired file's duration forms and bounds (1s to 1 day)."""
    from reconciler.desired._build import BOUNDS, duration_problem, parse_duration  # noqa: PLC0415

    form = re.fullmatch(r"\s*([0-9]+(\.[0-9]+)?\s*(ms|s|m|h|d)\s*)+|[0-9]+(\.[0-9]+)?", text)
    if form is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (30, 30s, 5m, 1h)")
    seconds = parse_duration(float(text) if form.group(1) is None else text)
    why = duration_problem(seconds, BOUNDS["service.interval"])
    if why is not None:
        raise argparse.ArgumentTypeError(f"{text!r}: {why}")
    return seconds


_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)")


class _Parser(argparse.ArgumentParser):
    """argparse, and a mistyped command gets the closest one suggested (`stauts`)."""

    def error(self, message: str) -> NoReturn:
        found = _CHOICE.search(message)
        if found is not None:
            import difflib  # noqa: PLC0415  (only on a mistake)

            choices = re.findall(r"'?([\w-]+)'?", found.group(2))
            close = difflib.get_close_matches(found.group(1), choices, n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        super().error(message)


_OPTIONS = ("file", "state", "json", "dry_run", "lock")


def _common(*wanted: str) -> _Parser:
    """The shared options a command takes: each subcommand's help shows only its own.
    Every command knows where its files are (``-f``, ``--state-dir``), so one habit works
    everywhere; the others come where they mean something."""
    wanted = ("file", "state", *wanted)
    common = _Parser(add_help=False)
    if "file" in wanted:
        common.add_argument("-f", "--file", type=Path, default=argparse.SUPPRESS,
                            help=f"desired-state file (else ${DESIRED_ENV}, else "
                                 "./desired_state.yaml)")
    if "state" in wanted:
        common.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS,
                            help="state dir (default $XDG_STATE_HOME/reconciler)")
    if "json" in wanted:
        common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                            help="one JSON document on stdout; human text on stderr")
    if "dry_run" in wanted:
        common.add_argument("--dry-run", action="store_true", default=argparse.SUPPRESS,
                            help="show what would be done and change nothing")
    if "lock" in wanted:
        common.add_argument("--lock-timeout", type=float, default=argparse.SUPPRESS,
                            help="seconds to wait for another apply to finish (default: wait)")
    return common


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("reconciler")
    except PackageNotFoundError:
        return "unknown"


class _Version(argparse.Action):
    """``--version`` reads the installed metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit",
                         **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        print(f"reconcile {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    common = _common("file", "state", "json")
    parser = _Parser(
        prog="reconcile", parents=[_common(*_OPTIONS)],
        description="Keep Claude Code accounts, shared dirs and tmux sessions as declared.",
        epilog="Start with `reconcile init`, then `reconcile --dry-run` (the plan), "
               "`reconcile adopt` (when ~/.claude is a real directory), then `reconcile "
               "apply`. With no command: this help; with only --dry-run: plan.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    init = sub.add_parser(
        "init", parents=[_common("file", "json")], help="write a first desired file from what "
        "runs here", description="Look at ~/.claude, ~/.claude.json, ~/.claude-* homes and "
        "the tmux sessions running Claude, and write a commented, valid desired file that "
        "describes them. Changes nothing else.")
    init.add_argument("--account", default="work", help="name for the account your "
                      "~/.claude becomes (default: work)")
    init.add_argument("--socket", help="tmux socket name (-L) to look at (default: your "
                      "default server)")
    init.add_argument("--command", dest="launch_command",
                      help="the command that starts Claude (default: claude with the options "
                           "the running Claudes share)")
    init.add_argument("--force", action="store_true", help="replace an existing file (the "
                      "old one is moved aside)")
    init.add_argument("--print", action="store_true", dest="print_only",
                      help="print the file instead of writing it")
    adopt = sub.add_parser(
        "adopt", parents=[_common("file", "state", "json", "dry_run", "lock")],
        help="make your real ~/.claude the first account's home",
        description="Move ~/.claude and ~/.claude.json into an account's home by renaming "
                    "(nothing copied, nothing nested), leave links in their place, so "
                    "running Claudes keep working and the first apply converges.")
    adopt.add_argument("--account", help="the account to adopt into (default: the first)")
    adopt.add_argument("--yes", action="store_true", help="do not ask")
    for name, text, options in [
        ("plan", "show what apply would do; exit 0 none, 2 changes pending, 1 error",
         ("file", "state", "json")),
        ("apply", "converge the world to the desired state", _OPTIONS),
        ("status", "service, alerts, limits, usage per account, sessions and Claudes",
         ("file", "state", "json")),
        ("validate", "check the desired file and exit", ("file", "json")),
    ]:
        made = sub.add_parser(name, parents=[_common(*options)], help=text, description=text)
        if name == "status":
            made.add_argument("--format", choices=["text", "tmux"], default="text",
                              help="tmux: one line for status-right (the active account, its "
                                   "5-hour and weekly use, a countdown while limited), read "
                                   "from what the service last wrote")
    swap = sub.add_parser("swap", parents=[_common(*_OPTIONS)],
                          help="make ACCOUNT the active account",
                          description="Rewrite active_account in the desired file (only that "
                          "value) and record the swap; --apply converges right away; --dry-run "
                          "writes and records nothing and shows what an apply would do.")
    swap.add_argument("account", help="the account to make active (a name in accounts)")
    swap.add_argument("--apply", action="store_true", dest="then_apply",
                      help="apply the new desired state now")
    swap.add_argument("--now", action="store_true", dest="cut_turns",
                      help="move busy Claudes at once instead of as their turns end: each "
                           "cut turn is continued on the new account (failover.continue)")
    run = sub.add_parser("run", parents=[common], help="the periodic loop service",
                         description="Observe, plan and apply every interval; alert on drift.")
    run.add_argument("--interval", type=interval_arg, help="time between cycles, as in the "
                     "file (30, 30s, 5m, 1h; default: service.interval, else 30s)")
    run.add_argument("--once", action="store_true", help="run one cycle and exit")
    drift_text = "print drift from the last converge; exit 0 none, 2 drift, 1 error"
    sub.add_parser("drift", parents=[common], help=drift_text, description=drift_text)
    unit = sub.add_parser("install-service", parents=[_common("file", "state")],
                          help="write a systemd user unit for `reconcile run`",
                          description="Write ~/.config/systemd/user/reconciler.service for "
                          "`reconcile run` with this desired file and state dir, and the PATH "
                          "you have now (so the service finds claude where you do).")
    unit.add_argument("--print", action="store_true", dest="print_only",
                      help="print the unit instead of writing it")
    unit.add_argument("--force", action="store_true",
                      help="replace an existing unit (the old one is moved aside)")
    check = sub.add_parser(
        "limit-check", help="is TEXT a usage limit, and when does it reset?",
        description="Read TEXT as the failover reads Claude's words: say whether it is a "
                    "usage limit, which kind, and when it resets. Exit 0 when it is a limit, "
                    "1 when it is not (like grep), so scripts can test it.")
    check.add_argument("text", help="the message, or - for stdin")
    check.add_argument("--now", help="pin the clock (ISO 8601)")
    check.add_argument("--tz", help="pin the local zone (IANA name)")
    check.add_argument("--json", action="store_true", help="the verdict as one JSON line")
    limits = sub.add_parser(
        "limits", parents=[_common("file", "state", "json", "dry_run")],
        help="known usage limits: list, clear, import",
        description="With no action: every known limit (account, kind, reset, where it was "
                    "read, the session and Claude's words), each account's usage from its "
                    "status line, and the history. `clear ACCOUNT` forgets a limit (a running "
                    "service honours it at once); `import FILE|-` takes limits another host "
                    "saw (the JSON `limits --json` prints); a later reset always wins, "
                    "except with --fleet (a fleet's merged view, as the reconciler.fleet "
                    "playbook pushes it).")
    limits.add_argument("action", nargs="?", choices=["list", "clear", "import"],
                        default="list", help="list (the default), clear ACCOUNT, or import "
                                             "FILE|-")
    limits.add_argument("target", nargs="?", help="ACCOUNT for clear; FILE or - for import")
    limits.add_argument("--fleet", action="store_true",
                        help="import: FILE is a fleet's merged view; its reset replaces this "
                             "host's, earlier or later (with --dry-run: the decision only)")
    signals = sub.add_parser(
        "signals", parents=[common], help="remove Claude's limit signals from every home",
        description="`remove` takes the StopFailure hook and the status-line wrapper out of "
                    "every account's settings.json and gives back your own status line. "
                    "(They come back on the next apply unless failover.signals is false.)")
    signals.add_argument("action", choices=["remove"], help="remove: take the signals out")
    top = sub.add_parser("top", parents=[_common("file", "state")],
                         help="live view of status: sessions by account, busy/idle, usage "
                              "and resets, alerts (q quits)",
                         description="What `reconcile status` shows, redrawn in place every "
                         "couple of seconds: each account's Claudes (busy or idle), usage bars "
                         "with reset countdowns, alerts, back-off and stuck prompts. q quits, "
                         "r refreshes now.")
    top.add_argument("--interval", type=interval_arg, help="time between refreshes (2s, 5s; "
                     "default 2s)")
    doctor = sub.add_parser(
        "doctor", parents=[_common("file", "state", "json")],
        help="is everything in place for failover? (the claude CLI, each account home)",
        description="Which claude the launch command runs (path, version, npm or native "
                    "install) and whether that version is inside the tested range; per "
                    "account home: logged in, first run done, trust and bypass, the limit "
                    "signals installed, and hook events in its settings that a supported "
                    "release would stop at. Says what would not work and the command that "
                    "fixes it. Exit 0 healthy, 1 not.")
    doctor.add_argument("--no-run", action="store_true", dest="no_run",
                        help="do not run `claude --version` (only look at files)")
    demo = sub.add_parser("demo", help="run a throw-away sandbox end to end",
                          description="Build a temporary HOME with two accounts, a private "
                          "tmux server and a stand-in claude; plan, apply, swap, and show "
                          "each Claude resumed. Touches nothing outside its temp dir.")
    demo.add_argument("--keep", action="store_true", help="keep the sandbox and its tmux server")
    completion = sub.add_parser("completion", help="print a shell completion script",
                                description="bash: reconcile completion bash > "
                                "~/.local/share/bash-completion/completions/reconcile; "
                                "zsh: reconcile completion zsh > ~/.zfunc/_reconcile")
    completion.add_argument("shell", choices=["bash", "zsh"], help="the shell to complete for")
    return parser
