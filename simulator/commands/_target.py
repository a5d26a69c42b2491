"""Shared pieces of the file commands: finding the EF of an SFI or the current EF, checking ACs."""

from __future__ import annotations

from ..crypto import constant_time_equal, mac
from ..defects import Defect
from ..filesystem import EF
from ..security import Condition, holds
from ..sw import CardStatus


def ef_by_sfi(card, sfi: int) -> EF:
    """SFI 0: the current EF (6986 if none); else the EF with that SFI in the current DF (6A82)."""
    if sfi == 0:
        ef = card.current_ef
        if ef is None:
            raise CardStatus(0x6986)
        return ef
    ef = card.current_df.by_sfi.get(sfi)
    if ef is None:
        raise CardStatus(0x6A82)
    return ef


def binary_target(card, p1: int, p2: int) -> tuple[EF, int, bool]:
    """(EF, offset, by_sfi) of READ/UPDATE BINARY P1 P2 (§4.7)."""
    if p1 & 0x80:
        if p1 & 0x60:
            raise CardStatus(0x6A86)
        sfi = p1 & 0x1F
        if sfi in (0, 31):
            raise CardStatus(0x6A86)
        return ef_by_sfi(card, sfi), p2, True
    ef = card.current_ef
    if ef is None:
        raise CardStatus(0x6986)
    return ef, ((p1 & 0x7F) << 8) | p2, False


def require(card, condition: Condition) -> None:
    if not holds(condition, card.sec.status) and Defect.MISSING_ACCESS_CHECK not in card.defects:
        raise CardStatus(0x6982)


def tried(card, obj, check) -> bool:
    """Run a PIN or key check under its try counter (§5.3, PD-14).

    The counter is decremented and saved *before* the comparison, so pulling the card in the
    middle of a command never gives a free try; success puts it back to the maximum.
    """
    if obj.tries is None:
        return check()
    if Defect.COUNTER_NOT_DECREMENTED not in card.defects:
        obj.tries = max(obj.tries - 1, 0)
        card.persist()
    ok = check()
    if ok and obj.tries != obj.max_tries and Defect.COUNTER_NOT_RESET not in card.defects:
        obj.tries = obj.max_tries
        card.persist()
    return ok


def failed(obj) -> CardStatus:
    """The status word of a failed check: 63Cx with tries left, 6300 without a counter."""
    if obj.tries is None:
        return CardStatus(0x6300)
    return CardStatus(0x63C0 | max(obj.tries, 0))


def key_ref(card, p2: int):
    """(key or None, status entry) of a key reference in P2 (PD-12)."""
    if p2 & 0x60:
        raise CardStatus(0x6A86)
    df = card.current_df
    if not p2 & 0x80 and df.app == "SSSE":
        df = card.ssse
    number = p2 & 0x1F
    key = df.keys.get(number)
    if key is not None and not key.versions:
        key = None  # a slot the image gave no value: no key
    return key, (df.path, number)


def mac_ok(card, expected: bytes, given: bytes) -> bool:
    """Compare a MAC in constant time (the defect `mac-not-checked` accepts any)."""
    return constant_time_equal(expected, given) or Defect.MAC_NOT_CHECKED in card.defects


def mac_key(card, number: int):
    """An SSSE MAC key (PUK 06, RPK 07, AMK 08), or 6A88."""
    key = card.ssse.keys.get(number)
    if key is None or not key.versions:
        raise CardStatus(0x6A88)
    return key


def mac_error(card) -> CardStatus:
    return CardStatus(card.mac_error_sw)  # 6988, or 9302 (switch mac_error_sw, PD-18)


def secure_messaging(card, apdu, number: int, lengths: tuple[int, ...]):
    """CLA 84 of §5.4.7 (PD-18): Lc, the key, a challenge, then a MAC over CLA INS P1 P2 Lc ‖ data
    with ICV = the challenge, in the order of §4.3. Returns (key, data without the MAC)."""
    data = apdu.data
    if len(data) not in lengths:
        raise CardStatus(0x6700)
    key = mac_key(card, number)
    challenge = card.take_challenge()
    body, given = data[:-4], data[-4:]
    expected = mac(key.algorithm, key.versions[1], apdu.header + bytes([len(data)]) + body, challenge)
    if not mac_ok(card, expected, given):
        raise mac_error(card)
    return key, body
