"""The service's own sections of the desired file, with their defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.desired import DesiredState, parse_duration


@dataclass(frozen=True)
class ServiceConfig:
    interval: float = 30.0
    drift_policy: str = "correct"
    metrics_file: Path | None = None
    crashloop_window: float = 30.0
    crashloop_max_backoff: float = 600.0
    alerts: tuple[dict[str, Any], ...] = ()


def service_config(desired: DesiredState) -> ServiceConfig:
    raw = desired.raw
    service: dict[str, Any] = dict(raw.get("service") or {})  # type: ignore[call-overload]
    drift: dict[str, Any] = dict(raw.get("drift") or {})  # type: ignore[call-overload]
    alerts = raw.get("alerts") or []
    metrics = service.get("metrics_file")
    home = str(Path.home())
    return ServiceConfig(
        interval=parse_duration(service.get("interval", 30)),
        drift_policy=str(drift.get("policy", "correct")),
        metrics_file=Path(metrics.replace("~", home, 1)) if metrics else None,
        crashloop_window=parse_duration(service.get("crashloop_window", 30)),
        crashloop_max_backoff=parse_duration(service.get("crashloop_max_backoff", 600)),
        alerts=tuple(dict(a) for a in alerts),  # type: ignore[attr-defined]
    )
