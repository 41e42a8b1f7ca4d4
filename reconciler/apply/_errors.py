"""Failure kinds the runner tells apart: retry the transient, report the rest."""


class TransientError(Exception):
    """Worth another try soon (tmux busy, a file appearing mid-merge)."""


class ActionError(Exception):
    """Will not get better by retrying; reported and the dependants are skipped."""
