"""The terminal screen: the LD/T 33 functions (iReadCardBas, iReadCard, iWriteCard, the PIN
functions) run by `terminal.Terminal` on a chosen card and PSAM, as a hospital or bank terminal
would call them. Left: the card (built-in, image, PC/SC reader), the PSAM (built-in profile, PSAM
image, PC/SC reader, none) and the function; right: its parameters, the result string (or the
code and its message), the decoded fields; below: the APDU trace of both slots, interleaved in
the order they were sent.

An emulated card or PSAM stays open while it is chosen, so a write is seen by the next read and
PIN tries count down; an image file is never rewritten. A PIN left empty is asked for on a PIN
pad dialog, as the reader's PIN pad would. Each function runs in a thread worker.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, DataTable, Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from simulator.psam import command_name as psam_command_name
from simulator.samples import sample_image
from terminal.transport import TracedSlot

from conformance.textsafe import printable

from .. import decode
from ..readerpoll import ReaderPolling, reader_options
from ..targets import BUILTINS, ReaderScan, Target, TargetError
from ..terminal_calls import Exchange, Outcome, close_quietly, open_psam, perform, sample_values

PSAM_PROFILES = {"default": "all keys, 3DES and SM4", "no-rk": "without RKSSSE (index 11)",
                 "des-only": "3DES application only", "sm4-only": "SM4 application only"}

# (id, LD/T 33 name, words, parameters it takes)
FUNCTIONS = (
    ("read-basic", "iReadCardBas", "read basic data", ("require-psam",)),
    ("read", "iReadCard", "read items", ("auth", "card-info", "file-addr")),
    ("write", "iWriteCard", "write items", ("card-info", "file-addr", "write-data")),
    ("verify-pin", "iVerifyPIN", "verify the PIN", ("pin",)),
    ("change-pin", "iChangePIN", "change the PIN", ("pin", "new-pin")),
    ("reload-pin", "iReloadPIN", "reload (reset) the PIN", ("card-info", "new-pin")),
    ("unblock-pin", "iUnblockPIN", "unblock the PIN", ("card-info", "new-pin")),
)
FUNCTION = {f[0]: f for f in FUNCTIONS}

# (input id, label, default, placeholder): defaults from ssc-terminal.md §4.3 and §5.
PARAMETERS = (
    ("auth", "iAuthType", "0", "0 none, 1 PIN, 2 PSAM key, 3 PIN and key"),
    ("card-info", "pCardInfo", "", "card ID|card number|  (filled from the card)"),
    ("file-addr", "pFileAddr", "SSSEEF05|03|05|06|$SSSEEF06|08|09|$", "<DF><EF>|tag|tag|…|$"),
    ("write-data", "pWriteData", "", "<DF><EF>|value|value|…|$  (same groups as pFileAddr)"),
    ("pin", "PIN", "123456", "empty: ask on the PIN pad"),
    ("new-pin", "new PIN", "", "empty: ask on the PIN pad (unblock: keep the PIN)"),
)


class PinPadScreen(ModalScreen[str | None]):
    """The reader's PIN pad: one prompt, the digits typed hidden, Enter to send, Esc to cancel."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(f"PIN pad: {self.prompt}"), classes="dialog-title")
            yield Input(password=True, restrict=r"[0-9]*", max_length=16, id="pin-pad")

    def on_mount(self) -> None:
        self.query_one("#pin-pad", Input).focus()

    @on(Input.Submitted, "#pin-pad")
    def _entered(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class TerminalScreen(ReaderPolling, Screen):
    poll_group = "term-readers"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "run", "Run function"),
        Binding("ctrl+l", "clear_trace", "Clear trace"),
    ]

    def __init__(self, card: Target | None = None) -> None:
        super().__init__()
        self.card = card or Target("builtin", "gen3")
        self.psam = Target("builtin", "default")  # kind builtin|image|pcsc|none
        self.function = "read-basic"
        self.scan = ReaderScan((), "looking for PC/SC readers…")
        self.running = False
        self.runs = 0
        self.outcome: Outcome | None = None
        self._open: dict[str, tuple[Target, object]] = {}  # slot -> (target, open transport)
        self._pin_answer: list = []
        self._pin_done = threading.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="terminal-top"):
            with Vertical(id="terminal-choices"):
                yield Label("Card", classes="pane-title")
                yield OptionList(*self._card_options(), id="term-cards")
                yield Input(placeholder="card image path (CARD.yaml), Enter", id="term-card-image", compact=True)
                yield Label("PSAM (second slot)", classes="pane-title")
                yield OptionList(*self._psam_options(), id="term-psams")
                yield Input(placeholder="PSAM image path (PSAM.yaml), Enter", id="term-psam-image", compact=True)
                yield Label("Function", classes="pane-title")
                yield OptionList(*[Option(Text.assemble((name, "bold"), f"  {words}"), id=fid)
                                   for fid, name, words, _ in FUNCTIONS], id="term-functions")
            with Vertical(id="terminal-work"):
                yield Label("", id="term-heading", classes="pane-title")
                for pid, label, default, hint in PARAMETERS:
                    with Horizontal(id=f"row-{pid}", classes="term-param"):
                        yield Label(label, classes="term-param-label")
                        yield Input(default, placeholder=hint, id=f"term-{pid}", compact=True,
                                    restrict=r"[0-3]?" if pid == "auth" else None)
                yield Checkbox("require PSAM (-2201 without one)", id="term-require-psam", compact=True)
                yield Static("", id="term-result")
                yield DataTable(id="term-fields", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="term-trace", cursor_type="row", zebra_stripes=True)
        yield Static("", id="term-exchange")
        yield Static("", id="term-status")
        yield Footer()

    def on_mount(self) -> None:
        fields = self.query_one("#term-fields", DataTable)
        for key, width in (("where", 14), ("item", 40), ("value", None)):
            fields.add_column(key, key=key, width=width)
        trace = self.query_one("#term-trace", DataTable)
        trace.border_title = "APDU trace: card and PSAM slots, in the order sent"
        for key, width in (("#", 3), ("slot", 4), ("command", 46), ("name", 22), ("response", 42), ("SW", 25)):
            trace.add_column(key, key=key, width=width)
        for list_id, wanted in (("#term-cards", self.card.key), ("#term-psams", self.psam.key),
                                ("#term-functions", self.function)):
            options = self.query_one(list_id, OptionList)
            options.highlighted = options.get_option_index(wanted)
        self._card_defaults()
        self._show_function()
        self.query_one("#term-functions", OptionList).focus()
        self._start_polling()

    def on_unmount(self) -> None:
        self._pin_done.set()  # a worker waiting on the PIN pad gives up
        self._release(lambda target: True)

    # --- choices --------------------------------------------------------------------------

    def _readers(self, slot: str) -> list:
        return reader_options(self.scan, f"{slot}-pcsc-none")

    def _card_options(self) -> list:
        return [*(Option(Text.assemble((f"built-in {name}", "bold"), "  emulated sample"), id=f"builtin:{name}")
                  for name in BUILTINS),
                Option(Text.assemble(("card image file", "bold"), "  emulated from YAML"), id="image:"),
                None, *self._readers("card")]

    def _psam_options(self) -> list:
        return [*(Option(Text.assemble((f"built-in {name}", "bold"), f"  {words}"), id=f"builtin:{name}")
                  for name, words in PSAM_PROFILES.items()),
                Option(Text.assemble(("PSAM image file", "bold"), "  emulated from YAML"), id="image:"),
                Option(Text.assemble(("no PSAM", "bold"), "  protected items stay empty"), id="none:"),
                None, *self._readers("psam")]

    def _readers_changed(self) -> None:
        for list_id, options_of, chosen in (("#term-cards", self._card_options, self.card),
                                            ("#term-psams", self._psam_options, self.psam)):
            options = self.query_one(list_id, OptionList)
            options.clear_options()
            options.add_options(options_of())
            try:
                options.highlighted = options.get_option_index(chosen.key)
            except Exception:  # the chosen reader is gone: keep the list usable, the run will say
                options.highlighted = 0

    @on(OptionList.OptionHighlighted, "#term-cards, #term-psams")
    def _slot_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        slot = "card" if event.option_list.id == "term-cards" else "psam"
        kind, name = (event.option.id or ":").split(":", 1)
        if kind == "image":
            name = self.query_one(f"#term-{slot}-image", Input).value.strip()
        if kind in ("builtin", "image", "pcsc") or (slot == "psam" and kind == "none"):
            self._choose(slot, Target(kind, name))

    @on(Input.Submitted, "#term-card-image, #term-psam-image")
    def _image_submitted(self, event: Input.Submitted) -> None:
        slot = "card" if event.input.id == "term-card-image" else "psam"
        self._choose(slot, Target("image", event.value.strip()))
        options = self.query_one(f"#term-{slot}s", OptionList)
        options.highlighted = options.get_option_index("image:")
        options.focus()

    def _choose(self, slot: str, target: Target) -> None:
        if getattr(self, slot) == target:
            return
        setattr(self, slot, target)
        if slot == "card":
            self._card_defaults()
        self._show_heading()

    def _card_defaults(self) -> None:
        """A built-in card fills pCardInfo, iAuthType and pWriteData with what fits that sample."""
        if self.card.kind != "builtin":
            return
        ef05 = sample_image(self.card.name)["data"]["SSSE/EF05"]
        self._set("card-info", f"{ef05['01']}|{ef05['07']}|")
        self._set("auth", "2" if self.card.name == "gen3" else "0")  # gen3 reads EF06 with key 0A
        self._set("write-data", sample_values(self.card.name, self._get("file-addr")))

    @on(OptionList.OptionHighlighted, "#term-functions")
    def _function_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.function = event.option.id or self.function
        self._show_function()

    @on(OptionList.OptionSelected, "#term-functions")
    def _function_selected(self) -> None:
        self.action_run()

    @on(Input.Submitted, ".term-param Input")
    def _parameter_submitted(self) -> None:
        self.action_run()

    def _show_function(self) -> None:
        wanted = FUNCTION[self.function][3]
        for pid, *_ in PARAMETERS:
            self.query_one(f"#row-{pid}").display = pid in wanted
        self.query_one("#term-require-psam").display = "require-psam" in wanted
        self._show_heading()

    def _show_heading(self) -> None:
        _, name, words, _ = FUNCTION[self.function]
        psam = "no PSAM" if self.psam.kind == "none" else _psam_label(self.psam)
        self.query_one("#term-heading", Label).update(Text.assemble(
            (name, "bold"), f"  {words}   on ", (printable(self.card.label) if self.card.name else "card image (no path yet)", "bold"),
            "   PSAM ", (printable(psam), "bold")))

    def _get(self, pid: str) -> str:
        return self.query_one(f"#term-{pid}", Input).value.strip()

    def _set(self, pid: str, value: str) -> None:
        self.query_one(f"#term-{pid}", Input).value = value

    # --- running --------------------------------------------------------------------------

    def action_run(self) -> None:
        if self.running:
            self.notify("A function is running.", severity="warning")
            return
        if not self.card.name or (self.psam.kind == "image" and not self.psam.name):
            self.notify("Type the image path first, then Enter.", severity="warning")
            return
        params = {pid: self._get(pid) for pid, *_ in PARAMETERS}
        params["require-psam"] = self.query_one("#term-require-psam", Checkbox).value
        self.running = True
        self._status(Text(f"running {FUNCTION[self.function][1]}…", style="dim"))
        function, card, psam = self.function, self.card, self.psam
        self.run_worker(lambda: self._work(function, card, psam, params), thread=True, group="terminal",
                        exit_on_error=False)

    def _work(self, function: str, card: Target, psam: Target, params: dict) -> None:
        trace: list[Exchange] = []
        try:
            card_slot = self._traced("card", card, trace)
            psam_slot = None if psam.kind == "none" else self._traced("psam", psam, trace)
            outcome = perform(function, params, card_slot, psam_slot, self._pin_pad, self.app.card_random)
        except TargetError as exc:  # 读卡器连接错: the reader or image cannot be opened
            outcome = Outcome(function, -11, str(exc))
        except Exception as exc:  # a reader gone mid-call: show it, reopen both slots next time
            self._release(lambda target: True)
            outcome = Outcome(function, None, f"{type(exc).__name__}: {exc}")
        # A reader is closed after each call, as LD/T 33 closes the device; emulations stay (their state).
        self._release(lambda target: target.kind == "pcsc")
        outcome.trace = trace
        self.app.call_from_thread(self._show, outcome, params)

    def _release(self, which) -> None:
        for slot, (target, transport) in list(self._open.items()):
            if which(target):
                close_quietly(transport)
                del self._open[slot]

    def _traced(self, slot: str, target: Target, trace: list[Exchange]) -> TracedSlot:
        return TracedSlot(self._slot(slot, target), lambda command, response: trace.append(Exchange(slot, command, response)))

    def _slot(self, slot: str, target: Target):
        """The open transport of a slot, opened on first use; an emulation is kept while it stays chosen."""
        opened = self._open.get(slot)
        if opened and opened[0] == target:
            return opened[1]
        if opened:
            close_quietly(opened[1])
        transport = self.app.connect(target).transport if slot == "card" else open_psam(target)
        self._open[slot] = (target, transport)
        return transport

    def _pin_pad(self, prompt: str) -> str | None:
        """Called by the terminal in the worker thread: ask on the PIN pad dialog and wait."""
        self._pin_answer.clear()
        self._pin_done.clear()

        def answered(value: str | None) -> None:
            self._pin_answer.append(value)
            self._pin_done.set()

        self.app.call_from_thread(self.app.push_screen, PinPadScreen(prompt), answered)
        self._pin_done.wait()
        return self._pin_answer[0] if self._pin_answer else None

    def _show(self, outcome: Outcome, params: dict) -> None:
        self.running = False
        self.runs += 1
        self.outcome = outcome
        name = FUNCTION[outcome.function][1]
        if outcome.ok:
            result = Text.assemble((f"{name} → 0", "bold green"), "\n",
                                   (printable(outcome.text) or "(empty pOutInfo: done)", "bold"))
        else:
            sw = f"   SW {decode.sw_text(outcome.sw).plain}" if outcome.sw is not None else ""
            code = "error" if outcome.code is None else str(outcome.code)
            result = Text.assemble((f"{name} → {code}", "bold red"), "\n", (printable(outcome.text), "red"), (sw, "dim"),
                                   ("\n" + printable(outcome.detail) if outcome.detail else "", "dim"))
        self.query_one("#term-result", Static).update(result)
        fields = self.query_one("#term-fields", DataTable)
        fields.clear()
        for row in outcome.fields:
            fields.add_row(*(Text(printable(cell)) for cell in row))
        if outcome.card_info:
            self._set("card-info", outcome.card_info)
        if outcome.ok and outcome.function == "read":
            self._set("write-data", outcome.text)  # edit and write back: a round trip
        self._show_trace(outcome.trace)
        cards = sum(1 for e in outcome.trace if e.slot == "card" and e.command)
        psams = sum(1 for e in outcome.trace if e.slot == "psam" and e.command)
        self._status(Text.assemble(("run ", "dim"), (str(self.runs), "bold"), ("   card APDUs ", "dim"), (str(cards), "bold"),
                                   ("   PSAM APDUs ", "dim"), (str(psams), "bold"), ("   r: run   Enter in a field: run", "dim")))

    def _show_trace(self, trace: list[Exchange]) -> None:
        table = self.query_one("#term-trace", DataTable)
        table.clear()
        for number, exchange in enumerate(trace, start=1):
            slot = Text(exchange.slot, style="cyan" if exchange.slot == "card" else "magenta")
            if exchange.command is None:
                table.add_row(str(number), slot, Text("reset", style="dim"), Text(""),
                              Text(f"ATR {exchange.response.hex().upper()}"), Text(""))
                continue
            sw = decode.sw_of(exchange.response)
            named = psam_command_name if exchange.slot == "psam" else decode.command_name
            table.add_row(str(number), slot, Text(exchange.command.hex().upper()), Text(named(exchange.command)),
                          Text(exchange.response[:-2].hex().upper()), decode.sw_text(sw))
        if trace:
            table.move_cursor(row=0)
            self._show_exchange(0)

    @on(DataTable.RowHighlighted, "#term-trace")
    def _exchange_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_exchange(event.cursor_row)

    def _show_exchange(self, row: int) -> None:
        """The whole exchange under the cursor: the table crops long hex."""
        trace = self.outcome.trace if self.outcome else []
        if not 0 <= row < len(trace):
            return
        exchange = trace[row]
        if exchange.command is None:
            text = Text.assemble((f"{exchange.slot} reset  ", "bold"), ("ATR ", "dim"), exchange.response.hex().upper())
        else:
            text = Text.assemble((f"{exchange.slot} > ", "bold"), exchange.command.hex().upper(), ("\n" + " " * len(exchange.slot) + " < ", "bold"),
                                 exchange.response.hex().upper())
        self.query_one("#term-exchange", Static).update(text)

    def action_clear_trace(self) -> None:
        self.query_one("#term-trace", DataTable).clear()
        self.query_one("#term-exchange", Static).update("")

    def _status(self, text: Text) -> None:
        self.query_one("#term-status", Static).update(text)


# --- the terminal calls ------------------------------------------------------------------------

def _psam_label(target: Target) -> str:
    return f"built-in {target.name}" if target.kind == "builtin" else target.label


