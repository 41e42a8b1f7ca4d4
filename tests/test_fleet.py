"""The ``reconciler.fleet`` collection end to end: real ``ansible-playbook`` against an
inventory of three hosts on this machine (local connection), each with its own HOME,
tmux server, state dir and stand-in Claudes, passed to the tasks through the
inventory's ``reconciler_environment``. Nothing reaches the real home or the default
tmux server: every sandbox environment comes from the fixtures' fences."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from _fixtures import World, make_world, tmux_server_alive, wait_for

from reconciler.demo import Sandbox

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = ROOT / "ansible"
HOSTS = ("fleet-1", "fleet-2", "fleet-3")
SLOW = 20.0

# ansible-core alone has no JSON stdout callback any more: this one records what the
# tests read (each task's result per host, the recap counts) next to the usual text.
RECORDER = """
import json, os
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "fleet_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tasks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.tasks.append({"name": task.get_name(), "hosts": {}})

    def _keep(self, result):
        self.tasks[-1]["hosts"][result._host.get_name()] = dict(result._result)

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = _keep

    def v2_playbook_on_stats(self, stats):
        summary = {h: stats.summarize(h) for h in sorted(stats.processed)}
        with open(os.environ["FLEET_RECORD"], "w") as out:
            json.dump({"tasks": self.tasks, "stats": summary}, out, default=str)
"""

if shutil.which("ansible-playbook") is None:  # a broken CI, not a reason to skip
    pytest.fail("ansible-playbook is missing: pip install -e '.[test]' brings ansible-core",
                pytrace=False)


@dataclass
class Played:
    text: str
    tasks: list[dict[str, Any]]
    """Each task run: its name and, by host, its result."""
    stats: dict[str, dict[str, int]]

    def task(self, name: str) -> dict[str, dict[str, Any]]:
        """The results, by host, of the task ``name`` (one run per batch under ``serial``)."""
        found = [t["hosts"] for t in self.tasks if t["name"] == name]
        assert found, f"no task {name!r} in {[t['name'] for t in self.tasks]}"
        return {host: result for hosts in found for host, result in hosts.items()}

    def changed(self) -> dict[str, int]:
        return {host: stats["changed"] for host, stats in self.stats.items()}


class Fleet:
    """Three sandbox worlds, an inventory naming them, and ``ansible-playbook``."""

    def __init__(self, root: Path, worlds: dict[str, World]) -> None:
        self.root = root
        self.worlds = worlds
        exe = root / "reconcile"  # this interpreter's reconciler, whatever PATH holds
        exe.write_text(f"#!/bin/sh\nexec {sys.executable} -m reconciler \"$@\"\n")
        exe.chmod(0o755)
        hosts = {
            name: {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "reconciler_executable": str(exe),
                "reconciler_desired": str(world.desired),
                "reconciler_state_dir": str(world.sandbox.state_dir),
                "reconciler_environment": world.sandbox.env(),
            }
            for name, world in worlds.items()
        }
        self.inventory = root / "hosts.yml"
        self.inventory.write_text(yaml.safe_dump({"reconciler": {"hosts": hosts}}))
        plugins = root / "callbacks"
        plugins.mkdir()
        (plugins / "fleet_record.py").write_text(RECORDER)
        self.record = root / "record.json"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
            "ANSIBLE_HOME": str(root / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(root / "ansible-tmp"),
            "ANSIBLE_REMOTE_TEMP": str(root / "ansible-remote-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "ANSIBLE_PIPELINING": "1",  # local connection: no module file copied per task
            "ANSIBLE_CALLBACK_PLUGINS": str(plugins),
            "ANSIBLE_CALLBACKS_ENABLED": "fleet_record",
            "FLEET_RECORD": str(self.record),
        }

    def play(self, playbook: str, *args: str) -> Played:
        """Run ``reconciler.fleet.PLAYBOOK``: its text, each task's results, the recap."""
        self.record.unlink(missing_ok=True)
        done = subprocess.run(
            ["ansible-playbook", "-i", str(self.inventory), f"reconciler.fleet.{playbook}",
             *args], capture_output=True, text=True, env=self.env, timeout=120, check=False)
        assert done.returncode == 0, f"{playbook} {args}: {done.stdout[-4000:]}\n{done.stderr}"
        record = json.loads(self.record.read_text())
        return Played(done.stdout, record["tasks"], record["stats"])

    def each(self) -> Iterator[tuple[str, World]]:
        return iter(self.worlds.items())


