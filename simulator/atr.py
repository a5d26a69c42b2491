"""The ATR (ISO/IEC 7816-3 §8): the one parser and builder, used by the card, the PC/SC reader
and the tester's transports (the protocol), the terminal and the schemes (historical bytes, cardDiv)
and `sscard card show`.

TS ‖ T0 ‖ interface bytes (TAi TBi TCi TDi, each TDi announcing the next group) ‖ historical
bytes ‖ TCK (present as soon as a TDi names a protocol other than T=0). TCK is read, not
judged: a card with a wrong check byte is still described (`ATR.tck_ok` says so).
"""

from __future__ import annotations

from dataclasses import dataclass

from construct import (
    BitStruct, Byte, Bytes, Const, ConstError, Construct, Container, ListContainer, Nibble, Rebuild, StreamError,
    Struct, stream_read, stream_write, this,
)

_FIELDS = (("ta", 0x1), ("tb", 0x2), ("tc", 0x4), ("td", 0x8))  # presence bits of Y (T0 / TDi high nibble)


def _presence(group) -> int:
    return sum(bit for name, bit in _FIELDS if group.get(name) is not None)


class _InterfaceBytes(Construct):
    """TA1…TDn as a list of groups {ta, tb, tc, td} (None = absent). The chain is data-driven (each
    TDi's high nibble says which bytes follow), which a fixed Struct cannot say; so this one piece
    is code, the rest of the ATR is declared."""

    def _parse(self, stream, context, path):
        y, groups = context.t0.y, ListContainer()
        while True:
            group = Container({name: stream_read(stream, 1, path)[0] if y & bit else None
                               for name, bit in _FIELDS})
            groups.append(group)
            if group.td is None:
                return groups
            y = group.td >> 4

    def _build(self, obj, stream, context, path):
        for i, group in enumerate(obj):
            if i + 1 < len(obj) and group.get("td") is not None and group["td"] >> 4 != _presence(obj[i + 1]):
                raise ValueError(f"TD{i + 1} {group['td']:02X} does not announce the group that follows")
            for name, _bit in _FIELDS:
                if group.get(name) is not None:
                    stream_write(stream, bytes([group[name]]), 1, path)
        return obj


