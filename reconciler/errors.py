"""The project's own exception tree, at the bottom of the house.

Every failure a layer raises says what the caller should do with it, the way kopf's
temporary and permanent errors do: try again soon, give up on this action, or leave
the thing alone this cycle because touching it is not safe right now.
"""


class ReconcilerError(Exception):
    """Base of every error the reconciler raises on purpose."""


class TransientError(ReconcilerError):
    """Worth another try soon: tmux busy or restarting, a file appearing mid-merge."""


class PermanentError(ReconcilerError):
    """Will not get better by retrying; reported, and the action's dependants are skipped."""


class RefusedError(ReconcilerError):
    """Doing this now could run text a person typed, signal a process that is not ours,
    or put one session on two Claudes: nothing was done, and the next cycle looks again."""
