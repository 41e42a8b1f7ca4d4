"""Where the state dir is, in ``os`` alone: the tmux segment reads it before anything
else of the CLI is imported (``pathlib`` alone costs about what the interpreter's start
does)."""

# ruff: noqa: PTH111, PTH118

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `typing`: the segment's budget
if TYPE_CHECKING:
    from collections.abc import Mapping

STATE_ENV = "RECONCILER_STATE_DIR"


def default_state_root(environ: Mapping[str, str] | None = None) -> str:
    """``$XDG_STATE_HOME/reconciler``, else ``~/.local/state/reconciler``."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_STATE_HOME")
    base = xdg if xdg else os.path.join(os.path.expanduser(env.get("HOME", "~")), ".local",
                                        "state")
    return os.path.join(base, "reconciler")


def state_root(given: str | None) -> str:
    """``--state-dir``, else ``$RECONCILER_STATE_DIR``, else the default."""
    return given or os.environ.get(STATE_ENV) or default_state_root()
