"""Names the dead-code scan cannot see being used (vulture --min-confidence 60).

Each is reached by name at run time, not by an import the scan can follow.
"""

from reconciler import failover
from reconciler.alerts._sinks import _NoRedirect
from reconciler.cli import _commands, _service_commands

_commands.validate  # `reconcile validate`: dispatched by name (cli/_main.py, _handler)
_service_commands.install_service  # `reconcile install-service`: dispatched by name
failover.__getattr__  # PEP 562: loads the watcher only when asked (limit-check stays light)
_NoRedirect.redirect_request  # urllib calls it on a 3xx answer
