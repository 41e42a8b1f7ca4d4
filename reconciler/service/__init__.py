"""Service: the periodic loop, drift detection and crash-loop back-off; its wings are
``failover`` and ``alerts``."""

from reconciler.service._drift import drift_items
from reconciler.service._service import CycleOutcome, Service

__all__ = ["CycleOutcome", "Service", "drift_items"]
