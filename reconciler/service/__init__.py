"""Service: the periodic loop, drift detection and crash-loop back-off."""

from reconciler.service._config import ServiceConfig, service_config
from reconciler.service._drift import Converged, drift_items, read_converged, write_converged
from reconciler.service._service import CycleOutcome, Service

__all__ = [
    "Converged",
    "CycleOutcome",
    "Service",
    "ServiceConfig",
    "drift_items",
    "read_converged",
    "service_config",
    "write_converged",
]
