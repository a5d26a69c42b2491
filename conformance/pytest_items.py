"""The pytest items of the sscard plugin (pytest_plugin.py): a vector file of the suite is a
collector, each case × card an item; a FAIL or ERROR is described with expected and actual bytes
and the case's trace, vector text shown with control characters escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from .textsafe import printable
from .verdict import CaseResult, Verdict

_NOT_IN_MARKER = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class CardTarget:
    """One card the items run against; opened on first use in each process (see pytest_cards)."""

    label: str          # in item names and -k: gen2, an image's stem, a reader name made safe
    kind: str           # builtin | image | reader
    source: str         # the profile, the image path or the reader name
    description: str | None = None  # the image describing a reader's card
    index: int = 0      # the reader's position among --sscard-reader: worker gwN takes reader N
    state: dict = field(default_factory=dict)

    @property
    def group(self) -> str | None:
        """The xdist group of a reader's items (one worker talks to one reader); None if emulated."""
        return f"sscard-reader-{self.index}" if self.kind == "reader" else None


def marker_name(prefix: str, value: str) -> str:
    """area_PIN, label_PD_14: a marker -m can name (identifiers only)."""
    return f"{prefix}_{_NOT_IN_MARKER.sub('_', value)}"


class CaseItem(pytest.Item):
    """A vector case against one card. setup() runs the case (an ERROR is a pytest error, as
    setup faults are); runtest() turns the other verdicts into outcomes."""

    def __init__(self, *, case, card: CardTarget, run, **kwargs):
        super().__init__(**kwargs)
        self.case, self.card, self._run = case, card, run
        self.result: CaseResult | None = None
        self.add_marker("sscard")
        self.add_marker(marker_name("area", case.area))
        for label in case.labels:
            self.add_marker(marker_name("label", label))
        if card.group:
            self.add_marker(pytest.mark.xdist_group(card.group))
        self.extra_keyword_matches.add(case.title)  # -k matches titles too, as in `sscard run -k`
        self.user_properties.append(("sscard_card", card.label))

    def setup(self):
        self.result = self._run(self.card, self.case)
        if self.result.verdict is Verdict.ERROR:
            pytest.fail(describe(self.result, self.card.label), pytrace=False)

    def runtest(self):
        result = self.result
        if result.verdict is Verdict.FAIL:
            pytest.fail(describe(result, self.card.label), pytrace=False)
        if result.verdict is Verdict.NOT_APPLICABLE:
            # at the case's vector file:line in -rs, not at this line
            raise pytest.skip.Exception(printable(result.reason), _use_item_location=True)
        if result.verdict is Verdict.INCONCLUSIVE:
            pytest.xfail(printable(result.reason or "inconclusive"))

    def reportinfo(self):
        # not the item's name: pytest would show a name that ends the node id with its dots as ::
        return self.path, max(self.case.line - 1, 0), f"{self.case.id} [{self.card.label}]"


class VectorFile(pytest.File):
    """A vector file of the loaded suite: its cases × the chosen cards."""

    def __init__(self, *, cases, cards, run, **kwargs):
        super().__init__(**kwargs)
        self.cases, self.cards, self.run = cases, cards, run

    def collect(self):
        for case in self.cases:
            for card in self.cards:
                yield CaseItem.from_parent(self, name=f"{case.id}[{card.label}]", case=case, card=card, run=self.run)


def describe(result: CaseResult, card: str) -> str:
    """A FAIL or ERROR as the longrepr shows it: the reason first (pytest -ra prints that line),
    then where the case is, each step that did not pass with expected and actual side by side,
    and the case's APDU trace. Vector text is shown with control characters escaped."""
    lines = [f"{result.verdict.value}: {printable(result.reason)}",
             f"case {printable(result.case_id)} on {printable(card)}: {printable(result.title)}",
             f"vector: {printable(result.file)}:{result.line}"]
    lines += [f"warning: {printable(w)}" for w in result.warnings]
    for step in result.steps:
        if step.verdict is not Verdict.PASS:
            lines += _step_lines(step)
    trace = [_entry_line(e) for s in result.steps for e in s.exchanges]
    if trace:
        lines += ["trace:", *trace]
    return "\n".join(lines)


def _step_lines(step) -> list[str]:
    at = f" (line {step.line})" if step.line else ""
    name = f"{step.phase} {step.index + 1}"
    titled = f": {printable(step.title)}" if step.title and step.title != name else ""
    out = [f"{name}{at}{titled}: {step.verdict.value} {printable(step.reason)}"]
    if step.command is not None:
        out.append(f"  command   {step.command.hex().upper()}")
    expected = step.expected or {}
    for key in ("sw", "data", "mask", "regex", "length", "tlv"):
        if key in expected:
            value = expected[key]
            shown = " or ".join(map(str, value)) if key == "sw" and isinstance(value, list) else value
            out.append(f"  expected  {key} {printable(shown)}")
    if step.response is not None:
        if step.command is None:
            out.append(f"  actual    ATR {_marked(step.response, step.differing)}")
        else:
            sw = f"{step.sw:04X}" if step.sw is not None else "none"
            out.append(f"  actual    sw {sw}  data {_marked(step.data, step.differing) or '(none)'}")
    elif step.command is not None:
        out.append("  actual    no answer")
    return out


def _marked(data: bytes, differing) -> str:
    """Hex with the differing bytes in brackets: 0102[03]04."""
    positions = set(differing)
    return "".join(f"[{b:02X}]" if i in positions else f"{b:02X}" for i, b in enumerate(data))


def _entry_line(entry) -> str:
    if entry.kind == "exchange":
        response = entry.response.hex().upper() if entry.response is not None else "(none)"
        return f"  >> {entry.command.hex().upper() if entry.command else ''}\n  << {response}"
    if entry.kind == "reset":
        return f"  reset -> ATR {entry.response.hex().upper() if entry.response else ''}"
    return f"  {entry.kind}: {printable(entry.text)}"
