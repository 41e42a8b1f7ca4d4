#!/usr/bin/python
# Copyright: the reconciler authors
# SPDX-License-Identifier: MIT (as the reconciler itself)
"""Ansible module: what the reconciler of one host knows, as data."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: info
short_description: Status, usage limits and active account of a host's reconciler
version_added: "0.1.0"
description:
  - Runs C(reconcile status --json) and C(reconcile limits --json) on the managed host and
    returns what they print. Changes nothing.
  - With O(weigh_limits), also asks the host's own failover policy what it would decide if
    those limits were known there (C(reconcile limits import --fleet --dry-run)), without
    writing them. The C(reconciler.fleet.failover) playbook uses this to pick the
    fleet's active account with the very policy one host uses.
author:
  - reconciler maintainers (!UNKNOWN)
options:
  executable:
    description:
      - The C(reconcile) executable on the host, a name looked up on E(PATH) or an absolute path.
    type: str
    default: reconcile
  desired:
    description:
      - Path of the desired file on the host.
    type: path
    default: ~/.config/reconciler/desired_state.yaml
  state_dir:
    description:
      - The reconciler's state dir on the host; the CLI's default when not set.
    type: path
  status:
    description:
      - Also observe the host (tmux sessions, panes, Claudes) with C(reconcile status).
      - Limits and the active account do not need it; V(false) is faster.
    type: bool
    default: true
  weigh_limits:
    description:
      - Limits (as C(reconcile limits --json) prints them) to weigh with the host's policy as
        a fleet's merged view, without importing them. The answer is in RV(weighed).
    type: dict
attributes:
  check_mode:
    description: The module only reads; it runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing changes, so there is nothing to show.
    support: none
notes:
  - Pass the host's E(HOME) with the task's C(environment) keyword.
"""

EXAMPLES = r"""
- name: What does this host know?
  reconciler.fleet.info:
    status: false
  register: seen

- name: Show the limits
  ansible.builtin.debug:
    var: seen.limits
"""

RETURN = r"""
active_account:
  description: The active account of the host's desired file.
  returned: success
  type: str
  sample: work
limits:
  description: Known usage limits by account (account, resets_at, kind, reason, detected_at,
    source, session, text), as C(reconcile limits --json) prints them.
  returned: success
  type: dict
usage:
  description: Per account, each usage window's percent used and reset, from Claude's status line.
  returned: success
  type: dict
decision:
  description: What the host's failover policy would do next (action stay, swap or wait; to;
    message).
  returned: success
  type: dict
history:
  description: The host's limit events (detected, imported, cleared, reset).
  returned: success
  type: list
  elements: dict
status:
  description: C(reconcile status --json) (sessions, panes, accounts, Claude pids and session ids).
  returned: when O(status=true)
  type: dict
weighed:
  description: The limits that would result from importing O(weigh_limits) as a fleet's view,
    and the policy's decision over them (C(decision.action), C(decision.to)).
  returned: when O(weigh_limits) is set
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.reconciler.fleet.plugins.module_utils.reconcile import (
    COMMON_ARGS,
    Reconcile,
    ReconcileError,
)


def run(module):
    cli = Reconcile(module)
    _code, limits, _human = cli.run("limits")
    result = {
        "changed": False,
        "limits": limits.get("limits", {}),
        "usage": limits.get("usage", {}),
        "decision": limits.get("decision", {}),
        "history": limits.get("history", []),
    }
    result["active_account"] = limits.get("active_account")
    if module.params["status"]:
        _code, status, _human = cli.run("status")
        result["status"] = status
    if module.params["weigh_limits"] is not None:
        _code, weighed, _human = cli.run("limits", "import", "-", "--fleet", "--dry-run",
                                         data=module.jsonify(module.params["weigh_limits"]))
        result["weighed"] = weighed
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            **COMMON_ARGS,
            "status": {"type": "bool", "default": True},
            "weigh_limits": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except ReconcileError as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()
