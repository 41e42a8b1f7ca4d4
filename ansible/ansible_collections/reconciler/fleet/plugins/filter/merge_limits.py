# Copyright: the reconciler authors
# SPDX-License-Identifier: MIT (as the reconciler itself)
"""Jinja filter: merge the usage limits every host saw into one fleet view."""

from __future__ import annotations

from datetime import datetime

DOCUMENTATION = r"""
name: merge_limits
short_description: Merge the usage limits several hosts saw into the fleet's view
version_added: "0.1.0"
description:
  - Takes a list of C(limits) mappings, one per host, as
    P(reconciler.fleet.info#module) returns them, and returns one mapping by account.
  - An account limited on any host is limited in the result.
  - For the same account and kind, the earliest known reset wins; when an account is known
    limited in two kinds (a five-hour and a weekly limit, say), the kind that resets last
    is kept, as the account is usable only once every one of its limits has reset.
author:
  - reconciler maintainers (!UNKNOWN)
positional: _input
options:
  _input:
    description: One C(limits) mapping per host (account to limit record); V(null) entries
      (a host that reported nothing) are skipped.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Merge what every host saw
  ansible.builtin.set_fact:
    fleet_limits: >-
      {{ ansible_play_hosts | map('extract', hostvars, ['seen', 'limits'])
         | reconciler.fleet.merge_limits }}
"""

RETURN = r"""
_value:
  description: Account name to the limit record the fleet goes by.
  type: dict
"""


def _reset(record):
    return datetime.fromisoformat(str(record["resets_at"]))


def merge_limits(per_host):
    """Why earliest within a kind: a limit belongs to the account and resets at one
    instant whichever host saw it. Hosts differ only in how well they read it: one that
    read no reset assumes ``default_reset`` from the moment it noticed, which is later
    than the real one. Going by the earliest, a host that returns too early meets the
    limit again at once and the next fleet run moves everyone again; going by the latest
    would keep the whole fleet off a usable account for hours."""
    by_kind = {}
    for limits in per_host or []:
        for name, record in (limits or {}).items():
            if not isinstance(record, dict) or "resets_at" not in record:
                continue
            account = str(record.get("account") or name)
            key = (account, str(record.get("kind", "usage")))
            old = by_kind.get(key)
            if old is None or _reset(record) < _reset(old):
                by_kind[key] = {**record, "account": account}
    merged = {}
    for (account, _kind), record in sorted(by_kind.items()):
        old = merged.get(account)
        if old is None or _reset(record) > _reset(old):
            merged[account] = record
    return merged


class FilterModule:
    """The collection's filters."""

    def filters(self):
        return {"merge_limits": merge_limits}
