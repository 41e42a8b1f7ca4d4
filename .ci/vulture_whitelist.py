"""Names the dead-code scan cannot see being used (vulture --min-confidence 60).

Each is reached by name at run time, not by an import the scan can follow.
"""

from reconciler import failover
from reconciler.alerts._sinks import _NoRedirect
from reconciler.cli import _service_commands
from reconciler.cli._top import TopApp
from reconciler.demo._api import Api
from reconciler.service._watch import Watcher

failover.__getattr__  # PEP 562: loads the watcher only when asked (limit-check stays light)
_NoRedirect.redirect_request  # urllib calls it on a 3xx answer
_service_commands._PrivateRotatingFile._open  # logging's handler opens its files through it
# Textual reads these by name: the app's class attributes, its compose and mount hooks
TopApp.TITLE
TopApp.CSS
TopApp.BINDINGS
TopApp.compose
TopApp.on_mount
TopApp.sub_title
TopApp.shown  # the snapshot on screen: what the headless tests read

# http.server calls these by name: the loopback API stand-in's request handlers
Api.server.daemon_threads  # ThreadingHTTPServer reads it: handler threads never block exit
Api.do_GET  # (the Handler inside Api._handler) http.server calls do_GET, do_POST and
Api.do_POST  # log_message by name
Api.log_message

# How the service waits (inotify or the stat poll): asked by tests/test_service_watch.py.
Watcher.inotify
