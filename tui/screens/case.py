"""One case in detail: each step with its C-APDU decoded (command name, P1/P2 meaning), the
response with the status word's meaning, expected beside actual with the differing bytes
marked, the data decoded as TLV, the values captured and the computed parts of the command,
and the exchanges on the wire (auto GET RESPONSE and 6Cxx resends included).
"""

from __future__ import annotations

import ast
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from conformance.textsafe import printable as _p
from conformance.vectors import CAPTURE
from conformance.verdict import CaseResult, StepResult
from simulator.sw import sw_matches

from .. import decode
from ..widgets import markup_free, plain, verdict_text


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", width=10, no_wrap=True)
    grid.add_column(ratio=1)
    return grid


def _vector_step(vector_case, step: StepResult):
    """The vector's own step (templates, captures) behind a recorded step, when the suite has it."""
    if vector_case is None:
        return None
    pool = {"step": vector_case.steps, "cleanup": vector_case.cleanup}.get(step.phase)
    if pool is None or step.index >= len(pool):
        return None
    found = pool[step.index]
    # A report from other vectors: show no template or capture rather than someone else's.
    return found if not step.line or found.line == step.line else None


def captured(source: str, step: StepResult) -> bytes | None:
    """What `capture: {name: source}` took from this step's answer (data[a:b], data[i], sw, atr)."""
    match = CAPTURE.match(source)
    if match is None or step.response is None:
        return None
    if step.command is None:
        base = step.response if match.group(1) == "atr" else b""
    else:
        base = {"data": step.data, "sw": step.response[-2:], "atr": b""}[match.group(1)]
    if match.group(5) is not None:
        index = int(match.group(5))
        return base[index:index + 1]
    if match.group(2):
        low = int(match.group(3)) if match.group(3) else None
        high = int(match.group(4)) if match.group(4) else None
        return base[low:high]
    return base


