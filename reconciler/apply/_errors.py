"""Failure kinds the runner tells apart: retry the transient, report the rest.

They are the project's own tree (``reconciler.errors``), so a tmux timeout raised by
the tmux module is already a ``TransientError`` here."""

from reconciler.errors import PermanentError, RefusedError, TransientError


class ActionError(PermanentError):
    """This action failed and will not get better by retrying."""


__all__ = ["ActionError", "PermanentError", "RefusedError", "TransientError"]