def active(world: World) -> str:
    for line in world.desired.read_text().splitlines():
        if line.startswith("active_account:"):
            return line.split(":", 1)[1].split("#")[0].strip()
    raise AssertionError("no active_account")


def session_ids(world: World, account: str) -> dict[str, str] | None:
    """Pane target to session id once both Claudes run on ``account``."""
    found = world.claudes()
    if len(found) == 2 and all(r["account"] == account and r["session_id"]
                               for r in found.values()):
        return {target: row["session_id"] for target, row in found.items()}
    return None


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("fleet")
    with contextlib.ExitStack() as stack:
        worlds = {name: stack.enter_context(make_world(
            root / name, autonomous_min=0, autonomous_max=1))
            for name in HOSTS}
        yield Fleet(root, worlds)


def converged(fleet: Fleet) -> dict[str, dict[str, str]]:
    """Every host converged with its two Claudes up on their account: their ids by host."""
    if not all(tmux_server_alive(w.sandbox) for _n, w in fleet.each()):
        fleet.play("converge")
    return {name: wait_for(lambda w=world: session_ids(w, active(w)), SLOW)
            for name, world in fleet.each()}


def test_check_mode_changes_nothing_and_reports_changed(fleet: Fleet) -> None:
    before = {name: w.desired.read_bytes() for name, w in fleet.each()}
    result = fleet.play("converge", "--check")
    assert result.changed() == dict.fromkeys(HOSTS, 1)
    for name, world in fleet.each():
        assert world.desired.read_bytes() == before[name]
        assert not tmux_server_alive(world.sandbox)
        assert not world.launches()
    task = result.task("Converge the host to its desired file")
    assert all(task[h]["plan"]["actions"] and "apply" not in task[h] for h in HOSTS)


def test_a_run_converges_all_three_and_a_second_changes_nothing(fleet: Fleet) -> None:
    result = fleet.play("converge")
    assert result.changed() == dict.fromkeys(HOSTS, 1)
    ids = converged(fleet)
    assert all(len(set(found.values())) == 2 for found in ids.values())
    again = fleet.play("converge")
    assert again.changed() == dict.fromkeys(HOSTS, 0)
    assert converged(fleet) == ids


def test_diff_shows_the_desired_change_and_the_plan(fleet: Fleet) -> None:
    converged(fleet)
    before = {name: w.desired.read_bytes() for name, w in fleet.each()}
    out = fleet.play("converge", "--check", "--diff", "-e",
                     "reconciler_active_account=personal").text
    for name, world in fleet.each():
        assert world.desired.read_bytes() == before[name]
        assert f"--- before: {world.desired}" in out and f"+++ after: {world.desired}" in out
    assert out.count("\n-active_account: work ") == 3, out
    assert out.count("\n+active_account: personal ") == 3, out
    assert out.count("(active account: personal)") == 3, out
    assert out.count("↻ relaunch") >= 6, out  # two Claudes per host, resumed elsewhere
    assert "changed=1" in out and "changed=0" not in out


