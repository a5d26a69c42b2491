"""What the tester knows of the card's file tree (spec §2.2): DF names, AIDs and FIDs, to build
the SELECTs of preconditions and to follow which DF a step selected (key references depend on it).
"""

from __future__ import annotations

from simulator.apdu import APDUError, CommandAPDU

from .card_under_test import PKI_TREE, SSSE_TREE

DF_NAMES = {
    "SSSE": "7378312E73682EC9E7BBE1B1A3D5CF",
    "PKI": "504B492EC9E7BBE1B1A3D5CF",
    "ADF1": "53532E434552542E41444631",
    "DF01": "D15600000500",
    "DF02": "D15600000501",
    "DF03": "D15600000502",
    "DF04": "D15600000503",
    "DF05": "D15600000505",
    "DF06": "D15600000506",
    "DF07": "D15600000504",
}
_BY_NAME = {bytes.fromhex(v): k for k, v in DF_NAMES.items()}


def select_apdu(target: str) -> bytes:
    """SELECT for a precondition target: by FID for the MF, by DF name (P2 00, as terminals do)."""
    if target == "MF":
        return bytes.fromhex("00A40000023F00")
    name = bytes.fromhex(DF_NAMES.get(target, target))
    return bytes((0x00, 0xA4, 0x04, 0x00, len(name))) + name


def label_of(target: str) -> str:
    """The DF label a precondition target selects ("7378..." -> "SSSE")."""
    if target in DF_NAMES or target == "MF":
        return target
    return _BY_NAME.get(bytes.fromhex(target), target.upper())


def df_after(command: bytes, sw: int | None, current: str) -> str:
    """The current DF after `command` answered `sw` (unchanged unless a DF SELECT succeeded)."""
    if len(command) < 4 or command[1] != 0xA4 or sw is None:
        return current
    if sw != 0x9000 and sw >> 8 != 0x61 and sw != 0x6283:
        return current
    try:
        parsed = CommandAPDU.parse(command)
    except APDUError:
        return current
    p1, data = parsed.p1, parsed.data or b""
    if p1 == 0x04 and data:
        return _BY_NAME.get(bytes(data), current)
    if p1 in (0x00, 0x01):  # P1 01: a child DF by FID (R2-1)
        if p1 == 0x00 and (not data or data == b"\x3f\x00"):
            return "MF"
        fid = data.hex().upper()
        if current in PKI_TREE and fid == "DF01":
            return "ADF1"
        if current in SSSE_TREE and fid in DF_NAMES:
            return fid
    return current  # an EF: the DF stays
