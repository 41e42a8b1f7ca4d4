"""Panes waiting at Claude's limit menu, a login prompt or the trust prompt are
reported (and alerted by the service), never typed into."""

from __future__ import annotations

import pytest
from _builders import claude, pane

from reconciler.failover import stuck_panes


@pytest.mark.parametrize(("text", "what"), [
    ("You've hit your limit · resets 8am\n\u276f 1. Stop and wait for limit to reset\n"
     "  2. Upgrade your plan\nWhat do you want to do?", "usage-limit menu"),
    ("Do you trust the files in this folder?\n\u276f 1. Yes, proceed\n  2. No, exit",
     "workspace-trust prompt"),
    ("Select login method:\n\u276f 1. Claude account with subscription", "login prompt"),
    ("Invalid API key · Please run /login", "not logged in"),
])
def test_stuck_prompts_are_reported(text: str, what: str) -> None:
    panes = [pane("api", 1, c=claude(501, "work"))]
    found = stuck_panes({"%1": text}, panes)
    assert list(found) == ["api/0"] and what in found["api/0"]
    assert "not typing into it" in found["api/0"]


def test_ordinary_output_is_not_stuck() -> None:
    panes = [pane("api", 1, c=claude(501, "work"))]
    assert stuck_panes({"%1": "✻ Thinking…\n> write the tests"}, panes) == {}


def test_a_menu_left_by_the_claude_before_the_relaunch_is_not_stuck() -> None:
    """The Claude that sat at the limit menu was stopped and resumed on another account:
    its menu is still in the scrollback, above the launch line, and is over."""
    panes = [pane("api", 1, c=claude(501, "work"))]
    before = ("You've hit your limit · resets 8am\n\u276f 1. Stop and wait for limit to "
              "reset\nWhat do you want to do?\n")
    relaunched = (" CLAUDE_CONFIG_DIR=/h/.claude-personal claude --resume "
                  "70d97d4a-5d14-5278-a909-bd44a62d8071\n\u273b Welcome back\n> ")
    assert stuck_panes({"%1": before + "$" + relaunched}, panes) == {}
    assert list(stuck_panes({"%1": before + "$" + relaunched + "\n" + before}, panes)) \
        == ["api/0"], "the same menu from the Claude running now is stuck"
