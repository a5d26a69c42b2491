"""Named defects: realistic ways a card goes wrong, asked for by an image to test the tester.

`defects: [NAME, ...]` in a card image turns them on. Most act at the card's edge (a filter on
the C-APDU or the R-APDU, below); the few that live deeper are consulted by the engine where the
behaviour is decided (try counters, MAC checks, selection, persistence, reset).
"""

from __future__ import annotations

from enum import StrEnum

import construct

from . import codecs, schemes

class Defect(StrEnum):
    """A named defect; its value is the name a card image uses. Checks test members
    (`Defect.CHALLENGE_REUSE in card.defects`), so a misspelt check fails at import."""

    COUNTER_NOT_DECREMENTED = "counter-not-decremented"
    COUNTER_NOT_RESET = "counter-not-reset"
    BLOCKED_PIN_STILL_VERIFIES = "blocked-pin-still-verifies"
    MISSING_ACCESS_CHECK = "missing-access-check"
    CHALLENGE_REUSE = "challenge-reuse"
    WRITE_NOT_PERSISTED = "write-not-persisted"
    SECURITY_KEPT_AFTER_SELECT = "security-kept-after-select"
    MAC_NOT_CHECKED = "mac-not-checked"
    CARD_BLOCK_LOST_ON_RESET = "card-block-lost-on-reset"
    WRONG_SW_RECORD_NOT_FOUND = "wrong-sw-record-not-found"
    LE_IGNORED = "le-ignored"
    T0_FCI_DIRECT = "t0-fci-direct"
    GET_RESPONSE_WITHOUT_DATA_9000 = "get-response-without-data-9000"
    FCI_WITHOUT_DIR = "fci-without-dir"
    WRONG_CLA_ACCEPTED = "wrong-cla-accepted"
    UPDATE_BINARY_OVERFLOW = "update-binary-overflow"
    SHORT_LE_BEFORE_ACCESS_CHECK = "short-le-before-access-check"
    BODY_BEFORE_MAC = "body-before-mac"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: dict[Defect, str] = {
    Defect.COUNTER_NOT_DECREMENTED: "a failed PIN or key check does not decrement the try counter",
    Defect.COUNTER_NOT_RESET: "a successful PIN or key check does not put the try counter back to its maximum",
    Defect.BLOCKED_PIN_STILL_VERIFIES: "a PIN whose counter reached 0 still accepts the right PIN",
    Defect.MISSING_ACCESS_CHECK: "reads and writes ignore the access conditions",
    Defect.CHALLENGE_REUSE: "a challenge can be used more than once",
    Defect.WRITE_NOT_PERSISTED: "writes answer 9000 but are lost at the next reset or power-off",
    Defect.SECURITY_KEPT_AFTER_SELECT: "selecting a DF does not clear the security status",
    Defect.MAC_NOT_CHECKED: "MAC-protected commands (CLA 84, RELOAD PIN) accept any MAC",
    Defect.CARD_BLOCK_LOST_ON_RESET: "CARD BLOCK lasts only until the next reset",
    Defect.WRONG_SW_RECORD_NOT_FOUND: "READ RECORD of a missing record answers 6A82 instead of 6A83",
    Defect.LE_IGNORED: "READ RECORD with a short Le answers the cut record and 9000 instead of 6Cxx",
    Defect.T0_FCI_DIRECT: "in t0 mode SELECT by name returns the FCI directly instead of 61xx",
    Defect.GET_RESPONSE_WITHOUT_DATA_9000: "GET RESPONSE with nothing buffered answers 9000 instead of 6985",
    Defect.FCI_WITHOUT_DIR: "the SSSE FCI lacks its A5 template (DIR SFI)",
    Defect.WRONG_CLA_ACCEPTED: "an unknown CLA is processed as CLA 00 instead of answering 6E00",
    Defect.UPDATE_BINARY_OVERFLOW: "UPDATE BINARY past the end writes what fits and answers 9000 instead of 6A84",
    Defect.SHORT_LE_BEFORE_ACCESS_CHECK: "READ RECORD answers 6Cxx for a short Le before the access condition (6982)",
    Defect.BODY_BEFORE_MAC: "PIN UNBLOCK judges the decrypted PIN block before the MAC: 6A80 for a wrong MAC",
}
DEFECTS: dict[str, str] = {d.value: d.description for d in Defect}  # name -> what it does


