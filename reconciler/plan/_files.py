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
    MoveAside,
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


def _ensure_dir(fact: PathFact, backup: Path, what: str) -> Iterator[Action | Conflict]:
    """A directory that must exist: create it, or move a file out of its way first."""
    key = dir_key(fact.path)
    if fact.kind is PathKind.DIR:
        return
    if fact.kind is PathKind.LINK:
        yield Conflict(key, f"{what} {fact.path} is a dangling link to {fact.target}")
        return
    deps: tuple[str, ...] = ()
    if fact.kind is PathKind.FILE:
        aside = f"aside:{fact.path}"
        yield MoveAside(
            key=aside,
            kind=Kind.CHANGE,
            description=f"move file {fact.path} aside to {backup} ({what} must be a directory)",
            path=fact.path,
            backup=backup,
        )
        deps = (aside,)
    yield MakeDir(
        key=key, kind=Kind.CREATE, description=f"create {what} {fact.path}", path=fact.path,
        depends_on=deps,
    )


def shared_dirs(desired: DesiredState, observed: Observed) -> Iterator[Action | Conflict]:
    backup = backup_root(desired, observed.now) / "shared"
    yield from _ensure_dir(observed.shared_dir, backup, "shared dir")
    for entry in desired.shared.entries:
        fact = observed.shared_entries[entry]
        for item in _ensure_dir(fact, backup, "shared entry"):
            if isinstance(item, Action):
                yield replace(item, depends_on=(*item.depends_on, dir_key(desired.shared.dir)))
            else:
                yield item


def homes(desired: DesiredState, observed: Observed) -> Iterator[Action | Conflict]:
    """Account homes are the user's: never made here. A missing one would be an empty,
    logged-out home that Claudes get moved into; what depends on it waits."""
    for account in desired.accounts:
        fact = observed.homes[account.name]
        if fact.kind is PathKind.DIR:
            continue
        key = dir_key(account.home)
        if fact.kind is PathKind.MISSING:
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
                        f" (clashes to {backup})"
                    ),
                ))
                deps.append(merge)
            elif fact.kind is PathKind.FILE:
                aside = f"aside:{fact.path}"
                merges.append(MoveAside(
                    key=aside, kind=Kind.CHANGE, path=fact.path, backup=backup,
                    description=f"move file {fact.path} aside to {backup}",
                ))
                deps.append(aside)
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
    if fact.kind in (PathKind.DIR, PathKind.FILE):
        what = "a real directory" if fact.kind is PathKind.DIR else "a file"
        yield Conflict(
            LINK_KEY,
            f"{fact.path} is {what}, not a link; refusing to replace it. Move it into an "
            f"account home first (for example: mv {fact.path} {home}), then run again",
        )
        return
    was = f" (was -> {fact.target})" if fact.kind is PathKind.LINK else ""
    yield Symlink(
        key=LINK_KEY,
        kind=Kind.CHANGE if fact.kind is PathKind.LINK else Kind.CREATE,
        path=fact.path, target=home, depends_on=(dir_key(home),),
        description=f"point {fact.path} -> {home} (account {desired.active_account}){was}",
    )
