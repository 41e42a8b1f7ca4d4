"""The safety hook: merged into a dedicated project's settings before Claude runs there."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from _builders import TABLE_YAML, H, converged, load_text, pane, with_panes

from reconciler.apply import ActionError
from reconciler.apply._fs_ops import ensure_safety_hook
from reconciler.desired import DesiredState, SafetyHook
from reconciler.observe import SettingsState, has_hook
from reconciler.observe._settings import SettingsFact, observe_settings
from reconciler.plan import EnsureSafetyHook, Kind, LaunchClaude, plan

HOOK = SafetyHook("Bash", "/usr/local/bin/guard")


def action(settings: Path) -> EnsureSafetyHook:
    return EnsureSafetyHook(key="safety:api", kind=Kind.CHANGE, description="", settings=settings,
                            matcher=HOOK.matcher, command=HOOK.command)


def test_merge_keeps_the_users_settings(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = {"model": "opus", "hooks": {"PreToolUse": [
        {"matcher": "Edit", "hooks": [{"type": "command", "command": "mine"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "bye"}]}]}}
    settings.write_text(json.dumps(mine))
    settings.chmod(0o640)
    assert ensure_safety_hook(action(settings)) is True
    merged = json.loads(settings.read_text())
    assert merged["model"] == "opus" and merged["hooks"]["Stop"] == mine["hooks"]["Stop"]
    assert merged["hooks"]["PreToolUse"][0] == mine["hooks"]["PreToolUse"][0]
    assert has_hook(merged, "Bash", "/usr/local/bin/guard")
    assert settings.stat().st_mode & 0o777 == 0o640
    assert ensure_safety_hook(action(settings)) is False, "second run changes nothing"
    assert observe_settings(tmp_path, "Bash", HOOK.command).state is SettingsState.HAS_HOOK


def test_missing_file_is_created(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    assert observe_settings(tmp_path, "Bash", HOOK.command).state is SettingsState.MISSING
    ensure_safety_hook(action(settings))
    assert has_hook(json.loads(settings.read_text()), "Bash", HOOK.command)


def test_broken_json_is_reported_and_left_alone(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{ not json")
    assert observe_settings(tmp_path, "Bash", HOOK.command).state is SettingsState.BROKEN
    with pytest.raises(ActionError, match="left alone"):
        ensure_safety_hook(action(settings))
    assert settings.read_text() == "{ not json"


@pytest.mark.parametrize(("state", "expect_action", "expect_conflict"), [
    (SettingsState.HAS_HOOK, False, False),
    (SettingsState.NEEDS_HOOK, True, False),
    (SettingsState.MISSING, True, False),
    (SettingsState.BROKEN, False, True),
])
def test_planner_puts_the_hook_before_the_launch(
    desired_with_hook: DesiredState, state: SettingsState, expect_action: bool,
    expect_conflict: bool,
) -> None:
    desired = desired_with_hook
    world = with_panes(pane("api", 1, text=""))(converged(desired))
    world = replace(world, project_settings={
        "api": SettingsFact(H / "src/api/.claude/settings.json", state)})
    result = plan(desired, world)
    keys = [a.key for a in result.actions]
    launch = next((a for a in result.actions
                   if isinstance(a, LaunchClaude) and a.target == "api/0"), None)
    assert ("safety:api" in keys) is expect_action
    assert any(c.key == "safety:api" for c in result.conflicts) is expect_conflict
    if expect_action:
        assert keys.index("safety:api") < keys.index("launch:api/0")
        assert launch is not None and "safety:api" in launch.depends_on
    if expect_conflict:
        assert launch is None and [a.key for a, _ in result.blocked] == ["launch:api/0"]


@pytest.fixture
def desired_with_hook(tmp_path: Path) -> DesiredState:
    path = tmp_path / "desired.yaml"
    return replace(load_text(path, TABLE_YAML), safety_hook=HOOK)
