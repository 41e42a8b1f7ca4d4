"""Alerts: fire once, resolve once, delivered to the log and configured sinks."""

from reconciler.alerts._book import KINDS, Alert, AlertBook
from reconciler.alerts._sinks import (
    CommandSink,
    Deliveries,
    Dispatcher,
    Sink,
    TelegramSink,
    WebhookSink,
    build_sinks,
    redact,
)

__all__ = [
    "KINDS",
    "Alert",
    "AlertBook",
    "CommandSink",
    "Deliveries",
    "Dispatcher",
    "Sink",
    "TelegramSink",
    "WebhookSink",
    "build_sinks",
    "redact",
]
