"""Planning for the filesystem: shared dirs, merges, shared links, the active link."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from reconciler.desired import DesiredState
from reconciler.observe import Observed, PathFact, PathKind
from reconciler.plan._actions import (
    Action,
    Conflict,
    Kind,
    MakeDir,
    MergeIntoShared,
    Symlink,
)

BACKUP_SUFFIX = ".reconciler-backup"


def backup_root(desired: DesiredState, now: datetime) -> Path:
    """Dated place for anything moved out of the way: nothing is ever deleted.

    It sits beside the shared dir, never inside anything that may itself be moved.
    """
    shared = desired.shared.dir
    return shared.with_name(shared.name + BACKUP_SUFFIX) / now.strftime("%Y%m%dT%H%M%SZ")


def entry_key(account: str, entry: str) -> str:
    return f"entry:{account}:{entry}"


def dir_key(path: Path) -> str:
    return f"dir:{path}"


LINK_KEY = "link"
APART_KEY = "homes-apart"
"""Every stop and launch waits on it: the active home is one directory with another."""


def _foreign(fact: PathFact, what: str) -> Conflict | None:
    if fact.kind is PathKind.DIR and fact.foreign_owner is not None:
        return Conflict(dir_key(fact.path), f"{what} {fact.path} is owned by uid "
                        f"{fact.foreign_owner}, not by you; refusing to use it (its owner "
                        "could read or replace what every account keeps there)")
    if fact.kind is PathKind.DIR and fact.others_write:
        return Conflict(dir_key(fact.path), f"{what} {fact.path} is writable by every user "
                        "(anyone could plant a hook or a transcript there); refusing to use "
                        f"it. `chmod o-w {fact.path}`, then run again")
    return None


def _ensure_dir(fact: PathFact, what: str) -> Iterator[Action | Conflict]:
    """A directory that must exist: create it when missing. Anything else in its place
    (a file, a dangling link, another user's directory) is the user's to sort out."""
    key = dir_key(fact.path)
    foreign = _foreign(fact, what)
    if foreign is not None:
        yield foreign
    if fact.kind is PathKind.DIR:
        return
    if fact.kind is PathKind.LINK:
        yield Conflict(key, f"{what} {fact.path} is a dangling link to {fact.target}")
    elif fact.kind is PathKind.FILE:
        yield Conflict(key, f"{what} {fact.path} is a file, not a directory; move it away "
                            "(or take it out of shared.entries), then run again")
    else:
        yield MakeDir(key=key, kind=Kind.CREATE, description=f"create {what} {fact.path}",
                      path=fact.path)


def shared_dirs(desired: DesiredState, observed: Observed) -> Iterator[Action | Conflict]:
    yield from _ensure_dir(observed.shared_dir, "shared dir")
    for entry in desired.shared.entries:
        fact = observed.shared_entries[entry]
        for item in _ensure_dir(fact, "shared entry"):
            if isinstance(item, Action):
                yield replace(item, depends_on=(*item.depends_on, dir_key(desired.shared.dir)))
            else:
                yield item


def homes(desired: DesiredState, observed: Observed) -> Iterator[Action | Conflict]:
    """Account homes are the user's: never made here. A missing one would be an empty,
    logged-out home that Claudes get moved into; what depends on it waits."""
    for real, names in observed.one_directory.items():
        if desired.active_account in names:
            yield Conflict(APART_KEY, f"accounts {' and '.join(names)} are one directory now "
                                      f"({real}); a Claude there cannot be told to be on "
                                      "one or the other, so none is stopped or started until "
                                      "each account has its own home")
    for account in desired.accounts:
        fact = observed.homes[account.name]
        foreign = _foreign(fact, f"home of {account.name}")
        if foreign is not None:
            yield foreign
        if fact.kind is PathKind.DIR:
            continue
        key = dir_key(account.home)
        if fact.kind is PathKind.MISSING and observed.link.kind is PathKind.DIR and (
                account == desired.accounts[0]):
            yield Conflict(key, f"account {account.name}: {account.home} does not exist yet; "
                                f"`reconcile adopt` makes {desired.link} (your current home) "
                                "into it")
        elif fact.kind is PathKind.MISSING:
            yield Conflict(key, f"account {account.name}: {account.home} does not exist; "
                                f"create it and log in first (CLAUDE_CONFIG_DIR="
                                f"{account.home} claude, then /login)")
        else:
            yield Conflict(key, f"home of {account.name} {account.home} is a {fact.kind.value}")


def merges_and_links(
    desired: DesiredState, observed: Observed
) -> tuple[list[Action | Conflict], list[Action | Conflict]]:
    """Merges (moving real data into shared) and the links that replace them."""
    merges: list[Action | Conflict] = []
    links: list[Action | Conflict] = []
    stamp = backup_root(desired, observed.now)
    for account in desired.accounts:
        for entry in desired.shared.entries:
            fact = observed.home_entries[(account.name, entry)]
            shared = desired.shared.dir / entry
            deps = [dir_key(account.home), dir_key(shared)]
            if fact.links_to(shared):
                continue
            backup = stamp / account.name / entry
            if fact.kind is PathKind.DIR:
                merge = f"merge:{account.name}:{entry}"
                merges.append(MergeIntoShared(
                    key=merge, kind=Kind.CHANGE, source=fact.path, dest=shared, backup=backup,
                    depends_on=(dir_key(shared),),
                    description=(
                        f"merge {fact.file_count} file(s) of {fact.path} into {shared}"
                        f" (a name both have keeps shared's copy; the other goes to {backup})"
                        if fact.file_count else
                        f"take away the empty {fact.path} (nothing to merge), for its link"
                    ),
                ))
                deps.append(merge)
            elif fact.kind is PathKind.FILE:
                # A file where a shared directory belongs is the user's (perhaps written
                # by a newer Claude): never turned into a link to an empty directory.
                links.append(Conflict(entry_key(account.name, entry), (
                    f"{fact.path} is a file; {entry} is shared as a directory. Move the "
                    f"file away (or take {entry} out of shared.entries), then run again")))
                continue
            was = f" (was -> {fact.target})" if fact.kind is PathKind.LINK else ""
            links.append(Symlink(
                key=entry_key(account.name, entry),
                kind=Kind.CHANGE if fact.kind is PathKind.LINK else Kind.CREATE,
                path=fact.path, target=shared, depends_on=tuple(deps),
                description=f"link {fact.path} -> {shared}{was}",
            ))
    return merges, links


def active_link(desired: DesiredState, observed: Observed) -> Iterator[Action | Conflict]:
    fact = observed.link
    home = desired.active.home
    if fact.links_to(home):
        return
    if fact.kind is PathKind.DIR:
        first = desired.accounts[0]
        yield Conflict(
            LINK_KEY,
            f"{fact.path} is a real directory (your Claude home today), not a link; nothing "
            f"that needs it runs until it is adopted: `reconcile adopt` moves it and "
            f"~/.claude.json into {first.home} (account {first.name}), nothing copied",
        )
        return
    if fact.kind is PathKind.FILE:
        yield Conflict(LINK_KEY, f"{fact.path} is a file, not a link; refusing to replace "
                                 "it. Move it away, then run again")
        return
    was = f" (was -> {fact.target})" if fact.kind is PathKind.LINK else ""
    yield Symlink(
        key=LINK_KEY,
        kind=Kind.CHANGE if fact.kind is PathKind.LINK else Kind.CREATE,
        path=fact.path, target=home, depends_on=(dir_key(home),),
        description=f"point {fact.path} -> {home} (account {desired.active_account}){was}",
    )
