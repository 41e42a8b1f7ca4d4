"""The project's own exception tree, at the bottom of the house (standard library only:
the CLI imports it before it knows which command runs).

Every failure a layer raises says what the caller should do with it, the way kopf's
temporary and permanent errors do: try again soon, give up on this action, or leave
the thing alone this cycle because touching it is not safe right now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path


class ReconcilerError(Exception):
    """Base of every error the reconciler raises on purpose."""


class TransientError(ReconcilerError):
    """Worth another try soon: tmux busy or restarting, a file appearing mid-merge."""


class PermanentError(ReconcilerError):
    """Will not get better by retrying; reported, and the action's dependants are skipped."""


class RefusedError(ReconcilerError):
    """Doing this now could run text a person typed, signal a process that is not ours,
    or put one session on two Claudes: nothing was done, and the next cycle looks again."""


class Problem(NamedTuple):
    """One problem of a desired file, pinned to file, line and key (a tuple, not a
    dataclass: the CLI imports this before it knows which command runs)."""

    file: Path
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key or '<document>'}: {self.message}"


class DesiredStateError(Exception):
    """The desired file cannot be used; nothing was changed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
