"""Random worlds: whatever the filesystem looks like, one apply converges or names a
conflict, and every file that existed before still exists after (in place, in the
shared dir, or in the backup). Hypothesis drives it; 500 examples by default,
RECONCILER_LONG=1 for 5,000."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections import Counter
from pathlib import Path

from _builders import desired_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.apply import RetryPolicy, apply_plan
from reconciler.desired import load_desired
from reconciler.observe import observe
from reconciler.plan import plan
from reconciler.statedir import StateDir

EXAMPLES = 5000 if os.environ.get("RECONCILER_LONG") else 500
ACCOUNTS = ("work", "personal")
ENTRIES = ("projects", "todos")

names = st.sampled_from(["a.jsonl", "b.jsonl", "same.jsonl", "x"])
tree = st.dictionaries(names, st.one_of(st.just("file"), st.dictionaries(names, st.just("file"),
                                                                         max_size=2)),
                       max_size=3)
entry_state = st.one_of(
    st.just(("missing",)), st.just(("link_shared",)), st.just(("link_dangling",)),
    st.just(("link_other",)), st.just(("file",)), st.tuples(st.just("dir"), tree))
world = st.fixed_dictionaries({
    "active": st.sampled_from(ACCOUNTS),
    "link": st.sampled_from(["missing", "work", "personal", "dangling", "dir", "file"]),
    "shared": st.sampled_from(["missing", "dir", "file"]),
    "shared_entries": st.fixed_dictionaries({e: st.one_of(st.just(("missing",)),
                                                          st.just(("file",)),
                                                          st.tuples(st.just("dir"), tree))
                                             for e in ENTRIES}),
    "homes": st.fixed_dictionaries({a: st.sampled_from(["missing", "dir", "dir", "file"])
                                    for a in ACCOUNTS}),
    "entries": st.fixed_dictionaries({f"{a}/{e}": entry_state for a in ACCOUNTS
                                      for e in ENTRIES}),
})


def _write_tree(path: Path, spec: dict[str, object]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for name, child in spec.items():
        if child == "file":
            (path / name).write_text(secrets.token_hex(8))
        elif isinstance(child, dict):
            _write_tree(path / name, child)


def _build(home: Path, spec: dict[str, object]) -> None:
    shared = home / ".claude-shared"
    if spec["shared"] == "file":
        shared.write_text(secrets.token_hex(8))
    elif spec["shared"] == "dir":
        shared.mkdir()
        for entry, state in spec["shared_entries"].items():  # type: ignore[attr-defined]
            if state[0] == "file":
                (shared / entry).write_text(secrets.token_hex(8))
            elif state[0] == "dir":
                _write_tree(shared / entry, state[1])
    (home / "elsewhere").mkdir()
    (home / "elsewhere" / "kept.txt").write_text(secrets.token_hex(8))
    for account, state in spec["homes"].items():  # type: ignore[attr-defined]
        account_home = home / f".claude-{account}"
        if state == "file":
            account_home.write_text(secrets.token_hex(8))
        elif state == "dir":
            account_home.mkdir()
            (account_home / ".credentials.json").write_text(secrets.token_hex(8))
    for key, state in spec["entries"].items():  # type: ignore[attr-defined]
        account, entry = key.split("/")
        account_home = home / f".claude-{account}"
        if not account_home.is_dir() or account_home.is_symlink():
            continue
        path = account_home / entry
        if state[0] == "link_shared":
            path.symlink_to(shared / entry)
        elif state[0] == "link_dangling":
            path.symlink_to(home / "nowhere" / entry)
        elif state[0] == "link_other":
            path.symlink_to(home / "elsewhere")
        elif state[0] == "file":
            path.write_text(secrets.token_hex(8))
        elif state[0] == "dir":
            _write_tree(path, state[1])
    link = home / ".claude"
    match spec["link"]:
        case "work" | "personal":
            link.symlink_to(home / f".claude-{spec['link']}")
        case "dangling":
            link.symlink_to(home / "nowhere")
        case "dir":
            link.mkdir()
            (link / "mine.txt").write_text(secrets.token_hex(8))
        case "file":
            link.write_text(secrets.token_hex(8))


def _contents(root: Path) -> Counter[str]:
    """Every regular file's content under ``root``, links not followed."""
    found: Counter[str] = Counter()
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                found[path.read_text()] += 1
    return found


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=world)
def test_apply_converges_or_names_a_conflict_and_loses_nothing(spec: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        home = root / "home"
        home.mkdir()
        _build(home, spec)
        before = _contents(home)
        path = root / "desired.yaml"
        path.write_text(desired_yaml(
            active=spec["active"], tmux=f"{{socket_name: never-started-{secrets.token_hex(4)}}}",
            autonomous=None, dedicated=(), launch=None))
        desired = load_desired(path, environ={"HOME": str(home)})
        state = StateDir(root / "state")
        first = plan(desired, observe(desired, state))
        report = apply_plan(first, desired, state, retry=RetryPolicy(attempts=1))
        after = _contents(home)
        lost = before - after
        assert not lost, f"lost {sum(lost.values())} file(s)"
        failed = [r for r in report.results if r.status.value == "failed"]
        assert not failed, [(r.action.key, r.message) for r in failed]
        again = plan(desired, observe(desired, state))
        if not first.conflicts:
            assert again.actions == (), [a.key for a in again.actions]
            assert (home / ".claude").readlink() == desired.active.home
        else:
            assert again.conflicts, "a conflict does not vanish by itself"
            assert {c.key for c in again.conflicts} <= {c.key for c in first.conflicts}