def test_a_limit_on_one_host_moves_all_three(fleet: Fleet) -> None:
    ids = converged(fleet)
    assert all(active(w) == "work" for _n, w in fleet.each())
    now = datetime.now(UTC)
    seen = {"limits": {"work": {
        "account": "work", "resets_at": (now + timedelta(hours=1)).isoformat(),
        "kind": "session", "reason": "session limit", "detected_at": now.isoformat(),
        "source": "hook", "session": None, "text": "You've hit your session limit"}}}
    planted = fleet.root / "planted.json"
    planted.write_text(json.dumps(seen))
    done = fleet.worlds["fleet-2"].reconcile("limits", "import", str(planted))
    assert done.returncode == 0, done.stderr

    checked = fleet.play("failover", "--check")
    assert checked.changed() == dict.fromkeys(HOSTS, 1)
    for name, world in fleet.each():
        assert active(world) == "work" and session_ids(world, "work") == ids[name]
        held = json.loads(world.reconcile("limits", "--json").stdout)["limits"]
        assert list(held) == (["work"] if name == "fleet-2" else [])

    result = fleet.play("failover", "-e", "reconciler_serial=1")  # one host at a time
    pushed = result.task("Take the fleet's limits and active account, and converge")
    assert result.changed() == dict.fromkeys(HOSTS, 1)
    assert sum(t["name"] == "Take the fleet's limits and active account, and converge"
               for t in result.tasks) == 3
    for name, world in fleet.each():
        assert active(world) == "personal"
        assert pushed[name]["swap"] == {"from": "work", "to": "personal"}
        assert wait_for(lambda w=world: session_ids(w, "personal"), SLOW) == ids[name]
        limits = json.loads(world.reconcile("limits", "--json").stdout)["limits"]
        assert limits["work"]["resets_at"] == seen["limits"]["work"]["resets_at"]
    again = fleet.play("failover")
    assert again.changed() == dict.fromkeys(HOSTS, 0)


# -- the pieces: the merge on the control node, the import on each host ----------------


def test_every_playbook_parses(tmp_path: Path) -> None:
    """The install role needs pip and systemd, which a test cannot give it here: its
    playbook is at least parsed, the role's argument spec and templates included."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")},
           "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_HOME": str(tmp_path),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("reconciler: {hosts: {one: {ansible_connection: local}}}\n")
    for playbook in ("install", "converge", "failover"):
        done = subprocess.run(["ansible-playbook", "--syntax-check", "-i", str(inventory),
                               f"reconciler.fleet.{playbook}"], capture_output=True, text=True,
                              env=env, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def _merge_limits() -> Any:
    path = COLLECTIONS / "ansible_collections/reconciler/fleet/plugins/filter/merge_limits.py"
    spec = importlib.util.spec_from_file_location("fleet_merge_limits", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.merge_limits


def _limit(account: str, kind: str, hours: float, now: datetime) -> dict[str, Any]:
    return {"account": account, "kind": kind, "reason": f"{kind} limit",
            "resets_at": (now + timedelta(hours=hours)).isoformat(),
            "detected_at": now.isoformat(), "source": "hook", "session": None, "text": ""}


def test_merge_earliest_reset_per_kind_latest_kind_per_account() -> None:
    merge, now = _merge_limits(), datetime.now(UTC)
    guessed, read = _limit("work", "session", 5, now), _limit("work", "session", 2, now)
    weekly = _limit("home", "weekly", 70, now)
    merged = merge([{"work": guessed}, {"work": read, "home": _limit("home", "session", 1, now)},
                    {"home": weekly}, None, {}])
    assert merged == {"work": read, "home": weekly}
    assert merge([]) == {}


def test_fleet_import_replaces_a_later_reset_and_writes_nothing_on_dry_run(
        sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    later, earlier = _limit("work", "session", 5, now), _limit("work", "session", 2, now)

    def cli(*args: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", *args, "--json", "-f", str(sandbox.desired_path),
             "--state-dir", str(sandbox.state_dir)], input=json.dumps(data) if data else None,
            capture_output=True, text=True, env=sandbox.env(), timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def held() -> str:
        return str(cli("limits")["limits"]["work"]["resets_at"])

    assert cli("limits", "import", "-", data={"limits": {"work": later}})["imported"] == ["work"]
    assert cli("limits", "import", "-", data={"limits": {"work": earlier}})["imported"] == []
    assert held() == later["resets_at"]  # from another host: the later reset stays
    weighed = cli("limits", "import", "-", "--fleet", "--dry-run", data={"work": earlier})
    assert weighed["imported"] == ["work"] and weighed["dry_run"]
    assert weighed["decision"]["action"] == "swap" and weighed["decision"]["to"] == "personal"
    assert held() == later["resets_at"]  # a dry run writes nothing
    assert cli("limits", "import", "-", "--fleet", data={"work": earlier})["imported"] == ["work"]
    assert held() == earlier["resets_at"]  # the fleet's view wins, earlier or not
    assert cli("limits", "import", "-", "--fleet", data={"work": earlier})["imported"] == []
