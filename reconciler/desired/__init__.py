"""Desired state: load, validate and expand the user's YAML file.

The bottom of the house: nothing here observes or changes the world.
"""

from reconciler.desired._build import DEFAULT_ENTRIES, UNSAFE_PATH, parse_duration
from reconciler.desired._errors import DesiredStateError, Problem
from reconciler.desired._load import (
    load_desired,
    load_desired_bytes,
    read_desired_bytes,
    schema,
)
from reconciler.desired._model import (
    Account,
    AlertSinkSpec,
    AutonomousPool,
    CommandSinkSpec,
    DedicatedSession,
    DesiredState,
    DriftSpec,
    FailoverSpec,
    LaunchSpec,
    SafetyHook,
    ServiceSpec,
    SharedSpec,
    TelegramSinkSpec,
    TmuxSpec,
    WebhookSinkSpec,
)
from reconciler.desired._swap import rewrite_active_account, swap_active_account

__all__ = [
    "DEFAULT_ENTRIES",
    "UNSAFE_PATH",
    "Account",
    "AlertSinkSpec",
    "AutonomousPool",
    "CommandSinkSpec",
    "DedicatedSession",
    "DesiredState",
    "DesiredStateError",
    "DriftSpec",
    "FailoverSpec",
    "LaunchSpec",
    "Problem",
    "SafetyHook",
    "ServiceSpec",
    "SharedSpec",
    "TelegramSinkSpec",
    "TmuxSpec",
    "WebhookSinkSpec",
    "load_desired",
    "load_desired_bytes",
    "parse_duration",
    "read_desired_bytes",
    "rewrite_active_account",
    "schema",
    "swap_active_account",
]
