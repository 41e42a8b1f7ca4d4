"""Desired state: load, validate and expand the user's YAML file.

The bottom of the house: nothing here observes or changes the world.
"""

from reconciler.desired._errors import DesiredStateError, Problem
from reconciler.desired._load import load_desired, parse_duration, schema
from reconciler.desired._model import (
    Account,
    AutonomousPool,
    DedicatedSession,
    DesiredState,
    LaunchSpec,
    SafetyHook,
    SharedSpec,
    TmuxSpec,
)
from reconciler.desired._swap import rewrite_active_account, swap_active_account

__all__ = [
    "Account",
    "AutonomousPool",
    "DedicatedSession",
    "DesiredState",
    "DesiredStateError",
    "LaunchSpec",
    "Problem",
    "SafetyHook",
    "SharedSpec",
    "TmuxSpec",
    "load_desired",
    "parse_duration",
    "rewrite_active_account",
    "schema",
    "swap_active_account",
]