def from_image(image) -> frozenset[Defect]:
    """The defects an image asks for; an unknown name is an image error naming its place."""
    found = set()
    for i, name in enumerate(image.get("defects") or ()):
        try:
            found.add(Defect(name))
        except ValueError:
            raise image.error(("defects", str(i)),
                              f"unknown defect {name!r} (known: {', '.join(sorted(DEFECTS))})") from None
    return frozenset(found)


def before(card, raw: bytes) -> bytes:
    """Defects that change how the C-APDU is read."""
    d = card.defects
    if Defect.WRONG_CLA_ACCEPTED in d and len(raw) >= 2 and raw[0] not in (0x00, 0x80, 0x84):
        raw = b"\x00" + raw[1:]
    if Defect.UPDATE_BINARY_OVERFLOW in d and len(raw) > 5 and raw[:2] == b"\x00\xD6" and not raw[2] & 0x80:
        ef, offset = card.current_ef, (raw[2] << 8) | raw[3]
        size = len(getattr(ef, "data", b""))
        if ef is not None and not ef.is_record and offset < size < offset + raw[4]:
            keep = size - offset  # silently cut the data to what fits
            raw = raw[:4] + bytes([keep]) + raw[5:5 + keep]
    return raw


def after(card, raw: bytes, response: bytes) -> bytes:
    """Defects that change the R-APDU."""
    d = card.defects
    ins = raw[1] if len(raw) > 1 else None
    sw = response[-2:]
    if ins == 0xB2 and sw == b"\x6A\x83" and Defect.WRONG_SW_RECORD_NOT_FOUND in d:
        return b"\x6A\x82"
    if ins == 0xB2 and sw[0] == 0x6C and Defect.LE_IGNORED in d and len(raw) == 5:
        full = card.transmit_clean(raw[:4] + sw[1:])
        return full[:-2][: raw[4]] + b"\x90\x00"
    if ins == 0xA4 and sw[0] == 0x61 and Defect.T0_FCI_DIRECT in d:
        return _strip_dir(card, card.transmit_clean(b"\x00\xC0\x00\x00" + sw[1:]))
    if ins == 0xC0 and sw == b"\x69\x85" and Defect.GET_RESPONSE_WITHOUT_DATA_9000 in d:
        return b"\x90\x00"
    if ins == 0xC0 and Defect.FCI_WITHOUT_DIR in d:
        return _strip_dir(card, response)
    if raw[:2] == b"\x84\x24" and Defect.BODY_BEFORE_MAC in d and int.from_bytes(sw, "big") == card.mac_error_sw:
        return _body_first(card, raw, response)
    return response


def _body_first(card, raw: bytes, response: bytes) -> bytes:
    """A wrong MAC over an ENC that does not decrypt to a PIN block answers 6A80 (R2-6 broken)."""
    puk, enc = card.ssse.keys.get(6), raw[5:-4]
    if not enc or puk is None or not puk.versions:
        return response
    try:
        schemes.pin_unblock_dec(puk.algorithm, puk.versions[1], enc)
    except ValueError:
        return b"\x6A\x80"
    return response


def _strip_dir(card, response: bytes) -> bytes:
    if Defect.FCI_WITHOUT_DIR not in card.defects:
        return response
    try:
        fci = codecs.FCI.parse(response[:-2])
    except construct.ConstructError:  # not an FCI: nothing to strip
        return response
    return codecs.build_fci(fci.body.df_name, None, fci.body.extra) + response[-2:]