def computed_part(template, command: bytes) -> tuple[str, bytes] | None:
    """(expression, its bytes in the command sent) when the template has one placeholder: the
    literal hex around it has a known length, so the rest of the command is what it computed."""
    expressions = [p for p in template.parts if not isinstance(p, str)]
    if len(expressions) != 1:
        return None
    at = template.parts.index(expressions[0])
    before = sum(len(p) // 2 for p in template.parts[:at])
    after = sum(len(p) // 2 for p in template.parts[at + 1:])
    if before + after > len(command):
        return None
    return ast.unparse(expressions[0]), command[before:len(command) - after]


def step_renderable(step: StepResult, vector_step=None) -> Group:
    grid = _grid()
    if step.command is None:
        atr = (step.response or b"").hex().upper()
        grid.add_row("reset", Text.assemble("card reset, ATR ", (atr or "(none)", "bold")))
    else:
        grid.add_row("command", decode.command_text(step.command))
        template = getattr(vector_step, "apdu", None)
        if template is not None and not template.is_constant:
            grid.add_row("computed", Text.assemble(("from ", "dim"), (_p(" ".join(template.text.split())), "italic")))
            value = computed_part(template, step.command)
            if value is not None:
                grid.add_row("", Text.assemble((_p(value[0]), "italic"), " = ", (value[1].hex().upper(), "cyan")))
        _response_rows(grid, step)
    if vector_step is not None and vector_step.capture:
        for name, source in vector_step.capture.items():
            value = captured(source, step)
            shown = value.hex().upper() if value is not None else "(nothing)"
            grid.add_row("captured", Text.assemble((_p(name), "bold"), f" = {_p(source)} → ", (shown, "cyan")))
    if len(step.exchanges) > 1:  # the processors added exchanges (GET RESPONSE, 6Cxx resend)
        for entry in step.exchanges:
            grid.add_row("wire", _wire_text(entry))
    if step.reason:
        grid.add_row("reason", plain(step.reason, style="red" if step.verdict.is_bad else "yellow"))
    return Group(grid)


def _response_rows(grid: Table, step: StepResult) -> None:
    expected = step.expected or {}
    response = step.response
    if response is None:
        grid.add_row("response", Text("no answer", style="bold red"))
        return
    data_hex = step.data.hex().upper()
    grid.add_row("response", Text.assemble((data_hex + " " if data_hex else "", ""), decode.sw_text(step.sw)))
    if "sw" in expected:
        patterns = expected["sw"] if isinstance(expected["sw"], list) else [expected["sw"]]
        ok = step.sw is not None and any(sw_matches(str(p), step.sw) for p in patterns)
        grid.add_row("sw", Text.assemble(("expected ", "dim"), _p(" or ".join(map(str, patterns))), ("   actual ", "dim"),
                                          (f"{step.sw:04X}" if step.sw is not None else "none", "bold"),
                                          ("   ✓" if ok else "   ✗", "green" if ok else "bold red")))
    data = step.data
    if "data" in expected:
        want = bytes.fromhex(expected["data"])
        left, right, positions = decode.diff(want, data)
        grid.add_row("expected", left if want or data else Text("(no data)", style="dim"))
        grid.add_row("actual", right if want or data else Text("(no data)", style="dim"))
        if positions:
            grid.add_row("", Text(f"{len(positions)} byte(s) differ at {_ranges(positions)}", style="red"))
    if "mask" in expected:
        value, mask = bytes.fromhex(expected["mask"]["value"]), bytes.fromhex(expected["mask"]["mask"])
        grid.add_row("expected", _masked(value, mask))
        grid.add_row("actual", decode.marked_hex(data, set(step.differing)))
        grid.add_row("", Text("·· = any value (masked)", style="dim"))
    for key, label in (("length", "length"), ("regex", "regex")):
        if key in expected:
            grid.add_row(label, Text.assemble(("expected ", "dim"), _p(expected[key]),
                                              ("   actual ", "dim"), str(len(data)) if key == "length" else ""))
    for path, value in (expected.get("tlv") or {}).items():
        grid.add_row("tlv want", Text.assemble((_p(path), "bold"), " = ", _p(value) if value is not None else "(present)"))
    lines = decode.tlv_lines(data)
    if lines:
        grid.add_row("tlv", Text("\n".join(lines)))


def _relative(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:  # outside the working folder: its folder and name say enough
        return f"{Path(path).parent.name}/{Path(path).name}"


def _masked(value: bytes, mask: bytes) -> Text:
    out = Text()
    for i, byte in enumerate(value):
        if i:
            out.append(" ")
        m = mask[i] if i < len(mask) else 0xFF
        out.append(f"{byte:02X}" if m == 0xFF else "··" if m == 0 else f"{byte & m:02X}",
                   style="" if m else "dim")
    return out


def _ranges(positions: list[int]) -> str:
    shown = ", ".join(str(p) for p in positions[:10])
    return shown + (", …" if len(positions) > 10 else "")


def _wire_text(entry) -> Text:
    if entry.kind == "exchange":
        response = entry.response or b""
        data = response[:-2].hex().upper()
        return Text.assemble(("> ", "dim"), (entry.command.hex().upper(), ""), ("   < ", "dim"),
                             (data + " " if data else "", ""), decode.sw_text(decode.sw_of(response)))
    if entry.kind == "reset":
        return Text(f"reset, ATR {(entry.response or b'').hex().upper()}", style="dim")
    if entry.kind == "error":
        return plain(f"error: {entry.text}", style="red")
    return plain(entry.text, style="italic dim")


class CaseScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "next_case(1)", "Next case"),
        Binding("p", "next_case(-1)", "Previous case"),
    ]

    def __init__(self, case: CaseResult, peers: list[CaseResult] | None = None) -> None:
        super().__init__()
        self.case = case
        self.peers = peers or [case]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="case"):
            yield Static(self._heading(), id="case-heading")
            vector_case = self._vector_case()
            if not self.case.steps:
                yield Static(plain("no steps were run: " + (self.case.reason or "—"), style="dim"), classes="step")
            for step in self.case.steps:
                name = f"{step.phase} {step.index + 1}"
                title = f"{name}: {step.title}" if step.title and step.title != name else name
                panel = Static(step_renderable(step, _vector_step(vector_case, step)),
                               classes=f"step verdict-{step.verdict.value}")
                panel.border_title = markup_free(title)
                panel.border_subtitle = step.verdict.value
                yield panel
        yield Footer()

    def _vector_case(self):
        suite = getattr(self.app, "suite", None)
        if suite is None:
            return None
        found = next((c for c in suite.cases if c.id == self.case.case_id), None)
        if found is not None and self.case.file and (Path(found.file).name, found.line) != (Path(self.case.file).name, self.case.line):
            return None  # the vectors changed since this result was recorded
        return found

    def _heading(self) -> Group:
        case = self.case
        grid = _grid()
        grid.add_row("case", Text.assemble((_p(case.case_id), "bold cyan"), "  ", (_p(case.title), "bold")))
        grid.add_row("verdict", Text.assemble(verdict_text(case.verdict), (_p("   " + case.reason if case.reason else ""), "")))
        if case.ref or case.labels:
            grid.add_row("ref", Text.assemble(_p(", ".join(case.ref)), ("   label ", "dim"), _p(", ".join(case.labels))))
        if case.file:
            grid.add_row("vector", plain(f"{_relative(case.file)}:{case.line}"))
        for warning in case.warnings:
            grid.add_row("warning", plain(warning, style="yellow"))
        position = self.peers.index(case) + 1 if case in self.peers else 0
        if len(self.peers) > 1:
            grid.add_row("", Text(f"case {position} of {len(self.peers)} (n next, p previous)", style="dim"))
        return Group(grid)

    def action_next_case(self, step: int) -> None:
        if len(self.peers) < 2 or self.case not in self.peers:
            return
        index = (self.peers.index(self.case) + step) % len(self.peers)
        self.app.switch_screen(CaseScreen(self.peers[index], self.peers))
