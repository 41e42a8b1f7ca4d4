"""``reconcile adopt``: the user's real ``~/.claude`` (and ``~/.claude.json``) become the
first account's home, in place, so the first apply converges instead of refusing.

Every step is a rename on one filesystem: no byte is copied, so none can be lost, and
files Claude holds open stay the same files. The order keeps every path valid for a
Claude running meanwhile:

1. ``~/.claude`` (a directory) and a new link to the home swap places in one step
   (``renameat2(RENAME_EXCHANGE)``), then the directory is renamed to the home. Between
   the two the link dangles for an instant: a write then fails, it never creates a
   fresh, empty ``~/.claude``.
2. ``~/.claude.json`` gets a second name inside the home (a hard link), then its own
   name becomes a link through ``~/.claude`` (``.claude/.claude.json``): at no moment
   is it missing, and a Claude started by hand follows the active account's identity.

Anything in the way (a home that already holds files, another filesystem) is refused
before the first step, with what to do.
"""

from __future__ import annotations

import ctypes
import errno
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.apply._errors import RefusedError

CONFIG_FILE = ".claude.json"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@dataclass(frozen=True)
class AdoptPlan:
    """What adopt will do, decided before any step; ``steps`` are the lines shown."""

    link: Path
    home: Path
    config: Path | None
    """``~/.claude.json`` when it is a regular file to carry into the home."""
    config_aside: Path | None
    """Where ``~/.claude.json`` goes when the home already has its own."""
    steps: tuple[str, ...]


def plan_adopt(link: Path, home: Path, user_home: Path, now: datetime | None = None) -> AdoptPlan:
    """The steps, or ``RefusedError`` saying why none can be taken safely."""
    if link.is_symlink():
        raise RefusedError(f"nothing to adopt: {link} is already a link (to "
                           f"{link.readlink()})")
    if not link.exists():
        raise RefusedError(f"nothing to adopt: {link} does not exist")
    if not link.is_dir():
        raise RefusedError(f"{link} is not a directory; move it away by hand")
    if os.path.lexists(home):
        if home.is_symlink() or not home.is_dir():
            raise RefusedError(f"{home} exists and is not a directory; move it away first")
        if any(home.iterdir()):
            raise RefusedError(
                f"{home} already holds files: adopting {link} there would mix two homes. "
                f"Move one aside first (for example: mv {home} {home}.old), then run "
                "`reconcile adopt` again")
    if link.stat().st_dev != home.parent.stat().st_dev:
        raise RefusedError(f"{link} and {home.parent} are on different filesystems; adopt "
                           "moves by renaming only. Choose a home beside it")
    steps = [f"move {link} to {home}", f"link {link} -> {home}"]
    config = user_home / CONFIG_FILE
    inner = link / CONFIG_FILE
    carried = aside = None
    if config.is_symlink():
        pass  # already a link: the user's arrangement, left as it is
    elif config.is_file():
        if os.path.lexists(inner):
            stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
            aside = config.with_name(f"{CONFIG_FILE}.reconciler-adopted-{stamp}")
            steps.append(f"{home / CONFIG_FILE} is kept (the home has its own); "
                         f"{config} moved aside to {aside}")
        else:
            carried = config
            steps.append(f"move {config} to {home / CONFIG_FILE}")
        steps.append(f"link {config} -> {link / CONFIG_FILE} (it follows the active "
                     "account)")
    return AdoptPlan(link, home, carried, aside, tuple(steps))


def _exchange(first: Path, second: Path) -> bool:
    """Swap two names in one step; False where the kernel or filesystem cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.renameat2
    except (OSError, AttributeError):
        return False
    done = call(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(first))


def _fresh_link(beside: Path, target: str) -> Path:
    temp = beside.with_name(f".{beside.name}.reconciler-adopt-{os.getpid()}")
    if os.path.lexists(temp):
        raise RefusedError(f"{temp} is in the way (left by an adopt that stopped?); "
                           "look at it and move it away")
    temp.symlink_to(target)
    return temp


def carry_out(plan: AdoptPlan) -> None:
    """The steps of ``plan``, each a rename; see the module docstring for the order."""
    link, home = plan.link, plan.home
    if home.is_dir():
        home.rmdir()  # empty (checked): its name is needed for the rename
    temp = _fresh_link(link, str(home))
    if _exchange(link, temp):
        temp.rename(home)  # the directory, now under the temporary name
    else:
        link.rename(home)
        temp.replace(link)
    config = plan.config or (plan.config_aside and plan.config_aside.with_name(CONFIG_FILE))
    if config is None:
        return
    second = home / CONFIG_FILE if plan.config is not None else plan.config_aside
    assert second is not None  # noqa: S101  (one of the two is set)
    try:
        os.link(config, second)  # a second name first: the file is never missing
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        config.rename(second)
    through = (f"{link.name}/{CONFIG_FILE}" if link.parent == config.parent
               else str(link / CONFIG_FILE))
    _fresh_link(config, through).replace(config)
