"""Claude's own limit signals: the one owner of their protocol.

The reconciler installs, in every account home's ``settings.json``, a ``StopFailure``
hook and a status-line wrapper; both run small scripts shipped here
(``stop-failure.sh``, ``statusline.sh``) that write into the state dir's ``signals/``
folder. This room owns all of it: the scripts, the spool and status layout
(``SignalDir``), the event's shape (``parse_event``), what the settings must hold and
whether they hold it (``state_of``, ``put_in``, ``take_out``). Observe asks it whether
the signals are in; the hands write settings with it; failover reads events with it.
"""

from reconciler.signals._events import HookEvent, parse_event
from reconciler.signals._settings import (
    EVENT,
    ShapeError,
    SignalCommands,
    SignalsFact,
    SignalState,
    put_in,
    state_of,
    take_out,
)
from reconciler.signals._spool import SignalDir

__all__ = [
    "EVENT",
    "HookEvent",
    "ShapeError",
    "SignalCommands",
    "SignalDir",
    "SignalState",
    "SignalsFact",
    "parse_event",
    "put_in",
    "state_of",
    "take_out",
]
