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
    steps: tuple[str, ...]
    done: bool = False
    """``~/.claude`` already links to the home: nothing to do."""
    carry: Path | None = None
    """``~/.claude.json`` (a regular file): it becomes the home's, then a link to it."""
    inner_aside: Path | None = None
    """Where the home's own, older ``.claude.json`` goes (inside the home)."""
    outer_aside: Path | None = None
    """Where ``~/.claude.json`` goes when the home's own is the newer one."""
    link_to: Path | None = None
    """``~/.claude.json`` is the user's link (dotfiles): the home's gets a link to the
    same file."""


def _refusals(link: Path, home: Path) -> None:
    if not link.is_dir():
        raise RefusedError(f"{link} is not a directory; move it away by hand")
    if home.is_symlink():
        raise RefusedError(f"{home} is a link; give the account a plain path (where the "
                           "directory itself should live)")
    if not home.parent.is_dir():
        raise RefusedError(f"{home.parent} does not exist; create it (mkdir -p "
                           f"{home.parent}), then run `reconcile adopt` again")
    real = link.resolve()
    parent = home.parent.resolve()
    if parent == real or parent.is_relative_to(real):
        raise RefusedError(f"{home} lies inside {link} (through a link); adopt would move "
                           "the directory into itself. Give the account a home beside it")
    if os.path.lexists(home):
        if not home.is_dir():
            raise RefusedError(f"{home} exists and is not a directory; move it away first")
        if os.path.ismount(home):
            raise RefusedError(f"{home} is a mount point: a rename cannot replace it. "
                               f"Choose a home beside {link}")
        if any(home.iterdir()):
            raise RefusedError(
                f"{home} already holds files: adopting {link} there would mix two homes. "
                f"Move one aside first (for example: mv {home} {home}.old), then run "
                "`reconcile adopt` again")
    if link.stat().st_dev != home.parent.stat().st_dev:
        raise RefusedError(f"{link} and {home.parent} are on different filesystems; adopt "
                           "moves by renaming only. Choose a home beside it")


def plan_adopt(link: Path, home: Path, user_home: Path, now: datetime | None = None) -> AdoptPlan:
    """The steps, or ``RefusedError`` saying why none can be taken safely."""
    if link.is_symlink():
        if link.resolve() == home.resolve():
            return AdoptPlan(link, home, (f"nothing to adopt: {link} already links to "
                                          f"{home}",), done=True)
        raise RefusedError(f"nothing to adopt: {link} is already a link (to "
                           f"{link.readlink()})")
    if not link.exists():
        raise RefusedError(f"nothing to adopt: {link} does not exist")
    _refusals(link, home)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    steps = [f"move {link} to {home}", f"link {link} -> {home}"]
    config, inner = user_home / CONFIG_FILE, link / CONFIG_FILE
    mine = home / CONFIG_FILE
    through = link / CONFIG_FILE
    has_inner = inner.is_file() and not inner.is_symlink()
    if config.is_symlink():
        if os.path.lexists(inner):
            steps.append(f"{config} (your link) and {mine} are both left as they are")
            return AdoptPlan(link, home, tuple(steps))
        target = config.resolve()
        steps.append(f"link {mine} -> {target} (the file your {config} link names)")
        return AdoptPlan(link, home, tuple(steps), link_to=target)
    if not config.exists():
        return AdoptPlan(link, home, tuple(steps))
    if not config.is_file():
        steps.append(f"{config} is not a regular file: left as it is")
        return AdoptPlan(link, home, tuple(steps))
    tail = f"link {config} -> {through} (it follows the active account)"
    if has_inner and inner.stat().st_mtime > config.stat().st_mtime:
        aside = config.with_name(f"{CONFIG_FILE}.reconciler-adopted-{stamp}")
        steps += [f"keep {mine} (newer than {config}); {config} moved aside to {aside}", tail]
        return AdoptPlan(link, home, tuple(steps), outer_aside=aside)
    inner_aside = None
    if has_inner:
        inner_aside = mine.with_name(f"{CONFIG_FILE}.reconciler-adopted-{stamp}")
        steps.append(f"the older {mine} moved aside to {inner_aside}")
    steps += [f"move {config} to {mine}", tail]
    return AdoptPlan(link, home, tuple(steps), carry=config, inner_aside=inner_aside)


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


def _second_name(source: Path, name: Path) -> None:
    """``name`` becomes another name of ``source`` (a hard link: nothing copied, the file
    never missing); a rename where the filesystem has no hard links."""
    try:
        os.link(source, name)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        source.rename(name)


def carry_out(plan: AdoptPlan) -> None:
    """The steps of ``plan``, each a rename or a new name; see the module docstring."""
    if plan.done:
        return
    link, home = plan.link, plan.home
    if home.is_dir():
        home.rmdir()  # empty (checked): its name is needed for the rename
    temp = _fresh_link(link, str(home))
    if _exchange(link, temp):
        temp.rename(home)  # the directory, now under the temporary name
    else:
        link.rename(home)
        temp.replace(link)
    mine = home / CONFIG_FILE
    if plan.link_to is not None:
        mine.symlink_to(plan.link_to)
        return
    outer = plan.carry or (plan.outer_aside and plan.outer_aside.with_name(CONFIG_FILE))
    if outer is None:
        return
    if plan.carry is not None:
        staged = mine.with_name(f".{CONFIG_FILE}.reconciler-adopt-{os.getpid()}")
        _second_name(plan.carry, staged)
        if plan.inner_aside is not None:
            _second_name(mine, plan.inner_aside)
        staged.replace(mine)  # the home's name now holds the user's live identity
    elif plan.outer_aside is not None:
        _second_name(outer, plan.outer_aside)
    through = (f"{link.name}/{CONFIG_FILE}" if link.parent == outer.parent
               else str(link / CONFIG_FILE))
    _fresh_link(outer, through).replace(outer)
