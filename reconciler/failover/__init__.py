"""Failover: detect usage limits, move to the next account, return after the reset."""

from reconciler.failover._detect import LimitMatch, detect, normalise
from reconciler.failover._policy import (
    Decision,
    FailoverConfig,
    Limit,
    available,
    decide,
    failover_config,
)
from reconciler.failover._reset import parse_reset

TYPE_CHECKING = False
if TYPE_CHECKING:
    from reconciler.failover._watch import Failover


def __getattr__(name: str) -> object:
    """``Failover`` needs the observer; load it only when asked so ``limit-check`` stays light."""
    if name == "Failover":
        from reconciler.failover._watch import Failover  # noqa: PLC0415

        return Failover
    raise AttributeError(name)


__all__ = [
    "Decision",
    "Failover",
    "FailoverConfig",
    "Limit",
    "LimitMatch",
    "available",
    "decide",
    "detect",
    "failover_config",
    "normalise",
    "parse_reset",
]
