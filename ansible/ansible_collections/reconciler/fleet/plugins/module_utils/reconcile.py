# Copyright: the reconciler authors
# SPDX-License-Identifier: MIT (as the reconciler itself)
"""Find the ``reconcile`` executable on the managed host, run it, read its JSON.

Every module of the collection goes through here so the host is driven only through
its public command line: the same code paths, locks and checks as a person typing
``reconcile``, and no second copy of the reconciler's logic on the control node.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

COMMON_ARGS = {
    "executable": {"type": "str", "default": "reconcile"},
    "desired": {"type": "path", "default": "~/.config/reconciler/desired_state.yaml"},
    "state_dir": {"type": "path"},
}
"""Options shared by every module: where the CLI is and which host state it drives."""

DESIRED_DEFAULT = COMMON_ARGS["desired"]["default"]

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

_ACTIVE = re.compile(r"^(active_account:[ \t]*)(['\"]?)([^'\"\s#]+)\2", re.MULTILINE)


class ReconcileError(Exception):
    """The CLI failed; the message carries what it said."""


class Reconcile:
    """The ``reconcile`` CLI of one host, for one desired file and state dir."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.executable = self._find(params["executable"])
        self.desired = str(Path(params["desired"] or DESIRED_DEFAULT).expanduser())
        self.state_dir = params.get("state_dir")

    def _find(self, name):
        """An absolute path as given; a bare name on the host's PATH (a venv's ``bin``
        is usually not on it, hence the option)."""
        if os.sep in name:
            return str(Path(name).expanduser())
        return self.module.get_bin_path(name, required=True)

    def argv(self, *args):
        argv = [self.executable, *args, "-f", self.desired]
        if self.state_dir:
            argv += ["--state-dir", self.state_dir]
        return argv

    def run(self, *args, data=None, ok=(EXIT_OK,)):
        """Run ``reconcile ARGS --json``; return (exit code, document, human text).

        The CLI prints one JSON document on stdout and its human lines on stderr;
        an exit code outside ``ok`` without a document is an error."""
        argv = self.argv(*args, "--json")
        code, out, err = self.module.run_command(argv, data=data, check_rc=False)
        try:
            document = json.loads(out) if out.strip() else None
        except ValueError:
            document = None
        if code not in ok or not isinstance(document, dict):
            problems = (document or {}).get("errors") if isinstance(document, dict) else None
            said = "; ".join(problems) if problems else (err.strip() or out.strip())
            raise ReconcileError(f"{' '.join(argv)} exited {code}: {said}")
        return code, document, err

    def read_desired(self):
        """The desired file's text, or None when it cannot be read."""
        try:
            return Path(self.desired).read_text(encoding="utf-8")
        except OSError:
            return None


def swapped_text(text, account):
    """``text`` with the root ``active_account`` value replaced, for the check-mode diff.

    Only a preview: the real swap is done by ``reconcile swap``, which rewrites the exact
    YAML span and refuses files this simple pattern would get wrong."""
    return _ACTIVE.sub(lambda m: f"{m.group(1)}{m.group(2)}{account}{m.group(2)}", text, count=1)


def plan_lines(human):
    """The plan as ``reconcile plan`` prints it (its stderr under ``--json``)."""
    return [line for line in human.splitlines() if line.strip()]
