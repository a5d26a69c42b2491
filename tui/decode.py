"""Words for bytes: a C-APDU's command name and P1/P2 meaning, an R-APDU's status word, TLV data,
and expected-versus-actual hex with the differing bytes marked. Shared by the case screen and the
APDU console; Rich `Text` out, no widgets here.
"""

from __future__ import annotations

from rich.text import Text

from conformance.card_model import DF_NAMES
from simulator import tlv as tlvlib
from simulator.apdu import APDUError, CommandAPDU
from simulator.commands import command_name as card_command_name
from simulator.sw import describe

_DF_BY_NAME = {bytes.fromhex(v): k for k, v in DF_NAMES.items()}

OK_STYLE, BAD_STYLE, WARN_STYLE, DIM_STYLE = "green", "bold red", "yellow", "dim"


def command_name(apdu: bytes) -> str:
    """The command's name as the card dispatches it ("SELECT", "VERIFY (PKI)"), "CLA xx INS yy" if unknown."""
    if len(apdu) < 4:
        return "malformed APDU"
    return card_command_name(apdu)


def _body(apdu: bytes) -> tuple[bytes, int | None]:
    """(data field, Le) of a short APDU; Le None when absent; a malformed APDU shows its bytes
    after the header as data."""
    try:
        parsed = CommandAPDU.parse(apdu)
    except APDUError:
        return bytes(apdu[4:]), None
    return parsed.data or b"", parsed.le


def parameters(apdu: bytes) -> str:
    """P1/P2 (and data) meaning, briefly: "by DF name SSSE, FCI wanted", "record 1 of SFI 05"."""
    if len(apdu) < 4:
        return ""
    ins, p1, p2 = apdu[1], apdu[2], apdu[3]
    data, le = _body(apdu)
    tail = f", Le {le}" if le is not None else ""
    if ins == 0xA4:
        fci = "FCI wanted" if p2 == 0x00 else "no FCI" if p2 == 0x0C else f"P2 {p2:02X}?"
        if p1 == 0x04:
            name = _DF_BY_NAME.get(data, data.hex().upper())
            return f"by DF name {name}, {fci}"
        if p1 == 0x00:
            return f"by FID {data.hex().upper() or '(none: MF)'}, {fci}"
        if p1 == 0x01:  # R2-1
            return f"child DF by FID {data.hex().upper()}, {fci}"
        if p1 == 0x02:
            return f"EF by FID {data.hex().upper()}, {fci}"
        return f"P1 {p1:02X}? {fci}"
    if ins in (0xB2, 0xDC):
        sfi = p2 >> 3
        where = f"SFI {sfi:02X}" if sfi else "current EF"
        mode = p2 & 0x07
        if ins == 0xDC and mode == 0x03:
            return f"append to {where}"
        if mode == 0x04:
            return f"record {p1} of {where}{tail}"
        if mode == 0x00:
            return f"first record with tag {p1:02X} in {where}{tail}"
        return f"P2 mode {mode:03b}?{tail}"
    if ins in (0xB0, 0xD6):
        if p1 & 0x80:
            return f"SFI {p1 & 0x1F:02X}, offset {p2}{tail}"
        return f"current EF, offset {((p1 & 0x7F) << 8) | p2}{tail}"
    extra = f", with {len(data)} bytes of data" if data else ""
    if ins == 0x84:
        return (f"challenge of {le} bytes" if le else "challenge") + extra
    if ins in (0x82, 0x88):
        kind = "DF key" if p2 & 0x80 else "key"
        return f"{kind} {p2:02X}, {len(data)} bytes of data{tail}"
    if ins == 0x20:
        if p1 == 0x01:
            return f"{'user' if p2 == 0x81 else 'admin' if p2 == 0x00 else f'ref {p2:02X}'} PIN"
        return f"cardholder PIN, {len(data)} bytes" if data else "cardholder PIN: tries left"
    if ins == 0xC0:
        return (f"fetch {le} waiting bytes" if le else "fetch waiting bytes") + extra
    return f"P1 {p1:02X} P2 {p2:02X}, {len(data)} bytes of data{tail}"


def sw_of(response: bytes | None) -> int | None:
    return None if response is None or len(response) < 2 else int.from_bytes(response[-2:], "big")


def sw_text(sw: int | None) -> Text:
    """`9000 success` in green, warnings (61xx, 62xx, 63xx) in yellow, errors in red."""
    if sw is None:
        return Text("no status word", style=BAD_STYLE)
    style = OK_STYLE if sw == 0x9000 else WARN_STYLE if sw >> 8 in (0x61, 0x62, 0x63) else BAD_STYLE
    return Text.assemble((f"{sw:04X}", f"bold {style}"), " ", (describe(sw), style))


def command_text(apdu: bytes) -> Text:
    """`00A4...  SELECT  by DF name SSSE, FCI wanted`."""
    return Text.assemble((apdu.hex().upper(), "bold"), "  ", (command_name(apdu), "cyan"), "  ",
                         (parameters(apdu), DIM_STYLE))


def tlv_lines(data: bytes) -> list[str]:
    """A readable TLV tree of the data, or [] when it is not TLV (or is a single lone byte)."""
    if len(data) < 2:
        return []
    return tlvlib.describe(data)


def marked_hex(data: bytes, differing: set[int], style: str = "bold white on red") -> Text:
    """Hex with the bytes at `differing` positions highlighted, one space between bytes."""
    out = Text()
    for i, byte in enumerate(data):
        if i:
            out.append(" ")
        out.append(f"{byte:02X}", style=style if i in differing else "")
    return out


def diff(expected: bytes, actual: bytes) -> tuple[Text, Text, list[int]]:
    """Expected and actual hex, each with the differing bytes marked; and the differing indexes.
    Missing or extra bytes count as differing (shown as `--` on the short side)."""
    positions = [i for i in range(max(len(expected), len(actual)))
                 if i >= len(expected) or i >= len(actual) or expected[i] != actual[i]]
    marks = set(positions)

    def side(data: bytes, style: str) -> Text:
        out = Text()
        for i in range(max(len(expected), len(actual))):
            if i:
                out.append(" ")
            cell = f"{data[i]:02X}" if i < len(data) else "--"
            out.append(cell, style=style if i in marks else "")
        return out

    return side(expected, "bold black on green"), side(actual, "bold white on red"), positions


def parse_hex(text: str) -> bytes:
    """Hex typed by a person: spaces, colons and a 0x prefix are fine. Raises ValueError."""
    cleaned = text.strip().replace(":", " ").replace(",", " ")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    cleaned = "".join(cleaned.split())
    if not cleaned:
        raise ValueError("no hex given")
    if len(cleaned) % 2:
        raise ValueError(f"odd number of hex digits ({len(cleaned)})")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        bad = next(ch for ch in cleaned if ch not in "0123456789abcdefABCDEF")
        raise ValueError(f"not hex: {bad!r} in {text.strip()!r}") from None
