"""A wing of the service: each account's usage, read from the usage endpoint with that
account's own token (``_poller``), so failover can choose the account with the most
left. The readings land in the state dir (``usage.json``); the policy reads them there."""

from reconciler.usage._poller import Plan, Target, UsagePoller, parse_usage, plan_of, token_of

__all__ = ["Plan", "Target", "UsagePoller", "parse_usage", "plan_of", "token_of"]
