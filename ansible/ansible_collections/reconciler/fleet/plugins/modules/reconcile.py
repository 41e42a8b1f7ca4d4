#!/usr/bin/python
# Copyright: the reconciler authors
# SPDX-License-Identifier: MIT (as the reconciler itself)
"""Ansible module: converge one host with the reconciler."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: reconcile
short_description: Converge a host's Claude Code sessions, accounts and tmux with the reconciler
version_added: "0.1.0"
description:
  - Runs the C(reconcile) command line on the managed host to converge it to its desired file.
  - Optionally imports usage limits seen elsewhere (C(reconcile limits import)) and makes an
    account the active one first (C(reconcile swap)), then plans and applies.
  - In check mode nothing is written and nothing is started or stopped; the result is the plan
    and C(changed) says whether an apply would do anything.
  - C(changed) comes from the plan, so a converged host reports C(changed=false).
author:
  - reconciler maintainers (!UNKNOWN)
options:
  executable:
    description:
      - The C(reconcile) executable on the host, a name looked up on E(PATH) or an absolute path
        (for example the C(bin/reconcile) of the venv the P(reconciler.fleet.install#role) role
        made).
    type: str
    default: reconcile
  desired:
    description:
      - Path of the desired file on the host.
    type: path
    default: ~/.config/reconciler/desired_state.yaml
  state_dir:
    description:
      - The reconciler's state dir on the host.
      - When not set, the CLI's default (C($XDG_STATE_HOME/reconciler)) is used.
    type: path
  active_account:
    description:
      - Make this account the active one before converging, through the same code as
        C(reconcile swap) (only the C(active_account) value of the file is rewritten, and the
        swap is recorded).
      - Every running Claude is then resumed on this account with its own session id.
    type: str
  limits:
    description:
      - Usage limits to import first, as C(reconcile limits --json) prints them (the whole
        document or its C(limits) mapping).
    type: dict
  limits_mode:
    description:
      - V(merge) imports like C(reconcile limits import) does for another host's file, a later
        reset always wins.
      - V(fleet) imports a fleet's merged view (C(reconcile limits import --fleet)), whose reset
        replaces the host's own, so every host returns at the same time.
    type: str
    choices: [merge, fleet]
    default: merge
  apply:
    description:
      - Converge after the swap and the import. With V(false) only the plan is returned.
    type: bool
    default: true
notes:
  - Pass the host's E(HOME) (and any other environment the reconciler needs there) with the
    task's C(environment) keyword; the collection's playbooks take it from the inventory
    variable C(reconciler_environment).
  - The check-mode diff of the desired file is a preview of the C(active_account) line; the
    real swap rewrites exactly that value and nothing else.
  - A conflict (a pane the reconciler keeps its hands off, with the reason) is returned as a
    warning; an action that failed or was refused fails the task, as the host did not converge.
attributes:
  check_mode:
    description: Check mode is the plan; nothing is written, started or stopped.
    support: full
  diff_mode:
    description: The desired file's change and the plan's lines.
    support: full
"""

EXAMPLES = r"""
- name: Converge the host
  reconciler.fleet.reconcile:
    executable: ~/.local/share/reconciler/venv/bin/reconcile
    desired: ~/.config/reconciler/desired_state.yaml
  environment:
    HOME: /home/dev

- name: Move every Claude to the personal account and take the fleet's limits
  reconciler.fleet.reconcile:
    active_account: personal
    limits: "{{ reconciler_fleet_limits }}"
    limits_mode: fleet

- name: What would happen (nothing changes)
  reconciler.fleet.reconcile:
  check_mode: true
  register: plan
"""

RETURN = r"""
active_account:
  description: The active account after the task (in check mode, the one an apply would use).
  returned: success
  type: str
  sample: work
swap:
  description: The swap made (or, in check mode, that would be made).
  returned: when O(active_account) is set
  type: dict
  sample: {"from": "work", "to": "personal"}
imported:
  description: Accounts whose limit was taken from O(limits).
  returned: when O(limits) is set
  type: list
  elements: str
  sample: [work]
plan:
  description: The plan as C(reconcile plan --json) prints it (actions, conflicts, counts).
  returned: success
  type: dict
plan_lines:
  description: The plan as C(reconcile plan) prints it, one line each.
  returned: success
  type: list
  elements: str
apply:
  description: The apply report as C(reconcile apply --json) prints it; absent in check mode
    and when the plan was empty.
  returned: when something was applied
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.reconciler.fleet.plugins.module_utils.reconcile import (
    COMMON_ARGS,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    Reconcile,
    ReconcileError,
    plan_lines,
    swapped_text,
)


def _plan(cli, module, account, result):
    """The plan, after the swap when one is asked for (a dry-run swap in check mode)."""
    if account and module.check_mode:
        _code, plan, human = cli.run("swap", account, "--dry-run",
                                     ok=(EXIT_OK, EXIT_CHANGES, EXIT_ERROR))
        swap = plan.pop("swap", {})
        plan.pop("dry_run", None)
        result["swap"] = swap
        result["changed"] |= swap.get("from") != swap.get("to")
    else:
        _code, plan, human = cli.run("plan", ok=(EXIT_OK, EXIT_CHANGES, EXIT_ERROR))
    if "actions" not in plan:
        raise ReconcileError("; ".join(plan.get("errors") or ["the plan could not be made"]))
    return plan, plan_lines(human)


def run(module):
    cli = Reconcile(module)
    params = module.params
    account = params["active_account"]
    result = {"changed": False}
    before = cli.read_desired()

    if params["limits"]:
        args = ["limits", "import", "-"]
        if params["limits_mode"] == "fleet":
            args.append("--fleet")
        if module.check_mode:
            args.append("--dry-run")
        _code, imported, _human = cli.run(*args, data=module.jsonify(params["limits"]))
        result["imported"] = imported.get("imported", [])
        result["changed"] |= bool(result["imported"])

    if account and not module.check_mode:
        _code, swap, _human = cli.run("swap", account)
        result["swap"] = {"from": swap.get("from"), "to": swap.get("to")}
        result["changed"] |= swap.get("from") != swap.get("to")

    plan, lines = _plan(cli, module, account, result)
    result.update(plan=plan, plan_lines=lines, active_account=plan.get("active_account"))
    result["changed"] |= bool(plan["actions"])
    for conflict in plan.get("conflicts", []):
        module.warn(f"conflict {conflict.get('key')}: {conflict.get('message')}")

    if plan["actions"] and params["apply"] and not module.check_mode:
        code, report, _human = cli.run("apply", ok=(EXIT_OK, EXIT_ERROR))
        result["apply"] = report
        counts = report.get("counts") or {}
        # A conflict (a pane the reconciler must not touch) is the reconciler keeping its
        # hands off and saying why: a warning above. A failed or refused action fails.
        if code != EXIT_OK and (counts.get("failed") or counts.get("refused")
                                or "results" not in report):
            said = report.get("recap") or "; ".join(report.get("errors") or [])
            module.fail_json(msg=f"apply did not converge: {said}", **result)

    if module._diff:
        after = cli.read_desired() if not module.check_mode else (
            swapped_text(before, account) if before is not None and account else before)
        result["diff"] = [
            {"before_header": cli.desired, "after_header": cli.desired,
             "before": before or "", "after": after or ""},
            {"prepared": "\n".join(lines) + "\n"},
        ]
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            **COMMON_ARGS,
            "active_account": {"type": "str"},
            "limits": {"type": "dict"},
            "limits_mode": {"type": "str", "choices": ["merge", "fleet"], "default": "merge"},
            "apply": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except ReconcileError as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()
