"""Can the active account take a Claude, and what must be carried to it first?

A Claude is moved only to an account that can take it: its home exists, it is logged
in, and the prompts that would stop a resume there (project trust, the bypass
disclaimer) were already accepted, in that account or in another one (then the
acceptance is carried over), or declared (``trust: true``). Otherwise nothing is
stopped and a conflict says why. Pure: everything comes from ``observed.accounts``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath

from reconciler.desired import DesiredState
from reconciler.observe import Observed, PathKind
from reconciler.plan._actions import Action, CarryAcceptances, Conflict, InstallSignals, Kind
from reconciler.plan._files import dir_key
from reconciler.signals import SignalState

BYPASS_FLAG = "--dangerously-skip-permissions"


def signals(desired: DesiredState, observed: Observed) -> Iterator[Action | Conflict]:
    """Claude's limit signals in every account home that exists."""
    commands = observed.signals
    if commands is None:
        return
    for account in desired.accounts:
        fact = observed.accounts.get(account.name)
        if fact is None or fact.signals.state is SignalState.INSTALLED:
            continue
        if observed.homes[account.name].kind is not PathKind.DIR:
            continue
        key = f"signals:{account.name}"
        settings = account.home / "settings.json"
        if fact.signals.state is SignalState.BROKEN:
            yield Conflict(key, f"{settings} is {fact.signals.why}; left "
                                "alone, so Claude's limit signals are not installed there")
            continue
        yield InstallSignals(
            key=key, kind=Kind.CHANGE, account=account.name, settings=settings,
            stop_failure=commands.stop_failure, status_line=commands.status_line,
            depends_on=(dir_key(account.home),),
            description=f"install limit signals (StopFailure hook, status line) in {settings}")


def trusted_root(cwd: str, trusted: frozenset[str]) -> str | None:
    """The trusted directory that covers ``cwd`` (itself or a parent), if any."""
    path = PurePath(cwd)
    for candidate in (path, *path.parents):
        if str(candidate) in trusted:
            return str(candidate)
    return None


def account_refusal(name: str, home: PurePath, observed: Observed) -> str | None:
    """Why account ``name`` cannot take a Claude now (its home missing, not logged in,
    not through Claude's first run), if so: for the active account's launches, and for
    failover choosing where to move."""
    kind = observed.homes[name].kind
    if kind is PathKind.MISSING:
        return (f"account {name}: {home} does not exist; create it and log in first "
                f"(CLAUDE_CONFIG_DIR={home} claude, then /login)")
    if kind is not PathKind.DIR:
        return f"account {name}: {home} is not a directory"
    fact = observed.accounts.get(name)
    if fact is not None and not fact.logged_in:
        return (f"account {name} is not logged in ({home}/.credentials.json is missing); "
                f"log in first: CLAUDE_CONFIG_DIR={home} claude, then /login")
    if fact is not None and not fact.onboarded:
        return (f"account {name} has not finished Claude's first run (no "
                f"hasCompletedOnboarding in {home}/.claude.json): a resumed Claude would "
                f"stop at its welcome screens; run CLAUDE_CONFIG_DIR={home} claude once")
    return None


class Readiness:
    """The active account, as a place to (re)launch Claudes."""

    def __init__(self, desired: DesiredState, observed: Observed) -> None:
        self.desired = desired
        self.observed = observed
        self.account = desired.active
        self.fact = observed.accounts.get(self.account.name)
        self.others = [f for n, f in observed.accounts.items() if n != self.account.name]
        self.trust: set[str] = set()
        self.bypass = False
        self.key = f"accept:{self.account.name}"

    def refusal(self) -> str | None:
        """Why no Claude may be started on the active account at all, if so."""
        return account_refusal(self.account.name, self.account.home, self.observed)

    def prepare(self, cwd: str, *, declared: bool, moving: bool) -> tuple[tuple[str, ...],
                                                                            str | None]:
        """(dependencies of a launch in ``cwd``, a refusal). What the launch needs that the
        account lacks is carried from another account, or from ``trust: true``."""
        fact = self.fact
        if fact is None:
            return (), None
        needs: list[str] = []
        if trusted_root(cwd, fact.trusted) is None:
            source = next((root for f in self.others
                           if (root := trusted_root(cwd, f.trusted)) is not None), None)
            if source is not None or declared:
                self.trust.add(source or cwd)
                needs.append("trust")
            elif moving:
                return (), (f"{cwd} was never trusted on {self.account.name} nor on another "
                            "account: the resumed Claude would stop at the trust prompt")
        if BYPASS_FLAG in self.desired.launch.command and not fact.bypass_accepted:
            if any(f.bypass_accepted for f in self.others):
                self.bypass = True
                needs.append("bypass")
            elif moving:
                return (), (f"{self.account.name} never accepted the bypass-permissions "
                            "disclaimer: the resumed Claude would stop at it")
        return ((self.key,) if needs else ()), None

    def carry(self) -> CarryAcceptances | None:
        if not self.trust and not self.bypass:
            return None
        home = self.account.home
        what = [f"trust {', '.join(sorted(self.trust))}"] if self.trust else []
        what += ["the bypass-permissions disclaimer"] if self.bypass else []
        return CarryAcceptances(
            key=self.key, kind=Kind.CHANGE, account=self.account.name,
            config=home / ".claude.json", settings=home / "settings.json",
            trust=tuple(sorted(self.trust)), bypass=self.bypass,
            depends_on=(dir_key(home),),
            description=f"carry to {self.account.name} what was accepted elsewhere: "
                        + " and ".join(what))
