"""Registers the tests' plugins: ``_fixtures`` (sandboxes, isolated tmux servers, worlds)
``_builders`` (the desired-file factory, observed worlds for the planner tables) and
``_api`` (a loopback stand-in for Anthropic's API) and ``_realcli`` (the real CLI, every
supported release).

And fences the whole run, before a single test module is collected: HOME is a decoy
dir, TMUX_TMPDIR a private dir (tmux leaves its socket file behind, and a bare ``tmux``
must never meet the user's default server), and configuration from the outside that
would point a test at something real is dropped. All of it is undone at the end."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ("_fixtures", "_builders", "_api", "_realcli")

_OUTSIDE = ("CLAUDE_CONFIG_DIR", "CLAUDECODE", "TMUX", "TMUX_PANE", "RECONCILER_DESIRED",
            "RECONCILER_STATE_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")
_SAVED: dict[str, str] = {}
_MADE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    _SAVED.update(os.environ)
    for key in _OUTSIDE:
        os.environ.pop(key, None)
    # Short on purpose: a unix socket path must stay under 108 bytes.
    home, tmux_dir = tempfile.mkdtemp(prefix="rcl-home-"), tempfile.mkdtemp(prefix="rcl-tmux-")
    _MADE.extend([home, tmux_dir])
    os.environ["HOME"] = home
    os.environ["TMUX_TMPDIR"] = tmux_dir


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Under ``CI=true`` a skip is a failure with its reason: a test that needs the real
    CLI, root or a mount either runs there or says why it could not."""
    report: pytest.TestReport = yield
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: skipped under CI=true, which runs everything: {reason}"
    return report


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _MADE:
        return
    home, tmux_dir = _MADE
    decoy_server = Path(tmux_dir, f"tmux-{os.getuid()}", "default")
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(["tmux", "-S", str(decoy_server), "kill-server"],  # by path, never $TMUX*
                       capture_output=True, timeout=10, check=False)
    for made in (tmux_dir, home):
        shutil.rmtree(made, ignore_errors=True)
    os.environ.clear()
    os.environ.update(_SAVED)
