"""The one place that runs tmux.

Every tmux call of the reconciler (observe's reads, apply's writes, the demo) goes
through :func:`run` or :func:`chained`, like libtmux's single ``tmux_cmd`` choke
point: argv only, never a shell, ``-u`` so names and paths survive any locale, a
timeout on every call, and failures turned into the project's own errors, so no
caller ever meets ``subprocess.TimeoutExpired`` or ``FileNotFoundError``.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Sequence

from reconciler.errors import PermanentError, ReconcilerError, TransientError

DEFAULT_TIMEOUT = 10.0
CHAIN_BYTES = 8000
"""A tmux client sends its whole command line in one message (16 KiB at most):
longer chains are cut into chunks well under that."""

_DOWN_MARKERS = ("no server running", "error connecting to", "server exited unexpectedly")


class TmuxError(ReconcilerError):
    """tmux could not do what was asked; ``stdout`` holds what it printed before."""

    def __init__(self, message: str, stdout: str = "") -> None:
        super().__init__(message)
        self.stdout = stdout


class TmuxMissingError(TmuxError, PermanentError):
    """No tmux binary on PATH (or it cannot be executed)."""


class TmuxTimeoutError(TmuxError, TransientError):
    """tmux did not answer in time: a hung or overloaded server."""


class TmuxServerDownError(TmuxError, TransientError):
    """No server listens on the socket: its sessions are missing, not unwanted."""


class TmuxCommandError(TmuxError, TransientError):
    """tmux answered with an error (a target gone, the server busy or restarting)."""


def run(server: Sequence[str], *args: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Run one tmux command line on ``server`` (its ``-L``/``-S`` words); its stdout."""
    argv = ["tmux", "-u", *server, *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              check=False, errors="replace")
    except subprocess.TimeoutExpired:
        raise TmuxTimeoutError(f"tmux {_what(args)}: no answer within {timeout:g}s") from None
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.EACCES, errno.ENOEXEC):
            raise TmuxMissingError(
                f"tmux cannot be run ({exc.strerror}); install it (apt-get install tmux)"
            ) from None
        raise TmuxCommandError(f"tmux {_what(args)}: {exc.strerror or exc}") from None
    if done.returncode == 0:
        return done.stdout
    raise failure(args, done.returncode, done.stderr, done.stdout)


def failure(args: Sequence[str], returncode: int, stderr: str, stdout: str = "") -> TmuxError:
    """The error a failed tmux call is: no server on the socket, or a command error."""
    error = stderr.strip() or f"exit status {returncode}"
    if any(marker in error for marker in _DOWN_MARKERS):
        return TmuxServerDownError(error, stdout)
    return TmuxCommandError(f"tmux {_what(args)}: {error}", stdout)


def chained(server: Sequence[str], commands: Sequence[Sequence[str]],
            timeout: float = 30.0) -> str:
    """Many commands as ``a ; b ; c`` in as few invocations as fit under tmux's message
    size. tmux stops a chain at the first failing command, and so does this: the error
    carries what the chunks before it printed."""
    outputs: list[str] = []
    for chunk in chunked(commands):
        try:
            outputs.append(run(server, *chunk, timeout=timeout))
        except TmuxError as exc:
            exc.stdout = "".join(outputs) + exc.stdout
            raise
    return "".join(outputs)


def chunked(commands: Sequence[Sequence[str]], limit: int = CHAIN_BYTES) -> list[list[str]]:
    """``a ; b ; c`` argument lists, each under ``limit`` bytes of arguments."""
    chunks: list[list[str]] = []
    size = limit
    for command in commands:
        length = sum(len(arg.encode()) + 1 for arg in command) + 2
        if size + length > limit:
            chunks.append([])
            size = 0
        elif chunks[-1]:
            chunks[-1].append(";")
        chunks[-1].extend(command)
        size += length
    return chunks


def _what(args: Sequence[str]) -> str:
    return args[0] if args else "(no command)"


# -- tmux's own format language, for conditions the server checks atomically ----------

def fmt_eq(field: str, value: int | str) -> str:
    """``#{==:#{field},value}``; ``value`` must be digits or empty (nothing to escape)."""
    text = str(value)
    if text and not text.isdigit():
        raise ValueError(f"only numbers go into a tmux condition, not {text!r}")
    return f"#{{==:#{{{field}}},{text}}}"


def fmt_all(*conditions: str) -> str:
    """Every condition true: tmux's ``&&`` takes two operands, so they nest."""
    if not conditions:
        return "1"
    result = conditions[-1]
    for condition in reversed(conditions[:-1]):
        result = f"#{{&&:{condition},{result}}}"
    return result


def if_format(target: str, condition: str, then: str, otherwise: str | None = None) -> list[str]:
    """``if-shell -F``: the server evaluates ``condition`` on ``target`` and runs one branch
    in the same step, so nothing a client sends can fall between the check and the act.
    The branches are parsed by tmux: they must hold only ids, names and numbers we made."""
    return ["if-shell", "-F", "-t", target, condition, then,
            *([otherwise] if otherwise is not None else [])]
