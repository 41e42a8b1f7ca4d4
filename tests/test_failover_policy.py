"""The failover decision as a table: limits + now -> stay, swap (limit/return) or wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _builders import desired_yaml, load_text

from reconciler.desired import DesiredState
from reconciler.failover import Limit, decide

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def desired(tmp_path: Path, active: str, extra: str = "") -> DesiredState:
    path = tmp_path / f"d-{active}-{len(extra)}.yaml"
    return load_text(path, desired_yaml(
        active=active, accounts=("work", "personal", "spare"), link=None, shared=None,
        tmux=None, autonomous=None, dedicated=(), launch=None,
        extra=f"failover: {{cooldown: 2m, grace: 5m{extra}}}\n"))


def limited(account: str, minutes: int) -> Limit:
    return Limit(account, NOW + timedelta(minutes=minutes), "session", "test", NOW)


CASES = [
    ("no limits: stay", "work", {}, None, ("stay", None, "")),
    ("active limited: next in order", "work", {"work": 60}, None, ("swap", "personal", "limit")),
    ("skip a limited one", "work", {"work": 60, "personal": 30}, None,
     ("swap", "spare", "limit")),
    ("all limited: wait", "work", {"work": 60, "personal": 30, "spare": 90}, None,
     ("wait", None, "all_limited")),
    ("earliest reset passed (+grace): go there", "spare",
     {"work": -10, "personal": 30, "spare": 90}, None, ("swap", "work", "limit")),
    ("reset passed but grace not yet: wait", "work",
     {"work": -2, "personal": 30, "spare": 90}, None, ("wait", None, "all_limited")),
    ("preferred reset + grace passed: return", "personal", {"work": -6}, None,
     ("swap", "work", "return")),
    ("return waits for the grace", "personal", {"work": -4}, None, ("stay", None, "")),
    ("manual swap without a limit is respected", "personal", {}, None, ("stay", None, "")),
    ("cooldown holds a swap", "work", {"work": 60}, 1, ("stay", None, "")),
    ("cooldown over", "work", {"work": 60}, 3, ("swap", "personal", "limit")),
]


@pytest.mark.parametrize(("name", "active", "limits", "swapped_minutes_ago", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_decide(tmp_path: Path, name: str, active: str, limits: dict[str, int],
                swapped_minutes_ago: int | None, expected: tuple[str, str | None, str]) -> None:
    state = desired(tmp_path, active)
    last = NOW - timedelta(minutes=swapped_minutes_ago) if swapped_minutes_ago else None
    decision = decide(state,
                      {a: limited(a, m) for a, m in limits.items()}, NOW, last)
    assert (decision.action, decision.to, decision.reason) == expected, decision.message


def test_order_limits_where_failover_may_go(tmp_path: Path) -> None:
    state = desired(tmp_path, "work", ", order: [work, spare]")
    decision = decide(state, {"work": limited("work", 60)}, NOW, None)
    assert decision.to == "spare"


def test_disabled(tmp_path: Path) -> None:
    state = desired(tmp_path, "work", ", enabled: false")
    decision = decide(state, {"work": limited("work", 60)}, NOW, None)
    assert decision.action == "stay"


def test_all_limited_names_earliest_reset(tmp_path: Path) -> None:
    state = desired(tmp_path, "work")
    limits = {a: limited(a, m) for a, m in {"work": 60, "personal": 30, "spare": 90}.items()}
    decision = decide(state, limits, NOW, None)
    assert "personal resets first" in decision.message


UNFIT = {"personal": "account personal is not logged in"}


@pytest.mark.parametrize(("active", "limits", "expected"), [
    ("work", {"work": 60}, ("swap", "spare", "limit")),
    ("work", {"work": 60, "spare": 30}, ("wait", None, "all_limited")),
    ("spare", {"work": -10}, ("swap", "work", "return")),
    ("work", {}, ("stay", None, "")),
], ids=["skipped for the next", "nothing else: wait", "return elsewhere", "no limit: stay"])
def test_an_account_that_cannot_take_claudes_is_never_moved_to(
        tmp_path: Path, active: str, limits: dict[str, int],
        expected: tuple[str, str | None, str]) -> None:
    """A logged-out (or missing, or never started) account is no target: failover moves
    to the next one, or waits, and never rewrites the file for a move that cannot be."""
    decision = decide(desired(tmp_path, active), {a: limited(a, m) for a, m in limits.items()},
                      NOW, None, unfit=UNFIT)
    assert (decision.action, decision.to, decision.reason) == expected, decision.message
    if decision.action == "wait":
        assert "personal cannot take Claudes" in decision.message


def test_an_order_without_the_active_account_and_nothing_fit_waits(tmp_path: Path) -> None:
    """The active account is limited, the order leaves it out, and every account in the
    order cannot take Claudes: wait for the active one's reset, never a crash."""
    state = desired(tmp_path, "work", ", order: [personal, spare]")
    decision = decide(state, {"work": limited("work", 60)}, NOW, None,
                      unfit={"personal": "logged out", "spare": "logged out"})
    assert (decision.action, decision.reason) == ("wait", "all_limited")
    assert "work resets first" in decision.message
