"""docs/field-compat.md replayed: every row of its command table is sent to a built-in sample card
and must get the answer the page states, also under the profile switch the row names. The page
cannot drift from the emulator, and every "C" example APDU of the spec's command sections (§4.x)
and of the revision-2 rows must appear on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from cardkit import SPEC_TEXT, ext_auth, key
from simulator import Card, schemes
from simulator.samples import sample_image

PAGE = Path(__file__).resolve().parents[2] / "docs" / "field-compat.md"
TEXT = PAGE.read_text(encoding="utf-8")
SELECT_BY_NAME = {"SSSE": "7378312E73682EC9E7BBE1B1A3D5CF", "PKI": "504B492EC9E7BBE1B1A3D5CF",
                  "ADF1": "53532E434552542E41444631"}
PKI_PINS = {"user": (0x81, "123456"), "admin": (0x00, "12345678")}  # §3.8


@dataclass
class Row:
    line: int
    command: str
    gen: int
    df: str
    preps: list[str]
    apdus: list[str]
    answer: str
    switches: list[tuple[dict, str]]


def _expand(text: str) -> str:
    """`{n×HH}` -> HH repeated n times; spaces dropped."""
    text = re.sub(r"\{(\d+)×([0-9A-F]{2})\}", lambda m: m.group(2) * int(m.group(1)), text)
    return text.replace(" ", "")


def _ticks(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def parse_rows(text: str = TEXT) -> list[Row]:
    rows = []
    table = text.split("## Command forms", 1)[1].split("\n## ", 1)[0]
    for number, line in enumerate(TEXT.splitlines(), 1):
        if not line.startswith("| ") or line not in table or line.startswith("| Command"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 6, f"{PAGE.name}:{number}: 6 columns, got {len(cells)}"
        command, where, apdus, answer, switch, _spec = cells
        gen, df, *preps = [w.strip() for w in where.split(",")]
        switches = [(yaml.safe_load("{" + s + "}"), a) for s, a in
                    re.findall(r"`([a-z_0-9]+: [^`]+)` → `([^`]+)`", switch)]
        assert switch == "—" or switches, f"{PAGE.name}:{number}: switch cell not `name: value` → `answer`"
        answers = _ticks(answer)
        assert len(answers) == 1, f"{PAGE.name}:{number}: one answer in backticks"
        rows.append(Row(number, command, int(gen.removeprefix("gen")), df, preps,
                        [_expand(a) for a in _ticks(apdus)], answers[0], switches))
    return rows


ROWS = parse_rows()


def _pattern(answer: str) -> re.Pattern:
    """`{n bytes}` = any n bytes, `{n×HH}` = HH n times, hex otherwise (the last 4 digits: SW)."""
    out = ""
    for token in re.split(r"(\{\d+ bytes\})", answer):
        m = re.fullmatch(r"\{(\d+) bytes\}", token)
        out += f"[0-9A-F]{{{2 * int(m.group(1))}}}" if m else re.escape(_expand(token))
    return re.compile(out)


class Random:
    """The card's random source: the row's challenge every time, else distinct counting bytes."""

    def __init__(self, forced: str | None):
        self.forced, self.calls = bytes.fromhex(forced) if forced else None, 0

    def __call__(self, n: int) -> bytes:
        self.calls += 1
        if self.forced:
            return (self.forced * (n // len(self.forced) + 1))[:n]
        return bytes((self.calls * 0x11 + i) & 0xFF for i in range(n))


def _send(card: Card, apdu: str) -> str:
    return card.transmit(bytes.fromhex(apdu)).hex().upper()


def _ok(card: Card, apdu: str, why: str) -> str:
    answer = _send(card, apdu)
    assert answer[-4:] == "9000" or answer[-4:-2] == "61", f"{why}: {apdu} answered {answer}"
    return answer[:-4]


def _path(row: Row) -> list[str]:
    """The SELECTs that make row.df current after the ATR (MF, SSSE, DFnn, PKI, ADF1)."""
    by_name = [f"00A4040C{len(name) // 2:02X}{name}" for name in
               {"MF": [], "PKI": [SELECT_BY_NAME["PKI"]], "ADF1": [SELECT_BY_NAME["PKI"], SELECT_BY_NAME["ADF1"]]}
               .get(row.df, [SELECT_BY_NAME["SSSE"]])]
    if re.fullmatch(r"DF0[1-7]", row.df):
        return by_name + [f"00A4000002{row.df}"]
    assert row.df in ("MF", "SSSE", "PKI", "ADF1"), f"line {row.line}: unknown DF {row.df!r}"
    return by_name


def _prepare(row: Row, switches: dict) -> Card:
    image = sample_image(f"gen{row.gen}")
    if switches:
        image["switches"] = switches
    forced = next((p.split()[1] for p in row.preps if p.startswith("challenge ")), None)
    card = Card.from_dict(image, random=Random(forced))
    card.power_on()
    for apdu in _path(row):
        _ok(card, apdu, f"line {row.line} select {row.df}")
    for prep in row.preps:
        why = f"line {row.line} {prep}"
        if prep == "PIN":
            _ok(card, "0020000003123456", why)
        elif prep.startswith("PIN "):
            p2, pin = PKI_PINS[prep.split()[1]]
            r = bytes.fromhex(_ok(card, "0084000010", why))
            _ok(card, f"002001{p2:02X}10" + schemes.pki_verify_cryptogram(schemes.pin_bcd(pin), r).hex(), why)
        elif prep.startswith("key "):
            ref = prep.split()[1]
            holder = {"ADF1": "PKI", "PKI": "PKI/DF"}.get(row.df, "SSSE" if not int(ref, 16) & 0x80 else row.df)
            r = bytes.fromhex(_ok(card, "0084000010" if holder.startswith("PKI") else "0084000008", why))
            _ok(card, ext_auth(row.gen, holder, ref, r), why)
        else:
            assert prep.startswith("challenge "), f"line {row.line}: unknown state {prep!r}"
    return card


def _replay(row: Row, switches: dict | None = None) -> str:
    card = _prepare(row, switches or {})
    for apdu in row.apdus[:-1]:
        if switches is None:  # under a switch an earlier step may be what the switch changes
            _ok(card, apdu, f"line {row.line}")
        else:
            _send(card, apdu)
    return _send(card, row.apdus[-1])


def test_the_table_was_read():
    assert len(ROWS) >= 40
    assert {r.gen for r in ROWS} == {2, 3}


@pytest.mark.parametrize("row", ROWS, ids=[f"L{r.line} {r.command[:40]}" for r in ROWS])
def test_row(row):
    got = _replay(row)
    assert _pattern(row.answer).fullmatch(got), f"{PAGE.name}:{row.line}: page says {row.answer}, emulator {got}"
    for switches, answer in row.switches:
        got = _replay(row, switches)
        assert _pattern(answer).fullmatch(got), \
            f"{PAGE.name}:{row.line}: with {switches} the page says {answer}, emulator {got}"


def _spec_examples() -> set[str]:
    """The complete example APDUs the spec's command sections (§4.x) and the R2 rows give."""
    section = SPEC_TEXT.split("## 4. Command set", 1)[1].split("\n## 5.", 1)[0]
    found = set(re.findall(r"`((?:00|80|84)[0-9A-F]{8,})`", section))
    found |= {a.replace(" ", "") for a in re.findall(r"^> ((?:00|80|84)[0-9A-F ]{8,}?)\s{2,}", section, re.M)}
    return found


def test_every_spec_example_is_on_the_page():
    sent = {apdu for row in ROWS for apdu in row.apdus}
    # an example may be a header only (`0082000010` in the field flow of §4.19.9): then as a header
    missing = sorted(a for a in _spec_examples()
                     if a not in sent and not (len(a) == 10 and any(s.startswith(a) for s in sent)))
    assert not missing, f"{PAGE.name} lacks these example APDUs of the spec: {missing}"


def test_the_spec_examples_were_read():
    examples = _spec_examples()
    assert {"00A4010002DF03", "00DC052806050420240315", "00DC0D30060D0419930827", "0020000003",
            "00B2072C0B", "8040000008C0020012C2020013"} <= examples


def test_the_pki_df_row_uses_the_spec_key():
    """The PKI DF rows (R2-3) carry a cryptogram made with the key of §5.5."""
    r = bytes.fromhex("0F0E0D0C0B0A09080706050403020100")
    apdu = ext_auth(3, "PKI/DF", "00", r)
    assert any(apdu in row.apdus for row in ROWS if row.df == "PKI")
    assert key(3, "PKI/DF", "00").hex().upper() == "E90F4E41250CACCC5E2099C116A94C1C"