def _xor(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


def _needs_tck(groups) -> bool:
    return any(g.get("td") is not None and g["td"] & 0x0F for g in groups)


# TS ‖ T0 ‖ interface bytes ‖ historical bytes: the checked part of the ATR; TCK follows when needed.
ATRBody = Struct(
    "ts" / Byte,
    "t0" / BitStruct(
        "y" / Rebuild(Nibble, lambda ctx: _presence(ctx._.interface[0]) if ctx._.interface else 0),
        "k" / Rebuild(Nibble, lambda ctx: len(ctx._.historical)),
    ),
    "interface" / _InterfaceBytes(),
    "historical" / Bytes(this.t0.k),
)
_Interface = Struct(*ATRBody.subcons[:3])  # up to the historical bytes: enough to see the protocols

EXAMPLES = [
    # the default t0 ATR of the gen2 sample card (spec §6)
    (bytes.fromhex("3B6D00000081005353430244035A3C1E02"),
     {"ts": 0x3B, "t0": {"y": 6, "k": 13}, "interface": [{"ta": None, "tb": 0, "tc": 0, "td": None}],
      "historical": bytes.fromhex("0081005353430244035A3C1E02")}),
    # TA1, TD1 (T=0), TA2 TB2 TD2 (T=1), TA3 TB3 TD3 (T=15), TA4; no historical bytes (TCK not in the body)
    (bytes.fromhex("3B909680B1FE451F01"),
     {"ts": 0x3B, "t0": {"y": 9, "k": 0}, "historical": b"",
      "interface": [{"ta": 0x96, "tb": None, "tc": None, "td": 0x80},
                    {"ta": None, "tb": None, "tc": None, "td": 0xB1},
                    {"ta": 0xFE, "tb": 0x45, "tc": None, "td": 0x1F},
                    {"ta": 0x01, "tb": None, "tc": None, "td": None}]}),
]

# The project's historical bytes (spec §6, PD-31): 00 81 00 "SSC" generation region(2) serial(4).
SSCHistorical = Struct(
    Const(bytes.fromhex("008100")),
    Const(b"SSC"),
    "generation" / Byte,
    "region" / Bytes(2),
    "serial" / Bytes(4),
)
SSC_HISTORICAL_EXAMPLES = [
    (bytes.fromhex("0081005353430344035A3C1E03"),
     {"generation": 3, "region": bytes.fromhex("4403"), "serial": bytes.fromhex("5A3C1E03")}),
]
CODECS = {"ATRBody": (ATRBody, EXAMPLES), "SSCHistorical": (SSCHistorical, SSC_HISTORICAL_EXAMPLES)}


@dataclass(frozen=True)
class ATR:
    raw: bytes
    interface: list[dict]
    historical: bytes
    tck: int | None

    @property
    def protocols(self) -> list[int]:
        """The protocols the TDi name, in order (T=0 when none is named)."""
        return [g["td"] & 0x0F for g in self.interface if g["td"] is not None] or [0]

    @property
    def tck_ok(self) -> bool | None:
        if self.tck is None:
            return None
        return _xor(self.raw[1:]) == 0  # T0 … TCK XOR to zero


def parse(atr: bytes) -> ATR:
    """The ATR's parts; ValueError naming what does not fit (the ATR shown in hex)."""
    atr = bytes(atr)
    if len(atr) < 2:
        raise ValueError(f"ATR shorter than TS T0: {atr.hex().upper() or '(empty)'}")
    try:
        body = ATRBody.parse(atr)
    except StreamError:
        raise ValueError(f"ATR truncated in its interface or historical bytes: {atr.hex().upper()}") from None
    size = len(ATRBody.build(body))
    groups = [dict((k, g[k]) for k, _ in _FIELDS) for g in body.interface]
    expected = size + _needs_tck(groups)
    if len(atr) != expected:
        raise ValueError(f"ATR length {len(atr)} does not match its T0/TDi (expected {expected}): {atr.hex().upper()}")
    return ATR(atr, groups, bytes(body.historical), atr[-1] if _needs_tck(groups) else None)


def ssc_fields(atr: bytes):
    """generation, region and serial from an ATR with the project's historical bytes (§6), or
    None for any other ATR (a physical card's own, one that does not parse)."""
    try:
        historical = parse(atr).historical
        return SSCHistorical.parse(historical) if len(historical) == SSCHistorical.sizeof() else None
    except (ValueError, ConstError):
        return None


def protocols(atr: bytes) -> list[int]:
    """The protocols the ATR's TDi name, in order ([0] when none): read as far as the interface
    bytes go, so a reader can still choose a protocol for an ATR with a bad length."""
    try:
        groups = _Interface.parse(bytes(atr)).interface
    except StreamError:
        return [0]
    return [g.td & 0x0F for g in groups if g.td is not None] or [0]


def build(historical: bytes, interface: list[dict] | None = None, ts: int = 0x3B) -> bytes:
    """An ATR from its parts; TCK appended when a TDi names a protocol other than T=0."""
    groups = [dict({k: None for k, _ in _FIELDS}, **g) for g in (interface or [{}])]
    body = ATRBody.build({"ts": ts, "t0": {}, "interface": groups, "historical": bytes(historical)})
    if not _needs_tck(groups):
        return body
    return body + bytes([_xor(body[1:])])


def for_card(generation: int, card_id: bytes, transport: str = "t0") -> bytes:
    """Default ATR of §6 from the card identification code (region bytes 0-1, serial bytes 8-11):
    t0 = 3B 6D 00 00 ‖ hist; t1 = 3B ED 00 00 01 ‖ hist ‖ TCK."""
    hist = SSCHistorical.build({"generation": generation, "region": card_id[0:2], "serial": card_id[8:12]})
    if transport == "t1":
        return build(hist, [{"tb": 0, "tc": 0, "td": 0x01}, {}])
    return build(hist, [{"tb": 0, "tc": 0}])
