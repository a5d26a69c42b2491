"""The APDU console: type a C-APDU in hex, read the decoded answer. Up/Down walk the history;
ctrl+g switches the automatic GET RESPONSE / 6Cxx handling off and on (raw mode shows the card's
own 61xx); ctrl+r resets the card; ctrl+s writes the session's trace (apdu4j log) under reports/.
Every exchange goes through a thread worker so a slow reader never blocks the screen.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, RichLog, Static

from conformance.processors import Trace, standard_chain
from conformance.reports import apdu4j
from conformance.textsafe import printable
from conformance.transport import TransportError

from .. import decode
from ..run_job import report_stamp
from ..targets import Connection, Target, TargetError
from ..widgets import plain


class HistoryInput(Input):
    """An Input that remembers what was submitted; Up and Down walk back and forth."""

    BINDINGS = [Binding("up", "history(-1)", "Previous", show=False),
                Binding("down", "history(1)", "Next", show=False)]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.history: list[str] = []
        self.position = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self.position = len(self.history)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self.position = max(0, min(len(self.history), self.position + step))
        self.value = self.history[self.position] if self.position < len(self.history) else ""
        self.cursor_position = len(self.value)


class ConsoleScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+g", "toggle_raw", "Auto GET RESPONSE"),
        Binding("ctrl+r", "reset", "Reset card"),
        Binding("ctrl+s", "export", "Export trace"),
    ]

    def __init__(self, target: Target) -> None:
        super().__init__()
        self.target = target
        self.connection: Connection | None = None
        self.trace = Trace()
        self.chain = None
        self.raw = False
        self.sent = 0
        self.exported = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="console"):
            yield Label(Text.assemble("APDU console: ", (printable(self.target.label), "bold")), id="console-title")
            yield RichLog(id="console-log", wrap=True, markup=False, highlight=False)
            yield Static("", id="console-state")
            yield HistoryInput(placeholder="C-APDU in hex, e.g. 00A404000F7378312E73682EC9E7BBE1B1A3D5CF", id="apdu")
        yield Footer()

    def on_mount(self) -> None:
        self._show_state()
        self.query_one("#apdu", HistoryInput).focus()
        self.run_worker(self._open, thread=True, group="console", exit_on_error=False)

    def on_unmount(self) -> None:
        if self.connection is not None:
            self.connection.close()

    # --- connection ----------------------------------------------------------------------

    def _open(self) -> None:
        try:
            connection = self.app.connect(self.target)
        except TargetError as exc:
            self.app.call_from_thread(self._log, plain(f"cannot open {self.target.label}: {exc}", style="bold red"))
            return
        self.app.call_from_thread(self._opened, connection)

    def _opened(self, connection: Connection) -> None:
        self.connection = connection
        transport = connection.transport
        atr = bytes(transport.atr)
        self.trace = Trace(atr=atr, protocol=getattr(transport, "protocol", "T=1"), reader=getattr(transport, "name", ""))
        self.chain = standard_chain(transport, self.trace)
        self._log(Text.assemble(("connected to ", "dim"), (printable(getattr(transport, "name", self.target.label)), "bold"),
                                ("   ATR ", "dim"), atr.hex().upper(), ("   ", ""), (transport.protocol, "dim")))

    # --- sending -------------------------------------------------------------------------

    @on(Input.Submitted, "#apdu")
    def _submitted(self, event: Input.Submitted) -> None:
        box = self.query_one("#apdu", HistoryInput)
        text = event.value.strip()
        if not text:
            return
        try:
            apdu = decode.parse_hex(text)
        except ValueError as exc:
            self._log(Text(f"not sent: {exc}", style="red"))
            return
        if len(apdu) < 4:
            self._log(Text("not sent: a C-APDU has at least 4 bytes (CLA INS P1 P2)", style="red"))
            return
        if self.chain is None:
            self._log(Text("not sent: no card connected", style="red"))
            return
        box.remember(text)
        box.value = ""
        self.run_worker(lambda: self._send(apdu), thread=True, group="console", exit_on_error=False)

    def _send(self, apdu: bytes) -> None:
        mark = self.trace.mark()
        try:
            response = self.chain.transmit(apdu, raw=self.raw)
        except TransportError as exc:
            self.app.call_from_thread(self._log, plain(f"{apdu.hex().upper()}: {exc.reason}", style="bold red"))
            return
        self.app.call_from_thread(self._answered, apdu, response, self.trace.since(mark))

    def _answered(self, apdu: bytes, response: bytes, entries: list) -> None:
        self.sent += 1
        self._log(Text.assemble(("» ", "bold cyan"), decode.command_text(apdu)))
        for entry in entries[:-1] if len(entries) > 1 else []:
            if entry.kind == "note":
                self._log(plain(f"   {entry.text}", style="italic dim"))
            elif entry.kind == "exchange":
                self._log(Text.assemble(("   wire > ", "dim"), entry.command.hex().upper(), ("  < ", "dim"),
                                        (entry.response or b"").hex().upper()))
        data = response[:-2]
        self._log(Text.assemble(("« ", "bold green"), (data.hex().upper() + " " if data else "", "bold"),
                                decode.sw_text(decode.sw_of(response))))
        for line in decode.tlv_lines(data):
            self._log(Text(f"   {line}", style="dim"))
        self._show_state()

    def _log(self, text: Text) -> None:
        self.query_one("#console-log", RichLog).write(text)

    def _show_state(self) -> None:
        mode = "raw (61xx/6Cxx shown as the card answers)" if self.raw else "auto GET RESPONSE and 6Cxx resend"
        self.query_one("#console-state", Static).update(
            Text.assemble(("mode ", "dim"), (mode, "bold"), ("   sent ", "dim"), (str(self.sent), "bold"),
                          ("   Up/Down: history", "dim")))

    # --- actions -------------------------------------------------------------------------

    def action_toggle_raw(self) -> None:
        self.raw = not self.raw
        self._show_state()

    def action_reset(self) -> None:
        if self.connection is None:
            return
        try:
            atr = self.connection.transport.reset()
        except TransportError as exc:
            self._log(plain(f"reset failed: {exc.reason}", style="bold red"))
            return
        self.trace.add("reset", response=atr)
        self._log(Text.assemble(("reset, ATR ", "dim"), atr.hex().upper()))

    def action_export(self) -> None:
        folder = self.app.reports_dir
        path = folder / f"console-{self.target.short}-{report_stamp(self.app.now())}.apdu4j.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            apdu4j.write(self.trace, path)
        except OSError as exc:
            self._log(plain(f"trace not written: {exc}", style="bold red"))
            return
        self.exported = path
        self._log(Text.assemble(("trace written to ", "dim"), (str(path), "bold"),
                                (f"  ({len(self.trace.exchanges())} exchanges, apdu4j log)", "dim")))
