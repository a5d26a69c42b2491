"""Binary codecs of the card (construct), each with its own examples (checked by one round-trip test)."""

from __future__ import annotations

from construct import Byte, Bytes, Const, GreedyBytes, Hex, Int8ub, Optional, Prefixed, Struct

# TLV record of a record EF (§2.7): tag(1) ‖ len(1) ‖ value(len).
TLVRecord = Struct("tag" / Hex(Byte), "value" / Prefixed(Byte, GreedyBytes))

# FCI returned by SELECT by name (§4.5): 6F L 84 Ln <DF name> [A5 03 88 01 <DIR SFI>] [extra].
_FCIBody = Struct(
    Const(b"\x84"),
    "df_name" / Prefixed(Byte, GreedyBytes),
    "dir" / Optional(Struct(Const(b"\xA5\x03\x88\x01"), "sfi" / Hex(Byte))),
    "extra" / GreedyBytes,
)
FCI = Struct(Const(b"\x6F"), "body" / Prefixed(Byte, _FCIBody))

# Card identification code, EF05 tag 01 (§3.3).
CardId = Struct(
    "region" / Hex(Bytes(3)),
    "rid" / Const(bytes.fromhex("D156000005")),
    "serial" / Hex(Bytes(4)),
    "auth_code" / Hex(Bytes(4)),
)

# Project ATR template of §6 (PD-31), T=0 form.
ATRT0 = Struct(
    Const(b"\x3B\x6D\x00\x00"),
    "hist_prefix" / Const(bytes.fromhex("008100")),
    "marker" / Const(b"SSC"),
    "generation" / Int8ub,
    "region" / Hex(Bytes(2)),
    "serial" / Hex(Bytes(4)),
)

EXAMPLES = {
    "TLVRecord": [(bytes.fromhex("0304322E3030"), {"tag": 0x03, "value": b"2.00"}),
                  (bytes.fromhex("0A0131"), {"tag": 0x0A, "value": b"1"})],
    "FCI": [
        (bytes.fromhex("6F16840F7378312E73682EC9E7BBE1B1A3D5CFA50388010B"),
         {"body": {"df_name": bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF"), "dir": {"sfi": 0x0B},
                   "extra": b""}}),
        (bytes.fromhex("6F088406D15600000500"),
         {"body": {"df_name": bytes.fromhex("D15600000500"), "dir": None, "extra": b""}}),
    ],
    "CardId": [(bytes.fromhex("440300D1560000055A3C1E02C64D65FE"),
                {"region": bytes.fromhex("440300"), "serial": bytes.fromhex("5A3C1E02"),
                 "auth_code": bytes.fromhex("C64D65FE")})],
    "ATRT0": [(bytes.fromhex("3B6D00000081005353430344035A3C1E03"),
               {"generation": 3, "region": bytes.fromhex("4403"), "serial": bytes.fromhex("5A3C1E03")})],
}
CODECS = {"TLVRecord": TLVRecord, "FCI": FCI, "CardId": CardId, "ATRT0": ATRT0}


def build_fci(df_name: bytes, dir_sfi: int | None, extra: bytes = b"") -> bytes:
    dir_ = {"sfi": dir_sfi} if dir_sfi is not None else None
    return FCI.build({"body": {"df_name": df_name, "dir": dir_, "extra": extra}})


def atr_for(generation: int, card_id: bytes, transport: str = "t0") -> bytes:
    """Default ATR of §6 from the card identification code (region bytes 0-1, serial bytes 8-11)."""
    hist = bytes.fromhex("008100") + b"SSC" + bytes([generation]) + card_id[0:2] + card_id[8:12]
    if transport == "t1":
        body = bytes.fromhex("ED000001") + hist
        tck = 0
        for b in body:
            tck ^= b
        return b"\x3B" + body + bytes([tck])
    return bytes.fromhex("3B6D0000") + hist
