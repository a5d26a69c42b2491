"""Status words of the reference card (spec §7) as data, shared with conformance for decoding."""

from __future__ import annotations

# Exact codes first; masks (a nibble or byte of "x") after. Meanings follow spec §7.
STATUS_WORDS: dict[str, str] = {
    "9000": "success",
    "61xx": "response bytes waiting (GET RESPONSE)",
    "6283": "selected application temporarily blocked",
    "6300": "authentication failed (no try counter)",
    "63Cx": "verification failed, tries left in low nibble",
    "6700": "wrong length (Lc, Le or APDU structure)",
    "6981": "command incompatible with file structure",
    "6982": "security status not satisfied",
    "6983": "authentication method blocked",
    "6984": "referenced data invalidated (no valid challenge)",
    "6985": "conditions of use not satisfied",
    "6986": "command not allowed (no current EF)",
    "6988": "secure messaging: MAC incorrect",
    "6A80": "incorrect data field",
    "6A81": "function not supported (card blocked)",
    "6A82": "file or application not found",
    "6A83": "record not found",
    "6A84": "not enough memory space in the file",
    "6A86": "incorrect P1 or P2",
    "6A88": "referenced data (key, PIN) not found",
    "6B00": "wrong parameters: offset outside the EF",
    "6Cxx": "wrong Le; SW2 is the exact length",
    "6D00": "INS not supported (or not in this application)",
    "6E00": "CLA not supported",
    "6F00": "no precise diagnosis",
    "9302": "MAC incorrect (PBOC)",
    "9303": "application permanently blocked",
    # Listed on the field list, never produced by the emulator (spec §7).
    "6281": "data may be corrupted",
    "6282": "end of file reached before Le bytes",
    "6284": "FCI not formatted",
    "6581": "memory failure",
    "6900": "command cannot be processed",
    "6901": "invalid state",
    "6A85": "Lc inconsistent with TLV structure",
    "9401": "insufficient balance",
    "9402": "counter at maximum",
    "9403": "key index not supported",
    "9406": "MAC unavailable",
}

# The codes the emulator itself may answer (a mask counts as all its values).
EMULATOR_CODES = (
    "9000 61xx 6283 6300 63Cx 6700 6981 6982 6983 6984 6985 6986 6988 6A80 6A81 6A82 "
    "6A83 6A84 6A86 6A88 6B00 6Cxx 6D00 6E00 6F00 9302 9303"
).split()


def sw_matches(pattern: str, sw: int) -> bool:
    """True when the 4-character pattern (hex digits, 'x' = any nibble) matches sw."""
    text = f"{sw:04X}"
    return len(pattern) == 4 and all(p in "xX" or p.upper() == t for p, t in zip(pattern, text))


def describe(sw: int) -> str:
    """Meaning of a status word; masks explain the variable part."""
    text = f"{sw:04X}"
    if text in STATUS_WORDS:
        return STATUS_WORDS[text]
    for pattern, meaning in STATUS_WORDS.items():
        if "x" in pattern and sw_matches(pattern, sw):
            if pattern == "63Cx":
                return f"verification failed, {sw & 0x0F} tries left"
            if pattern in ("61xx", "6Cxx"):
                return f"{meaning} ({sw & 0xFF or 256} bytes)"
            return meaning
    return "unknown status word"


def is_listed(sw: int, codes=EMULATOR_CODES) -> bool:
    return any(sw_matches(p, sw) for p in codes)


class CardStatus(Exception):
    """Raised by a command handler to end the command with a status word (and no data)."""

    __slots__ = ("sw",)

    def __init__(self, sw: int):
        super().__init__(f"{sw:04X}")
        self.sw = sw
