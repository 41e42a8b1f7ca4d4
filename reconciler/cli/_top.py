"""``reconcile top``: the status snapshot as a live terminal view.

Textual is imported here and nowhere else, and this module is loaded only for ``top``,
so every other command starts without it. The view reads the snapshot ``status``
prints (``_status.build_status``) every couple of seconds, in a worker thread so a slow
tmux never freezes the keys, and redraws in place; a snapshot that cannot be read (the
desired file mid-edit) leaves the last one on screen with the reason above it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from reconciler.cli._render import ago, bar, late, window_name
from reconciler.cli._status import AccountRow, PaneRow, Status, build_status, load_for_view
from reconciler.cli._text import countdown, tilde
from reconciler.cli._ui import EXIT_ERROR, EXIT_OK, Ui, desired_path, state_dir
from reconciler.desired import DesiredStateError
from reconciler.errors import ReconcilerError
from reconciler.observe import TmuxStatus
from reconciler.statedir import StateDir

Loader = Callable[[], Status]
STATE_STYLE = {"busy": "bold yellow", "idle": "green", "waiting": "bold magenta"}


def _level(percent: float) -> str:
    return "red" if percent >= 90 else "yellow" if percent >= 70 else "green"


def _claudes(panes: list[PaneRow]) -> Table:
    table = Table(box=None, pad_edge=False)
    for column in ("SESSION", "PANE", "STATE", "SESSION ID", "CWD"):
        table.add_column(column, no_wrap=column != "CWD", overflow="ellipsis")
    for row in panes:
        table.add_row(row.session, row.pane, Text(row.state, STATE_STYLE.get(row.state, "")),
                      (row.session_id or "-")[:8], tilde(row.cwd))
    return table


def account_panel(account: AccountRow, panes: tuple[PaneRow, ...], now: datetime) -> Panel:
    """One account: its usage bars with reset countdowns, its limit, its Claudes."""
    parts: list[RenderableType] = []
    for window in account.windows:
        used = window.used_percentage
        line = Text(f"{window_name(window.name):<10} {used:>5.1f}% ")
        line.append(bar(used, 30), _level(used))
        if window.resets_at is not None:
            line.append(f"  resets in {countdown(window.resets_at, now)}")
        if window.runs_out is not None:
            line.append(f"  runs out in {countdown(window.runs_out, now)}", "bold yellow")
        if window.read_at is not None:
            line.append(f"  ({window.source}, {countdown(now, window.read_at)} ago)", "dim")
        parts.append(line)
    if not account.windows:
        parts.append(Text("usage not reported yet", "dim"))
    if account.limit is not None:
        lim = account.limit
        parts.append(Text(f"limited ({lim.kind}) for {countdown(lim.resets_at, now)}, "
                          f"from the {lim.source}", "bold red"))
    mine = [p for p in panes if p.has_claude and p.account == account.name]
    parts.append(_claudes(mine) if mine else Text("no Claude", "dim"))
    title = f"{account.name}{' (active)' if account.active else ''}"
    subtitle = f"{account.claudes} Claude(s), {account.busy} busy"
    return Panel(Group(*parts), title=title, subtitle=subtitle, title_align="left",
                 border_style="cyan" if account.active else "blue")


def summary(status: Status) -> Text:
    svc = status.service
    text = Text()
    if status.desired_problems:
        text.append(f"DESIRED FILE BROKEN: {status.desired_problems[0]} (the last valid "
                    "state is shown)\n", "bold red")
    text.append(f"active {status.active_account}   ")
    if svc.running:
        text.append(f"service running, pid {svc.pid}, cycle {svc.cycles}"
                    f"{ago(svc.last_cycle, status.now)}", "green")
        text.append(late(svc, status), "bold red")
    else:
        text.append("service not running", "bold red")
    decision = status.decision
    text.append(f"   next: {decision.action}" + (f" to {decision.to}" if decision.to else ""))
    return text


def accounts_view(status: Status) -> Group:
    panels: list[RenderableType] = [account_panel(a, status.panes, status.now)
                                    for a in status.accounts]
    known = {a.name for a in status.accounts}
    others = [p for p in status.panes if not p.has_claude or p.account not in known]
    if others:
        table = Table(box=None, pad_edge=False)
        for column in ("SESSION", "PANE", "ROLE", "STATE"):
            table.add_column(column)
        for row in others:
            table.add_row(row.session, row.pane, row.role, row.state)
        panels.append(Panel(table, title="no Claude / unknown account", title_align="left",
                            border_style="dim"))
    if status.tmux is not TmuxStatus.UP:
        panels.append(Text(f"tmux: {status.tmux.value} {status.tmux_error}", "bold red"))
    return Group(*panels)


def problems_view(status: Status) -> Group:
    """Alerts firing, launches in back-off, prompts nobody may answer blindly, limits."""
    lines: list[RenderableType] = []
    for alert in status.alerts:
        lines.append(Text(f"alert {alert.kind}  {alert.subject}: {alert.message}", "red"))
    for back in status.backoffs:
        if back.held:
            lines.append(Text(f"back-off {back.target}: exited {back.count} time(s); next "
                              f"try after {back.until}", "yellow"))
    for stuck in status.stuck:
        lines.append(Text(f"stuck {stuck.message}", "magenta"))
    for lim in status.limits:
        lines.append(Text(f"limit {lim.account} ({lim.kind}) resets in "
                          f"{countdown(lim.resets_at, status.now)}, from the {lim.source}",
                          "red"))
    for waiting in status.waiting:
        lines.append(Text(f"waiting {waiting.target}: {waiting.status} on {waiting.account}, "
                          f"moves to {waiting.to} as its turn ends (since "
                          f"{countdown(status.now, waiting.since)}; cut in "
                          f"{countdown(waiting.until, status.now)})", "yellow"))
    return Group(*(lines or [Text("no alerts, no back-off, no stuck prompt", "green")]))


class TopApp(App[None]):
    """Sessions by account, refreshed in place; q quits, r refreshes now."""

    TITLE = "reconcile top"
    CSS = "#summary { height: auto; padding: 0 1; }"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit"),
                                             Binding("r", "reload", "Refresh now")]

    def __init__(self, load: Loader, interval: float = 2.0) -> None:
        super().__init__()
        self.load = load
        self.interval = interval
        self.shown: Status | None = None
        """The snapshot on screen (the last one that could be read)."""
        self._loading = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=True)
        yield Static(id="summary")
        with VerticalScroll():
            yield Static(id="accounts")
            yield Static(id="problems")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.interval, self.action_reload)
        self.call_later(self.action_reload)

    async def action_reload(self) -> None:
        """Read a new snapshot off the event loop; one read at a time."""
        if self._loading:
            return
        self._loading = True
        try:
            status = await asyncio.to_thread(self.load)
        except (ReconcilerError, DesiredStateError, OSError) as exc:
            lines = str(exc).splitlines() or [type(exc).__name__]
            more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
            self.query_one("#summary", Static).update(Text(
                f"cannot read the status: {lines[0]}{more}; showing the last one", "bold red"))
            return
        finally:
            self._loading = False
        self.show(status)

    def show(self, status: Status) -> None:
        self.shown = status
        self.sub_title = tilde(status.desired)
        self.query_one("#summary", Static).update(summary(status))
        self.query_one("#accounts", Static).update(accounts_view(status))
        self.query_one("#problems", Static).update(
            Panel(problems_view(status), title="alerts", title_align="left"))


def top(args: argparse.Namespace, ui: Ui) -> int:
    path, root = desired_path(args), state_dir(args)

    def load() -> Status:
        state = StateDir(root)
        desired, problems = load_for_view(path, state)
        return build_status(desired, state, problems)

    load()  # a missing or broken desired file is an error here, not a blank screen
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        ui.error("error: reconcile top draws on a terminal and this is not one; "
                 "`reconcile status` (or `status --json`) prints the same once")
        return EXIT_ERROR
    interval = getattr(args, "interval", None) or 2.0
    TopApp(load, interval).run()
    ui.document({"ok": True})
    return EXIT_OK
